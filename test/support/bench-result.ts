// A synthetic BenchResult (no Hearth needed): seeded pseudo-random latencies shaped like a real
// run's (cold calls tens of ms with init most of it, warm calls under a millisecond), for the
// picture's and the reports' unit tests.

import { percentiles, summarize } from '../../core/measure/stats.js';
import type { BenchResult, CallSample, TargetResult } from '../../core/measure/types.js';
import { seededRandom } from './seeded-random.js';

export function syntheticResult(opts: { targets?: string[]; cold?: number; warm?: number; errors?: number; seed?: number } = {}): BenchResult {
  const names = opts.targets ?? ['hello'];
  const nCold = opts.cold ?? 10;
  const nWarm = opts.warm ?? 2_000;
  const rnd = seededRandom(opts.seed ?? 21);
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
    return { target, runtime: 'nodejs20', tier: 'isolate', version: '$LATEST', cold: summarize(cold, 'cold', target, 2_500), warm: summarize(warm, 'warm', target, 1_000) };
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
