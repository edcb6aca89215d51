// Density: how many idle warm JS functions one Hearth holds, and whether many deployed functions
// slow the call of one. Two parts, each against a real `hearth serve` process (dist/core/cli.js of
// opts.root, its own data dir, --no-docker, instance and memory budgets raised so they never bind,
// keepAliveMs at its maximum in every spec):
//
//   1. Idle warm instances. Deploy N distinct JS functions (distinct code, hello-like), call each
//      once so each holds a warm instance, and sample the process's RSS (/proc/<pid>/status VmRSS)
//      after every step of K functions, once it has settled. Each cold call waits until the
//      pre-warm reserve has a blank isolate, so every instance is made the way the design means
//      (a reserve blank that rehearsed a cold call; hello names neither URL nor crypto, so they
//      stay unloaded, as for any such code), not a bare on-demand isolate. Reported: RSS at
//      0 (after start, reserve full), RSS per warm instance (slope of a least-squares fit over the
//      steps, and (RSS_N - RSS_0)/N), V8 heap per instance (the pool's own measure), RSS with
//      1,000 warm against 2 GiB, how many fit in 2 GiB, that no instance was evicted, and a warm
//      call of one function with 1 vs N instances idle beside it. Then the same with
//      --prewarm-isolates 0 (bare isolates made on demand; shorter in quick): what the rehearsed
//      reserve blanks cost per instance.
//   2. 10,000 deployed functions. Four Hearth processes with the same flags, two restored from a
//      data dir holding 10 functions, two from one holding the same 10 plus 9,990 more (written
//      through the product's own DataDir, records checked byte for byte against what its Registry
//      writes: what a restart of a Hearth with 10,000 deployed loads). The same warm function is
//      called one at a time over a kept-alive node:http connection, in half blocks that go round
//      the processes and back (sides interleaved), per round; the two processes of a side give an
//      A/A control. Then deploys over HTTP are timed into a 10- and a 10,000-function process. In
//      full mode one 10-function process then gets the other 9,990 over HTTP and all four are
//      measured again: a same-process before/after against its still-10 twin.
//
// `node --no-node-snapshot dist/bench/density.js [--mode tiny|quick|full] [--rounds N]`

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { cell, dist, fmt, stat, type BenchOptions, type Chart, type Dist, type Mode, type SectionResult, type Stat, type TargetRow } from './section.js';

const MIB = 1024 * 1024;
/** The RSS bound (ARCHITECTURE.md, Targets), MiB. */
const RSS_BOUND_MB = 2048;
/** The p50 bound (ARCHITECTURE.md, Targets): within 10% of the 10-function figure. */
const P50_BOUND = 1.1;
/** Budgets far above anything measured here, so eviction never decides a figure. */
const MAX_INSTANCES = 20_000;
const MEMORY_BUDGET_MB = 1_000_000;
/** keepAliveMs's largest allowed value (core/spec.ts): nothing expires during the run. */
const KEEPALIVE_MS = 86_400_000;
const HELLO = JSON.stringify({ name: 'world' });

interface Plan {
  /** Part 1: functions to warm at least (the target's 1,000), the hard cap, and the step. */
  densityN: number;
  densityCap: number;
  step: number;
  /** Part 1: RSS settling (ms): at least (a sweep must have run), at most. */
  settleMinMs: number;
  settleMaxMs: number;
  /** Part 1: seconds of one-at-a-time warm calls with 1 and with N instances warm. */
  idleProbeSec: number;
  /** Part 1 again with --prewarm-isolates 0 (instances made on demand, not rehearsed): functions, step. */
  bareN: number;
  bareStep: number;
  /** Part 2: functions deployed in the large processes; calls per process per round; warm-up calls. */
  manyN: number;
  block: number;
  warmup: number;
  /** Part 2: functions deployed over HTTP into one process of each side, to time deploys (0: none). */
  httpDeploySample: number;
  /** Part 2: deploy the rest into the 10-function process over HTTP and measure again. */
  sameProcess: boolean;
}

function plan(mode: Mode): Plan {
  if (mode === 'tiny') {
    return { densityN: 50, densityCap: 50, step: 50, settleMinMs: 2_600, settleMaxMs: 3_000, idleProbeSec: 0.3, bareN: 10, bareStep: 10, manyN: 200, block: 150, warmup: 100, httpDeploySample: 20, sameProcess: false };
  }
  if (mode === 'quick') {
    return { densityN: 1_000, densityCap: 1_000, step: 100, settleMinMs: 2_600, settleMaxMs: 5_000, idleProbeSec: 3, bareN: 300, bareStep: 100, manyN: 10_000, block: 1_000, warmup: 1_000, httpDeploySample: 200, sameProcess: false };
  }
  return { densityN: 1_000, densityCap: 3_000, step: 100, settleMinMs: 3_000, settleMaxMs: 8_000, idleProbeSec: 5, bareN: 1_000, bareStep: 100, manyN: 10_000, block: 2_000, warmup: 2_000, httpDeploySample: 200, sameProcess: true };
}

// ---- processes, HTTP, RSS ------------------------------------------------------------------

/** Everything started or made, so a failure (or Ctrl-C) still stops and removes it. */
const live = { procs: new Set<ChildProcess>(), dirs: new Set<string>() };

interface Hearth {
  proc: ChildProcess;
  pid: number;
  port: number;
  dir: string;
  /** From spawn to /readyz answering 200 (restore, listen, reserve full), ms. */
  startMs: number;
  /** Management and deploys (a few connections). */
  admin: http.Agent;
  /** Latency: one kept-alive connection, one call at a time. */
  one: http.Agent;
  stderr: () => string;
}

async function startHearth(root: string, dir: string, extra: string[] = []): Promise<Hearth> {
  const t0 = performance.now();
  const proc = spawn(process.execPath, [
    '--no-node-snapshot', join(root, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dir, '--no-docker',
    '--max-total-instances', String(MAX_INSTANCES), '--memory-budget-mb', String(MEMORY_BUDGET_MB), ...extra,
  ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEARTH_LOG_LEVEL: 'warn' } });
  live.procs.add(proc);
  proc.once('exit', () => live.procs.delete(proc));
  let err = '';
  proc.stderr!.on('data', (d) => { if (err.length < 64_000) err += d; });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const timer = setTimeout(() => rej(new Error(`hearth did not start within 120 s: ${err}`)), 120_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) { clearTimeout(timer); res(Number(m[1])); }
    });
    proc.once('exit', (c) => { clearTimeout(timer); rej(new Error(`hearth exited ${c}: ${err}`)); });
    proc.once('error', (e) => { clearTimeout(timer); rej(new Error(`could not start hearth: ${e.message}`)); });
  });
  const h: Hearth = {
    proc, pid: proc.pid!, port, dir, startMs: 0,
    admin: new http.Agent({ keepAlive: true, maxSockets: 8 }), one: new http.Agent({ keepAlive: true, maxSockets: 1 }),
    stderr: () => err,
  };
  for (let i = 0; ; i++) {
    if ((await request(h, h.admin, 'GET', '/readyz')).status === 200) break;
    if (i > 6_000) throw new Error('hearth was not ready within 60 s');
    await sleep(10);
  }
  h.startMs = performance.now() - t0;
  return h;
}

