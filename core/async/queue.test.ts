// The queue contract, run against both implementations: the embedded one (LMDB in a temp dir)
// and the Redis Streams one (a real redis-server started by the test; never mocked).

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/support/redis.js';
import { waitFor } from '../../test/support/until.js';
import { HearthError } from '../errors.js';
import { EmbeddedQueue } from './embedded-queue.js';
import { open as openLmdb } from 'lmdb';
import { Redis } from 'ioredis';
import { deadLetterBytes, DELIVERY_BUCKET, isTerminal, QueueFull, type DeadLetterBounds, type EventRecord, type Queue } from './queue.js';
import { RedisQueue } from './redis-queue.js';

const opts = { maxQueued: 1_000, idempotencyWindowMs: 60_000 };

function event(fn = 'f', body = '{"n":1}'): EventRecord {
  const now = Date.now();
  return {
    id: randomUUID(), kind: 'invoke', functionName: fn, qualifier: '', bucket: fn, body: new TextEncoder().encode(body), enc: 0,
    source: 'v1', enqueuedAt: now, redrives: 0, status: 'queued', nextAttemptAt: now, attempts: [], retries: 0, logs: [],
  };
}

/** take() until `n` events came (or 10 s passed: then what came). */
async function takeN(q: Queue, n: number, free: (b: string) => number = () => 100): Promise<EventRecord[]> {
  const got: EventRecord[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < n && Date.now() < deadline) got.push(...await q.take((b) => free(b) - got.filter((r) => r.bucket === b).length, 50));
  return got;
}

function finish(rec: EventRecord, status: 'succeeded' | 'failed'): EventRecord {
  const a = rec.attempts[rec.attempts.length - 1]!;
  a.endedAt = Date.now();
  rec.status = status;
  rec.finishedAt = Date.now();
  rec.condition = status === 'succeeded' ? 'Success' : 'RetriesExhausted';
  return rec;
}

interface Harness {
  /** A new, empty store; dead letters kept `deadLetterRetentionMs` (default: the 14 days), within `bounds` (default: 1 GiB, 256 MiB a function). */
  make(deadLetterRetentionMs?: number, bounds?: DeadLetterBounds): Promise<Queue>;
  /** A second handle on the same store (a restart, or another replica), opened. */
  again(bounds?: DeadLetterBounds): Promise<Queue>;
  /** With the store closed: its dead letters' sizes forgotten, as a store written before dead letters were bounded. */
  forgetSizes(): Promise<void>;
  cleanup(): Promise<void>;
}

const implementations: [string, () => Promise<Harness>][] = [
  ['embedded (LMDB)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hearth-queue-'));
    let n = 0;
    const path = () => join(dir, `q${n}`);
    return {
      async make(dl?: number, bounds?: DeadLetterBounds) { n++; const q = new EmbeddedQueue(path(), 60_000, dl, bounds); await q.open(); return q; },
      async again(bounds?: DeadLetterBounds) { const q = new EmbeddedQueue(path(), 60_000, undefined, bounds); await q.open(); return q; },
      async forgetSizes() {
        // Before the bounds, a dead letter's index keys had the value 1.
        const root = openLmdb({ path: path(), maxDbs: 8, compression: false });
        const index = root.openDB<number, (string | number)[]>({ name: 'index' });
        const keys = [...index.getKeys({ start: ['d'], end: ['e'] }), ...index.getKeys({ start: ['x'], end: ['y'] })];
        await Promise.all(keys.map((k) => index.put(k, 1)));
        await root.close();
      },
      async cleanup() { rmSync(dir, { recursive: true, force: true }); },
    };
  }],
  ['redis (Streams)', async () => {
    const server: RedisServer = await startRedis();
    let prefix = '';
    const open = async (dl?: number, bounds?: DeadLetterBounds) => {
      const q = new RedisQueue({
        url: server.url, retentionMs: 60_000, claimTimeoutMs: 600, prefix,
        ...(dl !== undefined ? { deadLetterRetentionMs: dl } : {}), ...(bounds !== undefined ? { deadLetterBounds: bounds } : {}),
      });
      await q.open();
      return q;
    };
    return {
      async make(dl?: number, bounds?: DeadLetterBounds) { prefix = `t-${randomUUID()}`; return open(dl, bounds); },
      again: (bounds?: DeadLetterBounds) => open(undefined, bounds),
      async forgetSizes() {
        const r = new Redis(server.url);
        try {
          const keys = [...await r.keys(`${prefix}:dlsize:*`), `${prefix}:deadbytes`, `${prefix}:deadBytesTotal`, `${prefix}:dlsized`];
          await r.del(...keys);
        } finally {
          r.disconnect();
        }
      },
      cleanup: () => server.stop(),
    };
  }],
];

