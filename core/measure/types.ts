// `hearth bench` (issue 21): what a measurement of a user's function is made of, shared by the
// engine (core/measure/*.ts), the command (core/cli-bench.ts), the reports (terminal, JSON,
// Markdown), the picture (Vega-Lite SVG) and the console. No Node imports: the console's bundle
// takes this file as it is.

/** What to measure and how (the command's flags, resolved). */
export interface BenchSettings {
  /** Hearth's base URL. */
  url: string;
  /** NAME or NAME:QUALIFIER. */
  target: string;
  /** --compare: a second qualifier of the same function, run in alternating rounds. */
  compare: string | null;
  /** Cold calls (each on a fresh instance: X-Hearth-Force-Cold). 0: none. */
  cold: number;
  /** Warm calls (a number), unless durationS is set. */
  warm: number;
  /** Warm phase length in seconds (--duration); null: `warm` calls. */
  durationS: number | null;
  /** Warm calls in flight at once. */
  concurrency: number;
  /** The request body (invoke) as bytes of JSON; for --web, the body sent (empty for GET). */
  payload: string;
  /** --web PATH: call the web route /v1/web/NAME[:Q]/PATH (GET, or POST with a payload) instead of invoke. */
  web: string | null;
  /** false (--no-reserve): cold calls boot from scratch instead of taking a pre-made blank isolate or stem cell. */
  reserve: boolean;
}

/** One call as the client saw it, with what Hearth's response headers say of it. */
export interface CallSample {
  phase: 'cold' | 'warm';
  /** Which target (settings.target, or settings.compare's). */
  target: string;
  /** ms since the measurement started, when the request was written. */
  at: number;
  /** HTTP status; 0 when no answer came (connection refused, reset, client timeout). */
  status: number;
  /** null for a success; else the error's type: Hearth's errorType (e.g. Unhandled, Timeout, TooManyRequests), or the client's (ECONNRESET, ClientTimeout). */
  error: string | null;
  /** X-Hearth-Cold; null when the response had none. */
  cold: boolean | null;
  /** Client side: request written → response fully read (ms). */
  latencyMs: number;
  /** X-Hearth-Init-Ms, X-Hearth-Queue-Ms, X-Hearth-Duration-Ms (null when absent). */
  initMs: number | null;
  queueMs: number | null;
  runMs: number | null;
}

/** Percentiles of a set of numbers (ms). null fields when there were none. */
export interface Percentiles {
  n: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** One phase (cold or warm) of one target, summed up. */
export interface PhaseSummary {
  calls: number;
  ok: number;
  /** Errors by type (CallSample.error), counted. */
  errors: Record<string, number>;
  latency: Percentiles;
  /** The split Hearth's headers give, of the calls that had them. */
  init: Percentiles;
  queue: Percentiles;
  run: Percentiles;
  /** Calls a second over the phase's wall time (warm); null for cold (its calls are spaced on purpose). */
  throughput: number | null;
  /** Share of its calls Hearth said were cold (X-Hearth-Cold: true). */
  coldShare: number;
  /** Wall time of the phase (ms). */
  wallMs: number;
}

export interface TargetResult {
  target: string;
  /** From GET /v1/functions/{name} (admin token), else from the first response. */
  runtime: string | null;
  tier: 'isolate' | 'container' | null;
  /** X-Hearth-Executed-Version of the calls (the last seen). */
  version: string | null;
  cold: PhaseSummary;
  warm: PhaseSummary;
}

/** The load generator's own cost: the same warm loop against a bare uWebSockets.js echo on this machine. */
export interface Overhead {
  concurrency: number;
  latency: Percentiles;
  throughput: number;
}

export interface BenchResult {
  settings: BenchSettings;
  startedAt: string;
  finishedAt: string;
  machine: { cpus: number; node: string; platform: string };
  /** Measured once per run before the warm phase; null when skipped (--no-baseline). */
  overhead: Overhead | null;
  targets: TargetResult[];
  /** With --compare: compare's figure divided by target's (>1: the other is slower / higher). */
  ratios: Record<string, number | null> | null;
  /** Every call, for the picture and --json. */
  samples: CallSample[];
  /** What the reader should know of how the figures were taken (warm-up calls, a reserve that did not refill in time, a stopped run). Optional: older results have none. */
  notes?: string[];
}

/** Where a run is, for a progress bar (the command) or a live view (the console). */
export interface Progress {
  phase: 'baseline' | 'cold' | 'warm';
  target: string;
  done: number;
  /** null: a warm phase bounded by time (see elapsedMs / settings.durationS). */
  total: number | null;
  elapsedMs: number;
}

/**
 * The engine's entry (core/measure/run.ts):
 *   runBench(settings: BenchSettings, opts: RunOptions): Promise<BenchResult>
 * The picture (core/measure/chart.ts):
 *   benchSvg(result: BenchResult): Promise<string>
 */
export interface RunOptions {
  /** Sent as Bearer tokens: the admin token for cold calls and GET /v1/functions; the invoke token (or admin) for calls. */
  adminToken?: string;
  invokeToken?: string;
  onProgress?: (p: Progress) => void;
  /** Stops the run: what was measured so far is summed up and returned. */
  signal?: AbortSignal;
  /** Measure the load generator against a bare uWS echo first (default true). */
  baseline?: boolean;
}
