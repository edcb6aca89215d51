// What the in-isolate runtime costs a function that does not use its heavier web APIs (issue 19,
// point 4): per-instance memory and cold start, two runtime builds side by side in one run.
//
//   node --no-node-snapshot dist/bench/runtime-cost.js --baseline DIR [--rounds 5] [--functions 60]
//
// DIR is another build's dist/runtime (the runtime script and its extras). Each round runs one child
// process per build, in alternating order, so that drift on a shared machine lands on both. A child
// makes an IsolateBackend on its build's runtime with no reserve (every instance is a bare isolate
// made on demand, the runtime loaded from V8 cached data, as a cold start that finds the reserve
// empty), deploys N distinct functions, calls each once (cold), lets the idle instances give their
// unused heap pages back, and reports:
//   - cold start: the server-side init of each first call (Hearth's own initMs), p50;
//   - memory: the process's RSS growth over the N warm instances, per instance, and the pool's
//     heap measure per instance (V8 total heap + external of each isolate).
// --reserve: a blank isolate made ahead waits for each first call (the server's default shape), so
// the boot is off the call's path; without it every first call boots its isolate.
// Kinds: `hello` touches no lazily loaded API; `url` makes a URL (loads the URL module, an extra in
// builds that have extras); `crypto` calls crypto.randomUUID().

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Tiers, type FunctionVersion } from '../core/backend.js';
import { newCall, SUPERSEDED } from '../core/call.js';
import { LimitCounters } from '../core/limit-counters.js';
import { Catalog, Registry } from '../core/registry/index.js';
import { DataDir } from '../core/store.js';
import { UnavailableBackend } from '../core/unavailable-backend.js';
import { IsolateBackend } from '../pool/isolate/backend.js';
import { Encoding } from '../runtime/protocol.js';

const KINDS = {
  hello: (n: number) => `exports.main_handler = async (e) => ({ hello: e.name, n: ${n} })`,
  url: (n: number) => `exports.main_handler = async (e) => ({ path: new URL('/p/' + e.name, 'https://h.example').pathname, n: ${n} })`,
  crypto: (n: number) => `exports.main_handler = async (e) => ({ id: crypto.randomUUID().length, n: ${n} })`,
} as const;
type Kind = keyof typeof KINDS;

interface ChildResult { build: string; kind: Kind; initP50: number; initAll: number[]; rssPerInstanceMb: number; heapPerInstanceMb: number; runtimeBytes: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const p50 = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN; };
const rssMb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

async function stableRss(): Promise<number> {
  let last = rssMb();
  for (let i = 0; i < 40; i++) {
    await sleep(250);
    const now = rssMb();
    if (Math.abs(now - last) < 0.5) return now;
    last = now;
  }
  return last;
}

