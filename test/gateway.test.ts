// Hearth behind a real nginx (Debian's package), configured by examples/gateway/nginx.conf itself
// (only its ports are changed), in front of two real Hearth processes under steady load:
//   (a) a rolling restart of one replica (SIGTERM, then started again on the same port) loses no
//       request;
//   (b) SIGKILL of the other replica loses only the requests that were in flight on it: sent to
//       it (and to it alone: nginx does not resend them) before its process was gone, unanswered
//       at the signal, and never run on the other replica.
// Requests are matched to the replica that served them by their X-Request-Id in nginx's access log.
// The counts per phase are printed.

import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessLog, gatewayConfig, post, readIf, ready, sleep, startNginx, stopNginx, type Answer } from './support/gateway.js';
import { startHearth, type Hearth } from './support/hearth.js';
import { freePort } from './support/redis.js';
import { until } from './support/until.js';

const CLIENTS = 8;
/** How long each call runs: long enough that a replica always has some in flight. */
const CALL_MS = 10;
/** The function every request calls: logs its id, waits a few ms, returns its id. */
const WORK = 'exports.handler = async (e) => { console.log(`ran ${e.id}`); await new Promise((r) => setTimeout(r, e.ms)); return { id: e.id }; };';

interface Call extends Answer {
  id: string;
  phase: string;
  start: number;
  end: number;
}

/** One POST through nginx on a kept-alive connection. */
function call(agent: http.Agent, port: number, id: string): Promise<Answer> {
  return post(agent, port, '/v1/functions/work/invoke', id, JSON.stringify({ ms: CALL_MS, id }));
}

/** CLIENTS loops sending one request after another until stopped; every call is recorded. */
function load(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  const calls: Call[] = [];
  let phase = 'warm-up';
  let running = true;
  let n = 0;
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const id = `g${++n}`;
      const start = performance.now();
      const p = phase;
      const r = await call(agent, port, id);
      calls.push({ id, phase: p, start, end: performance.now(), ...r });
    }
  });
  return {
    calls,
    setPhase(p: string) { phase = p; },
    async stop() { running = false; await Promise.all(loops); agent.destroy(); },
  };
}

function ok(c: Call): boolean {
  if (c.status !== 200) return false;
  try { return (JSON.parse(c.body) as { id?: string }).id === c.id; } catch { return false; }
}

