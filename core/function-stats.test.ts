// Per-function figures for people: bucketQuantile (a histogram's quantile from its bucket counts),
// FunctionStats' summary since start, and its series of the last intervals (deltas between two
// samples, a ring of 120 points, idle functions dropping theirs), driven by sample(now) in tests.

import { describe, expect, it } from 'vitest';
import type { FunctionVersion } from './backend.js';
import type { CallError, CallOutcome } from './call.js';
import { FunctionStats } from './function-stats.js';
import { bucketQuantile, Metrics } from './metrics.js';

const fn = { name: 'f', version: '$LATEST' } as FunctionVersion;

/** A call that ran for `durationMs`, succeeded (error null) or failed with `error`. */
function outcome(durationMs: number, opts: { cold?: boolean; error?: CallError } = {}): CallOutcome {
  return { version: '$LATEST', cold: opts.cold ?? false, coldStart: opts.cold === true ? 'reserve' : null, initMs: 3, queueMs: 0, durationMs, result: null, error: opts.error ?? null, response: null, tail: null };
}

const functionError: CallError = { status: 500, functionError: true, errorType: 'TypeError', errorMessage: 'x is not a function' };
const timeout: CallError = { status: 504, functionError: false, errorType: 'Timeout', errorMessage: 'timed out' };
const throttled: CallError = { status: 429, functionError: false, errorType: 'TooManyRequests', errorMessage: 'busy' };
const internal: CallError = { status: 500, functionError: false, errorType: 'InternalError', errorMessage: 'oops' };

function setup(intervalMs?: number) {
  const metrics = new Metrics({ backends: () => [] });
  const stats = intervalMs === undefined ? new FunctionStats(metrics) : new FunctionStats(metrics, intervalMs);
  const call = (name: string, durationMs: number, opts: { cold?: boolean; error?: CallError } = {}) => metrics.observe('js', name, outcome(durationMs, opts));
  return { metrics, stats, call };
}

describe('bucketQuantile', () => {
  const bounds = [1, 2, 4];

  it('is NaN with nothing counted', () => {
    expect(bucketQuantile(bounds, [0, 0, 0, 0], 0.5)).toBeNaN();
    expect(bucketQuantile(bounds, new Float64Array(4), 0.99)).toBeNaN();
    expect(bucketQuantile(bounds, [], 0.5)).toBeNaN();
  });

  it('interpolates within the one bucket that has counts, from its lower bound (0 for the first)', () => {
    expect(bucketQuantile(bounds, [0, 4, 0, 0], 0.5)).toBe(1.5);
    expect(bucketQuantile(bounds, [0, 4, 0, 0], 1)).toBe(2);
    expect(bucketQuantile(bounds, [0, 4, 0, 0], 0)).toBe(1);
    expect(bucketQuantile(bounds, [2, 0, 0, 0], 0.5)).toBe(0.5);
    expect(bucketQuantile(bounds, new Float64Array([0, 0, 1, 0]), 0.25)).toBe(2.5);
  });

  it('finds the bucket the rank falls in across several, then interpolates in it', () => {
    const counts = [1, 1, 2, 0];
    expect(bucketQuantile(bounds, counts, 0.25)).toBe(1);
    expect(bucketQuantile(bounds, counts, 0.5)).toBe(2);
    expect(bucketQuantile(bounds, counts, 0.75)).toBe(3);
    expect(bucketQuantile(bounds, counts, 1)).toBe(4);
    // Empty buckets in between are skipped.
    expect(bucketQuantile(bounds, [2, 0, 2, 0], 0.75)).toBe(3);
  });

  it('answers the highest bound in the +Inf bucket', () => {
    expect(bucketQuantile(bounds, [0, 0, 0, 3], 0.5)).toBe(4);
    expect(bucketQuantile(bounds, [1, 0, 0, 1], 0.99)).toBe(4);
    expect(bucketQuantile(bounds, [1, 0, 0, 1], 0.5)).toBe(1);
  });
});