async function child(runtimeDir: string, build: string, kind: Kind, functions: number, reserve: boolean): Promise<ChildResult> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'hearth-runtime-cost-'));
  const runtimePath = join(runtimeDir, 'isolate-runtime.js');
  const data = new DataDir(tmp);
  const backend = new IsolateBackend({
    maxTotalInstances: 10_000, memoryBudgetMb: 64_000, waitQueueSize: 100, waitQueueTimeoutMs: 30_000,
    scaleUpThreshold: 0.8, scaleDownThreshold: 0.5, scaleDownDelayMs: 600_000, sweepIntervalMs: 60_000,
    defaultMemoryMb: 128, runtimePath, batching: true, maxFetchBytes: 1 << 20, sink: () => undefined,
    counters: new LimitCounters(), prewarmIsolates: reserve ? 1 : 0, idleReleaseMs: 300,
  }, data);
  const reg = new Registry({ catalog: new Catalog(), data, tiers: new Tiers(backend, new UnavailableBackend('-')), limits: { maxCodeBytes: 1 << 20 }, listeners: [] });
  try {
    await backend.ready();
    const fns: FunctionVersion[] = [];
    for (let i = 0; i < functions + 3; i++) {
      await reg.deploy(`f${i}`, { runtime: 'js', handler: 'index.main_handler', code: { source: KINDS[kind](i) } });
      fns.push(reg.catalog.resolve(`f${i}`, ''));
    }
    const call = async (fn: FunctionVersion, i: number) => {
      if (reserve) {
        // As a first call meets it: a blank isolate waiting in the reserve (made ahead, off the call's path).
        const until = Date.now() + 3_000;
        while (backend.stats().prewarmed < 1 && Date.now() < until) await sleep(2);
        await sleep(20);
      }
      const body = new TextEncoder().encode(JSON.stringify({ name: `w${i}` }));
      const got = await backend.invoke(fn, newCall({ requestId: `rc${i}`, functionName: fn.name, source: 'v1', body: body.buffer as ArrayBuffer, reqEnc: Encoding.json, resEnc: Encoding.json }));
      if (got === SUPERSEDED || got.error !== null) throw new Error(`${fn.name}: ${got === SUPERSEDED ? 'superseded' : got.error!.errorMessage}`);
      if (!got.cold) throw new Error(`${fn.name}: not cold`);
      return got.initMs;
    };
    // Three first, not counted: the host's own paths compile.
    for (let i = 0; i < 3; i++) await call(fns[i]!, i);
    const rss0 = await stableRss();
    const inits: number[] = [];
    for (let i = 3; i < fns.length; i++) inits.push(await call(fns[i]!, i));
    await sleep(1_000);
    const rss1 = await stableRss();
    const heaps = backend.instances().map((x) => x.memoryMb);
    return {
      build, kind, initP50: p50(inits), initAll: inits, rssPerInstanceMb: (rss1 - rss0) / functions,
      heapPerInstanceMb: p50(heaps), runtimeBytes: readFileSync(runtimePath).byteLength,
    };
  } finally {
    await backend.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function fmt(x: number, d = 2): string { return Number.isFinite(x) ? x.toFixed(d) : '–'; }

async function main(): Promise<void> {
  const { values } = parseArgs({ options: {
    baseline: { type: 'string' }, rounds: { type: 'string', default: '5' }, functions: { type: 'string', default: '60' },
    kinds: { type: 'string', default: 'hello,url,crypto' },
    reserve: { type: 'boolean', default: false },
    child: { type: 'string' }, build: { type: 'string' }, kind: { type: 'string' }, out: { type: 'string' },
  } });
  const functions = Number(values.functions);
  if (values.child) {
    const r = await child(values.child, values.build!, values.kind as Kind, functions, values.reserve!);
    writeFileSync(values.out!, JSON.stringify(r));
    process.exit(0);
  }
  if (!values.baseline) throw new Error('--baseline DIR (another build\'s dist/runtime) is required');
  const builds = { baseline: resolve(values.baseline), current: fileURLToPath(new URL('../runtime/', import.meta.url)) };
  const kinds = values.kinds!.split(',') as Kind[];
  const rounds = Number(values.rounds);
  const self = fileURLToPath(import.meta.url);
  const outDir = mkdtempSync(join(os.tmpdir(), 'hearth-runtime-cost-out-'));
  const results: ChildResult[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const kind of kinds) {
      const order = r % 2 === 0 ? ['baseline', 'current'] as const : ['current', 'baseline'] as const;
      for (const build of order) {
        const out = join(outDir, `${r}-${kind}-${build}.json`);
        const p = spawnSync(process.execPath, ['--no-node-snapshot', self, '--child', builds[build], '--build', build, '--kind', kind, '--functions', String(functions), '--out', out, ...(values.reserve ? ['--reserve'] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
        if (p.status !== 0) throw new Error(`child ${build}/${kind} exited ${p.status}`);
        const res = JSON.parse(readFileSync(out, 'utf8')) as ChildResult;
        results.push(res);
        console.log(`round ${r + 1}/${rounds} ${kind} ${build}: init p50 ${fmt(res.initP50)} ms, RSS ${fmt(res.rssPerInstanceMb, 3)} MiB/instance, heap ${fmt(res.heapPerInstanceMb, 3)} MiB/instance`);
      }
    }
  }
  rmSync(outDir, { recursive: true, force: true });
  const lines = [
    `# Runtime cost: baseline against current (${new Date().toISOString()})`, '',
    `${rounds} rounds, ${functions} cold starts per build, kind and round, builds alternating; ${values.reserve ? 'with a reserve: each first call takes a blank isolate made ahead (the default server shape; boot is off the call\'s path)' : 'no reserve (bare isolates made on demand: boot is on the call\'s path)'}. Runtime script: baseline ${results.find((x) => x.build === 'baseline')?.runtimeBytes} bytes, current ${results.find((x) => x.build === 'current')?.runtimeBytes} bytes.`, '',
    '| kind | measure | baseline median [range] | current median [range] | current / baseline per round: median [range] |',
    '| --- | --- | --- | --- | --- |',
  ];
  const range = (xs: number[], d: number) => `${fmt(p50(xs), d)} [${fmt(Math.min(...xs), d)} – ${fmt(Math.max(...xs), d)}]`;
  for (const kind of kinds) {
    for (const [label, key, d] of [['cold start init p50, ms', 'initP50', 2], ['RSS per instance, MiB', 'rssPerInstanceMb', 3], ['V8 heap per instance, MiB', 'heapPerInstanceMb', 3]] as const) {
      const b = results.filter((x) => x.kind === kind && x.build === 'baseline').map((x) => x[key]);
      const c = results.filter((x) => x.kind === kind && x.build === 'current').map((x) => x[key]);
      const ratios = b.map((v, i) => c[i]! / v);
      lines.push(`| ${kind} | ${label} | ${range(b, d)} | ${range(c, d)} | ${range(ratios, 3)} |`);
    }
  }
  const md = lines.join('\n') + '\n';
  console.log('\n' + md);
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `runtime-cost-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), md);
}

await main();
