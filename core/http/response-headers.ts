// The host's check of the headers a function puts on its web response, for every tier (isolates,
// python3/java17 function URLs, custom images all reach WebRoute.renderOutcome): done here, in
// Node's own realm, so nothing a function does to its isolate's prototypes (a String.prototype.
// toLowerCase that returns its input) can get a header past it. Names must be RFC 9110 tokens and
// values field values (no CR, LF, NUL or other controls but HTAB); framing and hop-by-hop headers
// and X-Hearth-* are Hearth's to write, compared case-insensitively; the count and the bytes are
// bounded. What fails is dropped and counted, the rest written.
//
// Dropped, not failed: the call has run and been recorded as it ended (a success, say); failing
// its response here would answer a 500 that the record, the metrics and the function's own logs
// contradict. The tiers already fail a response whose headers they can tell are malformed
// (InvalidResponse); this is the last line that holds whatever reaches it.

import type { HttpResponse } from 'uWebSockets.js';
import type { HeaderDrop } from './http-counters.js';

/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 field-value: no control characters but HTAB (CR, LF and NUL above all: response splitting). */
const NOT_FIELD_VALUE = /[\0-\x08\n-\x1f\x7f]/;
/**
 * The message's framing and its connection's: written by Hearth (and uWS) alone. And
 * Service-Worker-Allowed: a function's service worker stays within its own /v1/web/{name}/ path
 * (the default scope), never one over the origin, where the console and other functions are.
 */
const RESERVED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'service-worker-allowed']);

/** At most this many headers from a function (as many as the tiers let through). */
export const MAX_RESPONSE_HEADERS = 1000;

export interface HeaderBounds {
  readonly maxCount: number;
  readonly maxBytes: number;
}

/** Why a function's header `name: value` may not be written, or null when it may (before the bounds). */
export function headerDropReason(name: unknown, value: unknown): Exclude<HeaderDrop, 'limit'> | null {
  if (typeof name !== 'string' || typeof value !== 'string' || !TOKEN.test(name) || NOT_FIELD_VALUE.test(value)) return 'invalid';
  const lower = name.toLowerCase();
  if (RESERVED.has(lower) || lower.startsWith('proxy-') || lower.startsWith('x-hearth-')) return 'reserved';
  return null;
}

/** Writes the headers of a function's response that pass (lower-case names), counting the rest. */
export function writeFunctionHeaders(res: HttpResponse, flat: readonly unknown[], bounds: HeaderBounds, dropped: Record<HeaderDrop, number>): void {
  let count = 0;
  let bytes = 0;
  const n = Array.isArray(flat) ? flat.length - (flat.length % 2) : 0;
  for (let i = 0; i < n; i += 2) {
    const name = flat[i];
    const value = flat[i + 1];
    const why = headerDropReason(name, value);
    if (why !== null) {
      dropped[why]++;
      continue;
    }
    const k = (name as string).toLowerCase();
    // Optional whitespace around a value is not part of it (RFC 9110 §5.5).
    const v = (value as string).replace(/^[\t ]+|[\t ]+$/g, '');
    const size = k.length + Buffer.byteLength(v);
    if (count >= bounds.maxCount || bytes + size > bounds.maxBytes) {
      dropped.limit++;
      continue;
    }
    count++;
    bytes += size;
    res.writeHeader(k, v);
  }
}
