// The picture of a measurement (`hearth bench --svg`, the console's Measure panel): one SVG with
// (a) the latency CDF of cold against warm calls, per target, and (b) a stacked bar of where a
// typical call's time went (init / queue / run, and the rest: client + network), per target and
// phase. Vega-Lite drawn headless (core/vega-svg.ts): no canvas, no browser.
//
// The CDF is drawn from at most CDF_POINTS points a series, taken from the sorted latencies at
// evenly spaced ranks (and the slowest call): a 100,000-call warm phase would otherwise be 100,000
// SVG path vertices for a curve no eye can tell from the thinned one.

import type { TopLevelSpec } from 'vega-lite';
import { vegaLiteSvg } from '../vega-svg.js';
import { nearestRank } from './stats.js';
import type { BenchResult, CallSample, PhaseSummary, TargetResult } from './types.js';

const CDF_POINTS = 400;
const WIDTH = 560;
const PARTS = ['init', 'queue', 'run', 'client + network'] as const;
type Part = (typeof PARTS)[number];
const PART_COLORS: Record<Part, string> = { init: '#e45756', queue: '#f2a03d', run: '#4c78a8', 'client + network': '#b0b7c3' };

/** "NAME:Q · cold": one line of the CDF, one bar. */
const seriesName = (target: string, phase: 'cold' | 'warm') => `${target} · ${phase}`;

/** The median of an array sorted ascending (null when empty): nearest rank, as the table's p50 (stats.ts). */
const median = (sorted: number[]): number | null => nearestRank(sorted, 50);

const sortedOf = (xs: number[]) => Float64Array.from(xs).sort();

/** Points of the empirical CDF of `latencies`: (x, share of calls ≤ x), thinned to CDF_POINTS. */
export function cdfPoints(latencies: number[]): { x: number; y: number }[] {
  const s = sortedOf(latencies);
  const n = s.length;
  if (n === 0) return [];
  const step = Math.max(1, n / CDF_POINTS);
  // From 0 at the fastest call, so the curve rises from the axis instead of starting mid-air.
  const out: { x: number; y: number }[] = [{ x: s[0]!, y: 0 }];
  for (let r = step - 1; r < n - 1; r += step) {
    const i = Math.floor(r);
    out.push({ x: s[i]!, y: (i + 1) / n });
  }
  out.push({ x: s[n - 1]!, y: 1 });
  return out;
}

/** The successful calls of one target and phase (errors are counted in the table, not drawn as latencies). */
const okCalls = (samples: CallSample[], target: string, phase: 'cold' | 'warm') =>
  samples.filter((c) => c.target === target && c.phase === phase && c.error === null);

/**
 * Where a typical call's time went, in ms: the median of each of init, queue and run (Hearth's
 * headers), and "client + network": the median, call by call, of the client's latency minus those
 * three, i.e. what Hearth's own timers do not cover: the request's and response's trip over the
 * socket, HTTP parsing and routing in Hearth, and the load generator's own work (its overhead
 * against a bare echo is stated separately). Medians do not add up, so the stack's length is
 * close to the median latency but not equal to it; the label at its end is the real median.
 * Without samples (a result sent without them), the phase's summary stands in, and the rest is
 * the latency p50 minus the three p50s, floored at 0.
 */
export function split(samples: CallSample[], t: TargetResult, phase: 'cold' | 'warm'): { parts: Record<Part, number>; latencyP50: number } | null {
  const calls = okCalls(samples, t.target, phase).filter((c) => c.initMs !== null && c.queueMs !== null && c.runMs !== null);
  if (calls.length > 0) {
    const m = (f: (c: CallSample) => number) => median([...sortedOf(calls.map(f))]) ?? 0;
    return {
      parts: {
        init: m((c) => c.initMs!), queue: m((c) => c.queueMs!), run: m((c) => c.runMs!),
        'client + network': Math.max(0, m((c) => c.latencyMs - c.initMs! - c.queueMs! - c.runMs!)),
      },
      latencyP50: m((c) => c.latencyMs),
    };
  }
  const p: PhaseSummary = t[phase];
  if (p.ok === 0 || p.latency.p50 === null) return null;
  const init = p.init.p50 ?? 0;
  const queue = p.queue.p50 ?? 0;
  const run = p.run.p50 ?? 0;
  return { parts: { init, queue, run, 'client + network': Math.max(0, p.latency.p50 - init - queue - run) }, latencyP50: p.latency.p50 };
}

const round = (v: number) => Math.round(v * 1000) / 1000;

function titleLines(r: BenchResult): { text: string; subtitle: string[] } {
  const s = r.settings;
  const what = (t: TargetResult) => `${t.target} (${t.runtime ?? 'runtime ?'}, ${t.tier ?? 'tier ?'} tier, version ${t.version ?? '?'})`;
  const text = `hearth bench ${r.targets.map(what).join(' against ')}`;
  const warm = s.durationS !== null ? `warm for ${s.durationS} s` : `${s.warm} warm calls`;
  const subtitle = [
    `${s.cold} cold calls${s.reserve ? '' : ' (no reserve)'}, ${warm} at concurrency ${s.concurrency}${s.web !== null ? `, web path ${s.web}` : ''}`,
    `${r.machine.cpus} CPUs, Node ${r.machine.node}, ${r.machine.platform} · ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}`,
  ];
  return { text, subtitle };
}