for (const [name, harness] of implementations) {
  describe(`queue contract: ${name}`, () => {
    let h: Harness;
    beforeAll(async () => { h = await harness(); });
    afterAll(async () => { await h.cleanup(); });

    it('takes an event once, marks it running, and never hands out a settled success again', async () => {
      const q = await h.make();
      const ev = event();
      expect(await q.enqueue(ev, opts)).toEqual({ id: ev.id, duplicate: false });
      expect((await q.get(ev.id))!.status).toBe('queued');
      const [got] = await takeN(q, 1);
      expect(got!.id).toBe(ev.id);
      expect(got!.status).toBe('running');
      expect(got!.attempts).toHaveLength(1);
      await q.settle(finish(got!, 'succeeded'), []);
      expect((await q.get(ev.id))!.status).toBe('succeeded');
      expect(await q.take(() => 10, 100)).toEqual([]);
      expect((await q.stats()).pending).toBe(0);
      await q.close();
    });

    it('keeps bodies byte for byte and survives a reopen', async () => {
      const q = await h.make();
      const ev = event('f', JSON.stringify({ s: 'é€😀' }));
      await q.enqueue(ev, opts);
      await q.close();
      const q2 = await h.again();
      const [got] = await takeN(q2, 1);
      expect(Buffer.from(got!.body).toString('utf8')).toBe(JSON.stringify({ s: 'é€😀' }));
      await q2.close();
    });

    it('takes at most the free slots of each bucket', async () => {
      const q = await h.make();
      for (let i = 0; i < 5; i++) await q.enqueue(event('a'), opts);
      await q.enqueue(event('b'), opts);
      const got = await takeN(q, 3, (b) => (b === 'a' ? 2 : 1));
      expect(got.filter((r) => r.bucket === 'a')).toHaveLength(2);
      expect(got.filter((r) => r.bucket === 'b')).toHaveLength(1);
      await q.close();
    });

    it('takes nothing of a bucket whose free slots are negative (its limit went below what runs)', async () => {
      const q = await h.make();
      for (let i = 0; i < 20; i++) await q.enqueue(event('neg'), opts);
      expect(await q.take(() => -3, 50)).toEqual([]);
      expect(await takeN(q, 2, () => 2)).toHaveLength(2);
      await q.close();
    });

    it('runs a dead letter once when two redrives of it overlap', async () => {
      const q = await h.make();
      const ev = event();
      await q.enqueue(ev, opts);
      const [got] = await takeN(q, 1);
      await q.settle(finish(got!, 'failed'), []);
      const both = await Promise.all([q.redrive('f', ev.id, Date.now()), q.redrive('f', ev.id, Date.now())]);
      expect(both.filter((r) => r !== null)).toHaveLength(1);
      const taken = await q.take(() => 10, 200);
      expect(taken.map((r) => r.id)).toEqual([ev.id]);
      expect(await q.take(() => 10, 100)).toEqual([]); // not a second time
      await q.close();
    });

    it('dedupes an idempotency key (same id), and refuses it for another body', async () => {
      const q = await h.make();
      const first = event();
      const key = { ...opts, idempotencyKey: 'k-1', bodyHash: 'h1' };
      expect(await q.enqueue(first, key)).toEqual({ id: first.id, duplicate: false });
      expect(await q.enqueue(event(), key)).toEqual({ id: first.id, duplicate: true });
      await expect(q.enqueue(event(), { ...key, bodyHash: 'h2' })).rejects.toMatchObject({ type: 'Conflict' });
      // Another function's same key is its own.
      const other = event('g');
      expect(await q.enqueue(other, key)).toEqual({ id: other.id, duplicate: false });
      await q.close();
    });

    it('refuses past maxQueued (429) and has room again once an event finishes', async () => {
      const q = await h.make();
      const small = { ...opts, maxQueued: 2 };
      await q.enqueue(event(), small);
      await q.enqueue(event(), small);
      const err = await q.enqueue(event(), small).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HearthError);
      expect((err as HearthError).status).toBe(429);
      const [got] = await takeN(q, 1);
      await q.settle(finish(got!, 'succeeded'), []);
      await q.enqueue(event(), small);
      await q.close();
    });

    it('refuses past maxBytes of queued payloads (429, QueueFull bytes) and has room again once an event finishes', async () => {
      const q = await h.make();
      const bounded = { ...opts, maxBytes: 2_500 };
      const kib = () => event('f', JSON.stringify('x'.repeat(1_022))); // 1,024 bytes
      await q.enqueue(kib(), bounded);
      await q.enqueue(kib(), bounded);
      expect((await q.stats()).bytes).toBe(2_048);
      const err = await q.enqueue(kib(), bounded).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueFull);
      expect(err).toMatchObject({ status: 429, type: 'TooManyRequests', limit: 'bytes', retryAfterS: 1 });
      expect((err as Error).message).toContain('--async-queue-max-bytes 2500');
      await q.enqueue(event('f', '1'), bounded); // a small one still fits
      const [got] = await takeN(q, 1);
      await q.settle(finish(got!, 'succeeded'), []);
      expect((await q.stats()).bytes).toBe(1_025);
      await q.enqueue(kib(), bounded);
      await q.close();
    });

    it('stores a success without its payload, and a failed follow-up as a dead letter that is not run', async () => {
      const q = await h.make();
      await q.enqueue(event('f', JSON.stringify('p'.repeat(5_000))), opts);
      const [got] = await takeN(q, 1);
      const stopped: EventRecord = {
        ...event('loop'), status: 'failed', finishedAt: Date.now(), condition: 'ChainDepthExceeded', depth: 17,
        error: { errorType: 'DestinationChainTooDeep', errorMessage: 'not run' },
      };
      await q.settle(finish(got!, 'succeeded'), [stopped]);
      const stored = (await q.get(got!.id))!;
      expect(stored.status).toBe('succeeded');
      expect(stored.body.byteLength).toBe(0);
      expect(await q.take(() => 10, 200)).toEqual([]);
      expect((await q.deadLetters('loop', 10)).map((r) => [r.id, r.condition, r.depth])).toEqual([[stopped.id, 'ChainDepthExceeded', 17]]);
      expect(await q.stats()).toMatchObject({ pending: 0, bytes: 0 });
      await q.close();
    });

    it('removes dead letters past their retention (counted), and keeps the ones redriven', async () => {
      const q = await h.make(1_000);
      const doomed = event('dl');
      const saved = event('dl');
      await q.enqueue(doomed, opts);
      await q.enqueue(saved, opts);
      for (const got of await takeN(q, 2)) await q.settle(finish(got, 'failed'), []);
      expect(await q.redrive('dl', saved.id, Date.now())).not.toBeNull();
      await waitFor(async () => (await q.get(doomed.id)) === null, 10_000, 'the dead letter to expire');
      expect(await q.deadLetters('dl', 10)).toEqual([]);
      expect((await q.stats()).deadLettersExpired).toBe(1);
      expect((await q.get(saved.id))!.status).toBe('queued');
      await q.close();
    });

    /** Fails `ev` (enqueued, taken, settled failed): its dead-letter size. */
    async function failOne(q: Queue, ev: EventRecord): Promise<number> {
      await q.enqueue(ev, opts);
      const [got] = await takeN(q, 1);
      expect(got!.id).toBe(ev.id);
      finish(got!, 'failed');
      const size = deadLetterBytes(got!);
      await q.settle(got!, []);
      return size;
    }

    it('keeps dead letters within the byte bounds: a function\'s oldest past its own, the largest holder\'s oldest past the total; counted', async () => {
      const bounds = { perFunction: 120_000, total: 210_000 };
      const q = await h.make(undefined, bounds);
      const body = (n: number) => JSON.stringify('x'.repeat(n - 2));
      const a = [0, 1, 2].map(() => event('a', body(40_000)));
      const b = [0, 1].map(() => event('b', body(50_000)));
      const c = event('c', body(30_000));
      const size = new Map<string, number>();
      // a's third passes a's bound (3 × 40 kB > 120 kB): a's first goes, nobody else's.
      for (const ev of a) size.set(ev.id, await failOne(q, ev));
      expect((await q.deadLetters('a', 10)).map((r) => r.id)).toEqual([a[1]!.id, a[2]!.id]);
      expect(await q.stats()).toMatchObject({ deadLettersDropped: 1, deadLetterBytes: size.get(a[1]!.id)! + size.get(a[2]!.id)! });
      for (const ev of b) size.set(ev.id, await failOne(q, ev));
      expect((await q.stats()).deadLettersDropped).toBe(1);
      // c passes the total: the oldest of the largest holder (b, 100 kB) goes, not c's, not a's.
      size.set(c.id, await failOne(q, c));
      expect((await q.deadLetters('b', 10)).map((r) => r.id)).toEqual([b[1]!.id]);
      expect((await q.deadLetters('a', 10)).map((r) => r.id)).toEqual([a[1]!.id, a[2]!.id]);
      expect((await q.deadLetters('c', 10)).map((r) => r.id)).toEqual([c.id]);
      expect(await q.get(a[0]!.id)).toBeNull();
      expect(await q.get(b[0]!.id)).toBeNull();
      const kept = [a[1]!, a[2]!, b[1]!, c].map((e) => size.get(e.id)!).reduce((x, y) => x + y);
      expect(await q.stats()).toMatchObject({ deadLettersDropped: 2, deadLetterBytes: kept });
      expect(kept).toBeLessThanOrEqual(bounds.total);
      // One larger than a function's bound is not kept at all.
      const huge = event('d', body(130_000));
      await failOne(q, huge);
      expect(await q.get(huge.id)).toBeNull();
      expect(await q.deadLetters('d', 10)).toEqual([]);
      expect(await q.stats()).toMatchObject({ deadLettersDropped: 3, deadLetterBytes: kept });
      // Redrive and discard give their bytes back.
      expect(await q.redrive('a', a[1]!.id, Date.now())).not.toBeNull();
      expect(await q.discard('c', c.id)).toBe(true);
      expect((await q.stats()).deadLetterBytes).toBe(size.get(a[2]!.id)! + size.get(b[1]!.id)!);
      await q.close();
    });

    it('counts dead letters stored before the bounds (no size recorded), and keeps them within the bounds', async () => {
      let q = await h.make();
      const body = JSON.stringify('o'.repeat(20_000));
      const old = [0, 1, 2].map(() => event('old', body));
      let sizes = 0;
      for (const ev of old) sizes += await failOne(q, ev);
      await q.close();
      await h.forgetSizes();
      q = await h.again({ perFunction: 50_000, total: 1_000_000 });
      // Counted (Redis: as stored, base64 and all; never less than their sizes).
      await failOne(q, event('old', body));
      const kept = await q.deadLetters('old', 10);
      expect(kept.length).toBeLessThanOrEqual(2);
      expect(kept.map((r) => r.id)).not.toContain(old[0]!.id);
      const s = await q.stats();
      expect(s.deadLettersDropped).toBeGreaterThanOrEqual(2);
      expect(s.deadLetterBytes).toBeGreaterThan(0);
      expect(s.deadLetterBytes).toBeLessThanOrEqual(50_000);
      expect(sizes).toBeGreaterThan(50_000);
      await q.close();
    });

    it('a retry comes back when due; a failure is a dead letter that can be redriven or discarded', async () => {
      const q = await h.make();
      const ev = event();
      await q.enqueue(ev, opts);
      let [got] = await takeN(q, 1);
      got!.attempts[0]!.endedAt = Date.now();
      got!.status = 'queued';
      got!.retries = 1;
      got!.nextAttemptAt = Date.now() + 200;
      await q.settle(got!, []);
      [got] = await takeN(q, 1);
      expect(got!.id).toBe(ev.id);
      expect(got!.attempts).toHaveLength(2);
      await q.settle(finish(got!, 'failed'), []);
      expect((await q.deadLetters('f', 10)).map((r) => r.id)).toEqual([ev.id]);
      expect(await q.redrive('other', ev.id, Date.now())).toBeNull();
      const again = await q.redrive('f', ev.id, Date.now());
      expect(again).toMatchObject({ status: 'queued', retries: 0, redrives: 1 });
      expect(await q.deadLetters('f', 10)).toEqual([]);
      [got] = await takeN(q, 1);
      expect(got!.attempts).toHaveLength(3);
      await q.settle(finish(got!, 'failed'), []);
      expect(await q.discard('f', ev.id)).toBe(true);
      expect(await q.get(ev.id)).toBeNull();
      await q.close();
    });

    it('stores follow-up events (destinations) with the outcome, in their own buckets', async () => {
      const q = await h.make();
      await q.enqueue(event(), opts);
      const [got] = await takeN(q, 1);
      const toFn = event('target');
      const toUrl = { ...event('f'), kind: 'deliver' as const, bucket: DELIVERY_BUCKET, url: 'http://127.0.0.1:1/' };
      await q.settle(finish(got!, 'succeeded'), [toFn, toUrl]);
      const next = await takeN(q, 2);
      expect(next.map((r) => r.bucket).sort()).toEqual([DELIVERY_BUCKET, 'target'].sort());
      await q.close();
    });

    it('gives an event whose holder died to the next taker, its attempt marked interrupted', async () => {
      const q = await h.make();
      const ev = event();
      await q.enqueue(ev, opts);
      const [got] = await takeN(q, 1);
      expect(got!.status).toBe('running');
      // The holder goes away without settling (a crash, as far as the store can tell).
      await new Promise((r) => setTimeout(r, 100)); // the running mark is written without being awaited
      await q.close();
      const q2 = await h.again();
      const [back] = await takeN(q2, 1);
      expect(back!.id).toBe(ev.id);
      expect(back!.attempts).toHaveLength(2);
      expect(back!.attempts[0]).toMatchObject({ interrupted: true, error: { errorType: 'Interrupted' } });
      expect(back!.retries).toBe(0);
      expect(isTerminal(back!.status)).toBe(false);
      await q2.close();
    });
  });
}

