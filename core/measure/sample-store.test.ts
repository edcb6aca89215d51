// The run's sample store: exact counts of every call, a bounded uniform sample of the calls.

import { describe, expect, it } from 'vitest';
import { SampleStore } from './sample-store.js';
import { summarize } from './stats.js';
import type { CallSample } from './types.js';

const call = (i: number, target = 'f', phase: 'cold' | 'warm' = 'warm'): CallSample => ({
  phase, target, at: i, status: i % 10 === 0 ? 500 : 200, error: i % 10 === 0 ? 'Unhandled' : null, cold: phase === 'cold',
  latencyMs: i, initMs: null, queueMs: 0, runMs: 0.1,
});

describe('SampleStore', () => {
  it('keeps every call up to its bound, in arrival order', () => {
    const store = new SampleStore(100);
    for (let i = 1; i <= 100; i++) store.push(call(i));
    expect(store.kept().map((s) => s.at)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(store.sampled()).toEqual([]);
  });

  it('past its bound keeps a uniform sample of that many, with every call counted', () => {
    const store = new SampleStore(1_000);
    for (let i = 1; i <= 100_000; i++) store.push(call(i));
    store.push(call(1, 'f', 'cold'));
    const kept = store.kept().filter((s) => s.phase === 'warm');
    expect(kept).toHaveLength(1_000);
    expect(store.counts('warm', 'f')).toEqual({ calls: 100_000, ok: 90_000, errors: { Unhandled: 10_000 }, cold: 0 });
    expect(store.counts('cold', 'f')).toMatchObject({ calls: 1, cold: 1 });
    expect(store.sampled()).toEqual([{ phase: 'warm', target: 'f', kept: 1_000, calls: 100_000 }]);
    // Uniform: the kept calls' latencies (1 … 100,000) spread over the whole range.
    const s = summarize(kept, 'warm', 'f', 10_000, store.counts('warm', 'f'));
    expect(s.calls).toBe(100_000);
    expect(s.errors).toEqual({ Unhandled: 10_000 });
    expect(s.throughput).toBe(10_000);
    expect(s.latency.n).toBe(1_000);
    expect(s.latency.p50!).toBeGreaterThan(40_000);
    expect(s.latency.p50!).toBeLessThan(60_000);
    expect(s.latency.p99!).toBeGreaterThan(95_000);
  });
});
