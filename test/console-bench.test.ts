// The console's measurement route against a real Hearth (the built dist/): POST starts a run in
// Hearth's own worker thread, GET follows it (progress, then the result and its picture), DELETE
// stops it; one run at a time, bounded settings, the admin token. Counts and shapes only: no
// timing is asserted.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchResult, CallSample, Progress } from '../core/measure/types.js';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { waitFor } from './support/until.js';

const TOKEN = 'console-bench-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

interface RunView {
  state: 'none' | 'running' | 'done' | 'stopped' | 'failed';
  functionName: string;
  progress: Progress | null;
  error: { errorType: string; errorMessage: string } | null;
  result: BenchResult | null;
  svg: string | null;
}

let h: Hearth;
const post = (name: string, body: unknown, headers: Record<string, string> = auth) =>
  fetch(`${h.url}/v1/functions/${name}/bench`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const view = async (name: string, query = ''): Promise<RunView> => {
  const r = await fetch(`${h.url}/v1/functions/${name}/bench${query}`, { headers: auth });
  expect(r.status).toBe(200);
  return (await r.json()) as RunView;
};
const finished = (name: string) => waitFor(async () => { const v = await view(name); return v.state !== 'running' && v; }, 45_000, `${name}'s measurement to end`, 100);

beforeAll(async () => {
  h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: TOKEN } });
  const deploy = (name: string, spec: unknown) => fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
  expect((await deploy('hello', jsSource('exports.handler = async (e) => ({ hello: e.name ?? null });'))).status).toBe(201);
  expect((await deploy('thrower', jsSource('exports.handler = async () => { throw new Error("no"); };'))).status).toBe(201);
});
afterAll(async () => { await h?.stop(); });

describe('POST /v1/functions/{name}/bench', () => {
  it('refuses what is out of bounds or unknown (400), an unknown function (404), no token (401)', async () => {
    for (const body of [{ cold: 101 }, { warm: 100_001 }, { concurrency: 0 }, { concurrency: 257 }, { durationS: 61 }, { cold: 0, warm: 0 }, { nope: 1 }, { qualifier: 'a/b' }, { web: 'a b' }, { web: 'x\u0001' }]) {
      const r = await post('hello', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      const e = await r.json() as { errorType: string; problems: unknown[] };
      expect(e.errorType).toBe('InvalidRequestContent');
      expect(e.problems.length).toBeGreaterThan(0);
    }
    expect((await post('missing', { cold: 1 })).status).toBe(404);
    expect((await post('hello', { cold: 1 }, {})).status).toBe(401);
    expect((await view('hello')).state).toBe('none');
    expect((await fetch(`${h.url}/v1/functions/missing/bench`, { headers: auth })).status).toBe(404);
  });

  it('runs cold and warm calls in a worker, one run at a time (409), and keeps the result and the picture', async () => {
    const r = await post('hello', { cold: 3, warm: 200, concurrency: 4, payload: { name: 'bench' } });
    expect(r.status).toBe(202);
    expect(r.headers.get('location')).toBe('/v1/functions/hello/bench');
    expect(((await r.json()) as RunView).state).toBe('running');
    const again = await post('hello', { cold: 1 });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { errorType: string }).errorType).toBe('Conflict');

    const v = await finished('hello');
    expect(v.error).toBeNull();
    expect(v.state).toBe('done');
    expect(v.progress).not.toBeNull();
    const res = v.result!;
    expect(res.targets).toHaveLength(1);
    const t = res.targets[0]!;
    expect(t.target).toBe('hello');
    expect(t.tier).toBe('isolate');
    expect(t.cold.calls).toBe(3);
    expect(t.cold.ok).toBe(3);
    expect(t.warm.calls).toBe(200);
    expect(t.warm.ok).toBe(200);
    expect(t.warm.latency.p50!).toBeLessThanOrEqual(t.warm.latency.p99!);
    expect(t.warm.throughput).toBeGreaterThan(0);
    expect(res.samples).toEqual([]);
    expect(v.svg!.startsWith('<svg')).toBe(true);
    for (const s of ['hello · cold', 'hello · warm', 'Latency (client side), cold against warm']) expect(v.svg).toContain(s);
    expect(v.svg).not.toContain('NaN');

    // Every call's sample only when asked; cold calls say cold.
    const full = await view('hello', '?samples=true');
    const samples = full.result!.samples as CallSample[];
    expect(samples).toHaveLength(203);
    expect(samples.filter((s) => s.phase === 'cold').every((s) => s.cold === true)).toBe(true);
    // Another function has no run kept.
    expect((await view('thrower')).state).toBe('none');
  });

  it('reports a function\'s errors by type, and a run stopped early keeps what it measured', async () => {
    expect((await post('thrower', { cold: 1, warm: 30, concurrency: 2 })).status).toBe(202);
    const v = await finished('thrower');
    expect(v.state).toBe('done');
    const t = v.result!.targets[0]!;
    expect(t.warm.calls).toBe(30);
    expect(t.warm.ok).toBe(0);
    expect(t.warm.errors).toEqual({ Unhandled: 30 });
    expect(v.svg).toContain('no successful calls to draw');

    expect((await post('hello', { cold: 0, warm: 100_000, concurrency: 2 })).status).toBe(202);
    await waitFor(async () => (await view('hello')).progress?.phase === 'warm', 30_000, 'the warm phase to start', 50);
    const stop = await fetch(`${h.url}/v1/functions/hello/bench`, { method: 'DELETE', headers: auth });
    expect(stop.status).toBe(202);
    const s = await finished('hello');
    expect(s.state).toBe('stopped');
    expect(s.result!.targets[0]!.warm.calls).toBeLessThan(100_000);
    expect(s.svg!.startsWith('<svg')).toBe(true);
    expect((await fetch(`${h.url}/v1/functions/hello/bench`, { method: 'DELETE', headers: auth })).status).toBe(404);
  });

  it('a stop of Hearth (SIGTERM) while a measurement runs ends it first, and Hearth exits 0', async () => {
    expect((await post('hello', { cold: 0, warm: 100_000, concurrency: 2 })).status).toBe(202);
    // While the load generator measures itself against its echo server in the worker (the first thing it does).
    await waitFor(async () => (await view('hello')).progress !== null, 30_000, 'the run to report progress', 20);
    expect(await h.stop()).toBe(0);
  });
});
