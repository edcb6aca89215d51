// Live graphs (uPlot: a canvas chart of ~50 KB that redraws thousands of points in a
// millisecond, where an SVG library would rebuild the DOM each time).

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';

export interface SeriesSpec {
  label: string;
  color: string;
  unit?: string;
}

/** A time chart: `x` in epoch ms, one array a series (null: no value there). */
export function Chart(props: { title: string; x: number[]; ys: (number | null)[][]; series: SeriesSpec[]; width?: number }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The window is the last ten minutes whatever the points (one point is not a span of years):
  // an empty point at its start gives uPlot a range to draw even when there is one real point.
  const end = Math.max(Date.now(), props.x[props.x.length - 1] ?? 0) / 1000 + 3;
  const data = [[end - 603, ...props.x.map((t) => t / 1000)], ...props.ys.map((y) => [null, ...y])] as uPlot.AlignedData;
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: props.width ?? Math.max(280, el.clientWidth || 360),
      height: 160,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      // Counts and times start at 0, with room above the highest point.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [{ stroke: '#667' }, { stroke: '#667', size: 48 }],
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, points: { show: true, size: 4 }, value: (_u: uPlot, v: number | null) => (v == null ? '-' : `${Math.round(v * 1000) / 1000}${s.unit ?? ''}`) }))],
    };
    plot.current = new uPlot(opts, data, el);
    return () => { plot.current?.destroy(); plot.current = null; };
  }, [props.series.map((s) => s.label).join()]);
  useEffect(() => { plot.current?.setData(data); });
  return html`<figure class="chart"><figcaption>${props.title}</figcaption><div ref=${box} role="img" aria-label=${`${props.title}: the last ${props.x.length} intervals`}></div></figure>`;
}
