// Issue 20, point 4: three real Hearth replicas behind a real nginx (examples/gateway/nginx.conf
// with three upstreams), sharing one real redis-server (append-only, fsync always) as the async
// queue (`--queue redis`), under steady load of sync calls and async events through nginx:
//   1. a rolling SIGTERM restart of all three, one after the other, loses no sync call and no
//      event, and runs every event exactly once;
//   2. a SIGKILL of one loses only the sync calls nginx had sent to it, and the events it held are
//      taken over by the others after --queue-claim-timeout-ms: the only events that ran twice
//      are the ones in flight on it.
// Each process is its own consumer in the queue's Redis consumer group; one that exits after its
// drain leaves the group (it holds nothing), a killed one stays in it, holding nothing once its
// entries were taken over.
// What ran where is reported by the functions themselves to a recording HTTP sink (isolates have
// no file system): each replica's functions folder holds the same two functions, with the
// replica's name as a constant, so a run names its replica. nginx's access log ($upstream_addr)
// says which replica each request went to. The counts per phase are printed.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { accessLog, gatewayConfig, post, readIf, ready, sleep, startNginx, stopNginx, type Answer } from './support/gateway.js';
import { startHearth, type Hearth } from './support/hearth.js';
import { freePort, startRedis, type RedisServer } from './support/redis.js';
import { recordRuns, startSink, type Sink } from './support/sink.js';
import { until } from './support/until.js';

const TAGS = ['A', 'B', 'C'] as const;
type Tag = typeof TAGS[number];
/** Clients sending sync calls back to back, and clients sending events (each with a pause between). */
const SYNC_CLIENTS = 4;
const EVENT_CLIENTS = 2;
const EVENT_GAP_MS = 50;
/** How long an event runs: short in the rolling restart (none is cut by a drain), long at the kill (some are in flight). */
const QUICK_EVENT_MS = 10;
const LONG_EVENT_MS = 300;
const ASYNC_CONCURRENCY = 4;
const CLAIM_TIMEOUT_MS = 2_000;
/** The killed replica has at least this many events running (reported, not finished) at the signal. */
const EVENTS_IN_FLIGHT_AT_KILL = 3;

interface Sent extends Answer {
  /** Our X-Request-Id (nginx logs it). */
  id: string;
  kind: 'sync' | 'event';
  phase: string;
  start: number;
  end: number;
}

/**
 * The sync function reports each call to /sync; the async one reports each run's start to /run
 * and its end to /done (context.requestId is the event's id on every attempt), both before they
 * return, so a run the sink has no /done for had not finished.
 */
function functionsFolder(root: string, tag: Tag, sinkUrl: string, sinkPort: number): string {
  const dir = join(root, `functions-${tag}`);
  const egress = { allow: [`127.0.0.1:${sinkPort}`] };
  const report = `const REPLICA = '${tag}';
async function report(path, id) {
  const r = await fetch('${sinkUrl}' + path, { method: 'POST', body: JSON.stringify({ id, replica: REPLICA }) });
  if (!r.ok) throw new Error('sink answered ' + r.status);
}
`;
  mkdirSync(join(dir, 'work'), { recursive: true });
  writeFileSync(join(dir, 'work/function.json'), JSON.stringify({ runtime: 'js', handler: 'index.handler', timeoutMs: 5_000, egress }));
  writeFileSync(join(dir, 'work/index.js'), `${report}exports.handler = async (e) => { await report('/sync', e.id); return { id: e.id }; };\n`);
  mkdirSync(join(dir, 'ev'), { recursive: true });
  writeFileSync(join(dir, 'ev/function.json'), JSON.stringify({ runtime: 'js', handler: 'index.handler', timeoutMs: 5_000, egress, asyncConcurrency: ASYNC_CONCURRENCY }));
  writeFileSync(join(dir, 'ev/index.js'), `${report}exports.handler = async (e, context) => {
  await report('/run', context.requestId);
  await new Promise((r) => setTimeout(r, e.ms));
  await report('/done', context.requestId);
  return { ms: e.ms };
};\n`);
  return dir;
}

