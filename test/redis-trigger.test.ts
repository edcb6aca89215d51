// A Redis Streams trigger (issue 17, point 4) on a real redis-server: two Hearth replicas consume
// one stream as one consumer group (they split the messages), each message an async event in the
// queue they share, acknowledged only once stored. 2,000 messages; one replica killed with SIGKILL
// mid-way: every message runs, and only those in flight on the killed one may run twice. Then the
// server stops and comes back: the survivor keeps serving calls, says the trigger is reconnecting,
// and reads again once it is back.

import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startRedis, type RedisServer } from './support/redis.js';
import { startSink, type Sink } from './support/sink.js';
import { waitFor } from './support/until.js';

const MESSAGES = 2_000;
const KILL_AFTER = 500;
const BATCH = 32;
const CONCURRENCY = 8;

describe('Redis Streams trigger: two replicas, one killed', () => {
  let redis: RedisServer | undefined;
  let sink: Sink | undefined;
  let producer: Redis | undefined;
  const procs: Hearth[] = [];
  afterAll(async () => {
    producer?.disconnect();
    for (const h of procs) await h.stop('SIGKILL').catch(() => {});
    await sink?.close();
    await redis?.stop();
  });

  it('runs every message at least once, duplicates only those in flight on the killed replica', async () => {
    redis = await startRedis();
    sink = await startSink();
    const s = sink;
    /** message n → the replicas that ran it. */
    const ranOn = new Map<number, string[]>();
    const origPush = s.requests.push.bind(s.requests);
    s.requests.push = (...items) => {
      for (const r of items) if (r.path === '/run') { const { n, replica } = r.json as { n: number; replica: string }; ranOn.set(n, [...(ranOn.get(n) ?? []), replica]); }
      return origPush(...items.filter((r) => r.path !== '/run'));
    };
    const runs = () => [...ranOn.values()].reduce((n, l) => n + l.length, 0);

    const args = ['--no-docker', '--queue', 'redis', '--queue-url', redis.url, '--queue-claim-timeout-ms', '2000'];
    const [a, b] = await Promise.all([startHearth({ args }), startHearth({ args })]);
    procs.push(a!, b!);
    const trigger = { type: 'redis', name: 'orders', url: redis.url, stream: 'orders', group: 'hearth', from: 'earliest', batch: BATCH, claimIdleMs: 2_000 };
    for (const [tag, h] of Object.entries({ A: a!, B: b! })) {
      await deployOk(h, 'on-order', jsSource(`
        exports.handler = async (event) => {
          const r = await fetch('${s.url}/run', { method: 'POST', body: JSON.stringify({ n: Number(event.fields.n), replica: '${tag}', id: event.id }) });
          if (!r.ok) throw new Error('sink answered ' + r.status);
          return { n: event.fields.n };
        };`, { egress: { allow: [`127.0.0.1:${s.port}`] }, asyncConcurrency: CONCURRENCY, triggers: [trigger] }));
    }

    producer = new Redis(redis.url);
    const produce = (async () => {
      for (let i = 0; i < MESSAGES; i += 100) {
        const p = producer!.pipeline();
        for (let n = i; n < i + 100; n++) p.xadd('orders', '*', 'n', String(n), 'item', `sku-${n % 7}`);
        await p.exec();
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await waitFor(() => runs() >= KILL_AFTER || null, 60_000, () => `${KILL_AFTER} runs before the kill (${runs()})`);
    const ranOnABefore = new Set([...ranOn].filter(([, l]) => l.includes('A')).map(([n]) => n));
    await a!.stop('SIGKILL');
    await produce;

    await waitFor(() => ranOn.size >= MESSAGES || null, 120_000, () => `all ${MESSAGES} messages run (${ranOn.size}; missing e.g. ${Array.from({ length: MESSAGES }, (_, n) => n).filter((n) => !ranOn.has(n)).slice(0, 5).join(', ')})`);
    // Settle: anything still running finishes and reports.
    await new Promise((r) => setTimeout(r, 3_000));
    const twice = [...ranOn].filter(([, l]) => l.length > 1);
    const ranOnA = [...ranOn].filter(([, l]) => l.includes('A')).length;
    const ranOnB = [...ranOn].filter(([, l]) => l.includes('B')).length;
    console.log(`redis trigger: ${MESSAGES} messages, ${runs()} runs; A ran ${ranOnA} (${ranOnABefore.size} before the kill was seen), B ran ${ranOnB}; ${twice.length} ran twice`);
    expect(ranOn.size).toBe(MESSAGES);
    // Both replicas took a share before the kill.
    expect(ranOnABefore.size).toBeGreaterThan(0);
    expect(ranOnB).toBeGreaterThan(0);
    // A duplicate is a message the killed replica had in hand: read but unacknowledged (a batch), or
    // its event running (its async slots), when it died; each ran on A, then on B.
    expect(twice.length).toBeLessThanOrEqual(BATCH + CONCURRENCY);
    for (const [, l] of twice) expect(l).toEqual(['A', 'B']);

    // The survivor's view of the trigger.
    const t = await (await fetch(`${b!.url}/v1/functions/on-order/triggers`)).json() as { triggers: Record<string, any>[] };
    expect(t.triggers).toHaveLength(1);
    expect(t.triggers[0]).toMatchObject({ name: 'orders', type: 'redis', state: 'connected' });
    expect(t.triggers[0]!.delivered).toBeGreaterThan(0);
    const metrics = await (await fetch(`${b!.url}/metrics`)).text();
    expect(metrics).toMatch(/hearth_events_received_total\{source="redis",outcome="queued"\} [1-9]/);
    expect(metrics).toMatch(/hearth_trigger_connected\{function="on-order",trigger="orders"\} 1/);
  }, 240_000);

  it('a trigger whose server goes away: Hearth keeps serving, says so, and reads again once it is back', async () => {
    const server = await startRedis();
    let again: RedisServer | undefined;
    const h = await startHearth({ args: ['--no-docker'] });
    procs.push(h);
    try {
      const trigger = { type: 'redis', url: server.url, stream: 'jobs', from: 'earliest', claimIdleMs: 1_000 };
      await deployOk(h, 'on-job', jsSource('exports.handler = async (e) => { console.log("job " + e.fields.n); return e.fields.n; }', { triggers: [trigger] }));
      await deployOk(h, 'hello', jsSource('exports.handler = async () => "hi"'));
      const p1 = new Redis(server.url);
      await p1.xadd('jobs', '*', 'n', '1');
      p1.disconnect();
      const jobs = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/logs?limit=100`)).json()) as { lines: { message: string }[] }).lines.map((l) => l.message);
      await waitFor(async () => (await jobs()).includes('job 1') || null, 30_000, 'the first job ran');

      await server.stop(true);
      const state = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/triggers`)).json()) as { triggers: Record<string, any>[] }).triggers[0]!;
      const down = await waitFor(async () => { const t = await state(); return t.state === 'reconnecting' ? t : null; }, 30_000, 'the trigger says it is reconnecting');
      expect(down.lastError).toEqual(expect.any(String));
      expect((await h.invoke('hello', {})).status).toBe(200);
      expect(await (await fetch(`${h.url}/metrics`)).text()).toMatch(/hearth_trigger_connected\{function="on-job",trigger="redis-0"\} 0/);

      again = await startRedis({ port: server.port, dir: server.dir });
      const p2 = new Redis(again.url);
      await p2.xadd('jobs', '*', 'n', '2');
      p2.disconnect();
      await waitFor(async () => (await jobs()).includes('job 2') || null, 60_000, async () => `the job sent after the server came back ran (trigger: ${JSON.stringify(await state())})`);
      expect((await state()).state).toBe('connected');
      expect((await jobs()).filter((l) => l === 'job 1')).toHaveLength(1);

      // A replica that stops holding nothing leaves the group (restarts do not grow it).
      await h.stop();
      const p3 = new Redis(again.url);
      const consumers = await p3.xinfo('CONSUMERS', 'jobs', 'hearth') as unknown[];
      p3.disconnect();
      expect(consumers).toEqual([]);
    } finally {
      await h.stop();
      await again?.stop();
    }
  }, 120_000);
});
