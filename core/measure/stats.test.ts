import { describe, expect, it } from 'vitest';
import { nearestRank, percentiles, summarize } from './stats.js';
import type { CallSample } from './types.js';

const sample = (o: Partial<CallSample>): CallSample => ({
  phase: 'warm', target: 'f', at: 0, status: 200, error: null, cold: false, latencyMs: 1, initMs: null, queueMs: 0, runMs: 0.5, ...o,
});

describe('nearestRank', () => {
  it('is the smallest value with at least p% at or under it', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(v, 50)).toBe(5);
    expect(nearestRank(v, 90)).toBe(9);
    expect(nearestRank(v, 99)).toBe(10);
    expect(nearestRank(v, 100)).toBe(10);
    expect(nearestRank(v, 0)).toBe(1);
  });
  it('is a measured value, never an interpolation', () => {
    expect(nearestRank([10, 20], 50)).toBe(10);
    expect(nearestRank([10, 20], 51)).toBe(20);
    expect(nearestRank([7], 99)).toBe(7);
  });
  it('is null for no values', () => {
    expect(nearestRank([], 50)).toBeNull();
  });
});

describe('percentiles', () => {
  it('sorts a copy (numerically) and gives p50/p90/p99/max/mean', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1
    const p = percentiles(v);
    expect(p).toEqual({ n: 100, p50: 50, p90: 90, p99: 99, max: 100, mean: 50.5 });
    expect(v[0]).toBe(100);
    expect(percentiles([9, 10, 100]).p50).toBe(10);
  });
  it('has null fields and n 0 when empty', () => {
    expect(percentiles([])).toEqual({ n: 0, p50: null, p90: null, p99: null, max: null, mean: null });
  });
  it('keeps p50 <= p90 <= p99 <= max', () => {
    const v = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) / 7);
    const p = percentiles(v);
    expect(p.p50!).toBeLessThanOrEqual(p.p90!);
    expect(p.p90!).toBeLessThanOrEqual(p.p99!);
    expect(p.p99!).toBeLessThanOrEqual(p.max!);
  });
});

describe('summarize', () => {
  const samples: CallSample[] = [
    sample({ phase: 'cold', cold: true, initMs: 5, latencyMs: 10 }),
    sample({ phase: 'cold', cold: true, initMs: 7, latencyMs: 12 }),
    sample({ latencyMs: 1 }),
    sample({ latencyMs: 2 }),
    sample({ latencyMs: 3, status: 500, error: 'Unhandled' }),
    sample({ latencyMs: 60_000, status: 0, error: 'ClientTimeout', cold: null, queueMs: null, runMs: null }),
    sample({ latencyMs: 4, status: 504, error: 'Timeout' }),
    sample({ latencyMs: 4, status: 504, error: 'Timeout' }),
    sample({ target: 'f:2', latencyMs: 100 }),
  ];

  it('counts calls, ok and errors by type of one phase and target', () => {
    const w = summarize(samples, 'warm', 'f', 2_000);
    expect(w.calls).toBe(6);
    expect(w.ok).toBe(2);
    expect(w.errors).toEqual({ Unhandled: 1, ClientTimeout: 1, Timeout: 2 });
    expect(w.latency.n).toBe(6);
    expect(w.latency.max).toBe(60_000);
    // Headers a call did not get are left out of the split, not counted as 0.
    expect(w.run.n).toBe(5);
    expect(w.init.n).toBe(0);
    expect(w.throughput).toBe(3);
    expect(w.coldShare).toBe(0);
    expect(w.wallMs).toBe(2_000);
  });

  it('gives cold no throughput and the share Hearth said was cold', () => {
    const c = summarize(samples, 'cold', 'f', 22);
    expect(c.calls).toBe(2);
    expect(c.throughput).toBeNull();
    expect(c.coldShare).toBe(1);
    expect(c.init).toMatchObject({ n: 2, p50: 5, max: 7 });
  });

  it('is empty, not broken, for a phase without calls', () => {
    const e = summarize(samples, 'cold', 'f:2', 0);
    expect(e).toMatchObject({ calls: 0, ok: 0, errors: {}, throughput: null, coldShare: 0 });
    expect(e.latency.p50).toBeNull();
  });
});
