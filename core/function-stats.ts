// Per-function figures for people (the console's list and graphs; GET /v1/stats and
// /v1/functions/{name}/stats), read from the counts core/metrics.ts already keeps for Prometheus.
// Nothing is added to the call path: a timer samples those counts every interval and keeps, per
// function, the last WINDOW of intervals as points (calls, errors, cold starts, p50, p99).
// Durations' quantiles come from the histogram's buckets (interpolated, as Prometheus'
// histogram_quantile does), so they are as coarse as those buckets.

import type { FunctionVersion } from './backend.js';
import { bucketQuantile, type Metrics, type PerFunction } from './metrics.js';
import type { FunctionListener } from './registry/index.js';

/** Points kept per function: 10 minutes of 5-second intervals. */
const POINTS = 120;
const SUCCESS = 0;

/** A function's calls since Hearth started. */
export interface StatsSummary {
  calls: number;
  errors: number;
  coldStarts: number;
  /** Cold starts / calls (0 with no calls). */
  coldShare: number;
  /** Run time (X-Hearth-Duration-Ms) quantiles, ms; null with no calls. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** The last minutes, a point an interval, oldest first; `t` is each interval's end (epoch ms). */
export interface StatsSeries {
  intervalMs: number;
  t: number[];
  calls: number[];
  errors: number[];
  coldStarts: number[];
  /** null: no calls in that interval. */
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
}

interface Track {
  /** The metrics' counts object sampled: another one means they were counted afresh. */
  source: PerFunction;
  /** The counts at the last sample. */
  calls: number;
  errors: number;
  coldStarts: number;
  buckets: Float64Array;
  /** The ring of points: POINTS columns, `next` the slot the next sample writes, `filled` how many hold one. */
  t: Float64Array;
  dCalls: Float64Array;
  dErrors: Float64Array;
  dCold: Float64Array;
  p50: Float64Array;
  p99: Float64Array;
  next: number;
  filled: number;
  /** Samples in a row with no calls: a track idle for a whole window keeps no points. */
  idle: number;
}

const round3 = (v: number) => Math.round(v * 1000) / 1000;
const msOrNull = (s: number) => (Number.isNaN(s) ? null : round3(s * 1000));

function errorsOf(f: PerFunction): number {
  let n = 0;
  for (let i = 0; i < f.byOutcome.length; i++) if (i !== SUCCESS) n += f.byOutcome[i]!;
  return n;
}

function callsOf(f: PerFunction): number {
  let n = 0;
  for (let i = 0; i < f.byOutcome.length; i++) n += f.byOutcome[i]!;
  return n;
}

export class FunctionStats implements FunctionListener {
  private readonly tracks = new Map<string, Track>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly metrics: Metrics, readonly intervalMs = 5_000) {}

  start(): void {
    this.timer ??= setInterval(() => this.sample(Date.now()), this.intervalMs).unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) this.tracks.delete(name);
  }

  /** One sample of every function's counts (the timer's; tests call it with their own clock). */
  sample(now: number): void {
    for (const [name, f] of this.metrics.functions()) {
      let tr = this.tracks.get(name);
      const calls = callsOf(f);
      if (tr === undefined) {
        // First seen: what it did before this sample falls in this interval.
        tr = {
          source: f, calls: 0, errors: 0, coldStarts: 0, buckets: new Float64Array(f.duration.counts.length),
          t: new Float64Array(POINTS), dCalls: new Float64Array(POINTS), dErrors: new Float64Array(POINTS), dCold: new Float64Array(POINTS),
          p50: new Float64Array(POINTS), p99: new Float64Array(POINTS), next: 0, filled: 0, idle: 0,
        };
        this.tracks.set(name, tr);
      }
      if (tr.source !== f) {
        // Counted afresh (the metrics forgot the function: deleted and made again between two samples).
        tr.source = f;
        tr.calls = 0; tr.errors = 0; tr.coldStarts = 0; tr.buckets.fill(0);
      }
      const dCalls = calls - tr.calls;
      if (dCalls === 0) {
        // Nothing new: a point of zeros, until a whole window has been idle (then none are kept).
        if (++tr.idle >= POINTS) { tr.filled = 0; continue; }
        if (tr.filled === 0) continue;
      } else tr.idle = 0;
      const errors = errorsOf(f);
      const delta = new Float64Array(tr.buckets.length);
      for (let i = 0; i < delta.length; i++) delta[i] = f.duration.counts[i]! - tr.buckets[i]!;
      const k = tr.next;
      tr.t[k] = now;
      tr.dCalls[k] = dCalls;
      tr.dErrors[k] = errors - tr.errors;
      tr.dCold[k] = f.coldStarts - tr.coldStarts;
      tr.p50[k] = bucketQuantile(f.duration.bounds, delta, 0.5);
      tr.p99[k] = bucketQuantile(f.duration.bounds, delta, 0.99);
      tr.next = (k + 1) % POINTS;
      tr.filled = Math.min(POINTS, tr.filled + 1);
      tr.calls = calls;
      tr.errors = errors;
      tr.coldStarts = f.coldStarts;
      tr.buckets.set(f.duration.counts);
    }
  }

  summary(name: string): StatsSummary {
    const f = this.metrics.functions().get(name);
    if (f === undefined) return { calls: 0, errors: 0, coldStarts: 0, coldShare: 0, p50Ms: null, p99Ms: null };
    const calls = callsOf(f);
    return {
      calls, errors: errorsOf(f), coldStarts: f.coldStarts, coldShare: calls === 0 ? 0 : round3(f.coldStarts / calls),
      p50Ms: msOrNull(bucketQuantile(f.duration.bounds, f.duration.counts, 0.5)),
      p99Ms: msOrNull(bucketQuantile(f.duration.bounds, f.duration.counts, 0.99)),
    };
  }

  /** Every function that has had a call, by name. */
  summaries(): Record<string, StatsSummary> {
    const out: Record<string, StatsSummary> = {};
    for (const name of this.metrics.functions().keys()) out[name] = this.summary(name);
    return out;
  }

  series(name: string): StatsSeries {
    const s: StatsSeries = { intervalMs: this.intervalMs, t: [], calls: [], errors: [], coldStarts: [], p50Ms: [], p99Ms: [] };
    const tr = this.tracks.get(name);
    if (tr === undefined) return s;
    for (let j = 0; j < tr.filled; j++) {
      const k = (tr.next - tr.filled + j + POINTS) % POINTS;
      s.t.push(tr.t[k]!);
      s.calls.push(tr.dCalls[k]!);
      s.errors.push(tr.dErrors[k]!);
      s.coldStarts.push(tr.dCold[k]!);
      s.p50Ms.push(msOrNull(tr.p50[k]!));
      s.p99Ms.push(msOrNull(tr.p99[k]!));
    }
    return s;
  }
}