/** Sync calls back to back and events with a pause, through nginx on kept-alive connections, until stopped. */
function load(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: SYNC_CLIENTS + EVENT_CLIENTS });
  const sent: Sent[] = [];
  let phase = 'warm-up';
  let eventMs = QUICK_EVENT_MS;
  let running = true;
  let eventsPaused = false;
  let eventsBusy = 0;
  let n = 0;
  const send = async (kind: Sent['kind'], path: string, body: (id: string) => string, headers: Record<string, string> = {}) => {
    const id = `${kind === 'sync' ? 's' : 'e'}${++n}`;
    const p = phase;
    const start = performance.now();
    const r = await post(agent, port, path, id, body(id), headers);
    sent.push({ id, kind, phase: p, start, end: performance.now(), ...r });
  };
  const loops = [
    ...Array.from({ length: SYNC_CLIENTS }, async () => {
      while (running) await send('sync', '/v1/functions/work/invoke', (id) => JSON.stringify({ id }));
    }),
    ...Array.from({ length: EVENT_CLIENTS }, async () => {
      while (running) {
        if (eventsPaused) { await sleep(20); continue; }
        eventsBusy++;
        const ms = eventMs;
        await send('event', '/v1/functions/ev/invoke', () => JSON.stringify({ ms }), { 'x-hearth-invocation-type': 'Event' });
        eventsBusy--;
        await sleep(EVENT_GAP_MS);
      }
    }),
  ];
  return {
    sent,
    setPhase(p: string, ms: number) { phase = p; eventMs = ms; },
    /** Stops sending events and waits for the ones sent to be answered. */
    async pauseEvents() { eventsPaused = true; await until(() => eventsBusy === 0, 30_000, 'event clients answered', 10); },
    resumeEvents() { eventsPaused = false; },
    async stop() { running = false; await Promise.all(loops); agent.destroy(); },
  };
}

interface View { status: string; attempts: { startedAt: string; interrupted?: boolean; error: unknown }[]; enqueuedAt: string }

/** The records of these events, once each is finished (succeeded or failed), read from `h`. */
async function finished(h: Hearth, ids: string[]): Promise<Map<string, View>> {
  const out = new Map<string, View>();
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map(async (id) => {
      for (;;) {
        const v = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as View;
        if (v.status === 'succeeded' || v.status === 'failed') { out.set(id, v); return; }
        if (Date.now() > deadline) throw new Error(`event ${id} not finished: ${JSON.stringify(v)}`);
        await sleep(50);
      }
    }));
  }
  return out;
}

async function withRedis<T>(url: string, f: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url);
  try { return await f(r); } finally { r.disconnect(); }
}

/** The consumers in the async queue's group for a function's stream (Redis Streams): name → entries pending for it. */
function consumers(url: string, fn: string): Promise<Record<string, number>> {
  return withRedis(url, async (r) => {
    const rows = await r.call('XINFO', 'CONSUMERS', `hearth:s:${fn}`, 'hearth') as (string | number)[][];
    return Object.fromEntries(rows.map((row) => [String(row[row.indexOf('name') + 1]), Number(row[row.indexOf('pending') + 1])]));
  });
}

/** The pids in consumer names (a replica's is `<host name>-<pid>-<random hex>`), sorted; -1 for a name of another form. */
function consumerPids(names: string[]): number[] {
  const host = `${hostname()}-`;
  return names.map((n) => (n.startsWith(host) ? Number(/^(\d+)-[0-9a-f]{8}$/.exec(n.slice(host.length))?.[1] ?? -1) : -1)).sort((a, b) => a - b);
}

const eventId = (s: Sent): string | null => {
  if (s.kind !== 'event' || s.status !== 202) return null;
  return (JSON.parse(s.body) as { requestId: string }).requestId;
};