describe('FunctionStats.summary', () => {
  it('is all zeros, quantiles null, for a function with no calls', () => {
    const { stats } = setup();
    expect(stats.summary('nothing')).toEqual({ calls: 0, errors: 0, coldStarts: 0, coldShare: 0, p50Ms: null, p99Ms: null });
    expect(stats.summaries()).toEqual({});
  });

  it('counts calls, errors (every outcome but success), cold starts and their share', () => {
    const { stats, call } = setup();
    call('f', 1000, { cold: true });
    call('f', 1000, { cold: true });
    call('f', 1000);
    call('f', 1000, { error: functionError });
    call('f', 1000, { error: timeout });
    call('f', 1000, { error: throttled });
    call('f', 1000, { error: internal });
    // Every call ran 1 s: in the (0.5, 1] bucket.
    expect(stats.summary('f')).toEqual({ calls: 7, errors: 4, coldStarts: 2, coldShare: 0.286, p50Ms: 750, p99Ms: 995 });
  });

  it('takes its quantiles from the duration histogram, the +Inf bucket answering its highest bound (30 s)', () => {
    const { stats, call } = setup();
    for (let i = 0; i < 99; i++) call('f', 1);
    call('f', 60_000);
    const s = stats.summary('f');
    expect(s.p50Ms).toBe(0.753); // 0.5 ms + 0.5 ms × 50/99, within (0.5 ms, 1 ms]
    expect(s.p99Ms).toBe(1);
    call('f', 60_000);
    call('f', 60_000);
    expect(stats.summary('f').p99Ms).toBe(30_000);
  });

  it('summaries() has every function with calls, by name', () => {
    const { stats, call } = setup();
    call('a', 1000);
    call('b', 1000, { cold: true, error: functionError });
    expect(stats.summaries()).toEqual({
      a: { calls: 1, errors: 0, coldStarts: 0, coldShare: 0, p50Ms: 750, p99Ms: 995 },
      b: { calls: 1, errors: 1, coldStarts: 1, coldShare: 1, p50Ms: 750, p99Ms: 995 },
    });
  });
});