async function stopHearth(h: Hearth): Promise<void> {
  h.admin.destroy();
  h.one.destroy();
  if (h.proc.exitCode !== null || h.proc.signalCode !== null) return;
  const exited = new Promise((r) => h.proc.once('exit', r));
  h.proc.kill('SIGTERM');
  const t = setTimeout(() => h.proc.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(os.tmpdir(), prefix));
  live.dirs.add(d);
  return d;
}

function removeDir(d: string): void {
  rmSync(d, { recursive: true, force: true });
  live.dirs.delete(d);
}

interface Reply { status: number; body: string; ms: number; headers: http.IncomingHttpHeaders }

function request(h: Hearth, agent: http.Agent, method: string, path: string, body = '', keepBody = true): Promise<Reply> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = http.request({
      host: '127.0.0.1', port: h.port, path, method, agent,
      headers: body === '' ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    }, (r) => {
      let text = '';
      if (keepBody) { r.setEncoding('utf8'); r.on('data', (d: string) => (text += d)); } else r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0, body: text, ms: performance.now() - t0, headers: r.headers }));
    });
    req.on('error', rej);
    req.end(body);
  });
}

/** One warm call, client-side time end to end (ms). */
async function invokeMs(h: Hearth, name: string): Promise<number> {
  const r = await request(h, h.one, 'POST', `/v1/functions/${name}/invoke`, HELLO, false);
  if (r.status !== 200) throw new Error(`invoke ${name}: ${r.status}`);
  return r.ms;
}

interface PoolStats { instances: number; prewarmed: number; busy: number; waiting: number; memoryMb: number; evictions: number; coldStarts: number }

async function poolStats(h: Hearth): Promise<PoolStats> {
  const r = await request(h, h.admin, 'GET', '/readyz');
  if (r.status !== 200) throw new Error(`readyz: ${r.status} ${r.body}`);
  return (JSON.parse(r.body) as { isolates: PoolStats }).isolates;
}

interface Rss { rssMb: number; anonMb: number; fileMb: number }

/** The process's resident set, MiB (/proc on Linux; `ps` elsewhere, RSS only). */
function rssOf(pid: number): Rss {
  const status = `/proc/${pid}/status`;
  if (existsSync(status)) {
    const s = readFileSync(status, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? NaN) / 1024;
    return { rssMb: kb('VmRSS'), anonMb: kb('RssAnon'), fileMb: kb('RssFile') };
  }
  const kb = Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim());
  return { rssMb: kb / 1024, anonMb: NaN, fileMb: NaN };
}

/**
 * RSS once it holds still: at least `minMs` (so the pool's 1 s sweep has re-measured every idle
 * instance), then until three readings 250 ms apart are within 1 MiB, or `maxMs`.
 */
