// Smooth upgrades under load, for both tiers: an alias flipped back and forth and $LATEST
// redeployed while concurrent calls run. New calls go to the new target at once, calls in flight
// finish where they started, no call fails, and the old instances drain and go.

import { describe, expect, it } from 'vitest';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function json(h: Hearth, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${h.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

interface Outcome { status: number; executed: string | null; v: unknown; text: string }

/** `workers` loops calling name:qualifier until stop() resolves; every outcome kept. */
function load(h: Hearth, name: string, qualifier: string, workers: number): { done(): number; stop(): Promise<Outcome[]> } {
  let running = true;
  const out: Outcome[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (running) {
      try {
        const r = await fetch(`${h.url}/v1/functions/${name}/invoke?qualifier=${encodeURIComponent(qualifier)}`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}',
        });
        const text = await r.text();
        let v: unknown = null;
        try { v = (JSON.parse(text) as { v?: unknown }).v; } catch { /* kept as text */ }
        out.push({ status: r.status, executed: r.headers.get('x-hearth-executed-version'), v, text });
      } catch (err) {
        out.push({ status: 0, executed: null, v: null, text: String(err) });
      }
    }
  });
  return {
    done: () => out.length,
    async stop() {
      running = false;
      await Promise.all(loops);
      return out;
    },
  };
}


const versionsOf = async (h: Hearth, name: string, q: string) =>
  ((await json(h, 'GET', `/v1/functions/${name}/instances?qualifier=${q}`)).body.instances as { version: string; digest: string }[]);

/** Publishes versions 1 and 2 (each answering {v: N} after a short wait), and the alias "live" on 1. */
async function twoVersions(h: Hearth, name: string, spec: (v: number) => Record<string, unknown>): Promise<void> {
  for (const v of [1, 2]) {
    await deployOk(h, name, spec(v));
    expect((await json(h, 'POST', `/v1/functions/${name}/versions`)).status).toBe(201);
  }
  expect((await json(h, 'PUT', `/v1/functions/${name}/aliases/live`, { version: '1' })).status).toBe(201);
}

/** Flips "live" between 1 and 2 `times` times under load; then checks every call, and that the flips took effect at once. */
async function flipUnderLoad(h: Hearth, name: string, workers: number, times: number): Promise<void> {
  const l = load(h, name, 'live', workers);
  await sleep(300);
  for (let i = 0; i < times; i++) {
    const to = i % 2 === 0 ? '2' : '1';
    expect((await json(h, 'PUT', `/v1/functions/${name}/aliases/live`, { version: to })).status).toBe(200);
    // The next call made after the move runs the new target.
    const r = await fetch(`${h.url}/v1/functions/${name}/invoke?qualifier=live`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.headers.get('x-hearth-executed-version')).toBe(to);
    // The load runs across every move: at least one call per worker answers before the next one
    // (counted, not timed: a move to a version with no warm container waits for a cold start).
    const seen = l.done();
    await until(async () => l.done() >= seen + workers, 30_000, 'the load answers between alias moves');
  }
  const out = await l.stop();
  const failed = out.filter((o) => o.status !== 200);
  expect(failed.map((f) => `${f.status} ${f.text}`).slice(0, 5)).toEqual([]);
  expect(out.length).toBeGreaterThan(times * 2);
  for (const o of out) expect(String(o.v)).toBe(o.executed);
  const ran = new Set(out.map((o) => o.executed));
  expect(ran).toEqual(new Set(['1', '2']));
  console.log(`${name}: ${out.length} calls through ${times} alias moves, ${failed.length} failed; version 1 ran ${out.filter((o) => o.executed === '1').length}, version 2 ${out.filter((o) => o.executed === '2').length}`);
}

/** Redeploys $LATEST `times` times under load; every call answers, and only the last code's instances remain. */
async function redeployUnderLoad(h: Hearth, name: string, workers: number, times: number, spec: (v: number) => Record<string, unknown>): Promise<void> {
  await deployOk(h, name, spec(100));
  const l = load(h, name, '$LATEST', workers);
  await sleep(300);
  for (let i = 1; i <= times; i++) {
    await deployOk(h, name, spec(100 + i));
    const r = await fetch(`${h.url}/v1/functions/${name}/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(((await r.json()) as { v: number }).v).toBe(100 + i); // the new code at once
    const seen = l.done();
    await until(async () => l.done() >= seen + workers, 30_000, 'the load answers between redeploys');
  }
  const out = await l.stop();
  const failed = out.filter((o) => o.status !== 200);
  expect(failed.map((f) => `${f.status} ${f.text}`).slice(0, 5)).toEqual([]);
  const digest = (await json(h, 'GET', `/v1/functions/${name}`)).body.digest as string;
  // The replaced code's instances finish what they hold and go.
  await until(async () => (await versionsOf(h, name, '$LATEST')).every((i) => i.digest === digest), 20_000, 'the old $LATEST instances are disposed');
  console.log(`${name}: ${out.length} calls through ${times} redeploys of $LATEST, ${failed.length} failed`);
}

describe('smooth upgrades under load', () => {
  it('js: alias flips and $LATEST redeploys lose no call; old instances drain and go', async () => {
    const h = await startHearth({ args: ['--no-docker'] });
    try {
      const spec = (v: number) => ({
        runtime: 'js', handler: 'index.handler', keepAliveMs: 1_000, concurrency: 4,
        code: { source: `exports.handler = async () => { await new Promise((r) => setTimeout(r, 15)); return { v: ${v} }; };` },
      });
      await twoVersions(h, 'jsup', spec);
      await flipUnderLoad(h, 'jsup', 8, 10);
      // Nothing calls version 1 now (live is on 1 after an even number of moves: call 2 directly instead),
      // and the version idle past its keepalive is released.
      await json(h, 'PUT', '/v1/functions/jsup/aliases/live', { version: '2' });
      await until(async () => (await versionsOf(h, 'jsup', '1')).length === 0, 20_000, 'version 1\'s instances go after their keepalive');
      await redeployUnderLoad(h, 'jsredeploy', 8, 5, spec);
    } finally {
      await h.stop();
    }
  });

  it('python3: alias flips and $LATEST redeploys lose no call; old containers drain and go', async () => {
    const h = await startHearth({ env: { HEARTH_STEM_CELLS: '2' } });
    try {
      const spec = (v: number) => ({
        runtime: 'python3', handler: 'index.main_handler', keepAliveMs: 1_000, timeoutMs: 10_000,
        code: { source: `import time\ndef main_handler(event, context):\n    time.sleep(0.015)\n    return {"v": ${v}}\n` },
      });
      await twoVersions(h, 'pyup', spec);
      await flipUnderLoad(h, 'pyup', 4, 6);
      await json(h, 'PUT', '/v1/functions/pyup/aliases/live', { version: '2' });
      await until(async () => (await versionsOf(h, 'pyup', '1')).length === 0, 30_000, 'version 1\'s containers go after their keepalive');
      await redeployUnderLoad(h, 'pyredeploy', 4, 3, spec);
    } finally {
      await h.stop();
    }
  }, 180_000); // containers started, drained and replaced under load: ~45–60 s on 2 quiet cores
});