describe('three replicas behind nginx on one Redis, under load', () => {
  it('a rolling SIGTERM restart of all three loses no call and no event; SIGKILL of one loses only what was in flight on it, and its events are taken over', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hearth-replicas-'));
    const prefix = join(work, 'nginx');
    mkdirSync(prefix);
    let redis: RedisServer | null = null;
    let sink: Sink | null = null;
    let nginx: ChildProcess | null = null;
    let traffic: ReturnType<typeof load> | null = null;
    const replicas = new Map<Tag, Hearth>();
    try {
      redis = await startRedis();
      sink = await startSink();
      const syncRan = recordRuns(sink, (b) => b.id as string, '/sync');
      const evRan = recordRuns(sink, (b) => b.id as string, '/run');
      const evDone = recordRuns(sink, (b) => b.id as string, '/done');
      const gw = await freePort();
      const ports = new Map<Tag, number>();
      for (const t of TAGS) ports.set(t, await freePort());
      const addr = (t: Tag) => `127.0.0.1:${ports.get(t)}`;
      const folders = new Map(TAGS.map((t) => [t, functionsFolder(work, t, sink!.url, sink!.port)]));
      // Each replica keeps its port and data dir across a restart, as a pod with a volume would.
      const start = (t: Tag) => startHearth({
        dataDir: join(work, `data-${t}`),
        args: ['--no-docker', '--drain-timeout-ms', '10000', '--queue', 'redis', '--queue-url', redis!.url,
          '--queue-claim-timeout-ms', String(CLAIM_TIMEOUT_MS), '--functions', folders.get(t)!, '--port', String(ports.get(t))],
      });
      await Promise.all(TAGS.map(async (t) => { const h = await start(t); replicas.set(t, h); await ready(h); }));
      nginx = await startNginx(prefix, gatewayConfig(gw, TAGS.map((t) => ports.get(t)!)), gw);

      const countOn = (m: Map<string, string[]>, t: Tag) => { let k = 0; for (const l of m.values()) for (const r of l) if (r === t) k++; return k; };
      const progress = (what: string, cond: () => boolean) =>
        until(cond, 30_000, () => `${what}\n${readIf(join(prefix, 'logs/error.log')).slice(-3000)}`, 20);

      traffic = load(gw);
      await progress('every replica runs calls and events', () => TAGS.every((t) => countOn(syncRan.ranOn, t) >= 20 && countOn(evRan.ranOn, t) >= 3));
      const pids = () => TAGS.flatMap((t) => (replicas.has(t) ? [replicas.get(t)!.proc.pid!] : [])).sort((a, b) => a - b);
      const firstPids = pids();
      const consumersBefore = await consumers(redis.url, 'ev');

      // 1. Rolling restart: SIGTERM (drain, exit 0), started again on the same port and data dir,
      // ready, and serving calls and running events again before the next one goes.
      traffic.setPhase('rolling', QUICK_EVENT_MS);
      const exits: (number | null)[] = [];
      const drains: string[] = [];
      for (const t of TAGS) {
        const old = replicas.get(t)!;
        // Runs it reported between the signal and its exit: events taken just before the signal,
        // or read by the XREADGROUP it had waiting then (the drain runs what was read, to the end).
        const runsAtSignal = countOn(evRan.ranOn, t);
        exits.push(await old.stop('SIGTERM'));
        drains.push(`${t}: ${countOn(evRan.ranOn, t) - runsAtSignal} event runs began while it drained`);
        for (const line of old.log().split('\n')) {
          if (line.includes('"msg":"drained') || line.includes('"msg":"drain deadline') || line.includes('async events: none running') || line.includes('drain deadline reached with async')) {
            const d = JSON.parse(line) as Record<string, unknown>;
            drains.push(`${t}: ${d.msg}${d.ms !== undefined ? ` after ${d.ms} ms (${d.inFlightAtStart} calls in flight at SIGTERM, ${d.arrivedWhileDraining} arrived meanwhile)` : ''}`);
          }
        }
        const [calls, runs] = [countOn(syncRan.ranOn, t), countOn(evRan.ranOn, t)];
        const h = await start(t);
        replicas.set(t, h);
        await ready(h);
        await progress(`${t} serves again after its restart`, () => countOn(syncRan.ranOn, t) >= calls + 20 && countOn(evRan.ranOn, t) >= runs + 3);
      }
      // Every event accepted so far finishes before the kill's phase starts, so that phase's
      // duplicates are its own.
      await traffic.pauseEvents();
      const rollingEvents = traffic.sent.flatMap((s) => { const id = eventId(s); return id ? [id] : []; });
      const rollingRecords = await finished(replicas.get('A')!, rollingEvents);
      const rollingSent = traffic.sent.length;
      // A restarted replica is a new consumer in the group, and the one it replaced left it at its
      // exit (it held nothing): the group has the three running replicas, none of the old ones.
      const consumersAfterRolling = await consumers(redis.url, 'ev');
      const restartedPids = pids();

      // 2. SIGKILL of C, once it has events running (reported started, not finished). The snapshot
      // and the signal are one synchronous step: a run whose /done the sink had not read by then
      // was still waiting for the sink's answer, so C had not stored its outcome.
      traffic.setPhase('kill', LONG_EVENT_MS);
      traffic.resumeEvents();
      const runningOn = (t: Tag) => [...evRan.ranOn].filter(([id, l]) => l.includes(t) && !(evDone.ranOn.get(id) ?? []).includes(t)).map(([id]) => id);
      await progress(`C runs ${EVENTS_IN_FLIGHT_AT_KILL} events at once`, () => runningOn('C').length >= EVENTS_IN_FLIGHT_AT_KILL);
      const c = replicas.get('C')!;
      const cGone = new Promise<void>((r) => c.proc.once('exit', () => r()));
      const inFlightOnC = runningOn('C');
      const killAt = performance.now();
      c.proc.kill('SIGKILL');
      await cGone;
      const goneAt = performance.now();
      // Queued or running (the queue's own count), for the report.
      const pendingAtKill = await withRedis(redis.url, async (r) => Number(await r.get('hearth:pending')));
      replicas.delete('C');
      const syncAtKill = { A: countOn(syncRan.ranOn, 'A'), B: countOn(syncRan.ranOn, 'B') };
      // Its events are taken over (after the claim timeout) while the load goes on.
      await progress('the events C held are taken over', () => inFlightOnC.every((id) => (evRan.ranOn.get(id)?.length ?? 0) >= 2));
      await progress('A and B serve after the kill', () => countOn(syncRan.ranOn, 'A') >= syncAtKill.A + 50 && countOn(syncRan.ranOn, 'B') >= syncAtKill.B + 50);
      await traffic.stop();
      const sent = traffic.sent;
      const killEvents = sent.slice(rollingSent).flatMap((s) => { const id = eventId(s); return id ? [id] : []; });
      const killRecords = await finished(replicas.get('A')!, killEvents);
      // Events that ran though no client got their 202: C stored them, and its answer was lost
      // with it. They are in the queue like any other: their records too.
      const accepted = new Set([...rollingEvents, ...killEvents]);
      const unknown = [...evRan.ranOn.keys()].filter((id) => !accepted.has(id));
      const unknownRecords = await finished(replicas.get('A')!, unknown);
      const consumersAtEnd = await consumers(redis.url, 'ev');

      // nginx writes a request's log line once it is done: wait (bounded) for the last ones.
      let log = accessLog(prefix);
      for (let i = 0; i < 40 && sent.some((s) => !log.has(s.id)); i++) { await sleep(50); log = accessLog(prefix); }
      const upstream = (s: Sent) => log.get(s.id)?.upstreams.at(-1) ?? '?';
      const ok = (s: Sent) => s.kind === 'sync'
        ? s.status === 200 && (() => { try { return (JSON.parse(s.body) as { id?: string }).id === s.id; } catch { return false; } })()
        : s.status === 202 && eventId(s) !== null;
      const failed = sent.filter((s) => !ok(s));

      // Counts.
      const rows: string[] = [];
      for (const phase of ['warm-up', 'rolling', 'kill']) {
        const ps = sent.filter((s) => s.phase === phase);
        const syncs = ps.filter((s) => s.kind === 'sync');
        const evs = ps.filter((s) => s.kind === 'event');
        const per = TAGS.map((t) => `${t} ${syncs.filter((s) => upstream(s) === addr(t)).length}`).join(', ');
        const retried = ps.filter((s) => (log.get(s.id)?.upstreams.length ?? 0) > 1).length;
        rows.push(`${phase}: sync ${syncs.length} sent, ${syncs.filter(ok).length} ok, ${syncs.filter((s) => !ok(s)).length} failed (served by ${per}); ` +
          `events ${evs.length} sent, ${evs.filter(ok).length} accepted, ${evs.filter((s) => !ok(s)).length} failed; ${retried} requests went to another replica after a refused connection`);
      }
      const takenOver = [...killRecords, ...unknownRecords].filter(([, v]) => v.attempts.some((a) => a.interrupted)).map(([id]) => id);
      const ranTwice = [...evRan.ranOn].filter(([, l]) => l.length > 1).map(([id]) => id);
      const waits = [...rollingRecords.values()].map((v) => Date.parse(v.attempts[0]!.startedAt) - Date.parse(v.enqueuedAt));
      rows.push(`rolling restart: ${TAGS.length} replicas, exit codes ${exits.join(', ')}; ${rollingRecords.size} events accepted, ${[...rollingRecords.values()].filter((v) => v.status === 'succeeded').length} succeeded, ` +
        `${rollingEvents.filter((id) => (evRan.ranOn.get(id)?.length ?? 0) > 1).length} ran twice; longest wait from accepted to started (warm-up included) ${Math.max(...waits)} ms`);
      rows.push(...drains.map((d) => `  drain ${d}`));
      rows.push(`SIGKILL of C: ${inFlightOnC.length} events running on it at the signal, ${pendingAtKill} queued or running in all; C gone ${(goneAt - killAt).toFixed(0)} ms later; ` +
        `${killRecords.size} events accepted in the phase (and ${unknown.length} run without a 202), ${[...killRecords.values()].filter((v) => v.status === 'succeeded').length} succeeded, ${takenOver.length} taken over, ${ranTwice.length} ran twice; ` +
        `${failed.length} requests failed (${failed.filter((s) => s.start >= killAt).length} sent after the signal)`);
      rows.push(`consumers in the group: ${Object.keys(consumersBefore).length} at the start, ${Object.keys(consumersAfterRolling).length} after the rolling restart, ${Object.keys(consumersAtEnd).length} at the end`);
      console.log(`replicas: nginx → 3 Hearth replicas on one redis-server, ${SYNC_CLIENTS} sync + ${EVENT_CLIENTS} event clients\n  ${rows.join('\n  ')}`);

      // Every request has its access-log line (the matching below relies on it), and no client ever
      // failed to talk to nginx itself.
      expect(sent.filter((s) => !log.has(s.id)).map((s) => s.id)).toEqual([]);
      expect(sent.filter((s) => s.error !== null).map((s) => `${s.id}: ${s.error}`)).toEqual([]);

      // 1. Each replica drained and exited 0. No request before the kill failed: every sync call
      // got its own answer and every event its 202. ("Got through" needs no carving out here: a
      // draining or restarting replica refuses connections, which nginx retries on another replica,
      // so every request reached one that answered it.)
      expect(exits).toEqual([0, 0, 0]);
      expect(sent.filter((s) => s.phase !== 'kill' && !ok(s)).map((s) => ({ id: s.id, status: s.status, body: s.body, log: log.get(s.id) }))).toEqual([]);
      expect(consumerPids(Object.keys(consumersBefore))).toEqual(firstPids);
      expect(consumerPids(Object.keys(consumersAfterRolling))).toEqual(restartedPids);
      expect(Object.values(consumersAfterRolling)).toEqual([0, 0, 0]);
      expect(restartedPids.filter((p) => firstPids.includes(p))).toEqual([]);
      // Every accepted event succeeded in one attempt (none was cut by a drain: each runs 10 ms),
      // and ran exactly once, on one replica.
      expect(rollingRecords.size).toBe(rollingEvents.length);
      expect(rollingEvents.filter((id) => {
        const v = rollingRecords.get(id)!;
        return v.status !== 'succeeded' || v.attempts.length !== 1 || v.attempts[0]!.interrupted === true || evRan.ranOn.get(id)?.length !== 1;
      }).map((id) => ({ id, record: rollingRecords.get(id), ranOn: evRan.ranOn.get(id) }))).toEqual([]);

      // 2. Sync calls: each failure is nginx's 502 for a request it sent to C alone (never retried
      // on another replica), before C was gone and unanswered at the signal; none of them ran on
      // A or B. Events: the same holds for an event whose 202 never came (C may or may not have
      // stored it: then it runs, under an id no client has; see below).
      for (const s of failed) {
        expect({ id: s.id, status: s.status, upstreams: log.get(s.id)?.upstreams, ustatus: log.get(s.id)?.ustatus })
          .toEqual({ id: s.id, status: 502, upstreams: [addr('C')], ustatus: ['502'] });
        expect(s.phase).toBe('kill');
        expect(s.start).toBeLessThan(goneAt);
        expect(s.end).toBeGreaterThan(killAt);
      }
      // At most one per client was on its way at the signal (a client sends one request at a
      // time); the others were sent while C was dying (before it was gone: checked above).
      expect(failed.filter((s) => s.start < killAt).length).toBeLessThanOrEqual(SYNC_CLIENTS + EVENT_CLIENTS);
      expect(failed.filter((s) => s.kind === 'sync' && (syncRan.ranOn.get(s.id) ?? []).some((r) => r !== 'C')).map((s) => s.id)).toEqual([]);
      // Every sync call that got its 200 ran exactly once (on the replica nginx logged).
      const tagOf = (a: string) => TAGS.find((t) => addr(t) === a);
      expect(sent.filter((s) => s.kind === 'sync' && ok(s)).filter((s) => {
        const l = syncRan.ranOn.get(s.id);
        return l?.length !== 1 || l[0] !== tagOf(upstream(s));
      }).map((s) => ({ id: s.id, ranOn: syncRan.ranOn.get(s.id), upstream: upstream(s) }))).toEqual([]);

      // Every accepted event succeeded, those C held included.
      expect(killRecords.size).toBe(killEvents.length);
      expect([...killRecords].filter(([, v]) => v.status !== 'succeeded').map(([id, v]) => ({ id, v }))).toEqual([]);
      // Taken over: each event C was running at the signal, and every taken-over event has one
      // interrupted attempt (C's) and then one that succeeded (on A or B).
      expect(takenOver.length).toBeGreaterThanOrEqual(1);
      expect(inFlightOnC.filter((id) => !takenOver.includes(id))).toEqual([]);
      for (const id of takenOver) {
        const v = killRecords.get(id) ?? unknownRecords.get(id)!;
        expect({ id, attempts: v.attempts.map((a) => ({ interrupted: a.interrupted === true, error: (a.error as { errorType?: string } | null)?.errorType ?? null })) })
          .toEqual({ id, attempts: [{ interrupted: true, error: 'Interrupted' }, { interrupted: false, error: null }] });
        expect(['A', 'B']).toContain(evRan.ranOn.get(id)!.at(-1));
      }
      // The others ran in one attempt.
      expect([...killRecords, ...unknownRecords].filter(([id, v]) => !takenOver.includes(id) && (v.attempts.length !== 1 || v.attempts[0]!.interrupted === true)).map(([id]) => id)).toEqual([]);
      // Ran twice: exactly the taken-over events that C had started (first on C, then on A or B);
      // a taken-over event C had marked running but not yet started ran once. No other event ran
      // more than once, and none of the rolling phase's.
      const startedOnC = (id: string) => evRan.ranOn.get(id)?.[0] === 'C';
      expect(ranTwice.sort()).toEqual(takenOver.filter(startedOnC).sort());
      for (const id of ranTwice) expect(evRan.ranOn.get(id)!.length).toBe(2);
      expect(inFlightOnC.filter((id) => !ranTwice.includes(id))).toEqual([]);
      // The killed replica could not leave the group: its consumer stays there, holding nothing
      // once its entries were taken over; A's and B's hold nothing either.
      expect(consumerPids(Object.keys(consumersAtEnd))).toEqual(restartedPids);
      expect(Object.values(consumersAtEnd)).toEqual([0, 0, 0]);
      // Runs of events no client got a 202 for: only events whose enqueue was cut by the kill
      // (stored by C, its answer lost), at most one per such request; they succeeded too.
      expect(unknown.length).toBeLessThanOrEqual(failed.filter((s) => s.kind === 'event').length);
      expect([...unknownRecords.values()].filter((v) => v.status !== 'succeeded')).toEqual([]);
    } finally {
      await traffic?.stop();
      await stopNginx(nginx);
      await Promise.all([...replicas.values()].map((h) => h.stop('SIGKILL')));
      await sink?.close();
      await redis?.stop();
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);
});
