// The in-process section of `npm run bench` (no HTTP): the isolate backend and the registry driven
// directly, as bench/run.ts's dispatchMicro() does, with tinybench for the repeated calls.
//
//   1. dispatch overhead: a warm call of the bare hello handler through IsolateBackend.invoke
//   2. cold start: the first invoke of a freshly deployed function, with a pre-warmed blank
//      isolate in the reserve vs a backend that keeps none (prewarmIsolates 0)
//   3. warm call with a realistic small JSON event that the handler reads (and a result it builds)
//   4. payload path: an echo handler, JSON vs msgpack at 100 B, 10 KB and 1 MB
//   5. registry: Registry.resolve with 10 vs 10,000 functions, and resolve + warm invoke at both
//
// Each tinybench task times only the part named (tinybench's overriddenDuration): the call's request
// and its bytes are made before the clock starts, as the HTTP layer would have made them.
//
// CLI (for trying it alone): node --no-node-snapshot dist/bench/micro.js [--tiny|--full] [--rounds N]

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';
import { Bench } from 'tinybench';
import { Tiers, type FunctionVersion } from '../core/backend.js';
import { newCall, SUPERSEDED, type CallOutcome, type CallRequest, type Superseded } from '../core/call.js';
import { Catalog, Registry } from '../core/registry/index.js';
import { DataDir, sha256 } from '../core/store.js';
import { UnavailableBackend } from '../core/unavailable-backend.js';
import { LimitCounters } from '../core/limit-counters.js';
import { IsolateBackend, ivm } from '../pool/isolate/backend.js';
import { Encoding, type EncodingCode } from '../runtime/protocol.js';
import { cell, dist, fmt, percentile, stat, type BenchOptions, type Chart, type Dist, type Mode, type SectionResult, type Stat, type TargetRow } from './section.js';

/**
 * The in-isolate runtime, as core/hearth.ts finds it (dist/runtime/isolate-runtime.js). Not
 * imported from there: that would load uWebSockets.js into a section that never serves HTTP.
 */
const RUNTIME_PATH = fileURLToPath(new URL('../runtime/isolate-runtime.js', import.meta.url));

interface ModeSettings {
  /** tinybench time budget per task per round, ms (and its warm-up). */
  timeMs: number;
  warmupMs: number;
  /** Minimum iterations for the 1 MB rows (each call is milliseconds). */
  bigIterations: number;
  /** Cold starts per variant per round. */
  cold: number;
  /** Lookups per tinybench sample of Registry.resolve (one lookup is below the timer's reach). */
  lookupBatch: number;
  /**
   * Rows compared with each other are measured in this many alternating slices per round (the
   * time budget split between them), so that drift on a shared machine lands on both.
   */
  segments: number;
  /** Warm calls of every small row before the first round (the host's and the isolate's JIT). */
  warmAllMs: number;
}

const SETTINGS: Record<Mode, ModeSettings> = {
  tiny: { timeMs: 120, warmupMs: 40, bigIterations: 6, cold: 6, lookupBatch: 1_000, segments: 2, warmAllMs: 400 },
  quick: { timeMs: 500, warmupMs: 150, bigIterations: 24, cold: 20, lookupBatch: 1_000, segments: 4, warmAllMs: 1_000 },
  full: { timeMs: 2_000, warmupMs: 300, bigIterations: 64, cold: 60, lookupBatch: 1_000, segments: 6, warmAllMs: 2_000 },
};

const HELLO_SOURCE = 'exports.main_handler = async (e) => ({ hello: e.name })';
const HELLO_EVENT = JSON.stringify({ name: 'world' });

/** A small event as an API might send it, and a handler that reads it and builds its answer. */
const ORDER_EVENT = JSON.stringify({
  orderId: 'ord_8f2a1c93', createdAt: '2025-03-14T09:26:53Z', currency: 'EUR', coupon: 'SPRING10',
  customer: { id: 'c_1029', tier: 'gold', country: 'DE', email: 'ana@example.com' },
  items: [
    { sku: 'A-100', name: 'Filter papers', qty: 2, price: 9.99 },
    { sku: 'B-220', name: 'Grinder', qty: 1, price: 24.5 },
    { sku: 'C-310', name: 'Beans 1 kg', qty: 3, price: 4.25 },
  ],
  shipping: { method: 'standard', address: { city: 'Berlin', zip: '10115' } },
});
const ORDER_SOURCE = `exports.main_handler = async (e) => {
  let total = 0;
  for (const i of e.items) total += i.qty * i.price;
  if (e.coupon) total *= 0.9;
  return { orderId: e.orderId, customer: e.customer.id, items: e.items.length, total: Math.round(total * 100) / 100, currency: e.currency, city: e.shipping.address.city };
};`;

const ECHO_SOURCE = 'exports.main_handler = async (e) => e';
const PAYLOAD_SIZES = [{ label: '100 B', bytes: 100 }, { label: '10 KB', bytes: 10_000 }, { label: '1 MB', bytes: 1_000_000 }] as const;

/** The runtime's msgpack settings (runtime/isolate/codec.ts), so the host writes what it reads. */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', encodeUndefinedAsNil: true });

interface Latency {
  /** Per call, µs (for the lookups: ns, see LookupRow). */
  p50: number;
  p99: number;
  mean: number;
  samples: number[];
  iterations: number;
}

