// The bench's report: one JSON with every figure, a Markdown summary that opens with the targets
// (ARCHITECTURE.md) against what was measured, and SVG plots rendered by Vega-Lite (compiled to Vega, drawn
// headless by Vega's SVG renderer: no canvas, no browser; core/vega-svg.ts).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vegaLiteSvg, type TopLevelSpec } from '../core/vega-svg.js';
import { fmt, type Chart, type SectionResult, type TargetRow } from './section.js';

export interface Report {
  startedAt: Date;
  finishedAt: Date;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  sections: SectionResult[];
}

const WIDTH = 560;

/** The Vega-Lite spec of a chart. */
export function chartSpec(c: Chart): TopLevelSpec {
  if (c.kind === 'lines') {
    const values = c.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y })));
    const marks = c.marks ?? [];
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: c.title,
      width: WIDTH,
      height: 240,
      layer: [
        // The events (faults) first, so the lines are drawn over them.
        { data: { values: marks }, mark: { type: 'rule', color: '#d62728', strokeDash: [4, 3], opacity: 0.7 }, encoding: { x: { field: 'x', type: 'quantitative' } } },
        { data: { values: marks }, mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dy: -2, fontSize: 9, color: '#d62728', y: 0 }, encoding: { x: { field: 'x', type: 'quantitative' }, text: { field: 'label' } } },
        {
          data: { values },
          mark: { type: 'line', strokeWidth: 2 },
          encoding: {
            x: { field: 'x', type: 'quantitative', title: 'seconds from the start (dashed: a fault)' },
            y: { field: 'y', type: 'quantitative', title: c.unit, scale: { zero: false } },
            color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
          },
        },
      ],
    } as TopLevelSpec;
  }
  if (c.kind === 'distribution') {
    const values = c.series.flatMap((s) => s.samples.map((v) => ({ series: s.name, value: v })));
    const positive = values.filter((v) => v.value > 0).map((v) => v.value);
    const spread = positive.length ? Math.max(...positive) / Math.min(...positive) : 1;
    const log = spread > 50 && positive.length === values.length;
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      title: c.title,
      width: WIDTH,
      height: 240,
      data: { values },
      // The empirical CDF of each series: the share of calls at or under x.
      transform: [{ window: [{ op: 'cume_dist', as: 'fraction' }], sort: [{ field: 'value' }], groupby: ['series'] }],
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
      encoding: {
        x: { field: 'value', type: 'quantitative', title: `${c.unit}${log ? ' (log scale)' : ''}`, scale: log ? { type: 'log' } : { zero: false } },
        y: { field: 'fraction', type: 'quantitative', title: 'share of calls ≤ x', axis: { format: '%' } },
        color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom-right' } },
      },
    } as TopLevelSpec;
  }
  const values = c.bars.map((b) => ({ name: b.name, value: b.value, min: b.min ?? b.value, max: b.max ?? b.value }));
  const positive = values.map((v) => v.value).filter((v) => v > 0);
  const log = positive.length === values.length && Math.max(...positive) / Math.min(...positive) > 100;
  const x = { type: 'quantitative', title: `${c.unit} (median; the line: min – max over rounds${log ? '; log scale' : ''})`, ...(log ? { scale: { type: 'log' } } : {}) };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: c.title,
    width: WIDTH,
    height: { step: 26 },
    data: { values },
    encoding: { y: { field: 'name', type: 'nominal', sort: null, title: null } },
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' }, encoding: { x: { field: 'value', ...x } } },
      { mark: { type: 'rule', color: '#222', strokeWidth: 1.5 }, encoding: { x: { field: 'min', type: 'quantitative' }, x2: { field: 'max' } } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 }, encoding: { x: { field: 'max', type: 'quantitative' }, text: { field: 'value', type: 'quantitative', format: ',.3~r' } } },
    ],
  } as TopLevelSpec;
}

export function renderSvg(c: Chart): Promise<string> {
  return vegaLiteSvg(chartSpec(c));
}

function targetsTable(rows: TargetRow[]): string[] {
  return [
    '| path | target | measured | ratio to the bound | holds |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((t) => `| ${t.path} | ${t.target} | ${t.measured} | ${t.ratio === undefined ? '' : `${fmt(t.ratio)}×`} | ${t.met === null ? '–' : t.met ? 'yes' : '**no**'} |`),
  ];
}

/** Writes <stamp>.json, <stamp>.md, <stamp>-<chart>.svg and latest.md into dir; returns the paths. */
export async function writeReport(dir: string, r: Report): Promise<{ json: string; md: string; svgs: string[] }> {
  const stamp = r.startedAt.toISOString().replace(/[:.]/g, '-');
  const svgs: string[] = [];
  const images = new Map<string, string>();
  for (const s of r.sections) {
    for (const c of s.charts) {
      const file = `${stamp}-${c.id}.svg`;
      writeFileSync(join(dir, file), await renderSvg(c));
      svgs.push(join(dir, file));
      images.set(c.id, file);
    }
  }
  const m = r.machine;
  const minutes = (r.finishedAt.getTime() - r.startedAt.getTime()) / 60_000;
  const md = [
    `# Hearth bench, ${r.startedAt.toISOString()}`,
    '',
    `Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node} (V8 ${m.v8}), kernel ${m.kernel}. Run: ${r.settings.mode}, ${fmt(minutes, 1)} min.`,
    `Settings: ${Object.entries(r.settings).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ')}.`,
    '',
    'Every figure over rounds is the median of the rounds with [min – max]; a distribution is of single calls. Ratios are taken within this run. This machine is noisy: compare runs by their ratios, not their absolute figures.',
    '',
    '## Targets (ARCHITECTURE.md)',
    '',
    ...targetsTable(r.sections.flatMap((s) => s.targets)),
    '',
    ...r.sections.flatMap((s) => [
      `## ${s.title}`,
      '',
      ...(s.skipped ? [`Not run: ${s.skipped}.`, ''] : [s.markdown, '']),
      ...s.charts.map((c) => `![${c.title}](${images.get(c.id)})`),
      ...(s.charts.length ? [''] : []),
    ]),
  ].join('\n');
  const json = join(dir, `${stamp}.json`);
  const mdPath = join(dir, `${stamp}.md`);
  writeFileSync(json, JSON.stringify({
    startedAt: r.startedAt.toISOString(), finishedAt: r.finishedAt.toISOString(), machine: r.machine, settings: r.settings,
    targets: r.sections.flatMap((s) => s.targets),
    ...Object.fromEntries(r.sections.map((s) => [s.id, s.skipped ? { skipped: s.skipped } : s.data])),
  }, null, 2));
  writeFileSync(mdPath, md);
  writeFileSync(join(dir, 'latest.md'), md);
  return { json, md: mdPath, svgs };
}
