// The picture of a measurement, from a synthetic result (no Hearth): a valid SVG with both charts,
// the targets' names, the title's facts, no NaN; the CDF thinned; a result without samples or
// with only errors still draws.

import { describe, expect, it } from 'vitest';
import { benchSvg, cdfPoints, split } from './chart.js';
import { syntheticResult } from '../../test/support/bench-result.js';

/** Every tag closed in order (the SVG is well-formed XML as far as its elements go). */
function balanced(svg: string): boolean {
  const open: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, tag, self] = m;
    if (self) continue;
    if (!closing) open.push(tag!);
    else if (open.pop() !== tag) return false;
  }
  return open.length === 0;
}

function checkSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  expect(balanced(svg)).toBe(true);
  expect(svg).not.toMatch(/NaN|undefined|Infinity/);
}

describe('benchSvg', () => {
  it('draws the CDF of cold against warm and the init/queue/run split, titled with the function, version, tier, machine and date', async () => {
    const r = syntheticResult({ errors: 3 });
    const svg = await benchSvg(r);
    checkSvg(svg);
    expect(svg).toContain('Latency (client side), cold against warm');
    expect(svg).toContain('share of calls ≤ x');
    expect(svg).toContain('time goes (medians, ms)');
    for (const part of ['init', 'queue', 'run', 'client + network']) expect(svg).toContain(`>${part}<`);
    expect(svg).toContain('hello · cold');
    expect(svg).toContain('hello · warm');
    expect(svg).toContain('hearth bench hello (nodejs20, isolate tier, version $LATEST)');
    expect(svg).toContain('4 CPUs, Node v20.18.0, linux x64');
    expect(svg).toContain('2025-01-02');
    expect(svg).toContain('errors not drawn (hello · warm: 3)');
  });

  it('with --compare: both targets, named, on both charts', async () => {
    const svg = await benchSvg(syntheticResult({ targets: ['greet:1', 'greet:2'] }));
    checkSvg(svg);
    for (const name of ['greet:1 · cold', 'greet:1 · warm', 'greet:2 · cold', 'greet:2 · warm']) expect(svg).toContain(name);
    expect(svg).toContain('greet:1 (nodejs20, isolate tier, version $LATEST) against greet:2');
  });

  it('draws a result sent without its samples (the summaries stand in) and one whose calls all failed', async () => {
    const bare = { ...syntheticResult(), samples: [] };
    const svg = await benchSvg(bare);
    checkSvg(svg);
    expect(svg).toContain('hello · warm');
    expect(svg).toContain('no successful calls to draw');
    const failed = syntheticResult({ cold: 0, warm: 20, errors: 20 });
    checkSvg(await benchSvg(failed));
  });
});

describe('the figures under the picture', () => {
  it('cdfPoints: from 0 at the fastest call to 1 at the slowest, rising, thinned to a few hundred points', () => {
    const xs = Array.from({ length: 100_000 }, (_, i) => 0.1 + (i % 997) / 100);
    const pts = cdfPoints(xs);
    expect(pts.length).toBeLessThanOrEqual(402);
    expect(pts[0]).toEqual({ x: 0.1, y: 0 });
    expect(pts[pts.length - 1]!.y).toBe(1);
    expect(pts[pts.length - 1]!.x).toBe(Math.max(...xs));
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i]!.x).toBeGreaterThanOrEqual(pts[i - 1]!.x);
      expect(pts[i]!.y).toBeGreaterThanOrEqual(pts[i - 1]!.y);
    }
    expect(cdfPoints([])).toEqual([]);
    expect(cdfPoints([5])).toEqual([{ x: 5, y: 0 }, { x: 5, y: 1 }]);
  });

  it('split: medians of init, queue, run and of the rest, call by call; the rest never below 0', () => {
    const r = syntheticResult();
    const t = r.targets[0]!;
    const cold = split(r.samples, t, 'cold')!;
    expect(cold.parts.init).toBeGreaterThan(cold.parts.run);
    for (const v of Object.values(cold.parts)) expect(v).toBeGreaterThanOrEqual(0);
    expect(cold.latencyP50).toBeGreaterThan(0);
    const warm = split(r.samples, t, 'warm')!;
    expect(warm.parts.init).toBe(0);
    expect(warm.parts['client + network']).toBeGreaterThanOrEqual(0);
  });
});