async function settledRss(pid: number, minMs: number, maxMs: number): Promise<Rss & { waitedMs: number; stable: boolean }> {
  const t0 = performance.now();
  await sleep(minMs);
  const last: Rss[] = [rssOf(pid)];
  for (;;) {
    await sleep(250);
    last.push(rssOf(pid));
    if (last.length > 3) last.shift();
    const xs = last.map((r) => r.rssMb);
    const stable = last.length === 3 && Math.max(...xs) - Math.min(...xs) <= 1;
    if (stable || performance.now() - t0 >= maxMs) return { ...last[last.length - 1]!, waitedMs: performance.now() - t0, stable };
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Part 1's --idle-release-ms (the default is 10 s): the instances are measured idle, after each
 * gave back the heap pages it holds unused, so a step's sample waits past it (settleMinMs).
 */
const IDLE_RELEASE_MS = 1_000;

/** Runs `fn` over 0..n-1 with `conc` at a time. */
async function pooled(n: number, conc: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(conc, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

/** Least-squares slope and intercept of y over x. */
function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) { sxy += (xs[i]! - mx) * (ys[i]! - my); sxx += (xs[i]! - mx) ** 2; syy += (ys[i]! - my) ** 2; }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: sxx === 0 || syy === 0 ? NaN : (sxy * sxy) / (sxx * syy) };
}

// ---- functions -----------------------------------------------------------------------------

/** A hello function whose code differs per `i` (a distinct code digest, a distinct script). */
function helloSpec(i: number): Record<string, unknown> {
  return {
    runtime: 'js', handler: 'index.main_handler', keepAliveMs: KEEPALIVE_MS,
    code: { source: `exports.main_handler = async (event) => ({ hello: event.name, fn: "#${i}#" });\n` },
  };
}

async function deploy(h: Hearth, name: string, spec: Record<string, unknown>): Promise<number> {
  const r = await request(h, h.admin, 'PUT', `/v1/functions/${name}`, JSON.stringify(spec));
  if (r.status !== 201 && r.status !== 200) throw new Error(`deploy ${name}: ${r.status} ${r.body}`);
  return r.ms;
}

// ---- part 1: idle warm instances -----------------------------------------------------------

interface DensityStep {
  functions: number;
  rssMb: number;
  anonMb: number;
  fileMb: number;
  /** The pool's own total (V8 heap of each instance, measured at its sweep), MiB. */
  poolHeapMb: number;
  instances: number;
  evictions: number;
  settleMs: number;
  stable: boolean;
}

/** How the instances are made: from the reserve as designed, or on demand with no reserve. */
interface Variant {
  reserve: boolean;
  n: number;
  cap: number;
  step: number;
  /** Time the warm call of one function with 1 and with N warm. */
  probe: boolean;
}

interface DensityData {
  reserve: boolean;
  functionsWarmed: number;
  steps: DensityStep[];
  rss0Mb: number;
  /** MiB of RSS per warm instance: the fit's slope, and (RSS_N - RSS_0) / N. */
  perInstanceSlopeMb: number;
  perInstanceFitR2: number;
  perInstanceAvgMb: number;
  /** The pool's measure per instance (total heap + external of each isolate), MiB. */
  heapPerInstanceMb: Dist;
  rssAt1000Mb: number | null;
  /** How many distinct warm functions fit in 2 GiB RSS (interpolated between steps), or a projection. */
  fitIn2GiB: { count: number; how: 'interpolated' | 'projected' | 'at-start' };
  /** Instances still warm at the end (GET /v1/functions/{name}/instances for every function). */
  warmAtEnd: number;
  evicted: number;
  evictedBy: string | null;
  /** Cold calls that found a blank in the reserve (we waited for one), and their server-side init. */
  coldCalls: { cold: number; notCold: number; reserveWaitTimeouts: number; initMs: Dist };
  deployMs: Dist;
  /** One warm function called one at a time with only it warm, and with N instances idle beside it. */
  idleProbe: { oneWarm: Dist; nWarm: Dist; n: number; over5ms: { oneWarm: number; nWarm: number } } | null;
  seconds: number;
}

async function density(opts: BenchOptions, p: Plan, v: Variant): Promise<DensityData> {
  const t0 = performance.now();
  const dir = tempDir('hearth-bench-density-');
  const h = await startHearth(opts.root, dir, [...(v.reserve ? [] : ['--prewarm-isolates', '0']), '--idle-release-ms', String(IDLE_RELEASE_MS)]);
  const tag = v.reserve ? 'density' : 'density, no reserve';
  try {
    const steps: DensityStep[] = [];
    const sample = async (functions: number): Promise<DensityStep> => {
      const r = await settledRss(h.pid, p.settleMinMs, p.settleMaxMs);
      const s = await poolStats(h);
      const step: DensityStep = {
        functions, rssMb: r.rssMb, anonMb: r.anonMb, fileMb: r.fileMb, poolHeapMb: s.memoryMb,
        instances: s.instances, evictions: s.evictions, settleMs: r.waitedMs, stable: r.stable,
      };
      steps.push(step);
      opts.log(`  ${tag}: ${functions} warm: RSS ${fmt(r.rssMb, 0)} MiB (anon ${fmt(r.anonMb, 0)}), pool heap ${fmt(s.memoryMb, 0)} MiB, ${s.instances} instances, ${s.evictions} evicted${r.stable ? '' : ' (RSS still moving)'}`);
      return step;
    };
    await sample(0);

    const deployMs: number[] = [];
    const initMs: number[] = [];
    let cold = 0, notCold = 0, waitTimeouts = 0;
    let warmed = 0;
    /** A blank in the reserve before each cold call: the instance is made as designed (rehearsed). */
    const awaitBlank = async () => {
      for (let i = 0; i < 1_000; i++) {
        if ((await poolStats(h)).prewarmed > 0) return;
        await sleep(2);
      }
      waitTimeouts++;
    };
    const warmStep = async (from: number, to: number) => {
      await pooled(to - from, 4, async (k) => { deployMs.push(await deploy(h, `d${from + k}`, helloSpec(from + k))); });
      for (let i = from; i < to; i++) {
        if (v.reserve) await awaitBlank();
        const r = await request(h, h.one, 'POST', `/v1/functions/d${i}/invoke`, HELLO, false);
        if (r.status !== 200) throw new Error(`invoke d${i}: ${r.status}`);
        if (r.headers['x-hearth-cold'] === 'true') { cold++; initMs.push(Number(r.headers['x-hearth-init-ms'])); } else notCold++;
      }
      warmed = to;
    };

    // The probe function is d0: warm, alone, then called again once N are warm.
    await warmStep(0, 1);
    await sleep(1_000);
    const probe = async (): Promise<number[]> => {
      for (let i = 0; i < (opts.mode === 'tiny' ? 50 : 200); i++) await invokeMs(h, 'd0');
      const xs: number[] = [];
      const end = performance.now() + p.idleProbeSec * 1000;
      while (performance.now() < end) xs.push(await invokeMs(h, 'd0'));
      return xs;
    };
    const oneWarm = v.probe ? await probe() : [];

    for (;;) {
      const last = steps[steps.length - 1]!;
      const done = warmed >= v.n && (warmed >= v.cap || last.rssMb >= RSS_BOUND_MB);
      if (done) break;
      const to = Math.min(v.cap, warmed === 1 ? v.step : warmed + v.step);
      await warmStep(warmed, to);
      await sample(to);
    }
    const nWarm = v.probe ? await probe() : [];

    // Still warm? Every function's instances, and the pool's eviction count.
    const heaps: number[] = [];
    let warmAtEnd = 0;
    await pooled(warmed, 8, async (i) => {
      const r = await request(h, h.admin, 'GET', `/v1/functions/d${i}/instances`);
      const list = (JSON.parse(r.body) as { instances: { state: string; memoryMb: number }[] }).instances;
      const ok = list.filter((x) => x.state === 'idle' || x.state === 'busy');
      if (ok.length > 0) warmAtEnd++;
      for (const x of ok) heaps.push(x.memoryMb);
    });
    const end = await poolStats(h);
    const evictedBy = end.evictions === 0 && warmAtEnd === warmed ? null
      : end.instances >= MAX_INSTANCES ? 'instance budget (--max-total-instances)'
      : end.memoryMb >= MEMORY_BUDGET_MB ? 'memory budget (--memory-budget-mb)'
      : end.evictions > 0 ? 'LRU eviction with neither budget full (unexpected)' : 'keepalive or a broken instance (no eviction counted)';

    const xs = steps.map((s) => s.functions);
    const ys = steps.map((s) => s.rssMb);
    const fit = linearFit(xs, ys);
    const rss0 = steps[0]!.rssMb;
    const lastStep = steps[steps.length - 1]!;
    const at1000 = steps.find((s) => s.functions === 1_000)?.rssMb ?? null;
    let fitIn: DensityData['fitIn2GiB'];
    const over = steps.findIndex((s) => s.rssMb > RSS_BOUND_MB);
    if (over === 0) fitIn = { count: 0, how: 'at-start' };
    else if (over > 0) {
      const a = steps[over - 1]!, b = steps[over]!;
      fitIn = { count: Math.floor(a.functions + ((RSS_BOUND_MB - a.rssMb) / (b.rssMb - a.rssMb)) * (b.functions - a.functions)), how: 'interpolated' };
    } else fitIn = { count: Math.floor(lastStep.functions + (RSS_BOUND_MB - lastStep.rssMb) / fit.slope), how: 'projected' };
    return {
      reserve: v.reserve, functionsWarmed: warmed, steps, rss0Mb: rss0,
      perInstanceSlopeMb: fit.slope, perInstanceFitR2: fit.r2,
      perInstanceAvgMb: (lastStep.rssMb - rss0) / lastStep.functions,
      heapPerInstanceMb: dist(heaps), rssAt1000Mb: at1000, fitIn2GiB: fitIn,
      warmAtEnd, evicted: end.evictions, evictedBy,
      coldCalls: { cold, notCold, reserveWaitTimeouts: waitTimeouts, initMs: dist(initMs) },
      deployMs: dist(deployMs),
      idleProbe: v.probe ? { oneWarm: dist(oneWarm), nWarm: dist(nWarm), n: warmed, over5ms: { oneWarm: oneWarm.filter((x) => x >= 5).length, nWarm: nWarm.filter((x) => x >= 5).length } } : null,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\nhearth stderr: ${h.stderr().slice(-2000)}`, { cause: err });
  } finally {
    await stopHearth(h);
    removeDir(dir);
  }
}

// ---- part 2: 10,000 deployed functions -----------------------------------------------------

interface StoredRecord {
  name: string;
  spec: Record<string, unknown> & { runtime: string; handler?: string; env: Record<string, string>; egress?: { allow: string[] } };
  codeDigest: string;
  codeSize: number;
  digest: string;
  [k: string]: unknown;
}

/**
 * Two data dirs: `few` with f0..f9, `many` with f0..f{n-1}. f0..f9 go through the product's
 * Registry (bundling, digests, records; no isolate: a backend whose prepare is a no-op). The rest
 * are written through its DataDir from f0's bundled script and record with the number changed,
 * after checking that this reproduces f1..f9 exactly as the Registry wrote them (else every one
 * goes through the Registry: ~5-10 ms each).
 */
async function prepareDataDirs(root: string, n: number, log: (l: string) => void): Promise<{ few: string; many: string; ms: number; method: string }> {
  const t0 = performance.now();
  const mod = (p: string) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { DataDir, sha256 } = await mod('core/store.js') as typeof import('../core/store.js');
  const { Catalog, Registry, versionDigest: registryVersionDigest } = await mod('core/registry/index.js') as typeof import('../core/registry/index.js');
  const { UnavailableBackend } = await mod('core/unavailable-backend.js') as typeof import('../core/unavailable-backend.js');
  const { Tiers } = await mod('core/backend.js') as typeof import('../core/backend.js');
  const few = tempDir('hearth-bench-density-10-');
  const many = tempDir('hearth-bench-density-10k-');
  const noIsolates = new UnavailableBackend('bench: records only');
  const tiers = new Tiers(noIsolates, noIsolates);
  const limits = { maxCodeBytes: 64 * MIB };
  const regFew = new Registry({ catalog: new Catalog(), data: new DataDir(few), tiers, limits, listeners: [] });
  const manyData = new DataDir(many);
  const regMany = new Registry({ catalog: new Catalog(), data: manyData, tiers, limits, listeners: [] });
  for (let i = 0; i < 10; i++) {
    await regFew.deploy(`f${i}`, helloSpec(i));
    await regMany.deploy(`f${i}`, helloSpec(i));
  }
  const read = (name: string) => JSON.parse(readFileSync(join(many, 'functions', `${name}.json`), 'utf8')) as StoredRecord;
  const code0 = readFileSync(join(many, 'code', read('f0').codeDigest), 'utf8');
  const rec0 = read('f0');
  const versionDigest = (name: string, spec: StoredRecord['spec'], codeDigest: string) => registryVersionDigest(name, spec as never, codeDigest);
  const make = (i: number): { code: Buffer; record: StoredRecord } => {
    const code = Buffer.from(code0.split('#0#').join(`#${i}#`));
    const codeDigest = sha256(code);
    const name = `f${i}`;
    return { code, record: { ...rec0, name, codeDigest, codeSize: code.length, digest: versionDigest(name, rec0.spec, codeDigest) } };
  };
  const strip = (r: StoredRecord) => JSON.stringify({ ...r, createdAt: '', updatedAt: '' });
  let templateOk = code0.split('#0#').length === 2;
  for (let i = 0; i < 10 && templateOk; i++) {
    const real = read(`f${i}`);
    const mine = make(i);
    const realCode = readFileSync(join(many, 'code', real.codeDigest));
    if (strip(real) !== strip(mine.record) || !realCode.equals(mine.code)) templateOk = false;
  }
  let method: string;
  if (templateOk) {
    for (let i = 10; i < n; i++) {
      const { code, record } = make(i);
      manyData.putCode(code);
      manyData.putRecord(record.name, record);
    }
    method = 'DataDir writes of f0\'s record and script with the number changed (checked equal to the Registry\'s own for f0..f9)';
  } else {
    log('  density: the record template does not reproduce the Registry\'s records; deploying every function through the Registry (slow)');
    await pooled(n - 10, 8, async (k) => { await regMany.deploy(`f${10 + k}`, helloSpec(10 + k)); });
    method = 'the product\'s Registry.deploy for every function (bundling each; no isolate)';
  }
  const count = readdirSync(join(many, 'functions')).filter((f) => f.endsWith('.json')).length;
  if (count !== n) throw new Error(`the ${n}-function data dir holds ${count} records`);
  return { few, many, ms: performance.now() - t0, method };
}

type Side = 'few' | 'many';

interface ProcInfo { label: string; side: Side; deployed: number; startMs: number; rssMb: number }

interface ManyData {
  deployed: { few: number; many: number };
  prepare: { ms: number; method: string };
  /** Two processes per side, restored from copies of the same data dir. */
  processes: ProcInfo[];
  /**
   * Per round: each process's p50 (ms), each side's p50 over its two processes' calls pooled, the
   * ratio many / few, and the A/A controls (second process / first process of one side).
   */
  rounds: { p50: Record<string, number>; few: number; many: number; ratio: number; controlFew: number; controlMany: number }[];
  p50: { few: Stat; many: Stat; ratio: Stat; controlFew: Stat; controlMany: Stat; byProcess: Record<string, Stat> };
  all: { few: Dist; many: Dist; ratioOfPooledP50: number };
  /** Deploys over HTTP after the rounds, into one process of each side (PUT, 4 at a time). */
  httpDeploy: { n: number; conc: number; msEach: { few: Dist; many: Dist }; wallMsEach: { few: number; many: number }; projectedSecFor: number } | null;
  /** Full mode: one 10-function process gets the rest over HTTP; its p50 over its twin's, before and after. */
  sameProcess: {
    grownTo: number; deploySeconds: number; deployMsEach: Dist;
    before: Stat; after: Stat; effect: number; afterVsMany: Stat;
  } | null;
  seconds: number;
}

interface Proc { h: Hearth; info: ProcInfo }

/** `to` gets `from`'s folders and, for each file, a hard link (a copy where links fail). */
function linkTree(from: string, to: string): void {
  for (const e of readdirSync(from, { withFileTypes: true })) {
    const a = join(from, e.name), b = join(to, e.name);
    if (e.isDirectory()) { mkdirSync(b, { recursive: true }); linkTree(a, b); continue; }
    try { linkSync(a, b); } catch { cpSync(a, b); }
  }
}

/**
 * `rounds` rounds; in each, every process gets `block` calls of f0 (one at a time), in two half
 * blocks: the processes in turn, then in reverse turn (the next round starts reversed), so the
 * sides interleave and linear drift falls on all of them alike.
 */
async function alternate(procs: Proc[], rounds: number, block: number): Promise<number[][][]> {
  const out: number[][][] = [];
  const half = Math.max(1, Math.floor(block / 2));
  for (let r = 0; r < rounds; r++) {
    const samples = procs.map(() => [] as number[]);
    const base = procs.map((_, i) => i);
    const turn = r % 2 === 0 ? [...base, ...[...base].reverse()] : [...[...base].reverse(), ...base];
    for (const i of turn) {
      const h = procs[i]!.h;
      for (let k = 0; k < half; k++) samples[i]!.push(await invokeMs(h, 'f0'));
    }
    out.push(samples);
  }
  return out;
}

const p50Of = (xs: number[]) => dist(xs).p50;

async function manyDeployed(opts: BenchOptions, p: Plan): Promise<ManyData> {
  const t0 = performance.now();
  opts.log(`  density: preparing data dirs with 10 and ${p.manyN} functions…`);
  const prep = await prepareDataDirs(opts.root, p.manyN, opts.log);
  // Each process its own data dir (cold starts write V8 cached data into it): a copy whose files
  // are hard links (Hearth never writes a file in place: it writes a temp file and renames it).
  const dirs: { side: Side; dir: string }[] = [{ side: 'few', dir: prep.few }, { side: 'many', dir: prep.many }];
  for (const side of ['few', 'many'] as const) {
    const copy = tempDir(`hearth-bench-density-${side}-2-`);
    linkTree(side === 'few' ? prep.few : prep.many, copy);
    dirs.push({ side, dir: copy });
  }
  const prepMs = performance.now() - t0;
  opts.log(`  density: prepared in ${fmt(prepMs / 1000, 1)} s`);
  const procs: Proc[] = [];
  try {
    // Order: 10 #1, N #1, 10 #2, N #2 (the sides alternate in every turn). The first of each side
    // starts alone (its start time is a figure); the second ones start together.
    const start = async (k: number): Promise<Proc> => {
      const { side, dir } = dirs[k]!;
      const h = await startHearth(opts.root, dir);
      const label = `${side === 'few' ? '10' : p.manyN.toLocaleString('en-US')} #${k < 2 ? 1 : 2}`;
      opts.log(`  density: process ${label} ready in ${fmt(h.startMs, 0)} ms`);
      return { h, info: { label, side, deployed: side === 'few' ? 10 : p.manyN, startMs: h.startMs, rssMb: NaN } };
    };
    procs.push(await start(0));
    procs.push(await start(1));
    const seconds = await Promise.allSettled([start(2), start(3)]);
    for (const r of seconds) if (r.status === 'fulfilled') procs.push(r.value);
    for (const r of seconds) if (r.status === 'rejected') throw r.reason;
    // A few warm in each (f0 is the one measured); JIT of every server and of this client.
    for (const { h } of procs) {
      for (let i = 0; i < 5; i++) await invokeMs(h, `f${i}`);
      for (let i = 0; i < p.warmup; i++) await invokeMs(h, 'f0');
    }
    // The restore's slots for never-called functions go at the first sweep: let it run.
    await sleep(1_500);
    for (const pr of procs) pr.info.rssMb = rssOf(pr.h.pid).rssMb;
    const few = procs.filter((x) => x.info.side === 'few'), many = procs.filter((x) => x.info.side === 'many');
    const idx = (pr: Proc) => procs.indexOf(pr);
    const raw = await alternate(procs, opts.rounds, p.block);
    const rounds = raw.map((s) => {
      const byProc = Object.fromEntries(procs.map((pr, i) => [pr.info.label, p50Of(s[i]!)]));
      const fewP50 = p50Of(few.flatMap((pr) => s[idx(pr)]!)), manyP50 = p50Of(many.flatMap((pr) => s[idx(pr)]!));
      const row = {
        p50: byProc, few: fewP50, many: manyP50, ratio: manyP50 / fewP50,
        controlFew: byProc[few[1]!.info.label]! / byProc[few[0]!.info.label]!,
        controlMany: byProc[many[1]!.info.label]! / byProc[many[0]!.info.label]!,
      };
      opts.log(`  density: round p50 ${fmt(fewP50, 3)} ms with 10, ${fmt(manyP50, 3)} ms with ${p.manyN} (×${fmt(row.ratio, 3)}; A/A controls ×${fmt(row.controlFew, 3)}, ×${fmt(row.controlMany, 3)})`);
      return row;
    });
    const allFew = raw.flatMap((s) => few.flatMap((pr) => s[idx(pr)]!));
    const allMany = raw.flatMap((s) => many.flatMap((pr) => s[idx(pr)]!));

    let httpDeploy: ManyData['httpDeploy'] = null;
    if (p.httpDeploySample > 0) {
      // The same number of new functions into one process of each side, in chunks that alternate.
      const ms = { few: [] as number[], many: [] as number[] };
      const wall = { few: 0, many: 0 };
      const chunk = 20;
      for (let c = 0; c < p.httpDeploySample; c += chunk) {
        const order = (c / chunk) % 2 === 0 ? ['few', 'many'] as const : ['many', 'few'] as const;
        for (const side of order) {
          const h = (side === 'few' ? few[0]! : many[0]!).h;
          const n = Math.min(chunk, p.httpDeploySample - c);
          const w0 = performance.now();
          await pooled(n, 4, async (k) => { ms[side].push(await deploy(h, `x${c + k}`, helloSpec(p.manyN + c + k))); });
          wall[side] += performance.now() - w0;
        }
      }
      const each = { few: wall.few / p.httpDeploySample, many: wall.many / p.httpDeploySample };
      httpDeploy = { n: p.httpDeploySample, conc: 4, msEach: { few: dist(ms.few), many: dist(ms.many) }, wallMsEach: each, projectedSecFor: (each.many * p.manyN) / 1000 };
      opts.log(`  density: ${p.httpDeploySample} deploys over HTTP (4 at a time) into each: ${fmt(each.few, 1)} ms each with 10 deployed, ${fmt(each.many, 1)} ms with ${p.manyN} → ~${fmt(httpDeploy.projectedSecFor, 0)} s for ${p.manyN}`);
    }

    let sameProcess: ManyData['sameProcess'] = null;
    if (p.sameProcess) {
      const grow = few[0]!, twin = few[1]!;
      opts.log(`  density: deploying ${p.manyN - 10} functions over HTTP into process ${grow.info.label}…`);
      const ms: number[] = [];
      const w0 = performance.now();
      let done = 0;
      await pooled(p.manyN - 10, 4, async (k) => {
        ms.push(await deploy(grow.h, `f${10 + k}`, helloSpec(10 + k)));
        if (++done % 1_000 === 0) opts.log(`    ${done} deployed (${fmt((performance.now() - w0) / 1000, 0)} s)`);
      });
      const deploySeconds = (performance.now() - w0) / 1000;
      for (let i = 0; i < p.warmup; i++) await invokeMs(grow.h, 'f0');
      await sleep(1_500);
      const again = await alternate(procs, opts.rounds, p.block);
      const before = stat(rounds.map((r) => r.p50[grow.info.label]! / r.p50[twin.info.label]!));
      const after = stat(again.map((s) => p50Of(s[idx(grow)]!) / p50Of(s[idx(twin)]!)));
      const afterVsMany = stat(again.map((s) => p50Of(s[idx(grow)]!) / p50Of(many.flatMap((pr) => s[idx(pr)]!))));
      sameProcess = {
        grownTo: 10 + (p.httpDeploySample > 0 ? p.httpDeploySample : 0) + (p.manyN - 10), deploySeconds, deployMsEach: dist(ms),
        before, after, effect: after.median / before.median, afterVsMany,
      };
      opts.log(`  density: same process: p50 over its twin ×${fmt(before.median, 3)} before, ×${fmt(after.median, 3)} after (effect ×${fmt(sameProcess.effect, 3)})`);
    }
    return {
      deployed: { few: 10, many: p.manyN }, prepare: { ms: prepMs, method: prep.method },
      processes: procs.map((pr) => pr.info), rounds,
      p50: {
        few: stat(rounds.map((r) => r.few)), many: stat(rounds.map((r) => r.many)), ratio: stat(rounds.map((r) => r.ratio)),
        controlFew: stat(rounds.map((r) => r.controlFew)), controlMany: stat(rounds.map((r) => r.controlMany)),
        byProcess: Object.fromEntries(procs.map((pr) => [pr.info.label, stat(rounds.map((r) => r.p50[pr.info.label]!))])),
      },
      all: { few: dist(allFew), many: dist(allMany), ratioOfPooledP50: p50Of(allMany) / p50Of(allFew) },
      httpDeploy, sameProcess, seconds: (performance.now() - t0) / 1000,
    };
  } catch (err) {
    const tail = procs.map((pr) => pr.h.stderr().slice(-1000)).join('\n');
    throw new Error(`${(err as Error).message}\nhearth stderr: ${tail}`, { cause: err });
  } finally {
    for (const pr of procs) await stopHearth(pr.h);
    for (const d of dirs) removeDir(d.dir);
  }
}

// ---- the section ---------------------------------------------------------------------------

export async function runDensity(opts: BenchOptions): Promise<SectionResult> {
  const p = plan(opts.mode);
  const started = performance.now();
  try {
    opts.log(`density: ${p.densityN} warm functions (cap ${p.densityCap}, steps of ${p.step}); ${p.bareN} with no reserve; ${p.manyN} deployed vs 10`);
    const d = await density(opts, p, { reserve: true, n: p.densityN, cap: p.densityCap, step: p.step, probe: true });
    const bare = await density(opts, p, { reserve: false, n: p.bareN, cap: p.bareN, step: p.bareStep, probe: false });
    const m = await manyDeployed(opts, p);
    return report(opts, p, d, bare, m, (performance.now() - started) / 1000);
  } finally {
    cleanup();
  }
}

function report(opts: BenchOptions, p: Plan, d: DensityData, bare: DensityData, m: ManyData, seconds: number): SectionResult {
  const tiny = opts.mode === 'tiny';
  const last = d.steps[d.steps.length - 1]!;
  const intf = (x: number) => fmt(x, 0);
  const nMany = m.deployed.many.toLocaleString('en-US');
  const rssTarget: TargetRow = d.rssAt1000Mb !== null
    ? {
        path: 'idle warm JS instances', target: '1,000 distinct functions warm within 2 GiB RSS',
        measured: `RSS with 1,000 warm: ${intf(d.rssAt1000Mb)} MiB (${fmt(d.perInstanceSlopeMb, 2)} MiB per instance; ${d.fitIn2GiB.how === 'projected' ? '~' : ''}${intf(d.fitIn2GiB.count)} fit in 2 GiB)`,
        ratio: d.rssAt1000Mb / RSS_BOUND_MB, met: d.warmAtEnd === d.functionsWarmed ? d.rssAt1000Mb <= RSS_BOUND_MB : false,
      }
    : {
        path: 'idle warm JS instances', target: '1,000 distinct functions warm within 2 GiB RSS',
        measured: `not tested (${opts.mode}: ${last.functions} warm, RSS ${intf(last.rssMb)} MiB; at ${fmt(d.perInstanceSlopeMb, 2)} MiB each, 1,000 would be ~${intf(d.rss0Mb + 1_000 * d.perInstanceSlopeMb)} MiB)`,
        met: null,
      };
  const ratio = m.p50.ratio.median;
  const manyTarget: TargetRow = {
    path: '10,000 deployed functions', target: 'invoke p50 within 10% of the 10-function figure',
    measured: m.deployed.many === 10_000
      ? `p50 ${fmt(m.p50.many.median, 3)} ms with 10,000 vs ${fmt(m.p50.few.median, 3)} ms with 10 (×${fmt(ratio, 3)}, rounds ${fmt(m.p50.ratio.min, 3)}–${fmt(m.p50.ratio.max, 3)}; two processes of one side differ by ×${fmt(m.p50.controlFew.median, 3)} / ×${fmt(m.p50.controlMany.median, 3)})`
      : `not tested (${opts.mode}: ${m.deployed.many} deployed vs 10: ×${fmt(ratio, 3)})`,
    ratio, met: m.deployed.many === 10_000 ? ratio <= P50_BOUND : null,
  };

  const charts: Chart[] = [
    {
      kind: 'bars', id: 'density-rss', title: 'Hearth RSS by distinct warm JS functions', unit: 'MiB',
      bars: d.steps.map((s) => ({ name: String(s.functions), value: Math.round(s.rssMb * 10) / 10 })),
    },
    {
      kind: 'distribution', id: 'density-invoke-deployed', title: `Warm invoke, end to end, with 10 vs ${nMany} functions deployed`, unit: 'ms',
      series: [{ name: '10 deployed', samples: m.all.few.samples }, { name: `${nMany} deployed`, samples: m.all.many.samples }],
    },
  ];
  const ip = d.idleProbe;
  if (ip) {
    charts.push({
      kind: 'distribution', id: 'density-invoke-idle', title: `Warm invoke, end to end, with 1 vs ${ip.n.toLocaleString('en-US')} instances warm`, unit: 'ms',
      series: [{ name: '1 warm', samples: ip.oneWarm.samples }, { name: `${ip.n.toLocaleString('en-US')} warm`, samples: ip.nWarm.samples }],
    });
  }

  const md: string[] = [];
  if (tiny) md.push(`**tiny mode: ${d.functionsWarmed} warm functions and ${m.deployed.many} deployed, not the targets' 1,000 and 10,000; it proves the section runs and tests neither target.**`, '');
  md.push(
    `Hearth (\`serve --no-docker\`, its own data dir, \`--max-total-instances ${MAX_INSTANCES}\`, \`--memory-budget-mb ${MEMORY_BUDGET_MB}\`, every spec \`keepAliveMs: ${KEEPALIVE_MS}\`, so neither budget nor keepalive decides anything). Section time ${fmt(seconds, 0)} s (idle warm ${fmt(d.seconds, 0)} s, no reserve ${fmt(bare.seconds, 0)} s, deployed ${fmt(m.seconds, 0)} s).`,
    '',
    '### Idle warm instances',
    '',
    `${d.functionsWarmed} distinct hello functions (distinct code), each deployed (PUT, 4 at a time) and then called once; before each cold call the bench waits until the pre-warm reserve holds a blank isolate, so every instance is made as designed (a reserve blank that rehearsed a cold call; the hello code names neither URL nor crypto, so its blank did not load them). ${d.coldCalls.cold} first calls were cold, ${d.coldCalls.notCold} not; server-side init p50 ${fmt(d.coldCalls.initMs.p50, 2)} ms, p99 ${fmt(d.coldCalls.initMs.p99, 2)} ms${d.coldCalls.reserveWaitTimeouts ? `; ${d.coldCalls.reserveWaitTimeouts} calls gave up waiting for a blank` : ''}. Hearth runs with --idle-release-ms ${IDLE_RELEASE_MS} (the default is 10 s): an instance idle that long gives back the heap pages it holds unused. RSS is VmRSS of the Hearth process, read after at least ${fmt(p.settleMinMs / 1000, 1)} s (past the idle release and a pool sweep) and once three readings 250 ms apart agree within 1 MiB (at most ${fmt(p.settleMaxMs / 1000, 1)} s).`,
    '',
    '| warm functions | RSS MiB | anon MiB | pool heap MiB | instances | evicted |',
    '| --- | --- | --- | --- | --- | --- |',
    ...d.steps.map((s) => `| ${s.functions} | ${intf(s.rssMb)} | ${intf(s.anonMb)} | ${intf(s.poolHeapMb)} | ${s.instances} | ${s.evictions}${s.stable ? '' : ' (RSS moving)'} |`),
    '',
    `- RSS at 0 (started, reserve of blanks full): **${intf(d.rss0Mb)} MiB**.`,
    `- RSS per warm instance: **${fmt(d.perInstanceSlopeMb, 2)} MiB** (least-squares slope over the steps, r² ${fmt(d.perInstanceFitR2, 4)}); (RSS_N − RSS_0)/N = ${fmt(d.perInstanceAvgMb, 2)} MiB.`,
    `- V8 heap per instance (the pool's measure, total heap + external of the isolate, which its memory budget counts): p50 ${fmt(d.heapPerInstanceMb.p50, 2)} MiB [${fmt(d.heapPerInstanceMb.min, 2)} – ${fmt(d.heapPerInstanceMb.max, 2)}]. At that size Hearth's default \`--memory-budget-mb 4096\` binds at ~${intf(4096 / d.heapPerInstanceMb.p50)} instances, before the default 2,000-instance budget.`,
    d.rssAt1000Mb !== null
      ? `- RSS with 1,000 warm: **${intf(d.rssAt1000Mb)} MiB** against 2,048 MiB: ${d.rssAt1000Mb <= RSS_BOUND_MB ? 'within' : '**over**'} the target.`
      : `- Not 1,000 here: at this slope 1,000 would take ~${intf(d.rss0Mb + 1_000 * d.perInstanceSlopeMb)} MiB.`,
    `- Distinct warm functions that fit in 2 GiB RSS: **${d.fitIn2GiB.how === 'projected' ? '~' : ''}${intf(d.fitIn2GiB.count)}** (${d.fitIn2GiB.how === 'interpolated' ? 'interpolated between the steps around 2,048 MiB' : d.fitIn2GiB.how === 'projected' ? `projected at the slope: RSS stayed under 2 GiB up to ${last.functions}` : 'already over at start'}).`,
    `- Still warm at the end (GET /v1/functions/{name}/instances of each): **${d.warmAtEnd} of ${d.functionsWarmed}**; evictions ${d.evicted}${d.evictedBy ? ` (${d.evictedBy})` : ''}.`,
    `- Deploys while warming (PUT, 4 at a time): p50 ${fmt(d.deployMs.p50, 1)} ms, p99 ${fmt(d.deployMs.p99, 1)} ms per PUT.`,
    `- The same with \`--prewarm-isolates 0\` (every instance a bare isolate made on demand, no rehearsal), ${bare.functionsWarmed} functions: RSS ${intf(bare.rss0Mb)} MiB at 0, **${fmt(bare.perInstanceSlopeMb, 2)} MiB** per instance (slope; r² ${fmt(bare.perInstanceFitR2, 4)}), heap p50 ${fmt(bare.heapPerInstanceMb.p50, 2)} MiB; ${bare.rssAt1000Mb !== null ? `RSS with 1,000 warm ${intf(bare.rssAt1000Mb)} MiB` : `at that slope 1,000 would be ~${intf(bare.rss0Mb + 1_000 * bare.perInstanceSlopeMb)} MiB`}, ${bare.fitIn2GiB.how === 'projected' ? '~' : ''}${intf(bare.fitIn2GiB.count)} would fit in 2 GiB; ${bare.warmAtEnd} of ${bare.functionsWarmed} still warm.`,
  );
  if (ip) {
    md.push(
      '',
      `One warm function (d0) called one at a time for ${fmt(p.idleProbeSec, 1)} s, with only it warm and with ${ip.n} warm (the pool's sweep re-measures every idle instance's heap each second):`,
      '',
      '| instances warm | calls | p50 ms | p90 ms | p99 ms | max ms | calls ≥ 5 ms |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      `| 1 | ${ip.oneWarm.n} | ${fmt(ip.oneWarm.p50, 3)} | ${fmt(ip.oneWarm.p90, 3)} | ${fmt(ip.oneWarm.p99, 3)} | ${fmt(ip.oneWarm.max, 2)} | ${ip.over5ms.oneWarm} |`,
      `| ${ip.n} | ${ip.nWarm.n} | ${fmt(ip.nWarm.p50, 3)} | ${fmt(ip.nWarm.p90, 3)} | ${fmt(ip.nWarm.p99, 3)} | ${fmt(ip.nWarm.max, 2)} | ${ip.over5ms.nWarm} |`,
      '',
      'With calls one at a time, a pause of the main thread delays one call, so the sweep shows in the max and the count of slow calls, not in p50 or p99; under concurrent load every call in flight waits it out.',
    );
  }
  md.push(
    '',
    `### ${nMany} deployed functions`,
    '',
    `Four Hearth processes with the same flags, each restored at start from its own copy of a data dir: two from one holding 10 functions, two from one holding the same 10 plus ${(m.deployed.many - 10).toLocaleString('en-US')} more (what a restart of a Hearth with ${nMany} deployed loads). The data dirs took ${fmt(m.prepare.ms / 1000, 1)} s: ${m.prepare.method}. f0..f4 warm in each, nothing else; f0 called one at a time over one kept-alive node:http connection per process, ${p.warmup} calls of warm-up each, then ${opts.rounds} round(s) in which each process gets ${p.block} calls in two half blocks, the processes in turn (10, ${nMany}, 10, ${nMany}) then in reverse turn (the next round starts reversed), so drift falls on all alike. A side's figure per round is the p50 of its two processes' calls pooled; cells are the median over rounds [min – max]. The second process of each side against the first (A/A) shows how much two processes of one build and one data dir differ by themselves.`,
    '',
    '| process | deployed | start to ready ms (#2 started together) | RSS after warm-up MiB | p50 ms |',
    '| --- | --- | --- | --- | --- |',
    ...m.processes.map((x) => `| ${x.label} | ${x.deployed.toLocaleString('en-US')} | ${intf(x.startMs)} | ${intf(x.rssMb)} | ${cell(m.p50.byProcess[x.label]!, 3)} |`),
    '',
    '| deployed | p50 ms | pooled p50 ms | pooled p90 ms | pooled p99 ms |',
    '| --- | --- | --- | --- | --- |',
    `| 10 | ${cell(m.p50.few, 3)} | ${fmt(m.all.few.p50, 3)} | ${fmt(m.all.few.p90, 3)} | ${fmt(m.all.few.p99, 3)} |`,
    `| ${nMany} | ${cell(m.p50.many, 3)} | ${fmt(m.all.many.p50, 3)} | ${fmt(m.all.many.p90, 3)} | ${fmt(m.all.many.p99, 3)} |`,
    '',
    `Ratio p50 (${nMany}) / p50 (10): **×${fmt(ratio, 3)}** (rounds ${fmt(m.p50.ratio.min, 3)} – ${fmt(m.p50.ratio.max, 3)}; of all calls pooled ×${fmt(m.all.ratioOfPooledP50, 3)}). Target ≤ ×${P50_BOUND}${tiny ? ' (not tested in tiny)' : ''}. A/A: 10 #2 / 10 #1 ×${cell(m.p50.controlFew, 3)}, ${nMany} #2 / ${nMany} #1 ×${cell(m.p50.controlMany, 3)}: a difference between the sides smaller than these is noise.`,
  );
  if (m.httpDeploy) {
    const h = m.httpDeploy;
    md.push('', `Deploying over HTTP after the rounds: ${h.n} new functions into one process of each side (PUT, ${h.conc} at a time, chunks of 20 alternating between them): ${fmt(h.wallMsEach.few, 1)} ms of wall time per deploy with 10 deployed (PUT p50 ${fmt(h.msEach.few.p50, 1)} ms), ${fmt(h.wallMsEach.many, 1)} ms with ${nMany} (PUT p50 ${fmt(h.msEach.many.p50, 1)} ms). ${nMany} deploys over HTTP would take ~${intf(h.projectedSecFor)} s, which is why the section restores data dirs${p.sameProcess ? '' : ' (the full mode also deploys them over HTTP)'}.`);
  }
  if (m.sameProcess) {
    const s = m.sameProcess;
    md.push('', `Full mode, same process: process 10 #1 then got the other ${(m.deployed.many - 10).toLocaleString('en-US')} over HTTP (PUT, 4 at a time: ${fmt(s.deploySeconds, 0)} s, PUT p50 ${fmt(s.deployMsEach.p50, 1)} ms, p99 ${fmt(s.deployMsEach.p99, 1)} ms; it now holds ${s.grownTo.toLocaleString('en-US')}), and all four were measured again the same way. Its p50 over its twin's (10 #2, still 10 functions): ×${cell(s.before, 3)} before, ×${cell(s.after, 3)} after: the same-process effect of ${nMany} deployed over HTTP is **×${fmt(s.effect, 3)}**. Against the restored ${nMany}-function processes after: ×${cell(s.afterVsMany, 3)}.`);
  }
  md.push('');
  return {
    id: 'density', title: 'Density',
    data: { mode: opts.mode, rounds: opts.rounds, seconds, plan: p, density: d, densityNoReserve: bare, deployed: m },
    markdown: md.join('\n'), targets: [rssTarget, manyTarget], charts,
  };
}

function cleanup(): void {
  for (const proc of live.procs) proc.kill('SIGKILL');
  live.procs.clear();
  for (const d of [...live.dirs]) removeDir(d);
}

// Whatever happens (an error thrown past us, Ctrl-C), no Hearth is left running and no dir behind.
process.once('exit', cleanup);

// ---- CLI (for trying the section alone) ----------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'quick' },
      rounds: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const mode = values.mode as Mode;
  if (!['tiny', 'quick', 'full'].includes(mode)) throw new Error('--mode must be tiny, quick or full');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanup(); process.exit(130); });
  const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
  const t0 = performance.now();
  runDensity({
    mode, rounds: Number(values.rounds ?? (mode === 'tiny' ? 1 : 3)), durationSec: 5, connections: 32, root,
    log: (line) => process.stderr.write(`${line}\n`),
  }).then((r) => {
    process.stdout.write(`## ${r.title}\n\n${r.markdown}\n`);
    for (const t of r.targets) process.stdout.write(`target: ${t.path}: ${t.target}: ${t.measured} → ${t.met === null ? 'not tested' : t.met ? 'met' : 'NOT met'}\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(r.data, null, 2)}\n`);
    process.stderr.write(`density: ${fmt((performance.now() - t0) / 1000, 1)} s\n`);
    process.exit(0);
  }, (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
