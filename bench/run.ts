// `npm run bench`: Hearth beside a bare uWS echo, measured in one run, in rounds (median, min, max).
//
//   HTTP (wrk as its own process, same connections and duration for each system):
//     bare uWS echo (the limit)  vs  Hearth, warm invoke of the hello event function
//   JS cold start end to end: the first call of N freshly deployed functions
//   In-process (tinybench, no HTTP): dispatch overhead of a warm call through the isolate backend
//   --placement: where isolates should run (bench/placement.ts)
//
// Results: bench/results/<timestamp>.json and .md.

import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import type { Invocation } from '../core/backend.js';
import { DataDir } from '../core/store.js';
import { Registry } from '../core/registry.js';
import { IsolateBackend } from '../pool/isolate-backend.js';
import { IsolateInstance } from '../pool/isolate-instance.js';
import { UnavailableBackend } from '../core/unavailable-backend.js';
import { RUNTIME_PATH } from '../core/server.js';
import { haveWrk, runLoad, type LoadResult } from './load.js';
import { formatPlacementTable, runPlacementBench } from './placement.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    rounds: { type: 'string', default: '3' },
    cold: { type: 'string', default: '60' },
    placement: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    tiny: { type: 'boolean', default: false },
    /** Only cold starts, this build against another checkout's build (its dist/), rounds alternating. */
    'compare-cold': { type: 'string' },
    /** Pause between a cold-start function's deploy and its first call (the reserve refills meanwhile). */
    'cold-gap-ms': { type: 'string', default: '50' },
  },
});
const tiny = args.tiny;
const duration = tiny ? 1 : Number(args.duration);
const connections = Number(args.connections);
const rounds = tiny ? 1 : Number(args.rounds);
const coldN = tiny ? 5 : Number(args.cold);
const coldGapMs = Number(args['cold-gap-ms']);
const HELLO = JSON.stringify({ name: 'world' });

interface Stat { median: number; min: number; max: number }
const stat = (xs: number[]): Stat => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2, min: s[0]!, max: s[s.length - 1]! };
};
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;

function startProcess(cmd: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ proc: ChildProcess; port: number }> {
  const proc = spawn(cmd[0]!, cmd.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = ready.exec(out);
      if (m) res({ proc, port: Number(m[1]) });
    });
    proc.once('exit', (c) => rej(new Error(`${cmd.join(' ')} exited ${c}: ${err}`)));
  });
}

async function httpRows(): Promise<Record<string, { rps: Stat; p50Ms: Stat; p99Ms: Stat; errors: number; rounds: LoadResult[] }>> {
  const echo = await startProcess([process.execPath, join(ROOT, 'dist/bench/uws-echo.js'), '0'], /LISTENING (\d+)/);
  const dataDir = mkdtempSync(join(os.tmpdir(), 'hearth-bench-'));
  const hearth = await startProcess(
    [process.execPath, '--no-node-snapshot', join(ROOT, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--deploy', join(ROOT, 'examples')],
    /listening on http:\/\/[^:]+:(\d+)/, { HEARTH_LOG_LEVEL: 'warn' },
  );
  const unbatched = await startProcess(
    [process.execPath, '--no-node-snapshot', join(ROOT, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dataDir + '-nb', '--deploy', join(ROOT, 'examples'), '--no-batch-calls'],
    /listening on http:\/\/[^:]+:(\d+)/, { HEARTH_LOG_LEVEL: 'warn' },
  );
  const targets = {
    'bare uWS echo': `http://127.0.0.1:${echo.port}/`,
    'Hearth event function (warm)': `http://127.0.0.1:${hearth.port}/v1/functions/hello/invoke`,
    'Hearth, one crossing per call (--no-batch-calls)': `http://127.0.0.1:${unbatched.port}/v1/functions/hello/invoke`,
  };
  // Warm up both (JIT, the function's instance).
  for (const url of Object.values(targets)) {
    await runLoad({ url, method: 'POST', body: HELLO, headers: { 'content-type': 'application/json' }, connections, durationSec: 1 });
  }
  const results: Record<string, LoadResult[]> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, url] of Object.entries(targets)) {
      const lr = await runLoad({ url, method: 'POST', body: HELLO, headers: { 'content-type': 'application/json' }, connections, durationSec: duration });
      (results[name] ??= []).push(lr);
      console.error(`  round ${r + 1}/${rounds} ${name}: ${Math.round(lr.requestsPerSec)} req/s, p50 ${lr.p50Ms} ms, p99 ${lr.p99Ms} ms, non-2xx ${lr.non2xx}, errors ${lr.errors}`);
    }
  }
  for (const p of [echo.proc, hearth.proc, unbatched.proc]) p.kill('SIGTERM');
  await Promise.all([echo.proc, hearth.proc, unbatched.proc].map((p) => new Promise((r) => p.once('exit', r))));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(dataDir + '-nb', { recursive: true, force: true });
  return Object.fromEntries(Object.entries(results).map(([k, rs]) => [k, {
    rps: stat(rs.map((x) => x.requestsPerSec)), p50Ms: stat(rs.map((x) => x.p50Ms)), p99Ms: stat(rs.map((x) => x.p99Ms)),
    errors: rs.reduce((s, x) => s + x.errors + x.non2xx, 0), rounds: rs,
  }]));
}

