// What every part of `npm run bench` shares: the run's options, summary statistics, and the shape
// a section hands back to bench/run.ts (which writes the JSON, the Markdown and the SVG plots).
//
// A section measures in rounds where it can, and reports each figure as the median of the rounds
// with min and max (Stat); a distribution of single calls (cold starts, latencies) is a Dist, with
// its samples kept (capped) so the report can plot it.

export type Mode = 'tiny' | 'quick' | 'full';

export interface BenchOptions {
  /** tiny: the test's run (seconds, proves it works); quick: `npm run bench` (a few minutes); full: `--full`. */
  mode: Mode;
  rounds: number;
  /** Seconds of HTTP load per system per round. */
  durationSec: number;
  connections: number;
  /** The checkout whose dist/ is measured. */
  root: string;
  /** Progress lines (stderr). */
  log(line: string): void;
  /** Section `hostile`: only these attacks (ids), seconds per window, the neighbour's calls per second. */
  hostile?: { attacks?: string[]; windowSec?: number; neighbourRate?: number };
  /** Section `soak`: how long it runs, minutes (default 10). */
  soakMinutes?: number;
}

/** One figure over rounds. */
export interface Stat { median: number; min: number; max: number; n: number }

/** A distribution of single measurements. */
export interface Dist { p50: number; p90: number; p99: number; min: number; max: number; n: number; samples: number[] }

export function stat(xs: number[]): Stat {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]!, n: s.length };
}

/** Nearest-rank percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const MAX_SAMPLES = 2_000;

export function dist(xs: number[]): Dist {
  if (xs.length === 0) return { p50: NaN, p90: NaN, p99: NaN, min: NaN, max: NaN, n: 0, samples: [] };
  const s = [...xs].sort((a, b) => a - b);
  // Evenly spaced over the sorted values when there are too many to keep: the shape survives.
  const samples = s.length <= MAX_SAMPLES ? s : Array.from({ length: MAX_SAMPLES }, (_, i) => s[Math.floor((i * s.length) / MAX_SAMPLES)]!);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99), min: s[0]!, max: s[s.length - 1]!, n: s.length, samples };
}

/** A target (ARCHITECTURE.md, Targets), the figure measured against it, and whether it holds. */
export interface TargetRow {
  path: string;
  target: string;
  measured: string;
  /** measured / bound (or the peer ratio the target names), when one number says it. */
  ratio?: number;
  met: boolean | null;
}

/** Data for one plot; bench/report.ts renders it to SVG. */
export type Chart =
  | { kind: 'distribution'; id: string; title: string; unit: string; series: { name: string; samples: number[] }[] }
  | { kind: 'bars'; id: string; title: string; unit: string; bars: { name: string; value: number; min?: number; max?: number }[] }
  /** Values over time (x in seconds from the start), with events marked as labelled vertical rules. */
  | { kind: 'lines'; id: string; title: string; unit: string; series: { name: string; points: { x: number; y: number }[] }[]; marks?: { x: number; label: string }[] };

export interface SectionResult {
  /** Key in the JSON, e.g. "micro", "http". */
  id: string;
  title: string;
  /** Everything measured, as plain JSON. */
  data: unknown;
  /** The section's Markdown body (tables, notes), without its heading. */
  markdown: string;
  targets: TargetRow[];
  charts: Chart[];
  /** Set when the section could not run here (e.g. no Docker engine); data is then empty. */
  skipped?: string;
}

/** Number formatting for the Markdown tables. */
export function fmt(x: number, digits = 2): string {
  if (!Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "median [min – max]" */
export function cell(s: Stat, digits = 2): string {
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)} – ${fmt(s.max, digits)}]`;
}
