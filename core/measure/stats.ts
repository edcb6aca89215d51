// The figures of `hearth bench`: percentiles and one phase's summary, computed once at the end from
// the numbers the engine collected in arrays (nothing is summed up while calls are in flight).
// No Node imports: the console's bundle may take this file as it is.

import type { CallSample, Percentiles, PhaseSummary } from './types.js';
import type { ExactCounts } from './sample-store.js';

/**
 * Nearest-rank percentile of numbers sorted ascending: the smallest value with at least p% of the
 * values at or under it (rank ceil(p/100 · n)). It is always one of the measured values, never an
 * interpolation between two.
 */
export function nearestRank(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** p50/p90/p99/max/mean of the numbers (any order; the array is not changed). */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50: null, p90: null, p99: null, max: null, mean: null };
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  let sum = 0;
  for (const v of list) sum += v;
  return {
    n: list.length,
    p50: nearestRank(list, 50),
    p90: nearestRank(list, 90),
    p99: nearestRank(list, 99),
    max: list[list.length - 1]!,
    mean: sum / list.length,
  };
}

/** The numbers of `pick` that are present (headers a response did not carry are left out). */
function present(samples: readonly CallSample[], pick: (s: CallSample) => number | null): number[] {
  const out: number[] = [];
  for (const s of samples) {
    const v = pick(s);
    if (v !== null && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/**
 * One phase of one target summed up, from its samples (the ones of other phases and targets are
 * skipped); `exact`: the counts of all its calls when the samples are a uniform sample of them
 * (sample-store.ts), so calls, ok, errors, throughput and the cold share stay exact. Latency counts every call, failed ones too (a timeout's wait is what a user waited);
 * throughput (warm only) is calls a second over the phase's wall time.
 */
export function summarize(samples: readonly CallSample[], phase: 'cold' | 'warm', target: string, wallMs: number, exact?: ExactCounts): PhaseSummary {
  const mine = samples.filter((s) => s.phase === phase && s.target === target);
  let counts = exact;
  if (counts === undefined) {
    counts = { calls: mine.length, ok: 0, errors: {}, cold: 0 };
    for (const s of mine) {
      if (s.error === null) counts.ok++;
      else counts.errors[s.error] = (counts.errors[s.error] ?? 0) + 1;
      if (s.cold === true) counts.cold++;
    }
  }
  return {
    calls: counts.calls,
    ok: counts.ok,
    errors: counts.errors,
    latency: percentiles(mine.map((s) => s.latencyMs)),
    init: percentiles(present(mine, (s) => s.initMs)),
    queue: percentiles(present(mine, (s) => s.queueMs)),
    run: percentiles(present(mine, (s) => s.runMs)),
    throughput: phase === 'warm' && wallMs > 0 ? (counts.calls * 1000) / wallMs : null,
    coldShare: counts.calls === 0 ? 0 : counts.cold / counts.calls,
    wallMs,
  };
}
