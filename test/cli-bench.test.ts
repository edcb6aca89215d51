// `hearth bench` against a real Hearth (the built dist/): counts, shapes and consistency of what it
// reports, for invoke and web calls, failing functions, two versions compared, and its flags.
// No timings are asserted.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult, CallSample } from '../core/measure/types.js';
import { deployOk, jsSource, runCli, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;
const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-'));

beforeAll(async () => {
  h = await startHearth();
  await deployOk(h, 'hello', jsSource('exports.handler = async (e) => ({ hello: e.name ?? null });'));
  await deployOk(h, 'page', { runtime: 'js', handler: 'index.default', code: { source: 'export default { async fetch(req) { return Response.json({ path: new URL(req.url).pathname, method: req.method }); } };' } });
  await deployOk(h, 'thrower', jsSource('exports.handler = async () => { throw new Error("no"); };'));
  await deployOk(h, 'sleeper', jsSource('exports.handler = () => new Promise(() => {});', { timeoutMs: 150 }));
  // Two published versions of one function.
  await deployOk(h, 'cmp', jsSource('exports.handler = async () => 1;'));
  expect((await fetch(`${h.url}/v1/functions/cmp/versions`, { method: 'POST' })).status).toBe(201);
  await deployOk(h, 'cmp', jsSource('exports.handler = async () => 2;'));
  expect((await fetch(`${h.url}/v1/functions/cmp/versions`, { method: 'POST' })).status).toBe(201);
});

afterAll(async () => {
  await h?.stop();
});

const bench = (...args: string[]) => runCli(['bench', '--url', h.url, ...args]);

async function benchJson(...args: string[]): Promise<BenchResult> {
  const r = await bench(...args, '--json');
  expect(r.stderr).not.toContain('hearth: ');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as BenchResult;
}

const of = (r: BenchResult, phase: 'cold' | 'warm', target?: string): CallSample[] =>
  r.samples.filter((s) => s.phase === phase && (target === undefined || s.target === target));

describe('hearth bench', () => {
  it('a js function: cold calls on fresh instances, warm load, the baseline, consistent figures', async () => {
    const r = await benchJson('hello', '--cold', '3', '--warm', '60', '--concurrency', '4', '--payload', '{"name":"Ada"}');
    expect(r.settings).toMatchObject({ target: 'hello', cold: 3, warm: 60, concurrency: 4, payload: '{"name":"Ada"}', reserve: true, compare: null });
    expect(r.targets).toHaveLength(1);
    const t = r.targets[0]!;
    expect(t).toMatchObject({ target: 'hello', runtime: 'js', tier: 'isolate', version: '$LATEST' });
    expect(t.cold).toMatchObject({ calls: 3, ok: 3, errors: {}, coldShare: 1, throughput: null });
    expect(t.warm).toMatchObject({ calls: 60, ok: 60, errors: {}, coldShare: 0 });
    for (const s of of(r, 'cold')) expect(s).toMatchObject({ cold: true, status: 200, error: null, initMs: expect.any(Number) });
    for (const s of of(r, 'warm')) expect(s).toMatchObject({ cold: false, status: 200, error: null, runMs: expect.any(Number) });
    expect(of(r, 'warm')).toHaveLength(60);
    for (const p of [t.cold.latency, t.warm.latency, t.warm.run, t.cold.init]) {
      expect(p.p50!).toBeLessThanOrEqual(p.p90!);
      expect(p.p90!).toBeLessThanOrEqual(p.p99!);
      expect(p.p99!).toBeLessThanOrEqual(p.max!);
    }
    expect(t.cold.init.n).toBe(3);
    expect(t.warm.throughput).toBeGreaterThan(0);
    expect(r.overhead).toMatchObject({ concurrency: 4, latency: { n: expect.any(Number) }, throughput: expect.any(Number) });
    expect(r.overhead!.latency.n).toBeGreaterThan(0);
    expect(r.ratios).toBeNull();
    expect(r.machine.cpus).toBeGreaterThan(0);
    expect(r.notes!.join(' ')).toContain('warm-up');
  });

  it('prints a table, and --md writes a report', async () => {
    const md = join(dir, 'report.md');
    const r = await bench('hello', '--cold', '2', '--warm', '30', '--no-baseline', '--md', md);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^target\s+phase\s+calls\s+ok\s+errors\s+p50/m);
    expect(r.stdout).toMatch(/^hello\s+cold\s+2\s+2\s+-/m);
    expect(r.stdout).toMatch(/^hello\s+warm\s+30\s+30\s+-/m);
    expect(r.stdout).toContain('js, isolate tier, version $LATEST');
    expect(r.stdout).not.toContain('load generator alone');
    // Where the cold starts came from, as Hearth's X-Hearth-Cold-Start said (2 reserve blanks when it has them).
    expect(r.stdout).toMatch(/^ {2}hello: cold starts (2 from the reserve|\d from the reserve, \d from scratch|2 from scratch)$/m);
    // Not a terminal: one line per phase on stderr, no bar.
    expect(r.stderr).toContain('hearth bench: cold hello');
    expect(r.stderr).toContain('hearth bench: warm hello');
    const report = readFileSync(md, 'utf8');
    expect(report).toContain('### `hearth bench hello`');
    expect(report).toMatch(/^\| target \| phase \| calls \|/m);
    expect(report).toMatch(/^\| hello \| warm \| 30 \| 30 \| - \|/m);
    expect(report).toContain('**machine**');
    expect(report).toMatch(/^hello: cold starts .+\.$/m);
  });

  it('--web calls a Workers module on the web route (GET without a payload, POST with one)', async () => {
    const get = await benchJson('page', '--web', '/hi', '--cold', '1', '--warm', '20', '--no-baseline');
    expect(get.settings).toMatchObject({ web: '/hi', payload: '' });
    expect(get.targets[0]!.warm).toMatchObject({ calls: 20, ok: 20, errors: {} });
    expect(get.targets[0]!.cold.calls).toBe(1);
    for (const s of get.samples) expect(s).toMatchObject({ status: 200, runMs: expect.any(Number) });
    const post = await benchJson('page', '--web', 'x', '--payload', '{"a":1}', '--cold', '0', '--warm', '10', '--no-baseline');
    expect(post.targets[0]!.warm).toMatchObject({ calls: 10, ok: 10 });
    expect(post.targets[0]!.cold.calls).toBe(0);
  });

  it('a function that throws and one that times out are reported by error type, exit 0', async () => {
    const thrown = await benchJson('thrower', '--cold', '2', '--warm', '20', '--concurrency', '2', '--no-baseline');
    const t = thrown.targets[0]!;
    expect(t.cold).toMatchObject({ calls: 2, ok: 0, errors: { Unhandled: 2 } });
    expect(t.warm).toMatchObject({ calls: 20, ok: 0, errors: { Unhandled: 20 } });
    for (const s of thrown.samples) expect(s.status).toBe(500);
    const slept = await bench('sleeper', '--cold', '1', '--warm', '4', '--concurrency', '2', '--no-baseline');
    expect(slept.code).toBe(0);
    expect(slept.stdout).toMatch(/^sleeper\s+warm\s+4\s+0\s+4/m);
    expect(slept.stdout).toContain('sleeper warm: Timeout 4');
    expect(slept.stdout).toContain('sleeper cold: Timeout 1');
  });

  it('--compare runs two versions in alternating rounds and gives the ratios', async () => {
    const r = await benchJson('cmp:1', '--compare', '2', '--cold', '2', '--warm', '60', '--concurrency', '2', '--no-baseline');
    expect(r.targets.map((t) => [t.target, t.version])).toEqual([['cmp:1', '1'], ['cmp:2', '2']]);
    expect(of(r, 'cold').map((s) => s.target)).toEqual(['cmp:1', 'cmp:2', 'cmp:1', 'cmp:2']);
    for (const t of r.targets) {
      expect(t.cold).toMatchObject({ calls: 2, ok: 2, coldShare: 1 });
      expect(t.warm).toMatchObject({ calls: 60, ok: 60 });
    }
    // Rounds alternate: the warm samples of A come in three runs, interleaved with B's.
    const order = of(r, 'warm').map((s) => s.target);
    const runs = order.filter((x, i) => i === 0 || order[i - 1] !== x);
    expect(runs).toEqual(['cmp:1', 'cmp:2', 'cmp:1', 'cmp:2', 'cmp:1', 'cmp:2']);
    for (const k of ['coldP50', 'coldP99', 'warmP50', 'warmP99', 'throughput', 'initP50', 'runP50']) expect(r.ratios![k]).toEqual(expect.any(Number));
  });

  it('--duration bounds the warm phase by time', async () => {
    const r = await benchJson('hello', '--cold', '0', '--duration', '0.5', '--concurrency', '2', '--no-baseline');
    expect(r.settings).toMatchObject({ durationS: 0.5, cold: 0 });
    const w = r.targets[0]!.warm;
    expect(w.calls).toBeGreaterThan(0);
    expect(w.ok).toBe(w.calls);
    expect(w.wallMs).toBeGreaterThan(0);
    expect(of(r, 'cold')).toHaveLength(0);
  });

  it('bad flags exit 2; an unknown function or an unreachable Hearth exit 1', async () => {
    const bad = [
      ['hello', '--warm', '10', '--duration', '1'],
      ['hello', '--payload', '{nope'],
      ['hello', '--payload', '{}', '--payload-file', join(dir, 'p.json')],
      ['hello', '--payload-file', join(dir, 'missing.json')],
      ['hello', '--concurrency', '0'],
      ['hello', '--cold', 'many'],
      ['hello', '--duration', '-1'],
      ['hello:1', '--compare', '1'],
      ['hello', '--web', '/a b'],
    ];
    for (const args of bad) {
      const r = await bench(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(/^hearth: /m);
    }
    const unknown = await bench('nosuch', '--cold', '1', '--warm', '1');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('"nosuch" does not exist');
    const noVersion = await bench('hello:9', '--cold', '1', '--warm', '1', '--no-baseline');
    expect(noVersion.code).toBe(1);
    expect(noVersion.stderr).toContain('no such version or alias');
    const away = await runCli(['bench', 'hello', '--url', 'http://127.0.0.1:1']);
    expect(away.code).toBe(1);
    expect(away.stderr).toContain('cannot reach Hearth');
  });
});

describe('hearth bench against a Hearth with an admin token', () => {
  it('cold calls without HEARTH_ADMIN_TOKEN exit 2 saying so; with it they run', async () => {
    const secured = await startHearth({ env: { HEARTH_ADMIN_TOKEN: 'bench-admin-secret-0123456789' } });
    try {
      const put = await fetch(`${secured.url}/v1/functions/hello`, {
        method: 'PUT', headers: { 'content-type': 'application/json', authorization: 'Bearer bench-admin-secret-0123456789' },
        body: JSON.stringify(jsSource('exports.handler = async () => 1;')),
      });
      expect(put.status).toBe(201);
      const without = await runCli(['bench', 'hello', '--url', secured.url, '--cold', '1', '--warm', '5', '--no-baseline']);
      expect(without.code).toBe(2);
      expect(without.stderr).toContain('HEARTH_ADMIN_TOKEN');
      const warmOnly = await runCli(['bench', 'hello', '--url', secured.url, '--cold', '0', '--warm', '5', '--no-baseline', '--json']);
      expect(warmOnly.code).toBe(0);
      expect((JSON.parse(warmOnly.stdout) as BenchResult).targets[0]).toMatchObject({ runtime: null, tier: null, warm: { calls: 5, ok: 5 } });
      const withToken = await runCli(['bench', 'hello', '--url', secured.url, '--cold', '2', '--warm', '5', '--no-baseline', '--json'], { HEARTH_ADMIN_TOKEN: 'bench-admin-secret-0123456789' });
      expect(withToken.code).toBe(0);
      const r = JSON.parse(withToken.stdout) as BenchResult;
      expect(r.targets[0]).toMatchObject({ runtime: 'js', tier: 'isolate', cold: { calls: 2, ok: 2, coldShare: 1 } });
    } finally {
      await secured.stop();
    }
  });
});