describe('redis queue: dead-letter bounds with two replicas', () => {
  let server: RedisServer;
  beforeAll(async () => { server = await startRedis(); });
  afterAll(async () => { await server.stop(); });

  it('drops each dead letter past the bound once, counted by one replica, when both store dead letters at once', async () => {
    const prefix = `t-${randomUUID()}`;
    const deadLetterBounds = { perFunction: 60_000, total: 1_000_000 };
    const [a, b] = [0, 1].map(() => new RedisQueue({ url: server.url, retentionMs: 60_000, claimTimeoutMs: 60_000, prefix, deadLetterBounds }));
    await a!.open();
    await b!.open();
    try {
      for (let i = 0; i < 20; i++) await a!.enqueue(event('f', JSON.stringify('y'.repeat(10_000))), opts);
      const byA = await takeN(a!, 10, () => 10);
      const byB = await takeN(b!, 10, () => 10);
      expect(byA.length + byB.length).toBe(20);
      const sizes = new Map([...byA, ...byB].map((r) => { finish(r, 'failed'); return [r.id, deadLetterBytes(r)]; }));
      await Promise.all([...byA.map((r) => a!.settle(r, [])), ...byB.map((r) => b!.settle(r, []))]);
      const kept = await a!.deadLetters('f', 100);
      const [sa, sb] = [await a!.stats(), await b!.stats()];
      expect(sa.deadLettersDropped + sb.deadLettersDropped).toBe(20 - kept.length);
      expect(sa.deadLetterBytes).toBe(kept.map((r) => sizes.get(r.id)!).reduce((x, y) => x + y, 0));
      expect(sa.deadLetterBytes).toBeLessThanOrEqual(60_000);
      expect(sb.deadLetterBytes).toBe(sa.deadLetterBytes);
    } finally {
      await a!.close();
      await b!.close();
    }
  });
});