/** One POST over a kept-alive connection (node:http: far less client overhead than fetch). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function post(port: number, path: string, body: string, method = 'POST'): Promise<{ status: number; headers: http.IncomingHttpHeaders; ms: number }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, ms: performance.now() - t0 }));
    });
    req.on('error', rej);
    req.end(body);
  });
}

interface Dist { p50: number; p90: number; p99: number; max: number }
const dist = (xs: number[]): Dist => { const s = [...xs].sort((a, b) => a - b); return { p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s[s.length - 1]! }; };

/**
 * First call of N freshly deployed functions, end to end over HTTP (client-side time), beside
 * repeated calls of one warm function through the same client, and the server's own init time.
 */
async function coldStarts(root = ROOT): Promise<{ e2eMs: Dist; warmE2eMs: Dist; initMs: Dist; n: number; allCold: boolean }> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'hearth-bench-cold-'));
  const h = await startProcess(
    [process.execPath, '--no-node-snapshot', join(root, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dataDir],
    /listening on http:\/\/[^:]+:(\d+)/, { HEARTH_LOG_LEVEL: 'warn' },
  );
  const e2e: number[] = [];
  const warm: number[] = [];
  const init: number[] = [];
  let allCold = true;
  for (let i = 0; i < coldN; i++) {
    const name = `cold${i}`;
    const put = await post(h.port, `/v1/functions/${name}`, JSON.stringify({ runtime: 'js', handler: 'index.main_handler', code: { source: `exports.main_handler = async (e) => ({ hello: e.name, n: ${i} })` } }), 'PUT');
    if (put.status !== 201) throw new Error(`deploy ${name}: ${put.status}`);
    // A function is deployed, then called: give the pre-warm reserve the moment it takes to refill
    // (one blank isolate is ~7 ms of work; the deploy itself used one to check the code).
    await new Promise((r) => setTimeout(r, coldGapMs));
    const r = await post(h.port, `/v1/functions/${name}/invoke`, HELLO);
    e2e.push(r.ms);
    init.push(Number(r.headers['x-hearth-init-ms']));
    if (r.headers['x-hearth-cold'] !== 'true') allCold = false;
    // The same function again, warm, through the same client and connection.
    await new Promise((res) => setTimeout(res, 5));
    const w = await post(h.port, `/v1/functions/${name}/invoke`, HELLO);
    if (w.headers['x-hearth-cold'] !== 'false') allCold = false;
    warm.push(w.ms);
  }
  h.proc.kill('SIGTERM');
  await new Promise((r) => h.proc.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  return { e2eMs: dist(e2e), warmE2eMs: dist(warm), initMs: dist(init), n: coldN, allCold };
}

/** Warm call through the isolate backend in-process: request bytes → handler → result bytes. */
async function dispatchMicro(): Promise<{ p50Us: number; p99Us: number; meanUs: number; samples: number; hz: number; inFlight32: Record<string, Stat> }> {
  const dir = mkdtempSync(join(os.tmpdir(), 'hearth-bench-micro-'));
  const data = new DataDir(dir);
  const backend = new IsolateBackend({
    prewarmIsolates: 1, defaultMemoryMb: 128, runtimePath: RUNTIME_PATH, maxTotalInstances: 100, memoryBudgetMb: 1024,
    waitQueueSize: 100, waitQueueTimeoutMs: 1000, scaleUpThreshold: 0.8, sweepIntervalMs: 60_000,
  }, data, () => undefined);
  const registry = new Registry(data, (rt) => (rt === 'js' ? backend : new UnavailableBackend('n/a')), { maxCodeBytes: 1 << 20 });
  await registry.deploy('hello', { runtime: 'js', handler: 'index.main_handler', code: { source: 'exports.main_handler = async (e) => ({ hello: e.name })' } });
  const fn = registry.resolve('hello', '');
  const bytes = new TextEncoder().encode(HELLO);
  const inv = (): Invocation => ({
    requestId: 'bench', functionName: 'hello', version: '', digest: '', body: bytes.slice().buffer, reqEnc: 0, resEnc: 0,
    startedAt: 0, startedAtEpoch: 0, result: null, status: 'running', cold: false, queueMs: 0, initMs: 0, durationMs: 0,
    error: null, logs: null, forceCold: false,
  });
  await backend.invoke(fn, inv());
  const bench = new Bench({ time: tiny ? 200 : 2000, warmupTime: 200 });
  bench.add('warm dispatch (isolate backend, in-process)', async () => { await backend.invoke(fn, inv()); });
  await bench.run();
  const t = bench.tasks[0]!.result as any;
  // Many in flight: 32 closed loops, with calls coalesced per event-loop turn and without.
  const loops = async (ms: number): Promise<number> => {
    let n = 0;
    const end = performance.now() + ms;
    const loop = async () => { while (performance.now() < end) { await backend.invoke(fn, inv()); n++; } };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 32 }, loop));
    return n / ((performance.now() - t0) / 1000);
  };
  const inFlight32: Record<string, Stat> = {};
  for (const batching of [true, false]) {
    IsolateInstance.batching = batching;
    await loops(200);
    const xs: number[] = [];
    for (let r = 0; r < rounds; r++) xs.push(await loops(tiny ? 200 : 1500));
    inFlight32[batching ? 'batched' : 'one crossing per call'] = stat(xs);
  }
  IsolateInstance.batching = true;
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
  const lat = t.latency ?? t;
  return { p50Us: lat.p50 * 1000, p99Us: lat.p99 * 1000, meanUs: lat.mean * 1000, samples: lat.samples?.length ?? t.samples?.length ?? 0, hz: t.throughput?.mean ?? t.hz, inFlight32 };
}

