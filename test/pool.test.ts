// The isolate pool's lifecycle over real HTTP with real isolates: pre-warm, keepalive, reserved
// instances, per-instance concurrency, scale-up and LRU eviction under a global budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

const instances = async (h: Hearth, name: string) =>
  ((await (await fetch(`${h.url}/v1/functions/${name}/instances`)).json()) as any).instances as any[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
describe('keepalive and reserved instances', () => {
  let h: Hearth;
  beforeAll(async () => { h = await startHearth({ args: ['--sweep-interval-ms', '50'] }); });
  afterAll(async () => { await h?.stop(); });

  it('/readyz is 200 once the pre-warm pool is filled; a cold start takes a blank that is refilled', async () => {
    // Ready once both tiers' pre-warm pools are there (the stem cells may come just after the port opens).
    await until(async () => (await fetch(`${h.url}/readyz`)).status === 200, 30_000, 'ready');
    const r = await fetch(`${h.url}/readyz`);
    expect(((await r.json()) as any).isolates.prewarmed).toBe(2);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    await deployOk(h, 'taker', jsSource('exports.handler = async () => 1'));
    expect((await h.invoke('taker', {})).headers.get('x-hearth-cold')).toBe('true');
    await until(async () => ((await (await fetch(`${h.url}/readyz`)).json()) as any).isolates.prewarmed === 2, 5_000, 'two blank isolates ready');
  });

  it('an idle instance is released after keepAliveMs, the last one too, not before', async () => {
    await deployOk(h, 'brief', jsSource('exports.handler = async () => 1', { keepAliveMs: 600 }));
    expect((await h.invoke('brief', {})).headers.get('x-hearth-cold')).toBe('true');
    expect(await instances(h, 'brief')).toHaveLength(1);
    await sleep(250);
    // Still there well before the delay: no start/stop flapping.
    expect(await instances(h, 'brief')).toHaveLength(1);
    expect((await h.invoke('brief', {})).headers.get('x-hearth-cold')).toBe('false');
    await until(async () => (await instances(h, 'brief')).length === 0, 3_000, 'the brief function\'s instances gone');
    expect((await h.invoke('brief', {})).headers.get('x-hearth-cold')).toBe('true');
  });

  it('minInstances are started with the code loaded and never released', async () => {
    await deployOk(h, 'reserved', jsSource('exports.handler = async () => 1', { keepAliveMs: 50, minInstances: 2 }));
    await until(async () => (await instances(h, 'reserved')).length === 2, 5_000, 'two reserved instances');
    const first = await h.invoke('reserved', {});
    expect(first.headers.get('x-hearth-cold')).toBe('false');
    await sleep(400);
    const now = await instances(h, 'reserved');
    expect(now).toHaveLength(2);
    expect(now.every((i) => i.state === 'idle')).toBe(true);
  });
});

describe('concurrency, scale-up and the global budget', () => {
  let h: Hearth;
  beforeAll(async () => { h = await startHearth({ args: ['--sweep-interval-ms', '50', '--max-total-instances', '3'] }); });
  afterAll(async () => { await h?.stop(); });

  // A handler busy for ~ms of CPU (no timers needed).
  const busy = (ms: number) => `exports.handler = async () => { const end = Date.now() + ${ms}; while (Date.now() < end); return 1 }`;

  it('concurrency 1 gives each in-flight call its own instance, up to maxInstances', async () => {
    await deployOk(h, 'single', jsSource(busy(150), { concurrency: 1, maxInstances: 2 }));
    const rs = await Promise.all([0, 1, 2, 3].map(() => h.invoke('single', {})));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect((await instances(h, 'single')).length).toBe(2);
    // Two of the four waited in the queue for a free instance.
    const queued = rs.filter((r) => Number(r.headers.get('x-hearth-queue-ms')) > 50);
    expect(queued.length).toBeGreaterThanOrEqual(1);
  });

  it('with concurrency > 1 an instance takes several calls at once', async () => {
    await deployOk(h, 'shared', jsSource(`let peak = 0, now = 0;
      exports.handler = async () => { now++; peak = Math.max(peak, now); await null; await null; now--; return peak }`, { concurrency: 8, maxInstances: 1 }));
    const rs = await Promise.all(Array.from({ length: 8 }, () => h.invoke('shared', {})));
    expect(rs.every((r) => r.status === 200)).toBe(true);
    expect((await instances(h, 'shared')).length).toBe(1);
  });

  it('past the instance budget the least recently used idle instance is evicted', async () => {
    await fetch(`${h.url}/v1/functions/single`, { method: 'DELETE' });
    await fetch(`${h.url}/v1/functions/shared`, { method: 'DELETE' });
    await until(async () => true, 5_000, 'true');
    for (const n of ['lru-a', 'lru-b', 'lru-c', 'lru-d']) await deployOk(h, n, jsSource('exports.handler = async () => 1', { keepAliveMs: 60_000 }));
    for (const n of ['lru-a', 'lru-b', 'lru-c']) expect((await h.invoke(n, {})).status).toBe(200);
    await h.invoke('lru-a', {}); // a is now more recent than b
    expect((await h.invoke('lru-d', {})).headers.get('x-hearth-cold')).toBe('true');
    const counts = Object.fromEntries(await Promise.all(['lru-a', 'lru-b', 'lru-c', 'lru-d'].map(async (n) => [n, (await instances(h, n)).length])));
    expect(counts).toEqual({ 'lru-a': 1, 'lru-b': 0, 'lru-c': 1, 'lru-d': 1 });
    expect((await h.invoke('lru-b', {})).headers.get('x-hearth-cold')).toBe('true');
  });
});

describe('memory budget', () => {
  let h: Hearth;
  beforeAll(async () => { h = await startHearth({ args: ['--memory-budget-mb', '64'] }); });
  afterAll(async () => { await h?.stop(); });

  it('instances holding memory are evicted least recently used first to stay in the budget', async () => {
    // Each instance keeps ~24 MB alive in module scope.
    const hog = 'const keep = []; for (let i = 0; i < 24; i++) keep.push(new Uint8Array(1024 * 1024).fill(1)); exports.handler = async () => keep.length';
    for (const n of ['hog-a', 'hog-b', 'hog-c', 'hog-d']) {
      await deployOk(h, n, jsSource(hog, { memoryMb: 64 }));
      expect((await h.invoke(n, {})).status).toBe(200);
    }
    const alive = await Promise.all(['hog-a', 'hog-b', 'hog-c', 'hog-d'].map(async (n) => (await instances(h, n)).length));
    const total = (await Promise.all(['hog-a', 'hog-b', 'hog-c', 'hog-d'].map((n) => instances(h, n)))).flat()
      .reduce((s, i) => s + i.memoryMb, 0);
    expect(total).toBeLessThanOrEqual(64 + 30);
    expect(alive[3]).toBe(1); // the newest stays
    expect(alive[0]).toBe(0); // the oldest went first
  });
});
