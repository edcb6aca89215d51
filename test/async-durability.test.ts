// Durability of the embedded queue (issue 8, point 4): 10,000 events are queued over HTTP, Hearth
// is killed with SIGKILL mid-way, restarted on the same data dir, and every event that was
// accepted (202) must have run at least once, and none may have run again after it succeeded:
// the only duplicates allowed are events that were in flight at the kill, so there are at most
// as many as the function's async concurrency, and each ran once before the kill and once after.
//
// The function reports every run (its event id) to a local HTTP sink through egress.allow.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { startSink, type Sink } from './support/sink.js';

const EVENTS = 10_000;
const CONCURRENCY = 16;
/** Kill once this many runs were reported. */
const KILL_AFTER_RUNS = 3_000;
const CLIENTS = 48;

describe('async durability: SIGKILL mid-way through 10,000 events', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hearth-async-kill-'));
  let sink: Sink | undefined;
  const procs: Hearth[] = [];
  afterAll(async () => {
    for (const h of procs) await h.stop('SIGKILL').catch(() => {});
    await sink?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs every accepted event at least once; duplicates only for events in flight at the kill', async () => {
    sink = await startSink();
    const s = sink;
    /** Runs per event id, before the restart and after it. */
    const before = new Map<string, number>();
    const after = new Map<string, number>();
    let phase: Map<string, number> = before;
    const origPush = s.requests.push.bind(s.requests);
    // Count as requests arrive (the sink's own list would grow to every request's body).
    s.requests.push = (...items) => {
      for (const r of items) if (r.path === '/run') { const id = (r.json as { id: string }).id; phase.set(id, (phase.get(id) ?? 0) + 1); }
      return origPush(...items.filter((r) => r.path !== '/run'));
    };
    const runs = () => [...before.values(), ...after.values()].reduce((a, b) => a + b, 0);

    const args = ['--no-docker', '--async-queue-size', String(EVENTS * 2)];
    const h1 = await startHearth({ dataDir, args });
    procs.push(h1);
    await deployOk(h1, 'counted', jsSource(`
      exports.handler = async (event, context) => {
        const r = await fetch('${s.url}/run', { method: 'POST', body: JSON.stringify({ id: context.requestId, seq: event.seq }) });
        if (!r.ok) throw new Error('sink answered ' + r.status);
        return { seq: event.seq };
      };`, { egress: { allow: [`127.0.0.1:${s.port}`] }, asyncConcurrency: CONCURRENCY, timeoutMs: 10_000 }));

    // Enqueue from several clients; kill once enough runs were reported.
    const accepted = new Set<string>();
    let refused = 0;
    let next = 0;
    let killed = false;
    const client = async () => {
      while (next < EVENTS && !killed) {
        const seq = next++;
        try {
          const r = await fetch(`${h1.url}/v1/functions/counted/invoke`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'X-Hearth-Invocation-Type': 'Event' }, body: JSON.stringify({ seq }),
          });
          if (r.status === 202) accepted.add((await r.json() as { requestId: string }).requestId);
          else { refused++; await r.arrayBuffer(); }
        } catch {
          refused++; // the connection died with the process: not accepted
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, client);
    const killer = (async () => {
      const deadline = Date.now() + 120_000;
      while (runs() < KILL_AFTER_RUNS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      killed = true;
      h1.proc.kill('SIGKILL');
    })();
    await Promise.all(clients);
    await killer;
    await h1.stop('SIGKILL');
    const runsAtKill = runs();
    const acceptedAtKill = accepted.size;

    // Restart on the same data dir and queue the rest.
    phase = after;
    const h2 = await startHearth({ dataDir, args });
    procs.push(h2);
    const rest: Promise<void>[] = [];
    const enqueueRest = async () => {
      while (next < EVENTS) {
        const seq = next++;
        const r = await fetch(`${h2.url}/v1/functions/counted/invoke`, {
          method: 'POST', headers: { 'content-type': 'application/json', 'X-Hearth-Invocation-Type': 'Event' }, body: JSON.stringify({ seq }),
        });
        expect(r.status).toBe(202);
        accepted.add((await r.json() as { requestId: string }).requestId);
      }
    };
    for (let i = 0; i < CLIENTS; i++) rest.push(enqueueRest());
    await Promise.all(rest);

    const restartedAt = Date.now();
    // Wait until every accepted event ran.
    const deadline = Date.now() + 150_000;
    for (;;) {
      const missing = [...accepted].filter((id) => !before.has(id) && !after.has(id));
      if (missing.length === 0) break;
      if (Date.now() > deadline) throw new Error(`${missing.length} accepted events never ran (e.g. ${missing.slice(0, 3).join(', ')})`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const allRanMs = Date.now() - restartedAt;
    // Every accepted event's record says it succeeded (checked over HTTP, 32 at a time).
    const ids = [...accepted];
    const statuses = new Map<string, { status: string; attempts: { interrupted?: boolean }[] }>();
    for (let i = 0; i < ids.length; i += 32) {
      await Promise.all(ids.slice(i, i + 32).map(async (id) => {
        for (;;) {
          const v = await (await fetch(`${h2.url}/v1/invocations/${id}`)).json() as { status: string; attempts: { interrupted?: boolean }[] };
          if (v.status === 'succeeded') { statuses.set(id, v); return; }
          await new Promise((r) => setTimeout(r, 50));
        }
      }));
    }

    const dupIds = [...new Set([...before.keys(), ...after.keys()])].filter((id) => (before.get(id) ?? 0) + (after.get(id) ?? 0) > 1);
    process.stdout.write(`async durability: accepted ${accepted.size} (${acceptedAtKill} before the kill, ${refused} requests cut or refused by it), ` +
      `${runsAtKill} runs before the kill, ${runs()} in all, duplicates ${dupIds.length} (bound: ${CONCURRENCY}); ` +
      `after the restart all had run within ${allRanMs} ms, records checked in ${Date.now() - restartedAt - allRanMs} ms\n`);

    expect(accepted.size).toBeGreaterThan(EVENTS - CLIENTS - 1); // only requests cut by the kill are missing
    // Never twice in one life of the process: a duplicate ran once before the kill and once after.
    for (const id of dupIds) {
      expect(before.get(id), id).toBe(1);
      expect(after.get(id), id).toBe(1);
      // It was running at the kill: its record shows that attempt as interrupted.
      if (statuses.has(id)) expect(statuses.get(id)!.attempts.some((a) => a.interrupted)).toBe(true);
    }
    expect(dupIds.length).toBeLessThanOrEqual(CONCURRENCY);
    for (const m of [before, after]) for (const n of m.values()) expect(n).toBe(1);
  }, 300_000);
});