describe('behind nginx (examples/gateway/nginx.conf), two replicas under load', () => {
  it('a rolling restart of one replica loses no request; SIGKILL of the other loses only the requests in flight on it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'hearth-gateway-'));
    const fnDir = join(work, 'functions');
    mkdirSync(join(fnDir, 'work'), { recursive: true });
    writeFileSync(join(fnDir, 'work/function.json'), JSON.stringify({ runtime: 'js', handler: 'index.handler', timeoutMs: 5_000 }));
    writeFileSync(join(fnDir, 'work/index.js'), WORK);
    const prefix = join(work, 'nginx');
    mkdirSync(prefix);
    const [gw, portA, portB] = [await freePort(), await freePort(), await freePort()];
    const addrA = `127.0.0.1:${portA}`;
    const addrB = `127.0.0.1:${portB}`;
    // Each replica keeps its data dir across a restart, as a Docker volume would.
    const replica = (port: number, dir: string) => startHearth({
      dataDir: join(work, dir),
      args: ['--no-docker', '--drain-timeout-ms', '10000', '--deploy', fnDir, '--port', String(port)],
    });

    let a: Hearth | null = null;
    let b: Hearth | null = null;
    let nginx: ChildProcess | null = null;
    let traffic: ReturnType<typeof load> | null = null;
    try {
      [a, b] = await Promise.all([replica(portA, 'a'), replica(portB, 'b')]);
      for (const h of [a, b]) await ready(h);
      nginx = await startNginx(prefix, gatewayConfig(gw, [portA, portB]), gw);
      traffic = load(gw);
      const calls = traffic.calls;
      const servedBy = (addr: string, from: number) => {
        const log = accessLog(prefix);
        return calls.filter((c) => c.start >= from && log.get(c.id)?.upstreams.at(-1) === addr).length;
      };
      /** Waits for progress (bounded), never for a time. */
      const serves = (what: string, cond: () => boolean) => until(cond, 20_000, () => `${what}\n${readIf(join(prefix, 'logs/error.log')).slice(-3000)}`, 50);
      await serves('both replicas serve', () => servedBy(addrA, 0) >= 50 && servedBy(addrB, 0) >= 50);

      // (a) Rolling restart of A: SIGTERM (it drains and exits 0), then again on the same port.
      traffic.setPhase('rolling');
      const aLog = a.log;
      const aExit = await a.stop('SIGTERM');
      a = null;
      a = await replica(portA, 'a');
      const restartedAt = performance.now();
      await serves('the restarted replica serves again', () => servedBy(addrA, restartedAt) >= 50);

      // (b) SIGKILL of B. The kill is not an instant: the kernel closes a killed process's sockets
      // only at the end of its exit, some ms after the signal (its memory is unmapped first), and
      // until then requests nginx sends on its open connections are accepted into buffers nobody
      // will read. Those are in flight on B too, as are the ones it had not answered at the signal.
      traffic.setPhase('kill');
      // The clients run on this test's event loop: let them have their requests out (the waits
      // above read the access log synchronously) so that B has calls running when it is killed.
      await sleep(100);
      const killAt = performance.now();
      const bExited = new Promise<void>((r) => b!.proc.once('exit', () => r()));
      b.proc.kill('SIGKILL');
      await bExited;
      const goneAt = performance.now();
      await serves('A serves after the kill', () => servedBy(addrA, goneAt) >= 100);
      await traffic.stop();
      const log = accessLog(prefix);
      for (let i = 0; i < 40 && calls.some((c) => !log.has(c.id)); i++) { await sleep(50); for (const [k, v] of accessLog(prefix)) log.set(k, v); }

      const upstream = (c: Call) => log.get(c.id)?.upstreams.at(-1) ?? '?';
      const failed = calls.filter((c) => !ok(c));
      const rows: string[] = [];
      for (const phase of ['warm-up', 'rolling', 'kill']) {
        const cs = calls.filter((c) => c.phase === phase);
        const per = (addr: string) => cs.filter((c) => upstream(c) === addr).length;
        const second = cs.filter((c) => (log.get(c.id)?.upstreams.length ?? 0) > 1).length;
        rows.push(`${phase}: ${cs.length} requests, ${cs.filter((c) => !ok(c)).length} failed; served by A ${per(addrA)}, B ${per(addrB)}; ${second} went to the other replica after a refused connection`);
      }
      const onBAtKill = calls.filter((c) => c.start < killAt && c.end > killAt && log.get(c.id)?.upstreams.includes(addrB)).length;
      const sentWhileDying = failed.filter((c) => c.start >= killAt).length;
      rows.push(`SIGKILL: ${onBAtKill} requests in flight on B at the signal; B gone ${(goneAt - killAt).toFixed(0)} ms later; ${failed.length} failed (${failed.length - sentWhileDying} sent before the signal, ${sentWhileDying} while B was dying)`);
      const drainLine = aLog().split('\n').find((l) => l.includes('"msg":"drained') || l.includes('"msg":"drain deadline'));
      if (drainLine) {
        const d = JSON.parse(drainLine) as Record<string, unknown>;
        rows.push(`A's drain: ${d.msg} after ${d.ms} ms; ${d.inFlightAtStart} requests in flight at SIGTERM, ${d.arrivedWhileDraining} more arrived on connections nginx kept open`);
      }
      console.log(`gateway: nginx → 2 Hearth replicas, ${CLIENTS} clients\n  ${rows.join('\n  ')}`);

      // Every request has its line in nginx's access log (the matching below relies on it), and
      // no client ever failed to talk to nginx itself.
      expect(calls.filter((c) => !log.has(c.id)).map((c) => c.id)).toEqual([]);
      expect(calls.filter((c) => c.error !== null).map((c) => `${c.id}: ${c.error}`)).toEqual([]);

      // (a) A exited 0 after its drain, and no request was lost before, during or after the
      // rolling restart. A served calls before it and again after it.
      expect(aExit).toBe(0);
      expect(calls.filter((c) => c.phase !== 'kill' && !ok(c)).map((c) => ({ id: c.id, status: c.status, body: c.body, log: log.get(c.id) }))).toEqual([]);
      // (Before it: any phase. A rolling-phase request reaches A before the restart only if nginx
      // sends one on a kept-alive connection between the phase switch and the SIGTERM, or while A
      // drains: a race, not a guarantee; the drain itself is checked by the failures above.)
      expect(calls.filter((c) => c.start < restartedAt && upstream(c) === addrA).length).toBeGreaterThan(0);
      expect(servedBy(addrA, restartedAt)).toBeGreaterThan(0);

      // (b) Each failure is nginx's 502 for a request it sent to B alone (not retried on A), sent
      // before B was gone, and unanswered when the SIGKILL was sent. At most one per client.
      for (const c of failed) {
        expect({ id: c.id, status: c.status, upstreams: log.get(c.id)?.upstreams, ustatus: log.get(c.id)?.ustatus })
          .toEqual({ id: c.id, status: 502, upstreams: [addrB], ustatus: ['502'] });
        expect(c.start).toBeLessThan(goneAt);
        expect(c.end).toBeGreaterThan(killAt);
      }
      expect(failed.length).toBeLessThanOrEqual(CLIENTS);
      // None of them ran on A: A's function log has no line of theirs (and has the calls it served).
      const ranOnA = new Set(((await (await fetch(`${a.url}/v1/functions/work/logs?limit=10000`)).json()) as { lines: { message: string }[] })
        .lines.map((l) => l.message.trim().replace(/^ran /, '')));
      expect(calls.filter((c) => c.start >= goneAt && upstream(c) === addrA).every((c) => ranOnA.has(c.id))).toBe(true);
      expect(failed.filter((c) => ranOnA.has(c.id)).map((c) => c.id)).toEqual([]);
    } finally {
      await traffic?.stop();
      await stopNginx(nginx);
      await Promise.all([a?.stop(), b?.stop('SIGKILL')]);
      rmSync(work, { recursive: true, force: true });
    }
  }, 90_000);
});
