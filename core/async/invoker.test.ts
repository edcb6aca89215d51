// The destination record's size bound: what an event passes on to its destination never exceeds
// an Event payload, however the chain nested before it (issue 15 point 10).

import { describe, expect, it } from 'vitest';
import { destinationRecordJson } from './invoker.js';
import type { EventRecord } from './queue.js';

const LIMIT = 256 * 1024;

function finished(body: unknown, result: unknown, extra: Partial<EventRecord> = {}): EventRecord {
  const now = Date.now();
  return {
    id: 'ev-1', kind: 'invoke', functionName: 'a', qualifier: '', bucket: 'a', body: new TextEncoder().encode(JSON.stringify(body)), enc: 0,
    source: 'destination', enqueuedAt: now, redrives: 0, status: 'succeeded', nextAttemptAt: now, retries: 0, logs: [], finishedAt: now,
    attempts: [{ startedAt: now, endedAt: now, version: '$LATEST', durationMs: 1, error: null }],
    result: result === undefined ? null : new TextEncoder().encode(JSON.stringify(result)), ...extra,
  };
}

describe('destination records', () => {
  it('carry the request and the response when they fit', () => {
    const r = JSON.parse(destinationRecordJson(finished({ n: 1 }, { ok: true }), 'Success', LIMIT));
    expect(r).toMatchObject({ requestPayload: { n: 1 }, responsePayload: { ok: true } });
    expect(r.requestPayloadTruncated).toBeUndefined();
  });

  it('leave out the request payload first when the record would pass the limit', () => {
    const json = destinationRecordJson(finished({ pad: 'x'.repeat(LIMIT) }, { ok: true }), 'Success', LIMIT);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(LIMIT);
    const r = JSON.parse(json);
    expect([r.requestPayload, r.requestPayloadTruncated, r.responsePayload]).toEqual([null, true, { ok: true }]);
  });

  it('then the response (an error message of any size), and flag a result too large to have been kept', () => {
    const huge = finished({ n: 1 }, undefined, { status: 'failed', error: { errorType: 'Error', errorMessage: 'e'.repeat(1024 * 1024), functionError: true } });
    const json = destinationRecordJson(huge, 'RetriesExhausted', LIMIT);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(LIMIT);
    const r = JSON.parse(json);
    expect([r.requestPayloadTruncated, r.responsePayload, r.responsePayloadTruncated]).toEqual([true, null, true]);
    const dropped = JSON.parse(destinationRecordJson(finished({ n: 1 }, undefined, { resultTruncated: true }), 'Success', LIMIT));
    expect(dropped).toMatchObject({ requestPayload: { n: 1 }, responsePayload: null, responsePayloadTruncated: true });
  });

  it('stay within the limit along a chain that echoes its event', () => {
    let rec = finished({ pad: 'y'.repeat(200 * 1024) }, undefined);
    for (let depth = 1; depth <= 16; depth++) {
      const json = destinationRecordJson(rec, 'Success', LIMIT);
      expect(Buffer.byteLength(json)).toBeLessThanOrEqual(LIMIT);
      const body = new TextEncoder().encode(json);
      // The next function echoes its event: its result is its payload (kept only up to 64 KiB).
      rec = finished(JSON.parse(json), undefined, { body, ...(body.byteLength > 64 * 1024 ? { resultTruncated: true } : { result: body }) });
    }
  });
});
