// The distributed queue (issue 8, point 6): two Hearth replicas share one real redis-server
// (Debian's, started by this test on a free port with its own dir). Events accepted by either
// replica are handled once, by one of them; when one replica is killed with SIGKILL mid-way, none
// is lost: the events it held are taken over by the other once its hold lapses, and only those
// (in flight on the killed one) may run twice, once on each.

import { afterAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startRedis, type RedisServer } from './support/redis.js';
import { recordRuns, startSink, type Sink } from './support/sink.js';

const EVENTS = 2_000;
const CONCURRENCY = 8;
const KILL_AFTER_RUNS = 600;

describe('async on Redis Streams: two replicas, one killed', () => {
  let redis: RedisServer | undefined;
  let sink: Sink | undefined;
  const procs: Hearth[] = [];
  afterAll(async () => {
    for (const h of procs) await h.stop('SIGKILL').catch(() => {});
    await sink?.close();
    await redis?.stop();
  });

  it('handles each event once across the replicas, and loses none when one dies', async () => {
    redis = await startRedis();
    sink = await startSink();
    const s = sink;
    /** id → the replicas that ran it, in order. */
    const { ranOn, runs } = recordRuns(s, (b) => b.id as string);

    const args = ['--no-docker', '--queue', 'redis', '--queue-url', redis.url, '--queue-claim-timeout-ms', '2000'];
    const [a, b] = await Promise.all([startHearth({ args }), startHearth({ args })]);
    procs.push(a!, b!);
    const replicas = { A: a!, B: b! };
    for (const [tag, h] of Object.entries(replicas)) {
      await deployOk(h, 'shared', jsSource(`
        exports.handler = async (event, context) => {
          const r = await fetch('${s.url}/run', { method: 'POST', body: JSON.stringify({ id: context.requestId, replica: '${tag}' }) });
          if (!r.ok) throw new Error('sink answered ' + r.status);
          return { seq: event.seq, replica: '${tag}' };
        };`, { egress: { allow: [`127.0.0.1:${s.port}`] }, asyncConcurrency: CONCURRENCY }));
    }

    // Enqueue through both replicas; kill A once enough runs were reported.
    const accepted = new Set<string>();
    let next = 0;
    let aDead = false;
    const client = (h: Hearth, isA: boolean) => async () => {
      while (next < EVENTS) {
        if (isA && aDead) return;
        const seq = next++;
        try {
          const r = await fetch(`${h.url}/v1/functions/shared/invoke`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'X-Hearth-Invocation-Type': 'Event' }, body: JSON.stringify({ seq }),
          });
          if (r.status === 202) accepted.add((await r.json() as { requestId: string }).requestId);
          else throw new Error(`enqueue answered ${r.status}: ${await r.text()}`);
        } catch (err) {
          if (!(isA && aDead)) throw err;
        }
      }
    };
    const clients = [...Array.from({ length: 8 }, client(a!, true)), ...Array.from({ length: 8 }, client(b!, false))];
    const killer = (async () => {
      const deadline = Date.now() + 60_000;
      while (runs() < KILL_AFTER_RUNS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      aDead = true;
      a!.proc.kill('SIGKILL');
    })();
    await Promise.all(clients);
    await killer;
    await a!.stop('SIGKILL');
    const killedAt = Date.now();
    const ranOnAAtKill = new Set([...ranOn].filter(([, l]) => l.includes('A')).map(([id]) => id));

    const deadline = Date.now() + 120_000;
    for (;;) {
      const missing = [...accepted].filter((id) => !ranOn.has(id));
      if (missing.length === 0) break;
      if (Date.now() > deadline) throw new Error(`${missing.length} accepted events never ran (e.g. ${missing.slice(0, 3).join(', ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Every record (in Redis, read through the surviving replica) says succeeded.
    const ids = [...accepted];
    let reclaimed = 0;
    for (let i = 0; i < ids.length; i += 32) {
      await Promise.all(ids.slice(i, i + 32).map(async (id) => {
        for (;;) {
          const v = await (await fetch(`${b!.url}/v1/invocations/${id}`)).json() as { status: string; attempts: { interrupted?: boolean }[] };
          if (v.status === 'succeeded') { if (v.attempts.some((x) => x.interrupted)) reclaimed++; return; }
          await new Promise((r) => setTimeout(r, 50));
        }
      }));
    }

    const perReplica = { A: 0, B: 0 };
    for (const l of ranOn.values()) for (const r of l) perReplica[r as 'A' | 'B']++;
    const dups = [...ranOn].filter(([, l]) => l.length > 1);
    process.stdout.write(`async redis: accepted ${accepted.size}, runs on A ${perReplica.A} (killed after ${KILL_AFTER_RUNS}+ runs in all), on B ${perReplica.B}, ` +
      `duplicates ${dups.length} (bound: ${CONCURRENCY}, A's async concurrency), events taken over from A ${reclaimed}, all done ${Date.now() - killedAt} ms after the kill\n`);

    expect(accepted.size).toBeGreaterThan(EVENTS - 9); // only A's requests cut by the kill
    expect(perReplica.A).toBeGreaterThan(0);
    expect(perReplica.B).toBeGreaterThan(0);
    // Duplicates: ran on A (in flight at its kill), then once on B; never twice on one replica.
    for (const [id, l] of dups) {
      expect(l, id).toEqual(['A', 'B']);
      expect(ranOnAAtKill.has(id)).toBe(true);
    }
    expect(dups.length).toBeLessThanOrEqual(CONCURRENCY);
  }, 240_000);
});
