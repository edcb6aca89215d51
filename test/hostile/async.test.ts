// Hostile tenant, async queue (issue 15 point 10), against a real Hearth process while a
// neighbour's calls run (every one must succeed):
// - dead letters, which any caller can make with a function that throws, expire after the
//   dead-letter retention (a tiny one here) with their payloads;
// - they are bounded in bytes too: a flood of failing events keeps the function's newest dead
//   letters within its bound (the oldest dropped, counted), and another function's stay;
// - the queue's byte bound answers 429 TooManyRequests (v1 and the Lambda API) once the queued
//   payloads would pass it, and accepts again once the queue has drained;
// - a destination cycle (A's onSuccess is B, B's is A) of functions that echo their event stops at
//   the chain depth limit, on record as a dead letter with its reason, and the store stays small.
// Each against both queues: the embedded one (LMDB in the data dir) and Redis (a real
// redis-server started here).

import { execFileSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from '../support/hearth.js';
import { deployNeighbour, startNeighbour, type Neighbour } from '../support/neighbour.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { until, waitFor } from '../support/until.js';

const EVENT = { 'X-Hearth-Invocation-Type': 'Event' };
const FAST = ['--no-docker', '--async-retry-base-ms', '20', '--async-retry-max-ms', '50'];

async function scrape(h: Hearth): Promise<string> {
  return (await fetch(`${h.url}/metrics`)).text();
}

function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function accepted(r: Response): Promise<string> {
  const body = await r.json() as { requestId: string };
  expect(r.status, JSON.stringify(body)).toBe(202);
  return body.requestId;
}

async function deadLetters(h: Hearth, fn: string): Promise<Record<string, any>[]> {
  return ((await (await fetch(`${h.url}/v1/functions/${fn}/dead-letters`)).json()) as { deadLetters: Record<string, any>[] }).deadLetters;
}

/** Disk the data dir takes, in KiB (allocated blocks, as du counts them). */
function diskKiB(dir: string): number {
  return Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]);
}

type QueueKind = 'embedded' | 'redis';

interface Setup {
  h(): Hearth;
  /** What the queue's store takes, in KiB: the data dir on disk (embedded), Redis' used_memory (redis). */
  storeKiB(): Promise<number>;
}

/**
 * Starts Hearth on `queue` with `args` (and a redis-server for it), with the neighbour running;
 * the neighbour's report is checked at the end: every call succeeded.
 */
function withNeighbour(queue: QueueKind, args: string[]): Setup {
  let h: Hearth;
  let redis: RedisServer | undefined;
  let neighbour: Neighbour;
  beforeAll(async () => {
    const queueArgs: string[] = [];
    if (queue === 'redis') {
      redis = await startRedis();
      queueArgs.push('--queue', 'redis', '--queue-url', redis.url);
    }
    h = await startHearth({ args: [...FAST, ...queueArgs, ...args] });
    await deployNeighbour(h);
    neighbour = startNeighbour(h, { ratePerSec: 25 });
  });
  afterAll(async () => {
    const report = await neighbour?.stop();
    await h?.stop();
    await redis?.stop();
    expect(report?.failures).toEqual([]);
    expect(report?.calls).toBeGreaterThan(0);
  });
  return {
    h: () => h,
    async storeKiB() {
      if (queue === 'embedded') return diskKiB(h.dataDir);
      const client = new Redis(redis!.url, { lazyConnect: true });
      try {
        await client.connect();
        return Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]) / 1024;
      } finally {
        client.disconnect();
      }
    },
  };
}