function machine() {
  return {
    cores: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, v8: process.versions.v8, kernel: os.release(), platform: `${os.platform()} ${os.arch()}`,
  };
}

/** Cold starts of this build and another, in alternating rounds of one run (e.g. before/after a change). */
async function compareCold(other: string): Promise<void> {
  const started = new Date();
  const rows: Record<string, { p50: number[]; p90: number[]; p99: number[]; init50: number[] }> = { this: { p50: [], p90: [], p99: [], init50: [] }, other: { p50: [], p90: [], p99: [], init50: [] } };
  for (let r = 0; r < rounds; r++) {
    for (const [k, root] of (r % 2 === 0 ? [['this', ROOT], ['other', other]] : [['other', other], ['this', ROOT]]) as [string, string][]) {
      console.error(`  round ${r + 1}: ${k} (${root})…`);
      const c = await coldStarts(root);
      if (!c.allCold) throw new Error(`${k}: not every first call was cold`);
      const row = rows[k]!;
      row.p50.push(c.e2eMs.p50); row.p90.push(c.e2eMs.p90); row.p99.push(c.e2eMs.p99); row.init50.push(c.initMs.p50);
    }
  }
  const f = (x: number) => x.toFixed(2);
  const cell = (xs: number[]) => { const s = stat(xs); return `${f(s.median)} [${f(s.min)} – ${f(s.max)}]`; };
  const md = [
    `# JS cold start, this build vs ${other}, ${started.toISOString()}`,
    '',
    `${coldN} new functions per round (${coldGapMs} ms between each one's deploy and its first call), ${rounds} rounds alternating which build goes first; each cell is the median of the rounds' figures [min – max]. Machine: ${os.cpus().length} cores, Node ${process.version}.`,
    '',
    '| build | cold p50 ms | cold p90 ms | cold p99 ms | server init p50 ms |',
    '| --- | --- | --- | --- | --- |',
    `| this (${ROOT}) | ${cell(rows.this!.p50)} | ${cell(rows.this!.p90)} | ${cell(rows.this!.p99)} | ${cell(rows.this!.init50)} |`,
    `| other (${other}) | ${cell(rows.other!.p50)} | ${cell(rows.other!.p90)} | ${cell(rows.other!.p99)} | ${cell(rows.other!.init50)} |`,
    '',
    `Ratio of cold p50, this / other: ${(stat(rows.this!.p50).median / stat(rows.other!.p50).median).toFixed(2)}×.`,
    '',
  ].join('\n');
  mkdirSync(args.out!, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(args.out!, `cold-compare-${stamp}.md`), md);
  process.stdout.write(md + `\nwritten: bench/results/cold-compare-${stamp}.md\n`);
}

