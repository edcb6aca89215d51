// Reading a request body: memory taken as bytes arrive, the in-flight cap, the deadline, given back
// when the response is done. uWS's response is a small fake that hands chunks to onData.

import { describe, expect, it } from 'vitest';
import type { HttpResponse } from 'uWebSockets.js';
import type { HearthError } from '../errors.js';
import { BodyIntake } from './body-intake.js';
import { exchange, finish, readBody, type Exchange } from './exchange.js';
import { HttpCounters } from './http-counters.js';

function setup(cap = 1024 * 1024, timeoutMs = 60_000, shared?: BodyIntake, collect: () => void = () => {}) {
  let onData: ((chunk: ArrayBuffer, last: boolean) => void) | null = null;
  let aborted: (() => void) | null = null;
  const res = {
    onAborted(cb: () => void) { aborted = cb; return res; },
    onData(cb: (chunk: ArrayBuffer, last: boolean) => void) { onData = cb; return res; },
  } as unknown as HttpResponse;
  const intake = shared ?? new BodyIntake({ maxBodyBytesInFlight: cap, bodyTimeoutMs: timeoutMs }, new HttpCounters(), collect);
  const counters = intake.counters;
  const ex: Exchange = exchange(res, { draining: false }, intake);
  const got: { body: ArrayBuffer | null; err: HearthError | null; close: boolean } = { body: null, err: null, close: false };
  const read = (contentLength: string, limit = 6 * 1024 * 1024) => readBody(ex, contentLength, limit, (b) => { got.body = b; }, (e, c) => { got.err = e; got.close = c; });
  const send = (n: number, last: boolean, fill = 1) => onData!(new Uint8Array(n).fill(fill).buffer, last);
  return { ex, counters, got, read, send, abort: () => aborted!() };
}

