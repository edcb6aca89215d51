// The HTTP part of `--compare` (bench/compare.ts): both builds' Hearths run side by side, and wrk
// loads one, then the other, then the other again, for each system in each round (the order
// alternating), so the two figures of a pair are taken seconds apart on the same machine. Besides
// requests/s and latency, each load measures what a call costs the server in CPU: the Hearth
// process's CPU time (its main thread, and all its other threads) from /proc before and after the
// load, over the requests it answered. A rate on this 2-core VM swings with whatever else runs;
// CPU per call hardly does.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLoad, type LoadResult } from './load.js';
import { HELLO, PYTHON_SOURCE, WORKER_SOURCE } from './http.js';
import { dockerAnswers, startHearth, type Hearth } from './processes.js';


export type HttpBuild = 'this' | 'other';

/** One system under load in both builds. */
export interface HttpSystem {
  key: string;
  name: string;
  path: string;
  headers: Record<string, string>;
}

export interface HttpSample {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU µs per answered request: the process's main thread, and its other threads. */
  cpuMainUs: number;
  cpuOtherUs: number;
  errors: number;
}

export interface HttpCompareOptions {
  roots: Record<HttpBuild, string>;
  rounds: number;
  durationSec: number;
  connections: number;
  log(line: string): void;
}

const TICK_US = 1e6 / clockTicks();

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** utime + stime of a /proc stat file, in clock ticks (fields 14 and 15, after the command's parentheses). */
function cpuTicks(path: string): number {
  const s = readFileSync(path, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** The process's CPU so far: its main thread and the whole process, in ticks. */
function cpuOf(pid: number): { main: number; all: number } {
  return { main: cpuTicks(`/proc/${pid}/task/${pid}/stat`), all: cpuTicks(`/proc/${pid}/stat`) };
}

async function call(base: string, s: HttpSystem): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}${s.path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...s.headers }, body: HELLO, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, text: await r.text() };
}

async function deploy(base: string, name: string, spec: unknown): Promise<void> {
  const r = await fetch(`${base}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

/**
 * Runs the comparison: per round, per system, one load of each build (order alternating by round).
 * Returns the systems and each round's sample per build (null where a load failed).
 */
export async function compareHttp(o: HttpCompareOptions): Promise<{ systems: HttpSystem[]; rounds: Record<HttpBuild, Map<string, HttpSample | null>>[]; notes: string[] }> {
  const notes: string[] = [];
  const withPython = await dockerAnswers();
  if (!withPython) notes.push('http: no Docker engine answers: the python3 row is left out');
  const systems: HttpSystem[] = [
    { key: 'event', name: 'Hearth event function (hello)', path: '/v1/functions/hello/invoke', headers: {} },
    { key: 'web', name: 'Hearth web function (Workers module)', path: '/v1/web/hello-fetch/', headers: {} },
    { key: 'lambda', name: 'Hearth Lambda Invoke API (hello)', path: '/2015-03-31/functions/hello/invocations', headers: {} },
    ...(withPython ? [{ key: 'python', name: 'Hearth python3 function (one warm container)', path: '/v1/functions/hello-py/invoke', headers: {} }] : []),
  ];
  const hearths: Partial<Record<HttpBuild, Hearth>> = {};
  try {
    for (const b of ['this', 'other'] as const) {
      const root = o.roots[b];
      // The python function gets one container and no stem cells run beside it (as bench/http.ts).
      hearths[b] = await startHearth(root, `hearth (${b})`, ['--functions', join(root, 'examples'), ...(withPython ? ['--stem-cells', '0'] : ['--no-docker'])]);
      const base = `http://127.0.0.1:${hearths[b]!.port}`;
      await deploy(base, 'hello-fetch', { runtime: 'js', handler: 'index.default', code: { source: WORKER_SOURCE } });
      if (withPython) await deploy(base, 'hello-py', { runtime: 'python3', handler: 'index.main_handler', code: { source: PYTHON_SOURCE }, maxInstances: 1, concurrency: o.connections });
      for (const s of systems) {
        const r = await call(base, s);
        if (r.status !== 200 || (JSON.parse(r.text) as { hello?: string }).hello !== 'world') throw new Error(`${b} ${s.name}: expected 200 {"hello":"world"}, got ${r.status} ${r.text.slice(0, 300)}`);
      }
    }
    const load = async (b: HttpBuild, s: HttpSystem, durationSec: number): Promise<HttpSample | null> => {
      const h = hearths[b]!;
      const before = cpuOf(h.proc.pid!);
      let r: LoadResult;
      try {
        r = await runLoad({ url: `http://127.0.0.1:${h.port}${s.path}`, method: 'POST', body: HELLO, headers: { 'content-type': 'application/json', ...s.headers }, connections: o.connections, durationSec });
      } catch (err) {
        notes.push(`http ${b} ${s.name}: the load failed: ${(err as Error).message.split('\n')[0]}`);
        return null;
      }
      const after = cpuOf(h.proc.pid!);
      const n = Math.max(1, r.total);
      const mainUs = ((after.main - before.main) * TICK_US) / n;
      const allUs = ((after.all - before.all) * TICK_US) / n;
      const errors = r.errors + r.non2xx;
      if (errors > 0) notes.push(`http ${b} ${s.name}: ${errors} errors under load`);
      return { rps: r.requestsPerSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpuMainUs: mainUs, cpuOtherUs: allUs - mainUs, errors };
    };
    o.log(`  http (interleaved): warm-up, 2 s per system per build`);
    for (const s of systems) for (const b of ['this', 'other'] as const) await load(b, s, 2);
    const rounds: Record<HttpBuild, Map<string, HttpSample | null>>[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const round: Record<HttpBuild, Map<string, HttpSample | null>> = { this: new Map(), other: new Map() };
      for (const s of systems) {
        const order: HttpBuild[] = (r + systems.indexOf(s)) % 2 === 0 ? ['this', 'other'] : ['other', 'this'];
        for (const b of order) round[b].set(s.key, await load(b, s, o.durationSec));
        const t = round.this.get(s.key), x = round.other.get(s.key);
        o.log(`  http round ${r + 1}/${o.rounds} ${s.key}: this ${t ? `${Math.round(t.rps)} req/s, ${t.cpuMainUs.toFixed(1)}+${t.cpuOtherUs.toFixed(1)} µs CPU` : 'failed'}; other ${x ? `${Math.round(x.rps)} req/s, ${x.cpuMainUs.toFixed(1)}+${x.cpuOtherUs.toFixed(1)} µs CPU` : 'failed'}`);
      }
      rounds.push(round);
    }
    return { systems, rounds, notes };
  } finally {
    for (const h of Object.values(hearths)) await h?.stop();
  }
}
