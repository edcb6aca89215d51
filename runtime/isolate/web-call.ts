// Web calls (ANY /v1/web/{name}/...) inside the isolate.
//
// - A Workers module (`export default { fetch }`) gets a Request, env and ctx, and returns a
//   Response; its body is read here into bytes for the host. ctx.waitUntil work goes on after the
//   response, until it settles or the call's deadline (the host then sends Deliver.tailCancel).
// - An event function gets the Lambda function URL event (payload format 2.0) and may answer
//   with {statusCode, headers, body, isBase64Encoded, cookies} or any JSON value (200, JSON), as
//   Lambda function URLs do.

import { lambdaUrlEvent as urlEvent, lambdaUrlResult as urlResult, type Codecs } from '../lambda-url.js';
import { HostOp, Outcome, type FailureTuple, type WebResponseTuple } from '../protocol.js';
import { calls, host } from './calls.js';
import { AbortController } from './web/abort.js';
import { Body } from './web/body.js';
import { atob, btoa, TextEncoder } from './web/encoding.js';
import { Headers } from './web/headers.js';
import { Request } from './web/request.js';
import { Response } from './web/response.js';
import { decodeUtf8 } from './utf8.js';

type Failure = FailureTuple;

export interface WorkersModule {
  fetch?: (request: Request, env: unknown, ctx: unknown) => unknown;
  scheduled?: (controller: unknown, env: unknown, ctx: unknown) => unknown;
}

/** A call's ctx: waitUntil work, and when it has all settled. */
export class CallTail {
  private readonly promises: Promise<unknown>[] = [];
  private cancelled = false;
  readonly ctx: { waitUntil(p: unknown): void; passThroughOnException(): void };

  constructor(private readonly report: (err: unknown) => void) {
    const promises = this.promises;
    this.ctx = Object.freeze({
      waitUntil(p: unknown): void {
        promises.push(Promise.resolve(p));
      },
      // There is no origin behind Hearth to pass through to: a thrown error is a 500.
      passThroughOnException(): void {},
    });
  }

  get pending(): boolean {
    return this.promises.length > 0;
  }

  /** Resolves when every waitUntil promise has settled (ones added meanwhile included). */
  async settled(): Promise<void> {
    let seen = 0;
    while (seen < this.promises.length && !this.cancelled) {
      const batch = this.promises.slice(seen);
      seen = this.promises.length;
      const results = await Promise.allSettled(batch);
      for (const r of results) if (r.status === 'rejected') this.report(r.reason);
    }
  }

  cancel(): void {
    this.cancelled = true;
  }
}

const EMPTY = new Uint8Array(0);
const encoder = new TextEncoder();

/**
 * The incoming Request. Its body is null for GET and HEAD, and for requests that declare no body
 * (no Content-Length, no Transfer-Encoding); a declared empty body is an empty stream (as workerd).
 */
export function incomingRequest(method: string, url: string, headers: string[], body: ArrayBuffer): Request {
  let declared = body.byteLength > 0;
  for (let i = 0; !declared && i < headers.length; i += 2) declared = headers[i] === 'content-length' || headers[i] === 'transfer-encoding';
  const bytes = !declared || method === 'GET' || method === 'HEAD' ? null : new Uint8Array(body);
  return Request.incoming(method, url, headers, bytes, new AbortController().signal);
}

/** The Response a fetch handler returned, as the tuple the host writes out. */
export async function responseTuple(r: unknown, tailPending: boolean): Promise<WebResponseTuple | Failure> {
  if (!(r instanceof Response)) {
    const what = r === null ? 'null' : r === undefined ? 'undefined' : typeof r === 'object' ? (r.constructor?.name ?? 'object') : typeof r;
    return [Outcome.functionError, 'InvalidResponse', `The fetch handler returned ${what}, not a Response.`, ''];
  }
  if (r.status === 0) return [Outcome.functionError, 'InvalidResponse', 'The fetch handler returned Response.error().', ''];
  const peek = Body.peekBytes(r);
  let bytes = peek === null ? EMPTY : peek;
  if (bytes === undefined) { const h = { bytes: EMPTY }; await Body.readBytes(r, h); bytes = h.bytes; }
  const buf = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer as ArrayBuffer : bytes.slice().buffer as ArrayBuffer;
  return [Outcome.webResponse, r.status, r.statusText, Headers.toFlat(r.headers), buf, tailPending];
}

const codecs: Codecs = {
  decodeUtf8,
  encodeUtf8: (text) => encoder.encode(text),
  toBase64(b) {
    let s = '';
    for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
    return btoa(s);
  },
  fromBase64(text) {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  },
};

/** The Lambda function URL event (payload format version 2.0) for an event handler. */
export function lambdaUrlEvent(method: string, url: string, flat: string[], body: ArrayBuffer, requestId: string, sourceIp: string): Record<string, unknown> {
  return urlEvent(codecs, method, url, flat, body, requestId, sourceIp);
}

/** A Lambda function URL result as the response tuple. */
export function lambdaUrlResult(result: unknown): WebResponseTuple {
  const r = urlResult(codecs, result);
  const b = r.body;
  const buf = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer as ArrayBuffer : b.slice().buffer as ArrayBuffer;
  return [Outcome.webResponse, r.status, '', r.headers, buf, false];
}

/** Tells the host a call's waitUntil work has ended (it holds the call's slot until then). */
export function tailDone(requestId: string): void {
  host(HostOp.tailDone, requestId);
}

