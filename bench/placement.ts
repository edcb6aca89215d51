// Placement benchmark: WHERE should isolates run?
//
// Same tiny handler (`async (event) => ({ hello: event.name })`), same request (small JSON as UTF-8 bytes in
// an ArrayBuffer, decoded inside the isolate; the result encoded to bytes inside the isolate and copied out),
// invoked through different placements:
//   main-async        main thread, async reference.apply, 1 isolate
//   main-async-2iso   main thread, async reference.apply, 2 isolates round-robin
//   main-applySync    main thread, applySync (reference only: blocks the event loop, unusable with untrusted code)
//   piscina-2w        2 piscina worker threads, each owning 1 isolate, request moved in with Piscina.move
//   piscina-2w-applySync  same, but the worker calls its isolate with applySync (blocks only that worker)
//
// Run: node --no-node-snapshot dist/bench/placement.js [--duration-ms 1500] [--concurrency 32]

import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { createHelloIsolate, type HelloIsolate } from './placement-worker.js';

export interface Stat {
  median: number;
  min: number;
  max: number;
}

export interface PlacementRow {
  scheme: string;
  concurrency: number;
  callsPerSec: Stat;
  p50Us: number;
  p99Us: number;
}

export interface PlacementResult {
  rows: PlacementRow[];
}

export interface PlacementOptions {
  /** Duration of ONE measured round of ONE scheme (3 rounds per scheme, 9 schemes). */
  durationMs: number;
  /** The "many in flight" concurrency (each scheme is also run at concurrency 1). */
  concurrency: number;
}

const ROUNDS = 3;
const REQUEST = new TextEncoder().encode(JSON.stringify({ name: 'world', id: 12345, tags: ['a', 'b'] }));
const EXPECTED = JSON.stringify({ hello: 'world' });

/** A fresh ArrayBuffer per call (it may be transferred/detached, as a server would hand over a body). */
function requestBytes(): ArrayBuffer {
  return REQUEST.slice().buffer;
}

function check(out: ArrayBuffer, scheme: string): void {
  const text = Buffer.from(out).toString('utf8');
  if (text !== EXPECTED) throw new Error(`${scheme}: unexpected result ${JSON.stringify(text)}`);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx] ?? NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  if (s.length === 0) return NaN;
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

interface RoundResult {
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
}

/** Growable latency store (µs) without per-sample allocation. */
class Samples {
  private buf = new Float64Array(1 << 16);
  n = 0;
  push(v: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = v;
  }
  sorted(): Float64Array {
    return this.buf.subarray(0, this.n).sort();
  }
}

/** `concurrency` closed loops, each awaiting one call at a time until the deadline. */
async function round(call: () => Promise<ArrayBuffer>, concurrency: number, durationMs: number): Promise<RoundResult> {
  const samples = new Samples();
  const start = performance.now();
  const deadline = start + durationMs;
  const loop = async (): Promise<void> => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= deadline) return;
      await call();
      samples.push((performance.now() - t0) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedS = (performance.now() - start) / 1000;
  const sorted = samples.sorted();
  return { callsPerSec: samples.n / elapsedS, p50Us: percentile(sorted, 50), p99Us: percentile(sorted, 99) };
}

async function measure(
  scheme: string,
  call: () => Promise<ArrayBuffer>,
  concurrency: number,
  durationMs: number,
): Promise<PlacementRow> {
  check(await call(), scheme);
  await round(call, concurrency, Math.min(300, durationMs / 4)); // warm-up (JIT, thread pools)
  const rounds: RoundResult[] = [];
  for (let i = 0; i < ROUNDS; i++) rounds.push(await round(call, concurrency, durationMs));
  const cps = rounds.map((r) => r.callsPerSec);
  return {
    scheme,
    concurrency,
    callsPerSec: { median: median(cps), min: Math.min(...cps), max: Math.max(...cps) },
    p50Us: median(rounds.map((r) => r.p50Us)),
    p99Us: median(rounds.map((r) => r.p99Us)),
  };
}

