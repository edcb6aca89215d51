// The two scenarios every queue trigger's test runs against its real server (Redis Streams, NATS
// JetStream, RabbitMQ), written once:
// - two replicas share the trigger, their events in one shared Redis queue; one is killed with
//   SIGKILL mid-way through MESSAGES messages: every message runs, and only those in flight on the
//   killed one run twice (on it, then on the other);
// - the server stops and comes back on the same port and data: Hearth keeps serving, says the
//   trigger is reconnecting, and runs the message sent after it is back (the one before, once).

import { expect } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './hearth.js';
import { startRedis, type RedisServer } from './redis.js';
import { recordRuns, startSink, type Sink } from './sink.js';
import { waitFor } from './until.js';

export const MESSAGES = 2_000;
const KILL_AFTER = 500;
export const BATCH = 32;
const CONCURRENCY = 8;

export interface SplitOptions {
  label: string;
  /** The trigger (its `batch` is set here). */
  trigger: Record<string, unknown>;
  /** JavaScript: the message's number n, from `event`. */
  numberOf: string;
  /** Sends the messages 0..MESSAGES-1. */
  produce(): Promise<void>;
}

/** The SIGKILL scenario; returns the surviving replica (for the source's own checks). Cleans up through `owned`. */
export async function oneOfTwoKilled(o: SplitOptions, owned: { procs: Hearth[]; stops: (() => Promise<void>)[] }): Promise<Hearth> {
  const [redis, sink]: [RedisServer, Sink] = await Promise.all([startRedis(), startSink()]);
  owned.stops.push(() => sink.close(), () => redis.stop());
  const { ranOn, runs } = recordRuns(sink, (b) => b.n as number);
  const args = ['--no-docker', '--queue', 'redis', '--queue-url', redis.url, '--queue-claim-timeout-ms', '2000'];
  const [a, b] = await Promise.all([startHearth({ args }), startHearth({ args })]);
  owned.procs.push(a!, b!);
  for (const [tag, h] of Object.entries({ A: a!, B: b! })) {
    await deployOk(h, 'on-order', jsSource(`
      exports.handler = async (event) => {
        const n = ${o.numberOf};
        const r = await fetch('${sink.url}/run', { method: 'POST', body: JSON.stringify({ n, replica: '${tag}' }) });
        if (!r.ok) throw new Error('sink answered ' + r.status);
        return { n };
      };`, { egress: { allow: [`127.0.0.1:${sink.port}`] }, asyncConcurrency: CONCURRENCY, triggers: [{ ...o.trigger, batch: BATCH }] }));
  }

  const produced = o.produce();
  await waitFor(() => runs() >= KILL_AFTER || null, 60_000, () => `${KILL_AFTER} runs before the kill (${runs()})`);
  const ranOnABefore = [...ranOn].filter(([, l]) => l.includes('A')).length;
  await a!.stop('SIGKILL');
  await produced;

  await waitFor(() => ranOn.size >= MESSAGES || null, 120_000, () => `all ${MESSAGES} messages run (${ranOn.size})`);
  // Settle: what still runs finishes and reports.
  await new Promise((r) => setTimeout(r, 3_000));
  const twice = [...ranOn].filter(([, l]) => l.length > 1);
  const ranOnB = [...ranOn].filter(([, l]) => l.includes('B')).length;
  console.log(`${o.label}: ${MESSAGES} messages, ${runs()} runs; A ran ${ranOnABefore} before the kill was seen, B ran ${ranOnB}; ${twice.length} ran twice`);
  expect(ranOn.size).toBe(MESSAGES);
  // Both replicas took a share before the kill.
  expect(ranOnABefore).toBeGreaterThan(0);
  expect(ranOnB).toBeGreaterThan(0);
  // A duplicate is a message the killed replica had in hand (read and unacknowledged: a batch; or
  // its event running: its async slots) when it died; each ran on A, then on B.
  expect(twice.length).toBeLessThanOrEqual(BATCH + CONCURRENCY);
  for (const [, l] of twice) expect(l).toEqual(['A', 'B']);

  const t = await (await fetch(`${b!.url}/v1/functions/on-order/triggers`)).json() as { triggers: Record<string, unknown>[] };
  expect(t.triggers).toHaveLength(1);
  expect(t.triggers[0]).toMatchObject({ name: o.trigger.name, type: o.trigger.type, state: 'connected' });
  expect(t.triggers[0]!.delivered).toBeGreaterThan(0);
  expect(await (await fetch(`${b!.url}/metrics`)).text()).toMatch(new RegExp(`hearth_events_received_total\\{source="${String(o.trigger.type)}",outcome="queued"\\} [1-9]`));
  return b!;
}

export interface Restartable { url: string; stop(keepDir?: boolean): Promise<void> }

export interface ReconnectOptions<S extends Restartable> {
  server: S;
  /** The same server again, on the same port and data. */
  restart(server: S): Promise<S>;
  trigger(server: S): Record<string, unknown>;
  /** JavaScript: the message's number n, from `e`. */
  numberOf: string;
  /** Sends message n. */
  publish(server: S, n: number): Promise<void>;
}

/** The server-away scenario; returns the server running at its end (the caller stops it). */
export async function serverComesBack<S extends Restartable>(o: ReconnectOptions<S>, owned: { procs: Hearth[] }): Promise<{ server: S; hearth: Hearth }> {
  const h = await startHearth({ args: ['--no-docker'] });
  owned.procs.push(h);
  await deployOk(h, 'on-job', jsSource(`exports.handler = async (e) => { console.log("job " + (${o.numberOf})); return 1; }`, { triggers: [o.trigger(o.server)] }));
  await deployOk(h, 'hello', jsSource('exports.handler = async () => "hi"'));
  await o.publish(o.server, 1);
  const jobs = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/logs?limit=100`)).json()) as { lines: { message: string }[] }).lines.map((l) => l.message);
  await waitFor(async () => (await jobs()).includes('job 1') || null, 30_000, 'the first job ran');

  await o.server.stop(true);
  const state = async () => ((await (await fetch(`${h.url}/v1/functions/on-job/triggers`)).json()) as { triggers: Record<string, unknown>[] }).triggers[0]!;
  const down = await waitFor(async () => { const t = await state(); return t.state === 'reconnecting' ? t : null; }, 30_000, 'the trigger says it is reconnecting');
  expect(down.lastError).toEqual(expect.any(String));
  expect((await h.invoke('hello', {})).status).toBe(200);
  expect(await (await fetch(`${h.url}/metrics`)).text()).toMatch(/hearth_trigger_connected\{function="on-job",trigger="[^"]+"\} 0/);

  const again = await o.restart(o.server);
  await o.publish(again, 2);
  await waitFor(async () => (await jobs()).includes('job 2') || null, 60_000, async () => `the job sent after the server came back ran (trigger: ${JSON.stringify(await state())})`);
  expect((await state()).state).toBe('connected');
  expect((await jobs()).filter((l) => l === 'job 1')).toHaveLength(1);
  return { server: again, hearth: h };
}