describe('readBody', () => {
  it('takes memory as bytes arrive, not from the declared length, and gives it back when the response is done', () => {
    const t = setup();
    t.read(String(6 * 1024 * 1024));
    t.send(1, false);
    expect(t.counters.bodyBytesInFlight).toBe(4096);
    t.send(5000, false);
    expect(t.counters.bodyBytesInFlight).toBe(8192);
    t.send(100, true);
    // Short of the declared length: the bytes that came, in a buffer of their own size.
    expect(t.got.body!.byteLength).toBe(5101);
    finish(t.ex);
    expect(t.counters.bodyBytesInFlight).toBe(0);
  });

  it('a body that matches its declared length needs no last copy', () => {
    const t = setup();
    t.read('10000');
    t.send(6000, false, 7);
    t.send(4000, true, 9);
    const b = new Uint8Array(t.got.body!);
    expect(b.byteLength).toBe(10000);
    expect(b[0]).toBe(7);
    expect(b[9999]).toBe(9);
  });

  it('past the cap: 503 BodyCapacity with Retry-After and a close, its bytes given back; a whole first chunk is taken anyway', () => {
    const t = setup(64 * 1024);
    t.read(String(1024 * 1024));
    t.send(60 * 1024, false);
    t.send(60 * 1024, false);
    expect(t.got.err).toMatchObject({ type: 'BodyCapacity', status: 503, retryAfterS: 1 });
    expect(t.got.close).toBe(true);
    expect(t.counters.bodyBytesInFlight).toBe(0);
    expect(t.counters.bodiesRefused.capacity).toBe(1);

    const full = setup(64 * 1024);
    full.read(String(1024 * 1024));
    full.send(60 * 1024, false);
    // A small call whose body comes whole while the cap is held by another: taken, into the reserve (an eighth of the cap).
    const small = setup(64 * 1024, 60_000, full.ex.intake);
    small.read('7000');
    small.send(7000, true);
    expect(small.got.body!.byteLength).toBe(7000);
    expect(full.counters.bodyBytesInFlight).toBe(60 * 1024 + 7000);
    // The reserve is bounded too: the next small whole body does not fit it.
    const past = setup(64 * 1024, 60_000, full.ex.intake);
    past.read('7000');
    past.send(7000, true);
    expect(past.got.err).toMatchObject({ type: 'BodyCapacity' });
    // A whole body larger than 64 KiB (uWS hands up to ~512 KiB in one read) is held to the cap.
    const large = setup(64 * 1024, 60_000, full.ex.intake);
    large.read('70000');
    large.send(70000, true);
    expect(large.got.err).toMatchObject({ type: 'BodyCapacity' });
    // One that does not come whole is refused.
    const partial = setup(64 * 1024, 60_000, full.ex.intake);
    partial.read('70000');
    partial.send(1000, false);
    expect(partial.got.err).toMatchObject({ type: 'BodyCapacity' });
  });

  it('bodies whose callers are checked only once they are in share a quarter of the cap', () => {
    const first = setup(64 * 1024);
    const intake = first.ex.intake;
    const unverified = (n: number, last: boolean) => {
      const t = setup(64 * 1024, 60_000, intake);
      readBody(t.ex, String(100_000), 6 * 1024 * 1024, (b) => { t.got.body = b; }, (e, c) => { t.got.err = e; t.got.close = c; }, true);
      t.send(n, last);
      return t;
    };
    const a = unverified(12 * 1024, false);
    expect(a.got.err).toBeNull();
    // 16 KiB is the quarter: a second unverified body's growth past it is refused.
    const b = unverified(12 * 1024, false);
    expect(b.got.err).toMatchObject({ type: 'BodyCapacity' });
    // An authenticated body still has the rest of the cap.
    first.read(String(40 * 1024));
    first.send(40 * 1024, true);
    expect(first.got.body!.byteLength).toBe(40 * 1024);
    // Once the first is given back, unverified bodies fit again.
    a.abort();
    expect(unverified(12 * 1024, false).got.err).toBeNull();
  });

  it('a body not in by the deadline is 408 RequestTimeout with a close; one whose client left gives its bytes back', async () => {
    const t = setup(1024 * 1024, 100);
    t.read('1000');
    t.send(10, false);
    await new Promise((r) => setTimeout(r, 400));
    expect(t.got.err).toMatchObject({ type: 'RequestTimeout', status: 408 });
    expect(t.got.close).toBe(true);
    expect(t.counters.bodyBytesInFlight).toBe(0);

    const gone = setup();
    gone.read('100000');
    gone.send(50000, false);
    expect(gone.counters.bodyBytesInFlight).toBeGreaterThan(0);
    gone.abort();
    expect(gone.counters.bodyBytesInFlight).toBe(0);
  });

  it('cancel (refused meanwhile) stops the read and gives the bytes back', () => {
    const t = setup();
    const r = t.read('100000');
    t.send(50000, false);
    r.cancel();
    expect(t.counters.bodyBytesInFlight).toBe(0);
    t.send(50000, true);
    expect(t.got.body).toBeNull();
  });

  it('dropped bodies (refused, gone, cancelled after delivery) get one collection a second at most; delivered ones none', async () => {
    let collections = 0;
    const first = setup(64 * 1024, 60_000, undefined, () => { collections++; });
    const intake = first.ex.intake;
    // Delivered and answered: its buffer is the call's, no collection asked for.
    first.read('1000');
    first.send(1000, true);
    finish(first.ex);
    await new Promise((r) => setTimeout(r, 50));
    expect(collections).toBe(0);
    // Refused at the cap, a client gone, and one refused after its body was read: one collection.
    const refused = setup(64 * 1024, 60_000, intake);
    refused.read(String(1024 * 1024));
    refused.send(60 * 1024, false);
    refused.send(60 * 1024, false);
    const gone = setup(64 * 1024, 60_000, intake);
    gone.read('10000');
    gone.send(100, false);
    gone.abort();
    const late = setup(64 * 1024, 60_000, intake);
    const read = late.read('1000');
    late.send(1000, true);
    read.cancel();
    finish(late.ex);
    await new Promise((r) => setTimeout(r, 50));
    expect(collections).toBe(1);
    expect(intake.counters.bodyCollections).toBe(1);
    // Another dropped body within the second: its collection waits for the second to pass.
    const again = setup(64 * 1024, 60_000, intake);
    again.read('10000');
    again.send(100, false);
    again.abort();
    await new Promise((r) => setTimeout(r, 300));
    expect(collections).toBe(1);
    await new Promise((r) => setTimeout(r, 1000));
    expect(collections).toBe(2);
  });
});