describe('FunctionStats.series', () => {
  it('is empty (with the interval) for a function never sampled', () => {
    const { stats, call } = setup(1_000);
    expect(stats.series('f')).toEqual({ intervalMs: 1_000, t: [], calls: [], errors: [], coldStarts: [], p50Ms: [], p99Ms: [] });
    call('f', 1);
    expect(stats.series('f').t).toEqual([]); // not sampled yet
    expect(setup().stats.series('f').intervalMs).toBe(5_000);
  });

  it('a point an interval, oldest first: what happened since the sample before, quantiles from those calls only', () => {
    const { stats, call } = setup();
    // Before the first sample: it falls in the first interval.
    call('f', 1, { cold: true });
    call('f', 1, { error: functionError });
    call('f', 1);
    stats.sample(10_000);
    call('f', 1000, { cold: true });
    call('f', 1000, { cold: true });
    call('f', 1000);
    call('f', 1000, { error: timeout });
    stats.sample(15_000);
    expect(stats.series('f')).toEqual({
      intervalMs: 5_000,
      t: [10_000, 15_000],
      calls: [3, 4],
      errors: [1, 1],
      coldStarts: [1, 2],
      // The second interval's calls all ran 1 s; the cumulative buckets would say 1 ms for p50.
      p50Ms: [0.75, 750],
      p99Ms: [0.995, 995],
    });
    // The summary, since start, is cumulative.
    expect(stats.summary('f')).toMatchObject({ calls: 7, errors: 2, coldStarts: 3 });
  });

  it('keeps each function apart', () => {
    const { stats, call } = setup();
    call('a', 1);
    stats.sample(1);
    call('b', 1);
    call('b', 1);
    stats.sample(2);
    expect(stats.series('a')).toMatchObject({ t: [1, 2], calls: [1, 0] });
    expect(stats.series('b')).toMatchObject({ t: [2], calls: [2] });
  });

  it('an idle function gets points of zeros (quantiles null) until a whole window of 120 samples is idle, then none', () => {
    const { stats, call } = setup();
    call('f', 1);
    stats.sample(0);
    for (let i = 1; i <= 119; i++) stats.sample(i);
    const s = stats.series('f');
    expect(s.t).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(s.calls).toEqual([1, ...new Array<number>(119).fill(0)]);
    expect(s.errors).toEqual(new Array<number>(120).fill(0));
    expect(s.coldStarts).toEqual(new Array<number>(120).fill(0));
    expect(s.p50Ms).toEqual([0.75, ...new Array<null>(119).fill(null)]);
    expect(s.p99Ms.slice(1)).toEqual(new Array<null>(119).fill(null));
    stats.sample(120);
    expect(stats.series('f')).toMatchObject({ t: [], calls: [], p50Ms: [] });
    stats.sample(121);
    expect(stats.series('f').t).toEqual([]);
    // A call later starts a new series, from that point.
    call('f', 1000, { error: throttled });
    stats.sample(200);
    expect(stats.series('f')).toMatchObject({ t: [200], calls: [1], errors: [1], p50Ms: [750] });
    stats.sample(201);
    expect(stats.series('f')).toMatchObject({ t: [200, 201], calls: [1, 0], p50Ms: [750, null] });
  });

  it('keeps the newest 120 points, in order, once the ring wraps', () => {
    const { stats, call } = setup();
    for (let i = 0; i < 130; i++) {
      for (let k = 0; k <= i; k++) call('f', 1);
      stats.sample(i * 5_000);
    }
    const s = stats.series('f');
    expect(s.t).toEqual(Array.from({ length: 120 }, (_, j) => (j + 10) * 5_000));
    expect(s.calls).toEqual(Array.from({ length: 120 }, (_, j) => j + 11));
    expect(s.p50Ms.length).toBe(120);
    expect(s.p50Ms.every((p) => p === 0.75)).toBe(true);
    // Wrapped, then idle a whole window, then a call: one point.
    for (let i = 0; i < 120; i++) stats.sample(1_000_000 + i);
    expect(stats.series('f').t).toEqual([]);
    call('f', 1);
    stats.sample(2_000_000);
    expect(stats.series('f')).toMatchObject({ t: [2_000_000], calls: [1] });
  });

  it('forgets a deleted function\'s points (functionChanged with null), not an updated one\'s', () => {
    const { stats, call } = setup();
    call('f', 1);
    call('g', 1);
    stats.sample(1);
    stats.functionChanged('f', fn);
    expect(stats.series('f').t).toEqual([1]);
    stats.functionChanged('f', null);
    expect(stats.series('f').t).toEqual([]);
    expect(stats.series('g').t).toEqual([1]);
  });

  it('counts that went backwards (the metrics forgot the function, then fewer new calls) give no negative deltas', () => {
    const { metrics, stats, call } = setup();
    call('f', 1000, { cold: true, error: functionError });
    call('f', 1000, { cold: true, error: functionError });
    call('f', 1000, { cold: true });
    stats.sample(1);
    metrics.forget('f');
    expect(stats.summary('f').calls).toBe(0);
    call('f', 1, { cold: true });
    stats.sample(2);
    const s = stats.series('f');
    expect(s).toMatchObject({ t: [1, 2], calls: [3, 1], errors: [2, 0], coldStarts: [3, 1], p50Ms: [750, 0.75], p99Ms: [995, 0.995] });
    // And from there on, deltas against the new counts.
    call('f', 1000, { error: internal });
    stats.sample(3);
    expect(stats.series('f')).toMatchObject({ t: [1, 2, 3], calls: [3, 1, 1], errors: [2, 0, 1], coldStarts: [3, 1, 0], p50Ms: [750, 0.75, 750] });
  });

  it('counts made afresh with as many calls or more (the metrics forgot the function) start from zero, not from the old counts', () => {
    const { metrics, stats, call } = setup();
    call('f', 1000, { cold: true, error: functionError });
    call('f', 1000, { cold: true, error: functionError });
    stats.sample(1);
    metrics.forget('f');
    call('f', 1);
    call('f', 1);
    call('f', 1);
    stats.sample(2);
    expect(stats.series('f')).toMatchObject({ t: [1, 2], calls: [2, 3], errors: [2, 0], coldStarts: [2, 0], p50Ms: [750, 0.75] });
  });
});