/** Replicas A and B on a fresh prefix, both open: A refreshes its holds only every 200 s, B takes over after 200 ms idle. */
async function stalledPair(server: RedisServer): Promise<{ prefix: string; a: RedisQueue; b: RedisQueue }> {
  const prefix = `t-${randomUUID()}`;
  const a = new RedisQueue({ url: server.url, retentionMs: 60_000, claimTimeoutMs: 600_000, prefix });
  const b = new RedisQueue({ url: server.url, retentionMs: 60_000, claimTimeoutMs: 200, prefix });
  await a.open();
  await b.open();
  return { prefix, a, b };
}

describe('redis queue: a holder that stalls past the claim timeout', () => {
  let server: RedisServer;
  beforeAll(async () => { server = await startRedis(); });
  afterAll(async () => { await server.stop(); });

  /** Replicas A and B on one prefix, and an event A has taken (A is then stalled: it refreshes its hold only every 200 s; B takes over after 200 ms idle). */
  async function stalledHolder(run: (a: RedisQueue, b: RedisQueue, ev: EventRecord, byA: EventRecord) => Promise<void>): Promise<void> {
    const { prefix, a, b } = await stalledPair(server);
    try {
      const ev = event();
      await a.enqueue(ev, opts);
      const [byA] = await takeN(a, 1);
      expect(byA!.id).toBe(ev.id);
      await run(a, b, ev, byA!);
    } finally {
      await a.close();
      await b.close();
    }
  }

  it('stores its success between another replica taking the event over and marking it: the success stands, the event is not run again', async () => {
    await stalledHolder(async (a, b, ev, held) => {
      // B reads the record (still "running" by A); A comes back and stores its success before B writes.
      const bRedis = (b as unknown as { redis: { mget(...keys: string[]): Promise<(string | null)[]> } }).redis;
      const mget = bRedis.mget.bind(bRedis);
      let raced = false;
      bRedis.mget = async (...keys: string[]) => {
        const read = await mget(...keys);
        if (!raced && read.some((t) => t?.includes(ev.id))) {
          raced = true;
          await a.settle(finish(held, 'succeeded'), []);
        }
        return read;
      };
      const deadline = Date.now() + 5_000;
      const taken: EventRecord[] = [];
      while (!raced && Date.now() < deadline) taken.push(...await b.take(() => 10, 50));
      taken.push(...await b.take(() => 10, 50));
      expect(raced).toBe(true);
      expect(taken).toEqual([]);
      expect(await b.get(ev.id)).toMatchObject({ status: 'succeeded', attempts: [{ endedAt: expect.any(Number) }] });
      expect(await b.stats()).toMatchObject({ pending: 0, held: 0 });
    });
  });

  it('stores a retry between another replica taking the event over and reading it: the retry waits for its backoff, it is not run at once', async () => {
    await stalledHolder(async (a, b, ev, held) => {
      // B has the entry (XAUTOCLAIM); A comes back and queues a retry before B reads the record.
      const bRedis = (b as unknown as { redis: { mget(...keys: string[]): Promise<(string | null)[]> } }).redis;
      const mget = bRedis.mget.bind(bRedis);
      let raced = false;
      let retryAt = 0;
      bRedis.mget = async (...keys: string[]) => {
        if (!raced && keys.some((k) => k.endsWith(ev.id))) {
          raced = true;
          const a0 = held.attempts[held.attempts.length - 1]!;
          a0.endedAt = Date.now();
          held.status = 'queued';
          held.retries = 1;
          retryAt = held.nextAttemptAt = Date.now() + 400;
          await a.settle(held, []);
        }
        return mget(...keys);
      };
      const taken: EventRecord[] = [];
      const deadline = Date.now() + 5_000;
      while (!raced && Date.now() < deadline) taken.push(...await b.take(() => 10, 50));
      expect(raced).toBe(true);
      expect(taken).toEqual([]);
      expect(await b.get(ev.id)).toMatchObject({ status: 'queued', retries: 1 });
      // Once due, it comes back once, as the retry it is (no interrupted attempt).
      const [again] = await takeN(b, 1);
      expect(Date.now()).toBeGreaterThanOrEqual(retryAt);
      expect(again!.attempts).toHaveLength(2);
      expect(again!.attempts[0]!.interrupted).toBeFalsy();
      await b.settle(finish(again!, 'succeeded'), []);
      expect(await b.stats()).toMatchObject({ pending: 0, held: 0 });
    });
  });

  it('comes back after another replica took the event over: its outcome and follow-ups are dropped, the taker\'s run settles it once', async () => {
    await stalledHolder(async (a, b, ev, byA) => {
      const [byB] = await takeN(b, 1);
      expect(byB!.id).toBe(ev.id);
      expect(byB!.attempts).toHaveLength(2);
      expect(byB!.attempts[0]).toMatchObject({ interrupted: true });
      // A stored nothing: not its failure, not the follow-up its failure would send.
      const followUp = { ...event('other'), kind: 'invoke' as const };
      await a.settle(finish(byA, 'failed'), [followUp]);
      expect(await a.get(followUp.id)).toBeNull();
      expect(await a.deadLetters('f', 10)).toEqual([]);
      expect(await b.get(ev.id)).toMatchObject({ status: 'running' });
      await b.settle(finish(byB!, 'succeeded'), []);
      expect(await b.get(ev.id)).toMatchObject({ status: 'succeeded', attempts: [{ interrupted: true }, { endedAt: expect.any(Number) }] });
      expect(await b.stats()).toMatchObject({ pending: 0, held: 0 });
      expect(await b.take(() => 10, 50)).toEqual([]);
    });
  });
});