for (const queue of ['embedded', 'redis'] as const) {
  describe(`hostile async (${queue} queue): dead letters expire`, () => {
    const { h } = withNeighbour(queue, ['--async-dead-letter-retention-ms', '1000']);

    it('removes dead letters and their payloads after the retention, counted', async () => {
      await deployOk(h(), 'thrower', jsSource("exports.handler = async () => { throw new Error('no'); };", { maxRetries: 0 }));
      const payload = { pad: 'x'.repeat(100 * 1024) };
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await accepted(await h().invoke('thrower', payload, EVENT)));
      // Each one fails, is a dead letter for about a second, then is gone.
      await until(async () => metric(await scrape(h()), 'hearth_async_dead_letters_expired_total') === 20, 30_000,
        async () => `20 dead letters expired (metrics: ${(await scrape(h())).split('\n').filter((l) => l.startsWith('hearth_async')).join('; ')})`);
      expect(await deadLetters(h(), 'thrower')).toEqual([]);
      for (const id of ids) expect((await fetch(`${h().url}/v1/invocations/${id}`)).status).toBe(404);
      const m = await scrape(h());
      expect(metric(m, 'hearth_async_attempts_total{function="thrower",outcome="failed"}')).toBe(20);
      expect(metric(m, 'hearth_async_queue_events')).toBe(0);
      expect(metric(m, 'hearth_async_queue_bytes')).toBe(0);
    });
  });

  describe(`hostile async (${queue} queue): dead letters bounded in bytes`, () => {
    const perFunction = 1024 * 1024;
    const total = 2 * 1024 * 1024;
    const { h } = withNeighbour(queue, ['--async-dead-letter-max-bytes', String(total), '--async-dead-letter-max-bytes-per-function', String(perFunction)]);

    it('keeps a flood of failing events\' newest dead letters within the bound, counts the dropped, and leaves another function\'s alone', async () => {
      const thrower = "exports.handler = async () => { throw new Error('no'); };";
      // One at a time, so they fail (and become dead letters) in the order sent.
      await deployOk(h(), 'flood', jsSource(thrower, { maxRetries: 0, asyncConcurrency: 1 }));
      await deployOk(h(), 'bystander', jsSource(thrower, { maxRetries: 0 }));
      const pad = 'x'.repeat(100 * 1024);
      const theirs: string[] = [];
      for (let i = 0; i < 3; i++) theirs.push(await accepted(await h().invoke('bystander', { i, pad }, EVENT)));
      await until(async () => metric(await scrape(h()), 'hearth_async_attempts_total{function="bystander",outcome="failed"}') === 3, 30_000, 'the bystander\'s 3 dead letters');
      const sent: string[] = [];
      for (let i = 0; i < 40; i++) sent.push(await accepted(await h().invoke('flood', { i, pad }, EVENT)));
      await until(async () => metric(await scrape(h()), 'hearth_async_attempts_total{function="flood",outcome="failed"}') === 40, 60_000, 'the flood\'s 40 failures');
      const m = await scrape(h());
      const kept = (await deadLetters(h(), 'flood')).map((d) => d.requestId as string);
      // 40 × 100 KiB against 1 MiB: at most 10 kept, the newest, in order; the rest dropped and counted.
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThanOrEqual(10);
      expect(kept).toEqual(sent.slice(-kept.length));
      expect(metric(m, 'hearth_async_dead_letters_dropped_total{reason="bytes"}')).toBe(40 - kept.length);
      for (const id of sent.slice(0, 40 - kept.length)) expect((await fetch(`${h().url}/v1/invocations/${id}`)).status).toBe(404);
      const bytes = metric(m, 'hearth_async_dead_letter_bytes')!;
      expect(bytes).toBeGreaterThan(kept.length * 100 * 1024);
      expect(bytes).toBeLessThanOrEqual(perFunction + 3 * 110 * 1024);
      // The bystander holds less than the flood: none of its dead letters was pushed out.
      expect((await deadLetters(h(), 'bystander')).map((d) => d.requestId as string).sort()).toEqual([...theirs].sort());
      expect(metric(m, 'hearth_async_queue_events')).toBe(0);
    });
  });

  describe(`hostile async (${queue} queue): the byte bound, and a destination cycle`, () => {
    const { h, storeKiB } = withNeighbour(queue, ['--async-queue-max-bytes', String(1024 * 1024)]);

    it('answers 429 past the byte bound (v1 and the Lambda API), and accepts again once drained', async () => {
      // One event at a time, each taking a while: what is sent fills the queue.
      await deployOk(h(), 'slow', jsSource('exports.handler = async () => { await new Promise((r) => setTimeout(r, 800)); return 1; };', { asyncConcurrency: 1 }));
      const payload = JSON.stringify({ pad: 'y'.repeat(200 * 1024) });
      let refused: Response | null = null;
      let sent = 0;
      while (refused === null && sent < 40) {
        const r = await fetch(`${h().url}/v1/functions/slow/invoke`, { method: 'POST', headers: { ...EVENT, 'content-type': 'application/json' }, body: payload });
        sent++;
        if (r.status === 202) continue;
        refused = r;
      }
      expect(refused, 'a refusal within 40 events of 200 KiB against a 1 MiB bound').not.toBeNull();
      expect(refused!.status).toBe(429);
      const body = await refused!.json() as { errorType: string; errorMessage: string };
      expect(body.errorType).toBe('TooManyRequests');
      expect(body.errorMessage).toContain('--async-queue-max-bytes 1048576');
      const lambda = await fetch(`${h().url}/2015-03-31/functions/slow/invocations`, { method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event' }, body: payload });
      expect(lambda.status).toBe(429);
      expect(lambda.headers.get('x-amzn-errortype')).toBe('TooManyRequestsException');
      let m = await scrape(h());
      expect(metric(m, 'hearth_async_enqueue_refused_total{limit="bytes"}')).toBeGreaterThanOrEqual(2);
      expect(metric(m, 'hearth_async_queue_bytes')).toBeLessThanOrEqual(1024 * 1024);
      // Drained: room again.
      await until(async () => metric(await scrape(h()), 'hearth_async_queue_events') === 0, 60_000, 'the queue to drain');
      m = await scrape(h());
      expect(metric(m, 'hearth_async_queue_bytes')).toBe(0);
      await accepted(await fetch(`${h().url}/v1/functions/slow/invoke`, { method: 'POST', headers: { ...EVENT, 'content-type': 'application/json' }, body: payload }));
      // Nothing accepted was lost: every 202 ran and succeeded.
      await until(async () => metric(await scrape(h()), 'hearth_async_queue_events') === 0, 60_000, 'the queue to drain again');
      expect(metric(await scrape(h()), 'hearth_async_attempts_total{function="slow",outcome="succeeded"}')).toBe(sent);
    });

    it('stops a destination cycle A → B → A at the depth limit, on record, and the store stays small', async () => {
      // Each echoes its event: without bounds every hop would nest the last one's record twice.
      const echo = 'exports.handler = async (event) => event;';
      // Each deployed once: a redeploy that changes only a destination is not taken as a change today.
      await deployOk(h(), 'cyc-a', jsSource(echo, { onSuccess: { function: 'cyc-b' } }));
      await deployOk(h(), 'cyc-b', jsSource(echo, { onSuccess: { function: 'cyc-a' } }));
      const before = await storeKiB();
      const chains = 3;
      for (let i = 0; i < chains; i++) await accepted(await h().invoke('cyc-a', { chain: i, pad: 'z'.repeat(200 * 1024) }, EVENT));
      // Depth 0 runs in A, 1 in B, …, 16 in A: its onSuccess (B, depth 17) is not run.
      await until(async () => metric(await scrape(h()), 'hearth_async_chains_stopped_total{function="cyc-a"}') === chains, 60_000, 'every chain to stop');
      await until(async () => metric(await scrape(h()), 'hearth_async_queue_events') === 0, 30_000, 'the queue to be empty');
      const m = await scrape(h());
      expect(metric(m, 'hearth_async_attempts_total{function="cyc-a",outcome="succeeded"}')).toBe(9 * chains);
      expect(metric(m, 'hearth_async_attempts_total{function="cyc-b",outcome="succeeded"}')).toBe(8 * chains);
      const stopped = await waitFor(async () => {
        const d = await deadLetters(h(), 'cyc-b');
        return d.length === chains && d;
      }, 10_000, 'the stopped chains as cyc-b\'s dead letters');
      for (const d of stopped) {
        expect(d).toMatchObject({
          status: 'failed', source: 'destination', depth: 17, condition: 'ChainDepthExceeded', attempts: [],
          error: { errorType: 'DestinationChainTooDeep' },
        });
        expect(d.error.errorMessage).toContain('16 destinations in a row');
      }
      // 51 runs of events of 200 KiB and more: unbounded nesting would take gigabytes. Each stored
      // payload is at most an Event's (256 KiB) and a success keeps none: a few MiB in all.
      expect(await storeKiB() - before).toBeLessThan(32 * 1024);
    });
  });
}