/** The Vega-Lite spec of the picture (benchSvg draws it; the console could draw it too). */
export function benchSpec(r: BenchResult): TopLevelSpec {
  const cdf: { series: string; target: string; phase: string; x: number; y: number }[] = [];
  const bars: { bar: string; part: Part; order: number; ms: number }[] = [];
  const ends: { bar: string; total: number; label: string }[] = [];
  const order: string[] = [];
  const errorsLeftOut: string[] = [];
  for (const t of r.targets) {
    for (const phase of ['cold', 'warm'] as const) {
      const name = seriesName(t.target, phase);
      const ok = okCalls(r.samples, t.target, phase);
      // Latencies are > 0 on a log axis: a sub-microsecond figure (a clock's rounding) is drawn at 0.001 ms.
      for (const p of cdfPoints(ok.map((c) => c.latencyMs))) cdf.push({ series: name, target: t.target, phase, x: Math.max(0.001, round(p.x)), y: p.y });
      const failed = t[phase].calls - t[phase].ok;
      if (failed > 0) errorsLeftOut.push(`${name}: ${failed}`);
      const sp = split(r.samples, t, phase);
      if (sp === null) continue;
      order.push(name);
      PARTS.forEach((part, i) => bars.push({ bar: name, part, order: i, ms: round(sp.parts[part]) }));
      const total = PARTS.reduce((n, part) => n + sp.parts[part], 0);
      ends.push({ bar: name, total: round(total), label: `p50 ${fmtMs(sp.latencyP50)} ms` });
    }
  }
  const { text, subtitle } = titleLines(r);
  const cdfNote = `successful calls${errorsLeftOut.length ? `; errors not drawn (${errorsLeftOut.join(', ')})` : ''}`;
  const empty = (what: string) => ({ mark: { type: 'text', fontSize: 12, color: '#666' }, data: { values: [{ t: `no ${what}` }] }, encoding: { text: { field: 't' } }, width: WIDTH, height: 60 });
  const cdfChart = cdf.length === 0 ? empty('successful calls to draw') : {
    title: { text: 'Latency (client side), cold against warm', subtitle: cdfNote, anchor: 'start', fontSize: 13 },
    width: WIDTH,
    height: 260,
    data: { values: cdf },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, clip: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: 'latency, ms (log scale)', scale: { type: 'log' }, axis: { grid: true } },
      y: { field: 'y', type: 'quantitative', title: 'share of calls ≤ x', axis: { format: '%' }, scale: { domain: [0, 1] } },
      // Colour says the phase, the dash the target (with --compare): cold and warm read alike for both.
      color: { field: 'phase', type: 'nominal', title: null, sort: ['cold', 'warm'], scale: { domain: ['cold', 'warm'], range: ['#e45756', '#4c78a8'] }, legend: { orient: 'right' } },
      ...(r.targets.length > 1 ? { strokeDash: { field: 'target', type: 'nominal', title: null, sort: r.targets.map((t) => t.target), legend: { orient: 'right', symbolStrokeWidth: 2, labelLimit: 200 } } } : {}),
      detail: { field: 'series', type: 'nominal' },
    },
  };
  // One bar chart a phase, each on its own scale: a warm call's 0.3 ms beside a cold call's 30 ms
  // would be a sliver, and the warm split is what most users look for.
  const barChart = (phase: 'cold' | 'warm', last: boolean) => {
    const mine = (v: { bar: string }) => v.bar.endsWith(`· ${phase}`);
    const values = bars.filter(mine);
    if (values.length === 0) return null;
    return {
      title: { text: `Where a typical ${phase} call's time goes (medians, ms)`, ...(phase === 'cold' ? { subtitle: 'init, queue, run: Hearth\'s X-Hearth-*-Ms headers; client + network: the client\'s latency minus them, call by call' } : {}), anchor: 'start', fontSize: 13 },
      width: WIDTH,
      height: { step: 26 },
      encoding: { y: { field: 'bar', type: 'nominal', title: null, sort: order, axis: { labelLimit: 260 } } },
      layer: [
        {
          data: { values },
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'ms', type: 'quantitative', stack: 'zero', title: last ? 'ms (median of each part)' : null },
            color: { field: 'part', type: 'nominal', title: null, sort: [...PARTS], scale: { domain: [...PARTS], range: PARTS.map((p) => PART_COLORS[p]) }, legend: last ? { orient: 'bottom', direction: 'horizontal' } : null },
            order: { field: 'order', type: 'quantitative' },
          },
        },
        {
          data: { values: ends.filter(mine) },
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10, color: '#222' },
          encoding: { x: { field: 'total', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    };
  };
  const barCharts = [barChart('cold', !bars.some((v) => v.bar.endsWith('· warm'))), barChart('warm', true)].filter((c) => c !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text, subtitle, anchor: 'start', fontSize: 14, subtitleFontSize: 11, offset: 12 },
    padding: 12,
    background: 'white',
    config: { view: { stroke: null }, font: 'Helvetica, Arial, sans-serif' },
    vconcat: [cdfChart, ...(barCharts.length ? barCharts : [empty('calls with Hearth\'s timing headers')])],
    // The CDF's colours are its series', the bars' the parts': two colour scales, not one.
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent', strokeDash: 'independent' } },
    spacing: 28,
  } as TopLevelSpec;
}

function fmtMs(v: number): string {
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

/** The picture as SVG text. */
export function benchSvg(result: BenchResult): Promise<string> {
  return vegaLiteSvg(benchSpec(result));
}