async function main() {
  if (args['compare-cold']) return compareCold(resolve(args['compare-cold']));
  if (!haveWrk()) throw new Error('wrk is not installed: apt-get install -y wrk (the README\'s set-up does this)');
  const started = new Date();
  console.error(`hearth bench: ${rounds} rounds × ${duration}s, ${connections} connections, ${coldN} cold starts`);
  const http = await httpRows();
  console.error('  cold starts…');
  const cold = await coldStarts();
  console.error('  in-process dispatch…');
  const micro = await dispatchMicro();
  let placement: string | null = null;
  let placementData: unknown = null;
  if (args.placement) {
    console.error('  placement…');
    const p = await runPlacementBench({ durationMs: 1500, concurrency: 32 });
    placementData = p;
    placement = formatPlacementTable(p);
  }
  const echo = http['bare uWS echo']!;
  const hearth = http['Hearth event function (warm)']!;
  const result = {
    startedAt: started.toISOString(), machine: machine(),
    settings: { rounds, durationSec: duration, connections, coldStarts: coldN, loadGenerator: 'wrk -t1', payload: HELLO },
    http, cold, dispatch: micro, placement: placementData,
    ratios: {
      hearthToEcho: { median: hearth.rps.median / echo.rps.median, min: hearth.rps.min / echo.rps.max, max: hearth.rps.max / echo.rps.min },
      batchedToUnbatched: hearth.rps.median / http['Hearth, one crossing per call (--no-batch-calls)']!.rps.median,
    },
  };
  const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const md = [
    `# Hearth bench, ${started.toISOString()}`,
    '',
    `Machine: ${result.machine.cores} cores (${result.machine.cpu}), ${result.machine.memoryGiB} GiB, Node ${result.machine.node}, kernel ${result.machine.kernel}.`,
    `Settings: ${rounds} rounds of ${duration} s per system, ${connections} connections, wrk with 1 thread as its own process; body \`${HELLO}\`.`,
    '',
    '## HTTP, warm (median of rounds, [min – max])',
    '',
    '| system | req/s | p50 ms | p99 ms | errors |',
    '| --- | --- | --- | --- | --- |',
    ...Object.entries(http).map(([k, v]) => `| ${k} | ${f(v.rps.median)} [${f(v.rps.min)} – ${f(v.rps.max)}] | ${f(v.p50Ms.median, 2)} [${f(v.p50Ms.min, 2)} – ${f(v.p50Ms.max, 2)}] | ${f(v.p99Ms.median, 2)} [${f(v.p99Ms.min, 2)} – ${f(v.p99Ms.max, 2)}] | ${v.errors} |`),
    '',
    `Hearth / bare uWS echo throughput: **${f(result.ratios.hearthToEcho.median * 100, 1)}%** (range ${f(result.ratios.hearthToEcho.min * 100, 1)}–${f(result.ratios.hearthToEcho.max * 100, 1)}%). Target ≥ 50%; p99 target ≤ 2 ms. Coalescing calls into one crossing per event-loop turn: ${f(result.ratios.batchedToUnbatched, 2)}× the throughput of one crossing per call.`,
    '',
    '## JS cold start (first call of a freshly deployed function, end to end over HTTP)',
    '',
    `${cold.n} functions, each called once cold, then once warm through the same client (node:http, kept-alive connection). Every first call cold, every second warm: ${cold.allCold}.`,
    '',
    '| call | p50 ms | p90 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    `| cold, end to end | **${f(cold.e2eMs.p50, 2)}** | ${f(cold.e2eMs.p90, 2)} | **${f(cold.e2eMs.p99, 2)}** | ${f(cold.e2eMs.max, 2)} |`,
    `| warm, end to end | ${f(cold.warmE2eMs.p50, 2)} | ${f(cold.warmE2eMs.p90, 2)} | ${f(cold.warmE2eMs.p99, 2)} | ${f(cold.warmE2eMs.max, 2)} |`,
    `| cold, server-side init (X-Hearth-Init-Ms) | ${f(cold.initMs.p50, 2)} | ${f(cold.initMs.p90, 2)} | ${f(cold.initMs.p99, 2)} | ${f(cold.initMs.max, 2)} |`,
    '',
    'Targets: cold p50 ≤ 5 ms, p99 ≤ 15 ms.',
    '',
    '## In-process dispatch (no HTTP; tinybench)',
    '',
    `Warm call through the isolate backend (bytes in → handler → bytes out): p50 **${f(micro.p50Us, 1)} µs**, p99 ${f(micro.p99Us, 1)} µs, mean ${f(micro.meanUs, 1)} µs (one call at a time). Target p50 ≤ 20 µs.`,
    '',
    ...Object.entries(micro.inFlight32).map(([k, v]) => `- 32 calls in flight, ${k}: ${f(v.median)} calls/s [${f(v.min)} – ${f(v.max)}]`),
    ...(placement ? ['', '## Placement', '', '```', placement, '```'] : []),
    '',
  ].join('\n');
  mkdirSync(args.out!, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(args.out!, `${stamp}.json`), JSON.stringify(result, null, 2));
  writeFileSync(join(args.out!, `${stamp}.md`), md);
  writeFileSync(join(args.out!, 'latest.md'), md);
  process.stdout.write(md + `\nwritten: bench/results/${stamp}.json, .md\n`);
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
