// The host's check of a function's response headers, on a fake uWS response (what it writes).

import { describe, expect, it } from 'vitest';
import type { HttpResponse } from 'uWebSockets.js';
import { HttpCounters } from './http-counters.js';
import { headerDropReason, writeFunctionHeaders } from './response-headers.js';

function written(flat: unknown[], maxBytes = 64 * 1024, maxCount = 1000): { out: [string, string][]; counters: HttpCounters } {
  const out: [string, string][] = [];
  const res = { writeHeader(k: string, v: string) { out.push([k, v]); return res; } } as unknown as HttpResponse;
  const counters = new HttpCounters();
  writeFunctionHeaders(res, flat, { maxCount, maxBytes }, counters.headersDropped);
  return { out, counters };
}

describe('a function\'s response headers', () => {
  it('framing, hop-by-hop, Proxy-*, X-Hearth-* and Service-Worker-Allowed (a scope over the origin) go whatever their case; the rest are written lower-cased', () => {
    const { out, counters } = written([
      'Content-Length', '1', 'TRANSFER-ENCODING', 'chunked', 'Connection', 'close', 'Keep-Alive', 'x', 'Upgrade', 'h2c',
      'TE', 'trailers', 'Trailer', 'x', 'Proxy-Authenticate', 'x', 'X-HEARTH-COLD', 'false', 'x-hearth-request-id', 'forged',
      'Service-Worker-Allowed', '/',
      'Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2',
    ]);
    expect(out).toEqual([['content-type', 'text/plain'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2']]);
    expect(counters.headersDropped).toEqual({ reserved: 11, invalid: 0, limit: 0 });
  });

  it('names that are not tokens and values with control characters are dropped; optional whitespace trimmed', () => {
    expect(headerDropReason('X-Split\r\nX-Evil', 'v')).toBe('invalid');
    expect(headerDropReason('X-A', 'v\r\nX-Evil: 1')).toBe('invalid');
    expect(headerDropReason('X-A', 'v\0')).toBe('invalid');
    expect(headerDropReason('X-A', 'v\x7f')).toBe('invalid');
    expect(headerDropReason('X A', 'v')).toBe('invalid');
    expect(headerDropReason('', 'v')).toBe('invalid');
    expect(headerDropReason({ toString: () => 'x' }, 'v')).toBe('invalid');
    expect(headerDropReason('X-A', 'tab\tinside, and UTF-8 é')).toBeNull();
    const { out } = written(['X-A', '  padded \t', 'X-B', 'bad\n']);
    expect(out).toEqual([['x-a', 'padded']]);
  });

  it('past the count or the bytes, the rest are dropped and counted', () => {
    const many = Array.from({ length: 10 }, (_, i) => [`x-${i}`, 'v'.repeat(100)]).flat();
    const byCount = written(many, 64 * 1024, 3);
    expect(byCount.out).toHaveLength(3);
    expect(byCount.counters.headersDropped.limit).toBe(7);
    const byBytes = written(many, 350);
    expect(byBytes.out).toHaveLength(3);
    expect(byBytes.counters.headersDropped.limit).toBe(7);
  });
});