describe('redis queue: leaving the consumer group', () => {
  let server: RedisServer;
  beforeAll(async () => { server = await startRedis(); });
  afterAll(async () => { await server.stop(); });

  /** The consumers of a bucket's group: name → entries pending for it. */
  async function consumers(prefix: string, bucket: string): Promise<Record<string, number>> {
    const r = new Redis(server.url);
    try {
      const rows = await r.call('XINFO', 'CONSUMERS', `${prefix}:s:${bucket}`, 'hearth') as (string | number)[][];
      return Object.fromEntries(rows.map((row) => [String(row[row.indexOf('name') + 1]), Number(row[row.indexOf('pending') + 1])]));
    } finally {
      r.disconnect();
    }
  }
  const consumerOf = (q: RedisQueue) => (q as unknown as { consumer: string }).consumer;

  it('a replica that closes leaves the groups where it holds nothing, and stays where it holds an event, which is taken over, not dropped', async () => {
    const { prefix, a, b } = await stalledPair(server);
    try {
      // A runs one event of f to the end, and holds one of g (its run cut: a drain deadline).
      const done = event('f');
      await a.enqueue(done, opts);
      const [byA] = await takeN(a, 1);
      await a.settle(finish(byA!, 'succeeded'), []);
      const cut = event('g');
      await a.enqueue(cut, opts);
      expect((await takeN(a, 1, (bucket) => (bucket === 'g' ? 1 : 0)))[0]!.id).toBe(cut.id);
      expect(await consumers(prefix, 'f')).toEqual({ [consumerOf(a)]: 0 });
      expect(await consumers(prefix, 'g')).toEqual({ [consumerOf(a)]: 1 });
      await a.close();
      // Gone from f's group; still in g's, with the entry it holds.
      expect(await consumers(prefix, 'f')).toEqual({});
      expect(await consumers(prefix, 'g')).toEqual({ [consumerOf(a)]: 1 });
      // B takes it over after the claim timeout, as from a replica that died.
      const [byB] = await takeN(b, 1);
      expect(byB!.id).toBe(cut.id);
      expect(byB!.attempts[0]).toMatchObject({ interrupted: true });
      await b.settle(finish(byB!, 'succeeded'), []);
      await b.close();
      expect(await consumers(prefix, 'g')).toEqual({ [consumerOf(a)]: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
