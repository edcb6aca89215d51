// A synthetic BenchResult (no Hearth needed): seeded pseudo-random latencies shaped like a real
// run's (cold calls tens of ms with init most of it, warm calls under a millisecond), for the
// picture's and the reports' unit tests.

import type { BenchResult, CallSample, PhaseSummary, Percentiles, TargetResult } from '../../core/measure/types.js';

/** A small deterministic generator (mulberry32): the same picture every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function percentiles(xs: number[]): Percentiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => (s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]! : null);
  return { n: s.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s.length ? s[s.length - 1]! : null, mean: s.length ? s.reduce((a, b) => a + b, 0) / s.length : null };
}

function summary(calls: CallSample[], wallMs: number, warm: boolean): PhaseSummary {
  const ok = calls.filter((c) => c.error === null);
  const errors: Record<string, number> = {};
  for (const c of calls) if (c.error !== null) errors[c.error] = (errors[c.error] ?? 0) + 1;
  const of = (f: (c: CallSample) => number | null) => percentiles(ok.map(f).filter((v): v is number => v !== null));
  return {
    calls: calls.length, ok: ok.length, errors,
    latency: of((c) => c.latencyMs), init: of((c) => c.initMs), queue: of((c) => c.queueMs), run: of((c) => c.runMs),
    throughput: warm ? calls.length / (wallMs / 1000) : null,
    coldShare: calls.length ? calls.filter((c) => c.cold === true).length / calls.length : 0,
    wallMs,
  };
}

export function syntheticResult(opts: { targets?: string[]; cold?: number; warm?: number; errors?: number; seed?: number } = {}): BenchResult {
  const names = opts.targets ?? ['hello'];
  const nCold = opts.cold ?? 10;
  const nWarm = opts.warm ?? 2_000;
  const rnd = random(opts.seed ?? 21);
  const samples: CallSample[] = [];
  const targets: TargetResult[] = names.map((target, k) => {
    const slower = 1 + 0.3 * k;
    const cold: CallSample[] = [];
    for (let i = 0; i < nCold; i++) {
      const initMs = (18 + 10 * rnd()) * slower;
      const queueMs = 0.02 + 0.05 * rnd();
      const runMs = 0.3 + 0.6 * rnd();
      cold.push({ phase: 'cold', target, at: i * 250, status: 200, error: null, cold: true, latencyMs: initMs + queueMs + runMs + 0.4 + rnd(), initMs, queueMs, runMs });
    }
    const warm: CallSample[] = [];
    for (let i = 0; i < nWarm; i++) {
      const queueMs = 0.01 + 0.2 * rnd() ** 4;
      const runMs = (0.05 + 0.1 * rnd() + (rnd() < 0.01 ? 4 * rnd() : 0)) * slower;
      const failed = i < (opts.errors ?? 0);
      warm.push({
        phase: 'warm', target, at: 3_000 + i * 0.5, status: failed ? 500 : 200, error: failed ? 'Unhandled' : null, cold: false,
        latencyMs: queueMs + runMs + 0.12 + 0.3 * rnd() ** 3, initMs: 0, queueMs, runMs,
      });
    }
    samples.push(...cold, ...warm);
    return { target, runtime: 'nodejs20', tier: 'isolate', version: '$LATEST', cold: summary(cold, 2_500, false), warm: summary(warm, 1_000, true) };
  });
  return {
    settings: { url: 'http://127.0.0.1:8080', target: names[0]!, compare: names[1] ?? null, cold: nCold, warm: nWarm, durationS: null, concurrency: 8, payload: '{}', web: null, reserve: true },
    startedAt: '2025-01-02T03:04:05.678Z',
    finishedAt: '2025-01-02T03:04:12.000Z',
    machine: { cpus: 4, node: 'v20.18.0', platform: 'linux x64' },
    overhead: { concurrency: 8, latency: percentiles([0.05, 0.06, 0.07]), throughput: 40_000 },
    targets,
    ratios: names.length > 1 ? { 'warm.latency.p50': 1.3 } : null,
    samples,
  };
}
