// An AMQP trigger (issue 17, point 4) on a real RabbitMQ (Debian's): two Hearth replicas consume
// one queue (the broker splits the messages), each message an async event in the queue the
// replicas share (a real redis-server), acknowledged only once stored. 2,000 messages; one replica
// killed with SIGKILL mid-way: every message runs, and only those in flight on the killed one may
// run twice. Then the broker stops and comes back: Hearth keeps serving calls, says the trigger is
// reconnecting, and consumes again once it is back.

import { connect } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startRabbit, type RabbitServer } from './support/rabbitmq.js';
import { startRedis, type RedisServer } from './support/redis.js';
import { startSink, type Sink } from './support/sink.js';
import { waitFor } from './support/until.js';

const MESSAGES = 2_000;
const KILL_AFTER = 500;
const BATCH = 32;
const CONCURRENCY = 8;

async function publish(url: string, queue: string, from: number, to: number): Promise<void> {
  const model = await connect(url);
  const ch = await model.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  for (let n = from; n < to; n++) ch.sendToQueue(queue, Buffer.from(JSON.stringify({ n })), { persistent: true, messageId: `m-${n}`, contentType: 'application/json' });
  await ch.waitForConfirms();
  await model.close();
}

describe('AMQP trigger (RabbitMQ)', () => {
  let rabbit: RabbitServer | undefined;
  let redis: RedisServer | undefined;
  let sink: Sink | undefined;
  const procs: Hearth[] = [];
  afterAll(async () => {
    for (const h of procs) await h.stop('SIGKILL').catch(() => {});
    await sink?.close();
    await redis?.stop();
    await rabbit?.stop();
  }, 60_000);

  it('two replicas, one killed: every message runs at least once, duplicates only those in flight on the killed one', async () => {
    [rabbit, redis, sink] = await Promise.all([startRabbit(), startRedis(), startSink()]);
    const s = sink;
    const ranOn = new Map<number, string[]>();
    const origPush = s.requests.push.bind(s.requests);
    s.requests.push = (...items) => {
      for (const r of items) if (r.path === '/run') { const { n, replica } = r.json as { n: number; replica: string }; ranOn.set(n, [...(ranOn.get(n) ?? []), replica]); }
      return origPush(...items.filter((r) => r.path !== '/run'));
    };
    const runs = () => [...ranOn.values()].reduce((n, l) => n + l.length, 0);
    await publish(rabbit.url, 'orders', 0, 0);

    const args = ['--no-docker', '--queue', 'redis', '--queue-url', redis.url, '--queue-claim-timeout-ms', '2000'];
    const [a, b] = await Promise.all([startHearth({ args }), startHearth({ args })]);
    procs.push(a!, b!);
    const trigger = { type: 'amqp', name: 'orders', url: rabbit.url, queue: 'orders', batch: BATCH };
    for (const [tag, h] of Object.entries({ A: a!, B: b! })) {
      await deployOk(h, 'on-order', jsSource(`
        exports.handler = async (event) => {
          const { n } = JSON.parse(event.data);
          const r = await fetch('${s.url}/run', { method: 'POST', body: JSON.stringify({ n, replica: '${tag}' }) });
          if (!r.ok) throw new Error('sink answered ' + r.status);
          return { n };
        };`, { egress: { allow: [`127.0.0.1:${s.port}`] }, asyncConcurrency: CONCURRENCY, triggers: [trigger] }));
    }

    const produce = publish(rabbit.url, 'orders', 0, MESSAGES);
    await waitFor(() => runs() >= KILL_AFTER || null, 60_000, () => `${KILL_AFTER} runs before the kill (${runs()})`);
    const ranOnABefore = [...ranOn].filter(([, l]) => l.includes('A')).length;
    await a!.stop('SIGKILL');
    await produce;

    await waitFor(() => ranOn.size >= MESSAGES || null, 120_000, () => `all ${MESSAGES} messages run (${ranOn.size})`);
    await new Promise((r) => setTimeout(r, 3_000));
    const twice = [...ranOn].filter(([, l]) => l.length > 1);
    const ranOnB = [...ranOn].filter(([, l]) => l.includes('B')).length;
    console.log(`amqp trigger: ${MESSAGES} messages, ${runs()} runs; A ran ${ranOnABefore} before the kill was seen, B ran ${ranOnB}; ${twice.length} ran twice`);
    expect(ranOn.size).toBe(MESSAGES);
    expect(ranOnABefore).toBeGreaterThan(0);
    expect(ranOnB).toBeGreaterThan(0);
    expect(twice.length).toBeLessThanOrEqual(BATCH + CONCURRENCY);
    for (const [, l] of twice) expect(l).toEqual(['A', 'B']);

    const t = await (await fetch(`${b!.url}/v1/functions/on-order/triggers`)).json() as { triggers: Record<string, any>[] };
    expect(t.triggers[0]).toMatchObject({ name: 'orders', type: 'amqp', state: 'connected' });
    expect(await (await fetch(`${b!.url}/metrics`)).text()).toMatch(/hearth_events_received_total\{source="amqp",outcome="queued"\} [1-9]/);
  }, 240_000);

  it('a trigger whose broker goes away: Hearth keeps serving, says so, and consumes again once it is back', async () => {
    await rabbit!.stop(true);
    const { port, dir, epmdPort } = rabbit!;
    rabbit = await startRabbit({ port, dir, epmdPort });
    await publish(rabbit.url, 'jobs', 0, 0);
    const h = await startHearth({ args: ['--no-docker'] });
    procs.push(h);
    try {
      await deployOk(h, 'on-job', jsSource('exports.handler = async (e) => { console.log("job " + JSON.parse(e.data).n); return 1; }',
        { triggers: [{ type: 'amqp', url: rabbit.url, queue: 'jobs' }] }));
      await deployOk(h, 'hello', jsSource('exports.handler = async () => "hi"'));
      await publish(rabbit.url, 'jobs', 1, 2);
      const jobs = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/logs?limit=100`)).json()) as { lines: { message: string }[] }).lines.map((l) => l.message);
      await waitFor(async () => (await jobs()).includes('job 1') || null, 30_000, 'the first job ran');

      await rabbit.stop(true);
      const state = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/triggers`)).json()) as { triggers: Record<string, any>[] }).triggers[0]!;
      const down = await waitFor(async () => { const t = await state(); return t.state === 'reconnecting' ? t : null; }, 30_000, 'the trigger says it is reconnecting');
      expect(down.lastError).toEqual(expect.any(String));
      expect((await h.invoke('hello', {})).status).toBe(200);

      rabbit = await startRabbit({ port, dir, epmdPort });
      await publish(rabbit.url, 'jobs', 2, 3);
      await waitFor(async () => (await jobs()).includes('job 2') || null, 60_000, async () => `the job sent after the broker came back ran (trigger: ${JSON.stringify(await state())})`);
      expect((await jobs()).filter((l) => l === 'job 1')).toHaveLength(1);
    } finally {
      await h.stop();
    }
  }, 180_000);
});
