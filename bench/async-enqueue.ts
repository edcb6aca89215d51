// `npm run bench:async`: how fast the async queue accepts events durably (what an Event call's
// 202 waits for), in-process, at several numbers of enqueues in flight. With one in flight every
// event pays a whole fsync'd commit; with many, lmdb-js puts those queued during one commit into
// the next (group commit), so the fsyncs are shared.
//
//   node dist/bench/async-enqueue.js [--events 4000] [--in-flight 1,16,64,256] [--redis-url redis://127.0.0.1:6379]
//
// Count the syncs with: strace -f -c -e trace=fdatasync,fsync,msync node dist/bench/async-enqueue.js

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EmbeddedQueue } from '../core/async/embedded-queue.js';
import type { EventRecord, Queue } from '../core/async/queue.js';
import { RedisQueue } from '../core/async/redis-queue.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '4000' },
    'in-flight': { type: 'string', default: '1,16,64,256' },
    rounds: { type: 'string', default: '3' },
    'redis-url': { type: 'string' },
  },
});
const EVENTS = Number(args.events);
const IN_FLIGHT = args['in-flight']!.split(',').map(Number);
const ROUNDS = Number(args.rounds);
const BODY = new TextEncoder().encode(JSON.stringify({ order: 12345, items: ['a', 'b', 'c'], note: 'x'.repeat(200) }));

function event(): EventRecord {
  const now = Date.now();
  return {
    id: randomUUID(), kind: 'invoke', functionName: 'bench', qualifier: '', bucket: 'bench', body: BODY, enc: 0,
    source: 'v1', enqueuedAt: now, redrives: 0, status: 'queued', nextAttemptAt: now, attempts: [], retries: 0, logs: [],
  };
}

/** Enqueues `n` events keeping `inFlight` enqueues outstanding; events per second. */
async function run(q: Queue, n: number, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < n) {
      next++;
      await q.enqueue(event(), { maxQueued: Number.MAX_SAFE_INTEGER, idempotencyWindowMs: 60_000 });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return n / ((performance.now() - started) / 1000);
}

async function bench(name: string, make: () => Promise<{ q: Queue; done: () => Promise<void> }>): Promise<void> {
  process.stdout.write(`\n${name}: ${EVENTS} events of ${BODY.byteLength} B per round, ${ROUNDS} rounds; events/s median [min - max]\n`);
  process.stdout.write('| in flight | events/s |\n| --- | --- |\n');
  for (const k of IN_FLIGHT) {
    const rates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const { q, done } = await make();
      // One event alone with a single enqueue in flight: it pays a whole commit each.
      rates.push(await run(q, k === 1 ? Math.min(EVENTS, 500) : EVENTS, k));
      await done();
    }
    rates.sort((a, b) => a - b);
    const f = (x: number) => Math.round(x).toLocaleString('en-US');
    process.stdout.write(`| ${k} | ${f(rates[Math.floor(rates.length / 2)]!)} [${f(rates[0]!)} - ${f(rates[rates.length - 1]!)}] |\n`);
  }
}

await bench('embedded (LMDB, fsync per commit)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-queue-'));
  const q = new EmbeddedQueue(join(dir, 'queue'), 60_000);
  await q.open();
  return { q, done: async () => { await q.close(); rmSync(dir, { recursive: true, force: true }); } };
});

if (args['redis-url']) {
  await bench(`redis (${args['redis-url']})`, async () => {
    const q = new RedisQueue({ url: args['redis-url']!, retentionMs: 60_000, claimTimeoutMs: 30_000, prefix: `bench-${randomUUID()}` });
    await q.open();
    return { q, done: () => q.close() };
  });
}