interface WarmRow { id: string; what: string; p50Us: Stat; p99Us: Stat; meanUs: Stat; dist: Dist; rounds: Latency[] }
interface ColdVariant { what: string; ms: Dist; initMs: Dist; p50PerRound: Stat; allCold: boolean }
interface PayloadRow {
  size: string; encoding: 'json' | 'msgpack'; requestBytes: number; responseBytes: number;
  p50Us: Stat; p99Us: Stat; meanUs: Stat; mbPerSec: Stat;
}
interface LookupRow { functions: number; what: string; p50Ns: Stat; p99Ns: Stat; meanNs: Stat }

const te = new TextEncoder();

/** An exact ArrayBuffer of these bytes (the call's body: whole and un-pooled). */
function exact(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

let ridCounter = 0;
function invocation(fn: FunctionVersion, body: ArrayBuffer, reqEnc: EncodingCode = Encoding.json, resEnc: EncodingCode = reqEnc): CallRequest {
  return newCall({ requestId: `mb${++ridCounter}`, functionName: fn.name, source: 'v1', body, reqEnc, resEnc });
}

/** The outcome of a call that must have worked. */
function checkOk(got: CallOutcome | Superseded, what: string): CallOutcome {
  if (got === SUPERSEDED) throw new Error(`${what}: superseded`);
  if (got.error !== null) throw new Error(`${what}: ${got.error.errorType}: ${got.error.errorMessage}`);
  if (got.result === null) throw new Error(`${what}: no result`);
  return got;
}

/** An event whose JSON is exactly `bytes` long: records, then a pad string to the exact size. */
function eventOfSize(bytes: number): Record<string, unknown> {
  const items: { id: number; sku: string; qty: number; price: number; ok: boolean }[] = [];
  const base = { kind: 'bench', items, pad: '' };
  let size = JSON.stringify(base).length;
  for (let i = 0; ; i++) {
    const item = { id: i, sku: `sku-${i % 997}`, qty: (i % 7) + 1, price: ((i * 37) % 1000) / 4, ok: i % 3 !== 0 };
    const add = JSON.stringify(item).length + (items.length > 0 ? 1 : 0);
    if (size + add > bytes) break;
    items.push(item);
    size += add;
  }
  base.pad = 'x'.repeat(Math.max(0, bytes - size));
  return base;
}

function shuffle<T>(xs: T[]): T[] {
  // Deterministic (a fixed LCG): runs compare like with like.
  let s = 12345;
  for (let i = xs.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

interface Task {
  name: string;
  /** Runs one iteration and returns the duration of the part it times, ms. */
  fn: () => Promise<number> | number;
  /** Minimum iterations per round (tinybench's default 64). */
  iterations?: number;
  /** Calls per iteration: a sample is their mean. */
  batch?: number;
  /** Per ms: 1,000 for µs, 1e6 for ns. */
  scale?: number;
}

/** One tinybench task, sequential, for `timeMs`; samples scaled to the task's unit. */
async function slice(t: Task, timeMs: number, warmupMs: number, iterations: number): Promise<number[]> {
  const batch = t.batch ?? 1;
  const bench = new Bench({
    time: timeMs, warmup: warmupMs > 0, warmupTime: warmupMs, iterations, warmupIterations: Math.min(16, iterations),
    retainSamples: true, throws: true,
  });
  if (t.fn.constructor.name === 'AsyncFunction') {
    const fn = t.fn as () => Promise<number>;
    bench.add(t.name, async () => {
      const ms = await fn();
      return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
    }, { async: true });
  } else {
    const fn = t.fn as () => number;
    bench.add(t.name, () => {
      const ms = fn();
      return { overriddenDuration: ms / batch, overriddenIterationCost: ms };
    }, { async: false });
  }
  await bench.run();
  const r = bench.tasks[0]!.result;
  if (r.state !== 'completed') throw new Error(`${t.name}: tinybench ${r.state}${'error' in r ? `: ${r.error.message}` : ''}`);
  const scale = t.scale ?? 1000;
  return (r.latency.samples ?? []).map((x) => x * scale);
}

/**
 * One round of tasks that are compared with each other: the round's time budget per task is cut
 * into `segments` slices, run in alternating order (A B, B A, ...), and each task's samples pooled.
 */
async function measureTogether(tasks: Task[], s: ModeSettings): Promise<Latency[]> {
  const samples = tasks.map(() => [] as number[]);
  const segments = tasks.length > 1 ? s.segments : 1;
  for (let seg = 0; seg < segments; seg++) {
    const order = tasks.map((_, i) => i);
    if (seg % 2 === 1) order.reverse();
    for (const i of order) {
      const t = tasks[i]!;
      const xs = await slice(t, s.timeMs / segments, seg === 0 ? s.warmupMs : 0, Math.ceil((t.iterations ?? 64) / segments));
      samples[i]!.push(...xs);
    }
  }
  return samples.map((xs) => {
    const sorted = [...xs].sort((a, b) => a - b);
    return {
      p50: percentile(sorted, 50), p99: percentile(sorted, 99), mean: xs.reduce((a, b) => a + b, 0) / xs.length,
      samples: sorted, iterations: xs.length,
    };
  });
}

export async function runMicro(opts: BenchOptions): Promise<SectionResult> {
  const s = SETTINGS[opts.mode];
  const rounds = Math.max(1, opts.rounds);
  const started = performance.now();
  if (!existsSync(RUNTIME_PATH)) {
    return { id: 'micro', title: 'In-process (tinybench, no HTTP)', data: {}, markdown: '', targets: [], charts: [], skipped: `no isolate runtime at ${RUNTIME_PATH} (npm run build)` };
  }
  const tmp = mkdtempSync(join(os.tmpdir(), 'hearth-bench-micro-'));
  const pool = {
    maxTotalInstances: 1_000, memoryBudgetMb: 4_096, waitQueueSize: 100, waitQueueTimeoutMs: 5_000,
    scaleUpThreshold: 0.8, scaleDownThreshold: 0.5, scaleDownDelayMs: 10_000, sweepIntervalMs: 60_000,
  };
  // One count of the channel bounds for every backend here: a sync crossing stopped at its budget
  // (hearth_sync_budget_overruns_total) sends its call again to a new instance, so that call is
  // cold (see warmCall).
  const counters = new LimitCounters();
  const stopsSeen = new Map<string, number>();
  let resentAfterStop = 0;
  const isolates = { defaultMemoryMb: 128, runtimePath: RUNTIME_PATH, batching: true, maxFetchBytes: 6 * 1024 * 1024, sink: () => undefined, counters };
  const dataA = new DataDir(join(tmp, 'a'));
  const dataB = new DataDir(join(tmp, 'b'));
  // A: the server's default shape (one blank isolate kept ready). B: no reserve at all.
  const backendA = new IsolateBackend({ ...pool, ...isolates, prewarmIsolates: 1 }, dataA);
  const backendB = new IsolateBackend({ ...pool, ...isolates, prewarmIsolates: 0 }, dataB);
  // The hello row's neighbour: the same call with batching off (--no-batch-calls), its own backend.
  const backendU = new IsolateBackend({ ...pool, ...isolates, prewarmIsolates: 0, batching: false }, dataA);
  const other = new UnavailableBackend('not in this bench');
  const limits = { maxCodeBytes: 1 << 20 };
  const regA = new Registry({ catalog: new Catalog(), data: dataA, tiers: new Tiers(backendA, other), limits, listeners: [] });
  const regB = new Registry({ catalog: new Catalog(), data: dataB, tiers: new Tiers(backendB, other), limits, listeners: [] });
  let closeFloor = (): void => undefined;
  const extraBackends: IsolateBackend[] = [backendU];
  try {
    await Promise.all([backendA.ready(), backendB.ready()]);
    const deploy = async (reg: Registry, name: string, source: string): Promise<FunctionVersion> => {
      await reg.deploy(name, { runtime: 'js', handler: 'index.main_handler', code: { source } });
      return reg.catalog.resolve(name, '');
    };
    const hello = await deploy(regA, 'hello', HELLO_SOURCE);
    const order = await deploy(regA, 'order', ORDER_SOURCE);
    // One echo function per size: a function whose calls average over 2 ms stops batching
    // (pool/isolate/crossing.ts observe()), which would change the small rows' path.
    const echo = new Map<string, FunctionVersion>();
    for (const p of PAYLOAD_SIZES) echo.set(p.label, await deploy(regA, `echo-${p.bytes}`, ECHO_SOURCE));

    const helloBytes = te.encode(HELLO_EVENT);
    const orderBytes = te.encode(ORDER_EVENT);
    // First calls (cold) out of the way, and the answers checked once.
    for (const [fn, bytes, want] of [[hello, helloBytes, '{"hello":"world"}'], [order, orderBytes, null]] as const) {
      const out = checkOk(await backendA.invoke(fn, invocation(fn, exact(bytes))), fn.name);
      const got = new TextDecoder().decode(out.result!);
      if (want !== null && got !== want) throw new Error(`${fn.name} answered ${got}`);
      if (fn === order && JSON.parse(got).total !== 51.51) throw new Error(`order answered ${got}`);
    }
    checkOk(await backendU.invoke(hello, invocation(hello, exact(helloBytes))), 'hello, batching off');

    // The floor under any of this: one async isolated-vm crossing of a trivial function (bytes
    // copied in, JSON parsed, a small ArrayBuffer copied out), no Hearth code on either side.
    const floorIsolate = new ivm.Isolate({ memoryLimit: 128 });
    const floorContext = await floorIsolate.createContext();
    const floorFn = await floorContext.eval(
      '(async (b) => { const o = JSON.parse(String.fromCharCode.apply(null, new Uint8Array(b))); return new Uint8Array([123, 125]).buffer; })',
      { reference: true },
    ) as ivm.Reference<(b: ArrayBuffer) => Promise<ArrayBuffer>>;
    const floorOptions = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;
    const floorCall = async (): Promise<number> => {
      const body = exact(helloBytes);
      const t0 = performance.now();
      await floorFn.apply(undefined, [body], floorOptions);
      return performance.now() - t0;
    };
    closeFloor = () => { floorFn.release(); floorContext.release(); if (!floorIsolate.isDisposed) floorIsolate.dispose(); };

    /**
     * A cold call in a warm loop: allowed only as the resend of a sync crossing stopped at its budget
     * (on this VM the OS can stretch a crossing of a few µs past 5 ms of wall clock; the stopped
     * instance is replaced, and its call runs again on a new one). Counted and reported; the sample
     * stays in the figures (it is what a caller saw). Any other cold call is the bench's bug.
     */
    const resentOrThrow = (name: string, what: string): void => {
      const stops = counters.get('syncBudgetOverruns', name);
      if (stops <= (stopsSeen.get(name) ?? 0)) throw new Error(`${what}: a cold call in the warm loop`);
      stopsSeen.set(name, stops);
      resentAfterStop++;
    };
    const warmCall = (fn: FunctionVersion, bytes: Uint8Array, what: string, enc: EncodingCode = Encoding.json, batching = true) => async (): Promise<number> => {
      const req = invocation(fn, exact(bytes), enc);
      const backend = batching ? backendA : backendU;
      const t0 = performance.now();
      const got = await backend.invoke(fn, req);
      const ms = performance.now() - t0;
      if (checkOk(got, what).cold) resentOrThrow(fn.name, what);
      return ms;
    };

    // ---- payloads: request bytes per size and encoding, checked once --------------------------
    const payloads: { size: string; encoding: 'json' | 'msgpack'; fn: FunctionVersion; bytes: Uint8Array; enc: EncodingCode; responseBytes: number; big: boolean }[] = [];
    for (const p of PAYLOAD_SIZES) {
      const ev = eventOfSize(p.bytes);
      const fn = echo.get(p.label)!;
      for (const encoding of ['json', 'msgpack'] as const) {
        const bytes = encoding === 'json' ? te.encode(JSON.stringify(ev)) : new Uint8Array(packr.pack(ev));
        const enc = Encoding[encoding];
        const out = checkOk(await backendA.invoke(fn, invocation(fn, exact(bytes), enc)), `echo ${p.label} ${encoding}`);
        const back = encoding === 'json' ? JSON.parse(new TextDecoder().decode(out.result!)) : packr.unpack(new Uint8Array(out.result!));
        if ((back as { items: unknown[] }).items.length !== (ev.items as unknown[]).length || (back as { pad: string }).pad !== ev.pad) {
          throw new Error(`echo ${p.label} ${encoding}: the answer is not the event`);
        }
        payloads.push({ size: p.label, encoding, fn, bytes, enc, responseBytes: out.result!.byteLength, big: p.bytes >= 1_000_000 });
      }
    }

    // ---- registries of 10 and 10,000 functions -------------------------------------------------
    // Deploying 10,000 functions for real is ~10,000 esbuild bundles and scratch isolates (minutes),
    // and even writing 10,000 records takes seconds. What resolve() reads is the registry's map,
    // which restore() fills from the stored records at start: so a fresh Registry restores, through
    // the real backend (which makes a pool slot per version), hello's own record and 9 / 9,999
    // copies under other names and version digests, handed over from memory (restore reads
    // nothing else of the data dir but a clean-up, which is a no-op here). Each registry has its own backend, so the pool is at 10 or
    // at 10,000 too; hello's code comes from A's data dir and each backend starts its own
    // instance of it. Their sweep is off: it would drop the empty slots midway.
    const helloRecord = dataA.recordFiles().map((f) => ('record' in f ? f.record : undefined)).find((r) => (r as { name?: string } | undefined)?.name === 'hello') as Record<string, unknown> | undefined;
    if (!helloRecord) throw new Error('hello has no stored record');
    const registries = new Map<number, { reg: Registry; backend: IsolateBackend; names: string[]; restoreMs: number }>();
    for (const n of [10, 10_000]) {
      const records: unknown[] = [helloRecord];
      const names = ['hello'];
      for (let i = 1; i < n; i++) {
        const name = `fn-${i}`;
        records.push({ ...helloRecord, name, digest: sha256(`${String(helloRecord.digest)}:${name}`) });
        names.push(name);
      }
      const store = { recordFiles: () => records.map((record) => ({ name: (record as { name: string }).name, record })), collectGarbage: () => 0 } as unknown as DataDir;
      const backend = new IsolateBackend({ ...pool, ...isolates, sweepIntervalMs: 24 * 3_600_000, prewarmIsolates: 0 }, dataA);
      extraBackends.push(backend);
      const reg = new Registry({ catalog: new Catalog(), data: store, tiers: new Tiers(backend, other), limits, listeners: [] });
      const t0 = performance.now();
      const restored = reg.restore();
      const restoreMs = performance.now() - t0;
      if (restored.length !== n) throw new Error(`restored ${restored.length} of ${n} functions`);
      if (reg.catalog.resolve('hello', '').digest !== hello.digest) throw new Error('the restored hello is another version');
      registries.set(n, { reg, backend, names: shuffle(names), restoreMs });
    }
    let sink = 0;
    const lookups = (n: number) => {
      const { reg, names } = registries.get(n)!;
      let i = 0;
      return (): number => {
        const t0 = performance.now();
        for (let k = 0; k < s.lookupBatch; k++) {
          sink += reg.catalog.resolve(names[i]!, '').digest.length;
          if (++i === names.length) i = 0;
        }
        return performance.now() - t0;
      };
    };
    const resolveInvoke = (n: number) => {
      const { reg, backend } = registries.get(n)!;
      return async (): Promise<number> => {
        const req = invocation(hello, exact(helloBytes));
        const t0 = performance.now();
        const fn = reg.catalog.resolve('hello', '');
        const got = await backend.invoke(fn, req);
        const ms = performance.now() - t0;
        if (checkOk(got, `resolve + invoke (${n} functions)`).cold) resentOrThrow(fn.name, `resolve + invoke (${n} functions)`);
        return ms;
      };
    };
    // Each registry's backend starts its hello instance.
    for (const [n, { reg, backend }] of registries) {
      checkOk(await backend.invoke(reg.catalog.resolve('hello', ''), invocation(hello, exact(helloBytes))), `hello with ${n} functions`);
    }

    // ---- cold starts ------------------------------------------------------------------------
    let coldSeq = 0;
    const coldOnce = async (variant: 'with' | 'without'): Promise<{ ms: number; initMs: number; cold: boolean }> => {
      const [reg, backend] = variant === 'with' ? [regA, backendA] : [regB, backendB];
      const name = `cold-${variant}-${++coldSeq}`;
      // Distinct code per function: nothing of an earlier one (V8 cached data) is reused.
      const fn = await deploy(reg, name, `exports.main_handler = async (e) => ({ hello: e.name, n: ${coldSeq} })`);
      // The deploy checked the code in a scratch isolate; the reserve refills 25 ms after the last
      // take. Let both settle, the same way for both variants, before the call.
      const until = performance.now() + 3_000;
      while (variant === 'with' && backend.stats().prewarmed < 1 && performance.now() < until) await sleep(2);
      await sleep(20);
      const req = invocation(fn, exact(helloBytes));
      const t0 = performance.now();
      const got = await backend.invoke(fn, req);
      const ms = performance.now() - t0;
      const out = checkOk(got, name);
      reg.delete(name);
      return { ms, initMs: out.initMs, cold: out.cold };
    };
    // One of each first, not kept: the host's own code paths get compiled.
    await coldOnce('with');
    await coldOnce('without');
    // Then the warm paths, round-robin over the small rows, until the host's and the isolates'
    // JIT have settled (the first round would otherwise pay for it).
    {
      const small = [floorCall, warmCall(hello, helloBytes, 'hello'), warmCall(hello, helloBytes, 'hello', Encoding.json, false), warmCall(order, orderBytes, 'order'),
        ...payloads.filter((p) => !p.big).map((p) => warmCall(p.fn, p.bytes, 'warm-up', p.enc)), resolveInvoke(10), resolveInvoke(10_000)];
      const end = performance.now() + s.warmAllMs;
      while (performance.now() < end) for (const f of small) await f();
    }

    // ---- rounds -------------------------------------------------------------------------------
    const floorRounds: Latency[] = [];
    const helloRounds: Latency[] = [];
    const unbatchedRounds: Latency[] = [];
    const orderRounds: Latency[] = [];
    const payloadRounds = new Map<string, Latency[]>();
    const lookupRounds = new Map<number, Latency[]>();
    const invokeRounds = new Map<number, Latency[]>();
    const cold = { with: [] as number[], without: [] as number[] };
    const coldInit = { with: [] as number[], without: [] as number[] };
    const coldP50 = { with: [] as number[], without: [] as number[] };
    let allCold = { with: true, without: true };
    for (let r = 0; r < rounds; r++) {
      const tag = `round ${r + 1}/${rounds}`;
      const unbatchedCall = warmCall(hello, helloBytes, 'hello', Encoding.json, false);
      const [fl, he, ub, or] = await measureTogether([
        { name: 'isolated-vm floor', fn: floorCall },
        { name: 'hello', fn: warmCall(hello, helloBytes, 'hello') },
        { name: 'hello, batching off', fn: unbatchedCall },
        { name: 'order', fn: warmCall(order, orderBytes, 'order') },
      ], s);
      floorRounds.push(fl!); helloRounds.push(he!); unbatchedRounds.push(ub!); orderRounds.push(or!);
      opts.log(`  micro ${tag}: isolated-vm floor p50 ${fmt(floorRounds[r]!.p50, 1)} µs, warm hello p50 ${fmt(helloRounds[r]!.p50, 1)} µs (batching off ${fmt(unbatchedRounds[r]!.p50, 1)} µs), order event p50 ${fmt(orderRounds[r]!.p50, 1)} µs`);
      // JSON and msgpack of one size side by side.
      for (const size of PAYLOAD_SIZES) {
        const pair = payloads.filter((p) => p.size === size.label);
        const ls = await measureTogether(pair.map((p) => {
          const key = `${p.size} ${p.encoding}`;
          return { name: key, fn: warmCall(p.fn, p.bytes, key, p.enc), ...(p.big ? { iterations: s.bigIterations } : {}) };
        }), s);
        pair.forEach((p, i) => {
          const key = `${p.size} ${p.encoding}`;
          (payloadRounds.get(key) ?? payloadRounds.set(key, []).get(key)!).push(ls[i]!);
        });
      }
      opts.log(`  micro ${tag}: payloads ${payloads.map((p) => `${p.size} ${p.encoding} ${fmt(payloadRounds.get(`${p.size} ${p.encoding}`)![r]!.p50, 0)} µs`).join(', ')}`);
      // 10 and 10,000 side by side (alternating slices), lookups alone and then with the call.
      const [l10, l10k] = await measureTogether([10, 10_000].map((n) => ({ name: `resolve ${n}`, fn: lookups(n), batch: s.lookupBatch, scale: 1e6 })), s);
      const [i10, i10k] = await measureTogether([10, 10_000].map((n) => ({ name: `resolve+invoke ${n}`, fn: resolveInvoke(n) })), s);
      for (const [n, l, v] of [[10, l10, i10], [10_000, l10k, i10k]] as const) {
        (lookupRounds.get(n) ?? lookupRounds.set(n, []).get(n)!).push(l!);
        (invokeRounds.get(n) ?? invokeRounds.set(n, []).get(n)!).push(v!);
      }
      opts.log(`  micro ${tag}: resolve 10 ${fmt(lookupRounds.get(10)![r]!.p50, 1)} ns, 10,000 ${fmt(lookupRounds.get(10_000)![r]!.p50, 1)} ns; resolve+invoke 10 ${fmt(invokeRounds.get(10)![r]!.p50, 1)} µs, 10,000 ${fmt(invokeRounds.get(10_000)![r]!.p50, 1)} µs`);
      const roundCold = { with: [] as number[], without: [] as number[] };
      for (let i = 0; i < s.cold; i++) {
        for (const v of (i % 2 === 0 ? ['with', 'without'] : ['without', 'with']) as ('with' | 'without')[]) {
          const c = await coldOnce(v);
          roundCold[v].push(c.ms);
          cold[v].push(c.ms);
          coldInit[v].push(c.initMs);
          if (!c.cold) allCold = { ...allCold, [v]: false };
        }
      }
      for (const v of ['with', 'without'] as const) coldP50[v].push(dist(roundCold[v]).p50);
      opts.log(`  micro ${tag}: cold p50 with a blank ${fmt(coldP50.with[r]!)} ms, without ${fmt(coldP50.without[r]!)} ms`);
    }
    if (sink === 0) throw new Error('the lookups returned nothing');

    // ---- figures -------------------------------------------------------------------------------
    const warmRow = (id: string, what: string, rs: Latency[]): WarmRow => ({
      id, what, p50Us: stat(rs.map((x) => x.p50)), p99Us: stat(rs.map((x) => x.p99)), meanUs: stat(rs.map((x) => x.mean)),
      dist: dist(rs.flatMap((x) => x.samples)), rounds: rs.map((x) => ({ ...x, samples: [] })),
    });
    const warm = {
      floor: warmRow('floor', `one async isolated-vm Reference.apply of a trivial function: the same ${helloBytes.length} B copied in and JSON-parsed, 2 B copied out; no Hearth code`, floorRounds),
      hello: warmRow('hello', `warm IsolateBackend.invoke of the bare hello handler, ${helloBytes.length} B JSON event in, 17 B out`, helloRounds),
      unbatched: warmRow('hello-unbatched', 'the same hello call with call batching off (a backend with batching off, as --no-batch-calls): it crosses at once instead of after a setImmediate', unbatchedRounds),
      order: warmRow('order', `warm IsolateBackend.invoke of a handler that reads a ${orderBytes.length} B JSON order event (sums its items) and returns a 6-field object`, orderRounds),
    };
    const coldVariant = (v: 'with' | 'without'): ColdVariant => ({
      what: v === 'with'
        ? 'first IsolateBackend.invoke of a just-deployed function, a pre-warmed blank isolate in the reserve (prewarmIsolates 1)'
        : 'the same with no reserve (prewarmIsolates 0): the isolate and the runtime are made on the call',
      ms: dist(cold[v]), initMs: dist(coldInit[v]), p50PerRound: stat(coldP50[v]), allCold: allCold[v],
    });
    const coldWith = coldVariant('with');
    const coldWithout = coldVariant('without');
    // Of all the cold calls together; and round by round (each round's two p50s, paired).
    const coldRatio = coldWithout.ms.p50 / coldWith.ms.p50;
    const coldRatioPerRound = stat(coldP50.without.map((x, i) => x / coldP50.with[i]!));
    const payloadRows: PayloadRow[] = payloads.map((p) => {
      const rs = payloadRounds.get(`${p.size} ${p.encoding}`)!;
      return {
        size: p.size, encoding: p.encoding, requestBytes: p.bytes.byteLength, responseBytes: p.responseBytes,
        p50Us: stat(rs.map((x) => x.p50)), p99Us: stat(rs.map((x) => x.p99)), meanUs: stat(rs.map((x) => x.mean)),
        // Request bytes per second at one call at a time: size / mean time per call.
        mbPerSec: stat(rs.map((x) => p.bytes.byteLength / x.mean)),
      };
    });
    const lookupRow = (n: number): LookupRow => {
      const rs = lookupRounds.get(n)!;
      return {
        functions: n, what: `Registry.resolve(name, '') over all ${n.toLocaleString('en-US')} names in a shuffled cycle, ns per lookup (a sample is the mean of ${s.lookupBatch.toLocaleString('en-US')} lookups)`,
        p50Ns: stat(rs.map((x) => x.p50)), p99Ns: stat(rs.map((x) => x.p99)), meanNs: stat(rs.map((x) => x.mean)),
      };
    };
    const lookup = { 10: lookupRow(10), 10_000: lookupRow(10_000) };
    // Ratios are taken round by round (the two rows of a round ran side by side), then the median.
    const lookupRatioPerRound = stat(lookupRounds.get(10_000)!.map((x, i) => x.p50 / lookupRounds.get(10)![i]!.p50));
    const lookupRatio = lookupRatioPerRound.median;
    const invokeRow = (n: number): WarmRow => warmRow(`resolve+invoke-${n}`, `Registry.resolve('hello') + warm IsolateBackend.invoke, ${n.toLocaleString('en-US')} functions restored in the registry and the pool`, invokeRounds.get(n)!);
    const withRegistry = { 10: invokeRow(10), 10_000: invokeRow(10_000) };
    const invokeRatioPerRound = stat(invokeRounds.get(10_000)!.map((x, i) => x.p50 / invokeRounds.get(10)![i]!.p50));
    const invokeRatio = invokeRatioPerRound.median;
    const regSetup = Object.fromEntries([...registries].map(([n, r]) => [n, { restoreMs: r.restoreMs }]));

    const targets: TargetRow[] = [
      {
        path: 'JS dispatch overhead in-process (no HTTP)', target: 'p50 ≤ 20 µs',
        measured: `p50 ${fmt(warm.hello.p50Us.median, 1)} µs [${fmt(warm.hello.p50Us.min, 1)} – ${fmt(warm.hello.p50Us.max, 1)}] (warm hello through IsolateBackend.invoke)`,
        ratio: warm.hello.p50Us.median / 20, met: warm.hello.p50Us.median <= 20,
      },
      {
        // The target's own row is the density section's (end to end over HTTP); this is its in-process part.
        path: '10,000 deployed functions (in-process part: registry lookup + warm invoke)', target: 'within 10% of the 10-function figure',
        measured: `resolve + warm invoke p50, in-process: ${fmt(withRegistry[10_000].p50Us.median, 1)} µs with 10,000 vs ${fmt(withRegistry[10].p50Us.median, 1)} µs with 10; 10,000 / 10 = ${fmt(invokeRatio, 3)}× [${fmt(invokeRatioPerRound.min, 3)} – ${fmt(invokeRatioPerRound.max, 3)}] (median of the rounds' paired ratios; no HTTP)`,
        ratio: invokeRatio, met: invokeRatio <= 1.1,
      },
    ];

    const charts: Chart[] = [
      {
        kind: 'bars', id: 'micro-payload', title: 'Echo handler, warm invoke p50 by payload size and encoding (median of rounds)', unit: 'µs',
        bars: payloadRows.map((p) => ({ name: `${p.size} ${p.encoding}`, value: p.p50Us.median, min: p.p50Us.min, max: p.p50Us.max })),
      },
      {
        kind: 'distribution', id: 'micro-cold', title: 'JS cold start in-process: first invoke of a new function', unit: 'ms',
        series: [
          { name: 'pre-warmed blank isolate', samples: coldWith.ms.samples },
          { name: 'no blank isolate', samples: coldWithout.ms.samples },
        ],
      },
    ];

    const elapsedSec = (performance.now() - started) / 1000;
    const us = (x: Stat, d = 1) => cell(x, d);
    const md = [
      `Everything here runs in one process: the isolate backend (pool/isolate/backend.ts) and the registry driven directly, no HTTP, no sockets. ${rounds} round${rounds > 1 ? 's' : ''}; tinybench, ${s.timeMs} ms per task per round, one call at a time. Rows compared with each other (the warm-call rows; JSON vs msgpack of one size; 10 vs 10,000 functions) run in ${s.segments} alternating slices per round, their samples pooled, so that drift on a busy machine lands on all of them. Each sample times only the call named: the call's request and its bytes are made before the clock starts. A cell is the median of the rounds' figures [min – max].`,
      '',
      '### Warm calls',
      '',
      'The first row is a reference (isolated-vm alone). Then the bare hello handler (`exports.main_handler = async (e) => ({ hello: e.name })`): the dispatch overhead, bytes in → handler → bytes out; the same with call batching off; and a warm call of a handler that reads a realistic small event and builds its answer, so it adds JSON decode/encode of a few hundred bytes and the handler\'s own work.',
      '',
      '| call | what is measured | p50 µs | p99 µs | mean µs |',
      '| --- | --- | --- | --- | --- |',
      `| isolated-vm floor (reference, not Hearth) | ${warm.floor.what} | ${us(warm.floor.p50Us)} | ${us(warm.floor.p99Us)} | ${us(warm.floor.meanUs)} |`,
      `| hello (dispatch overhead) | ${warm.hello.what} | **${us(warm.hello.p50Us)}** | ${us(warm.hello.p99Us)} | ${us(warm.hello.meanUs)} |`,
      `| hello, batching off | ${warm.unbatched.what} | ${us(warm.unbatched.p50Us)} | ${us(warm.unbatched.p99Us)} | ${us(warm.unbatched.meanUs)} |`,
      `| order event | ${warm.order.what} | ${us(warm.order.p50Us)} | ${us(warm.order.p99Us)} | ${us(warm.order.meanUs)} |`,
      '',
      `Warm-loop calls answered by a new instance after their sync crossing was stopped at its budget (counted, kept in the figures): ${resentAfterStop}.`,
      '',
      `Target: dispatch overhead p50 ≤ 20 µs. Over the isolated-vm floor, Hearth's calls add ${fmt(warm.hello.p50Us.median - warm.floor.p50Us.median, 1)} µs at p50 (${fmt(warm.unbatched.p50Us.median - warm.floor.p50Us.median, 1)} µs with batching off). With batching on, a lone call waits for a setImmediate before it crosses, so that calls arriving in the same turn cross together (pool/isolate/crossing.ts call()); the two hello rows differ by that wait alone.`,
      '',
      '### Cold start, with and without a pre-warmed blank isolate',
      '',
      `Each function is deployed through the registry (bundle, check in a scratch isolate, V8 cached data made), the reserve is given time to refill, and its first call is timed around IsolateBackend.invoke, then the function is deleted. ${s.cold} functions per variant per round, variants alternating; one of each beforehand not kept. Time is the call's, in-process (no HTTP); init is the pool's own figure for the start (outcome.initMs).`,
      '',
      '| variant | what is measured | p50 ms | p90 ms | p99 ms | max ms | n | init p50 ms | p50 per round ms |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...[['pre-warmed blank', coldWith], ['no blank', coldWithout]].map(([k, c]) => {
        const v = c as ColdVariant;
        return `| ${k as string} | ${v.what} | **${fmt(v.ms.p50)}** | ${fmt(v.ms.p90)} | ${fmt(v.ms.p99)} | ${fmt(v.ms.max)} | ${v.ms.n} | ${fmt(v.initMs.p50)} | ${cell(v.p50PerRound)} |`;
      }),
      '',
      `Without / with a blank isolate, p50 of all the calls: **${fmt(coldRatio)}×** (round by round: ${cell(coldRatioPerRound)}). Every first call cold: ${coldWith.allCold && coldWithout.allCold}.`,
      '',
      '### Payload path, JSON vs msgpack',
      '',
      'An echo handler (`async (e) => e`): the event is decoded in the isolate and encoded back in the same encoding, so the answer is as large as the request. The event is records plus a pad string, its JSON exactly the size named; the msgpack of the same value is smaller. One function per size (a function whose calls average over 2 ms stops batching, which would change the small rows\' path). Bodies from 64 KiB on are transferred into the isolate, not copied. MB/s: request bytes / mean time per call, one call at a time (1 MB = 10⁶ B).',
      '',
      '| size | encoding | request B | response B | p50 µs | p99 µs | MB/s |',
      '| --- | --- | --- | --- | --- | --- | --- |',
      ...payloadRows.map((p) => `| ${p.size} | ${p.encoding} | ${p.requestBytes.toLocaleString('en-US')} | ${p.responseBytes.toLocaleString('en-US')} | ${us(p.p50Us)} | ${us(p.p99Us)} | ${cell(p.mbPerSec, 1)} |`),
      '',
      '### Registry: 10 vs 10,000 functions',
      '',
      `The 10,000 are not deployed one by one (that is 10,000 esbuild bundles and scratch isolates): a new Registry restores their records (hello's own, and copies under other names and version digests), as the server does at start, the records handed over from memory instead of read from disk. Each registry has its own isolate backend, whose pool gets a slot for each restored version (as right after a start; its sweep, off here, drops empty slots later), and its own warm instance of hello. Restore took ${fmt(registries.get(10)!.restoreMs, 2)} ms for 10 and ${fmt(registries.get(10_000)!.restoreMs, 1)} ms for 10,000. The lookups cycle through every name in a shuffled order (pre-made strings: the hash of a name from a URL is computed on the request, not here).`,
      '',
      '| functions | what is measured | p50 | p99 | mean |',
      '| --- | --- | --- | --- | --- |',
      ...[lookup[10], lookup[10_000]].map((l) => `| ${l.functions.toLocaleString('en-US')} | ${l.what} | ${cell(l.p50Ns, 1)} ns | ${cell(l.p99Ns, 1)} ns | ${cell(l.meanNs, 1)} ns |`),
      ...[withRegistry[10], withRegistry[10_000]].map((w, i) => `| ${i === 0 ? '10' : '10,000'} | ${w.what} | ${us(w.p50Us)} µs | ${us(w.p99Us)} µs | ${us(w.meanUs)} µs |`),
      '',
      `10,000 / 10, the rounds' paired ratios of p50 (median [min – max]): resolve **${cell(lookupRatioPerRound)}×**; resolve + warm invoke **${cell(invokeRatioPerRound, 3)}×**. Target: invoke p50 with 10,000 functions within 10% of the 10-function figure. The lookup itself costs more with 10,000 names (a larger hash table, its entries out of the CPU caches): ${fmt(lookup[10_000].p50Ns.median - lookup[10].p50Ns.median, 0)} ns more at p50, against a call of ${fmt(withRegistry[10].p50Us.median, 0)} µs.`,
      '',
      `Section time: ${fmt(elapsedSec, 1)} s.`,
      '',
    ].join('\n');

    return {
      id: 'micro',
      title: 'In-process (tinybench, no HTTP)',
      data: {
        settings: { mode: opts.mode, rounds, ...s, helloEvent: HELLO_EVENT, orderEvent: ORDER_EVENT },
        warm, resentAfterStop,
        cold: { withBlank: coldWith, withoutBlank: coldWithout, ratioP50: coldRatio, ratioP50PerRound: coldRatioPerRound },
        payload: payloadRows,
        registry: { lookup, lookupRatioP50: lookupRatio, lookupRatioPerRound, resolveInvoke: withRegistry, invokeRatioP50: invokeRatio, invokeRatioPerRound, setup: regSetup },
        elapsedSec,
      },
      markdown: md,
      targets,
      charts,
    };
  } finally {

    closeFloor();
    for (const b of extraBackends) await b.close();
    await backendA.close();
    await backendB.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { tiny: { type: 'boolean', default: false }, full: { type: 'boolean', default: false }, rounds: { type: 'string' } } });
  const mode: Mode = values.tiny ? 'tiny' : values.full ? 'full' : 'quick';
  const rounds = values.rounds !== undefined ? Number(values.rounds) : mode === 'tiny' ? 1 : mode === 'quick' ? 3 : 5;
  const t0 = performance.now();
  const result = await runMicro({
    mode, rounds, durationSec: 0, connections: 0,
    root: resolve(fileURLToPath(new URL('../..', import.meta.url))),
    log: (line) => process.stderr.write(line + '\n'),
  });
  const elide = (k: string, v: unknown) => (k === 'samples' && Array.isArray(v) ? `(${v.length} samples)` : v);
  const { markdown, data, ...rest } = result;
  process.stdout.write(JSON.stringify(rest, elide, 2) + '\n');
  process.stdout.write(JSON.stringify(data, elide, 2) + '\n\n');
  process.stdout.write(result.markdown + '\n');
  process.stderr.write(`micro (${mode}): ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  // Nothing should keep the process alive now: say what does if it stays.
  setTimeout(() => {
    process.stderr.write(`micro: still alive 3 s after the end; active: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exitCode = 2;
  }, 3_000).unref();
}