export async function runPlacementBench(opts: PlacementOptions): Promise<PlacementResult> {
  const { durationMs } = opts;
  const conc = Math.max(1, Math.floor(opts.concurrency));
  const levels = conc === 1 ? [1] : [1, conc];
  const rows: PlacementRow[] = [];

  // (a) main thread, async apply, 1 and 2 isolates.
  const isoA: HelloIsolate = await createHelloIsolate();
  const isoB: HelloIsolate = await createHelloIsolate();
  try {
    for (const c of levels) rows.push(await measure('main-async-1iso', () => isoA.call(requestBytes()), c, durationMs));
    let rr = 0;
    const callRR = (): Promise<ArrayBuffer> => ((rr++ & 1) === 0 ? isoA : isoB).call(requestBytes());
    for (const c of levels) rows.push(await measure('main-async-2iso', callRR, c, durationMs));
    // (b) applySync: one call at a time by construction (it blocks the thread).
    rows.push(await measure('main-applySync*', () => isoA.callSync(requestBytes()), 1, durationMs));
  } finally {
    isoA.dispose();
    isoB.dispose();
  }

  // (c) piscina: 2 workers, each owns one isolate.
  const workers = 2;
  for (const c of levels) {
    const pool = new Piscina<ArrayBuffer, ArrayBuffer>({
      filename: new URL('./placement-worker.js', import.meta.url).href,
      minThreads: workers,
      maxThreads: workers,
      // Several calls in flight per worker, so the worker's isolate sees the same concurrency as on main.
      concurrentTasksPerWorker: Math.max(1, Math.ceil(c / workers)),
      atomics: 'disabled',
      idleTimeout: 60_000,
      // No execArgv: Node 20 rejects `--no-node-snapshot` in a Worker's execArgv
      // (ERR_WORKER_INVALID_EXEC_ARGV); it is process-wide, so it must be on the parent's command line.
    });
    try {
      const callPool = (): Promise<ArrayBuffer> => pool.run(Piscina.move(requestBytes()) as ArrayBuffer);
      const callPoolSync = (): Promise<ArrayBuffer> =>
        pool.run(Piscina.move(requestBytes()) as ArrayBuffer, { name: 'invokeSync' });
      // make sure both workers have built their isolate before measuring
      await Promise.all(Array.from({ length: workers * 4 }, callPool));
      rows.push(await measure(`piscina-${workers}w`, callPool, c, durationMs));
      rows.push(await measure(`piscina-${workers}w-applySync`, callPoolSync, c, durationMs));
    } finally {
      await pool.destroy();
    }
  }
  return { rows };
}

export function formatPlacementTable(result: PlacementResult): string {
  const base = new Map<number, number>();
  for (const r of result.rows) if (r.scheme === 'main-async-1iso') base.set(r.concurrency, r.callsPerSec.median);
  const head = ['scheme', 'conc', 'calls/s median', 'min', 'max', 'p50 µs', 'p99 µs', 'vs main-async-1iso'];
  const body = result.rows.map((r) => {
    const b = base.get(r.concurrency) ?? base.get(1);
    return [
      r.scheme,
      String(r.concurrency),
      Math.round(r.callsPerSec.median).toLocaleString('en-US'),
      Math.round(r.callsPerSec.min).toLocaleString('en-US'),
      Math.round(r.callsPerSec.max).toLocaleString('en-US'),
      r.p50Us.toFixed(1),
      r.p99Us.toFixed(1),
      b ? `${(r.callsPerSec.median / b).toFixed(2)}x` : '-',
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [
    line(head),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    '* main-applySync: reference only. applySync blocks the event loop for the whole call (and a handler that',
    '  spins would freeze the server until its CPU timeout), so it cannot be used with untrusted code.',
    '  Ratios compare with main-async-1iso at the same concurrency (applySync: vs concurrency 1).',
  ].join('\n');
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  if (!process.execArgv.includes('--no-node-snapshot')) {
    console.error('warning: run with `node --no-node-snapshot` (isolated-vm can crash without it)');
  }
  const durationMs = Number(argValue('--duration-ms') ?? 1500);
  const concurrency = Number(argValue('--concurrency') ?? 32);
  const t0 = performance.now();
  console.log(
    `placement bench: ${ROUNDS} rounds x ${durationMs} ms per scheme, concurrency 1 and ${concurrency}, ` +
      `node ${process.version}, request ${REQUEST.byteLength} B`,
  );
  const result = await runPlacementBench({ durationMs, concurrency });
  console.log(formatPlacementTable(result));
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
