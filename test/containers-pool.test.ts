// The shared pool policy (pool/policy.ts, pool/instance-pool.ts) driven with REAL containers, the way
// pool.test.ts drives it with isolates: stem cells, keepalive, reserved instances, per-container
// concurrency, maxInstances and the bounded wait queue, LRU eviction under HEARTH_MAX_CONTAINERS,
// and the clean-up of a dead Hearth's containers. Everything is checked through the HTTP API and in
// the Docker engine itself; state changes are polled for with deadlines, never timed.

import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';
import { HOLD, py } from './support/python.js';
import { until } from './support/until.js';

const docker = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Inst {
  id: string; state: string; inFlight: number; callsServed: number; lastUsedAt: number;
  detail: { container: string; address: string };
}


const HOST = 'import socket\ndef main_handler(event, context):\n    return socket.gethostname()\n';

async function instances(h: Hearth, name: string): Promise<Inst[]> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`);
  return ((await r.json()) as { instances: Inst[] }).instances;
}

/** The containers the Hearth process `pid` labelled (all states), optionally of one runtime. */
function containersOf(pid: number, runtime?: string): Promise<Docker.ContainerInfo[]> {
  const label = [`hearth.managed=${pid}`, ...(runtime ? [`hearth.runtime=${runtime}`] : [])];
  return docker.listContainers({ all: true, filters: JSON.stringify({ label }) });
}

const short = (id: string) => id.slice(0, 12);

/** Running, and its bootstrap answers GET /health (what the pool waits for before using one). */
async function healthy(c: Docker.ContainerInfo): Promise<boolean> {
  const ip = Object.values(c.NetworkSettings.Networks).map((n) => n.IPAddress).find((a) => a);
  if (c.State !== 'running' || !ip) return false;
  try {
    const r = await fetch(`http://${ip}:9000/health`, { signal: AbortSignal.timeout(1_000) });
    return r.status === 200 && (await r.text()) === 'ok';
  } catch {
    return false;
  }
}

/** Containers of every function's instances (12-character ids, as the instances API gives them). */
async function instanceContainers(h: Hearth): Promise<Set<string>> {
  const fns = ((await (await fetch(`${h.url}/v1/functions`)).json()) as { functions: { name: string }[] }).functions;
  const all = await Promise.all(fns.map((f) => instances(h, f.name)));
  return new Set(all.flat().map((i) => i.detail.container));
}

/** Stem cells: this Hearth's containers of a runtime that no function's instance holds. */
async function stemCells(h: Hearth, runtime = 'python3'): Promise<Docker.ContainerInfo[]> {
  const [held, list] = await Promise.all([instanceContainers(h), containersOf(h.proc.pid!, runtime)]);
  return list.filter((c) => !held.has(short(c.Id)));
}


async function call(h: Hearth, name: string, event: unknown = {}) {
  const r = await h.invoke(name, event);
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), queueMs: Number(r.headers.get('x-hearth-queue-ms') ?? 0), body, text };
}

/**
 * Watches a version's instances until none is left, and fails if one is gone while its keepalive
 * (from its lastUsedAt) had not yet passed. An absence observed at time t means it went at or
 * before t, so only an absence seen before the deadline is early.
 */
async function expectReleasedAfterKeepalive(h: Hearth, name: string, keepAliveMs: number, ms: number): Promise<void> {
  const lastUsed = new Map((await instances(h, name)).map((i) => [i.id, i.lastUsedAt]));
  expect(lastUsed.size).toBeGreaterThan(0);
  const end = Date.now() + ms;
  for (;;) {
    const now = await instances(h, name);
    const t = Date.now();
    for (const [id, last] of lastUsed) {
      const early = !now.some((i) => i.id === id) && t < last + keepAliveMs - 20;
      expect(early, `${id} was released ${Math.round(last + keepAliveMs - t)} ms before its keepalive of ${keepAliveMs} ms`).toBe(false);
    }
    if (now.length === 0) return;
    if (t > end) throw new Error(`${name}: ${now.length} instance(s) still there ${ms} ms later`);
    await sleep(25);
  }
}

async function expectNothingLeft(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  expect((await containersOf(pid)).map((c) => c.Names[0])).toEqual([]);
}

describe('stem cells, keepalive and reserved containers', () => {
  const N = 2;
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--sweep-interval-ms', '50'], env: { HEARTH_STEM_CELLS: String(N) } });
  });
  afterAll(async () => {
    await h?.stop();
    await expectNothingLeft(h?.proc.pid);
  });

  it(`HEARTH_STEM_CELLS=${N}: ${N} ready stem cells per runtime; a cold call takes one and it is refilled`, async () => {
    const ready = async (runtime: string) => {
      const s = await stemCells(h, runtime);
      return s.length === N && (await Promise.all(s.map(healthy))).every(Boolean);
    };
    await until(async () => (await ready('python3')) && (await ready('java17')), 40_000,
      async () => `python3 stems ${(await stemCells(h, 'python3')).length}, java17 stems ${(await stemCells(h, 'java17')).length}`);
    // Readiness follows the reserve (core/hearth.ts): it may say so just after the last stem cell answers.
    await until(async () => (await fetch(`${h.url}/readyz`)).status === 200, 10_000, '/readyz 200 once the stem cells are there');

    await deployOk(h, 'pystem', py(HOST));
    // The deploy checks the code in a container of its own, not in a stem cell: back to N once it is gone.
    await until(() => ready('python3'), 15_000, 'the deploy check container went away');
    const before = new Set((await stemCells(h)).map((c) => short(c.Id)));
    expect(before.size).toBe(N);

    const r = await call(h, 'pystem');
    expect(r.status, r.text).toBe(200);
    expect(r.cold).toBe('true');
    const [inst] = await instances(h, 'pystem');
    // The cold call's container is one of the stem cells, and it runs the function (its hostname).
    expect(before.has(inst!.detail.container)).toBe(true);
    expect(r.body).toBe(inst!.detail.container);

    // Refilled in the background: N again, one of them new.
    await until(async () => {
      const s = await stemCells(h);
      return (await ready('python3')) && s.some((c) => !before.has(short(c.Id)));
    }, 20_000, async () => `python3 stems ${(await stemCells(h)).map((c) => short(c.Id))} (before: ${[...before]})`);
    // The stem cell taken is the function's container now, still running.
    const taken = (await containersOf(h.proc.pid!, 'python3')).find((c) => short(c.Id) === inst!.detail.container);
    expect(taken?.State).toBe('running');
  }, 60_000);

  it('an idle container is released after keepAliveMs, the last one too, not before (and removed from Docker)', async () => {
    const keepAliveMs = 1_200;
    await deployOk(h, 'pybrief', py(HOLD, { keepAliveMs, concurrency: 1, maxInstances: 2 }));
    // Two containers (two calls at once, concurrency 1).
    const first = await Promise.all([0, 1].map(() => call(h, 'pybrief', { hold: 0.3 })));
    expect(first.map((r) => [r.status, r.cold])).toEqual([[200, 'true'], [200, 'true']]);
    const two = await instances(h, 'pybrief');
    expect(two).toHaveLength(2);
    const held = two.map((i) => i.detail.container);
    await sleep(400);
    // Still both there well before the delay: a warm call reuses one, which makes it the last to expire.
    expect(await instances(h, 'pybrief')).toHaveLength(2);
    const warm = await call(h, 'pybrief');
    expect(warm.cold).toBe('false');
    expect(held).toContain(warm.body.host);

    // One goes at its keepalive; the other, then the last instance of the version, is held for its
    // own full keepalive too, then goes as well.
    await expectReleasedAfterKeepalive(h, 'pybrief', keepAliveMs, 15_000);
    await until(async () => {
      const ids = (await containersOf(h.proc.pid!)).map((c) => short(c.Id));
      return held.every((c) => !ids.includes(c));
    }, 10_000, 'the released containers are removed from Docker');
    expect((await call(h, 'pybrief')).cold).toBe('true');
  }, 60_000);

  it('minInstances are started with the code loaded and never released, long past keepAliveMs', async () => {
    await deployOk(h, 'pyreserved', py(HOLD, { keepAliveMs: 200, minInstances: 2 }));
    await until(async () => {
      const is = await instances(h, 'pyreserved');
      return is.length === 2 && is.every((i) => i.state === 'idle');
    }, 20_000, 'two idle reserved instances');
    const reserved = (await instances(h, 'pyreserved')).map((i) => i.id).sort();
    const cont = (await instances(h, 'pyreserved')).map((i) => i.detail.container);
    const r = await call(h, 'pyreserved');
    expect(r.status, r.text).toBe(200);
    expect(r.cold).toBe('false');
    expect(cont).toContain(r.body.host);
    // Six times the keepalive (and ~30 sweeps): the same two, idle, their containers running.
    const end = Date.now() + 1_200;
    while (Date.now() < end) {
      expect((await instances(h, 'pyreserved')).map((i) => i.id).sort()).toEqual(reserved);
      await sleep(100);
    }
    const now = await instances(h, 'pyreserved');
    expect(now.every((i) => i.state === 'idle')).toBe(true);
    const running = (await containersOf(h.proc.pid!, 'python3')).filter((c) => c.State === 'running').map((c) => short(c.Id));
    for (const c of cont) expect(running).toContain(c);
  }, 60_000);
});

describe('per-container concurrency, maxInstances and the wait queue', () => {
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--sweep-interval-ms', '50', '--wait-queue-size', '2'], env: { HEARTH_STEM_CELLS: '0' } });
  });
  afterAll(async () => {
    await h?.stop();
    await expectNothingLeft(h?.proc.pid);
  });

  it('concurrency 1 gives each in-flight call its own container, up to maxInstances; the rest wait', async () => {
    await deployOk(h, 'pysingle', py(HOLD, { concurrency: 1, maxInstances: 2, timeoutMs: 10_000 }));
    const rs = await Promise.all([0, 1, 2, 3].map(() => call(h, 'pysingle', { hold: 0.8 })));
    expect(rs.map((r) => r.status), JSON.stringify(rs)).toEqual([200, 200, 200, 200]);
    const is = await instances(h, 'pysingle');
    expect(is).toHaveLength(2);
    // Two containers served the four calls, never two calls at once in one container.
    expect(new Set(rs.map((r) => r.body.host))).toEqual(new Set(is.map((i) => i.detail.container)));
    expect(rs.map((r) => r.body.peak)).toEqual([1, 1, 1, 1]);
    // Two of the four waited for a free container.
    expect(rs.filter((r) => r.queueMs > 0).length).toBeGreaterThanOrEqual(1);
    const docked = (await containersOf(h.proc.pid!, 'python3')).map((c) => short(c.Id));
    for (const i of is) expect(docked).toContain(i.detail.container);
  }, 60_000);

  it('with concurrency > 1 one container takes several calls at once (the python bootstrap is threaded)', async () => {
    await deployOk(h, 'pyshared', py(HOLD, { concurrency: 4, maxInstances: 1, timeoutMs: 15_000 }));
    expect((await call(h, 'pyshared')).status).toBe(200);
    // Each call waits until four were in the container together (or 8 s): only concurrent calls get there.
    const rs = await Promise.all([0, 1, 2, 3].map(() => call(h, 'pyshared', { hold: 8, want: 4 })));
    expect(rs.map((r) => r.status), JSON.stringify(rs)).toEqual([200, 200, 200, 200]);
    expect(rs.map((r) => r.body.peak)).toEqual([4, 4, 4, 4]);
    const is = await instances(h, 'pyshared');
    expect(is).toHaveLength(1);
    expect(new Set(rs.map((r) => r.body.host))).toEqual(new Set([is[0]!.detail.container]));
  }, 60_000);

  it('past maxInstances calls wait and then complete; past the wait queue bound they get 429 TooManyRequests', async () => {
    await deployOk(h, 'pyqueue', py(HOLD, { concurrency: 1, maxInstances: 1, timeoutMs: 10_000 }));
    expect((await call(h, 'pyqueue')).status).toBe(200);
    // One runs, two wait (--wait-queue-size 2), two are refused.
    const rs = await Promise.all([0, 1, 2, 3, 4].map(() => call(h, 'pyqueue', { hold: 1.5 })));
    expect(rs.map((r) => r.status).sort(), JSON.stringify(rs)).toEqual([200, 200, 200, 429, 429]);
    for (const r of rs.filter((x) => x.status === 429)) {
      expect(r.body.errorType, r.text).toBe('TooManyRequests');
      expect(r.body.errorMessage).toMatch(/maxInstances 1/);
    }
    const ok = rs.filter((r) => r.status === 200);
    const is = await instances(h, 'pyqueue');
    expect(is).toHaveLength(1);
    expect(ok.every((r) => r.body.host === is[0]!.detail.container && r.body.peak === 1)).toBe(true);
    // The two that waited did so for the calls before them (1.5 s each).
    expect(ok.filter((r) => r.queueMs > 1_000).length).toBe(2);
  }, 60_000);
});

describe('the global container budget (HEARTH_MAX_CONTAINERS)', () => {
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--sweep-interval-ms', '50'], env: { HEARTH_STEM_CELLS: '0', HEARTH_MAX_CONTAINERS: '3' } });
  });
  afterAll(async () => {
    await h?.stop();
    await expectNothingLeft(h?.proc.pid);
  });

  const names = ['lru-a', 'lru-b', 'lru-c', 'lru-d'];
  const counts = async () => Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await instances(h, n)).length])));
  const listed = async () => (await containersOf(h.proc.pid!, 'python3')).map((c) => short(c.Id));

  it('past the budget the least recently used idle container is evicted, and removed from Docker', async () => {
    await Promise.all(names.map((n) => deployOk(h, n, py(HOST, { keepAliveMs: 60_000 }))));
    const container: Record<string, string> = {};
    for (const n of ['lru-a', 'lru-b', 'lru-c']) {
      const r = await call(h, n);
      expect([r.status, r.cold], r.text).toEqual([200, 'true']);
      container[n] = r.body;
    }
    expect((await call(h, 'lru-a')).cold).toBe('false'); // a is now more recent than b
    await until(async () => (await listed()).length === 3, 10_000, async () => `containers: ${await listed()}`);

    const d = await call(h, 'lru-d');
    expect([d.status, d.cold], d.text).toEqual([200, 'true']);
    container['lru-d'] = d.body;
    expect(await counts()).toEqual({ 'lru-a': 1, 'lru-b': 0, 'lru-c': 1, 'lru-d': 1 });
    await until(async () => !(await listed()).includes(container['lru-b']!), 10_000, 'lru-b\'s container is removed');
    expect((await listed()).sort()).toEqual([container['lru-a'], container['lru-c'], container['lru-d']].sort());

    // Now c is the least recently used: b's cold start takes its place.
    const b = await call(h, 'lru-b');
    expect([b.status, b.cold], b.text).toEqual([200, 'true']);
    expect(await counts()).toEqual({ 'lru-a': 1, 'lru-b': 1, 'lru-c': 0, 'lru-d': 1 });
    await until(async () => !(await listed()).includes(container['lru-c']!), 10_000, 'lru-c\'s container is removed');
    expect((await listed()).sort()).toEqual([container['lru-a'], b.body, container['lru-d']].sort());
  }, 60_000);
});

describe('containers left by a previous Hearth', () => {
  let live: Hearth | undefined;
  let dead: Hearth | undefined;
  let next: Hearth | undefined;
  // The dead Hearth's data dir, which its next run starts on (its owner id is kept there).
  const deadDir = mkdtempSync(join(tmpdir(), 'hearth-test-dead-'));
  afterAll(async () => {
    await Promise.all([live?.stop(), next?.stop(), dead?.stop()]);
    for (const h of [live, next, dead]) await expectNothingLeft(h?.proc.pid);
    rmSync(deadDir, { recursive: true, force: true });
  });

  // Issue 15: a Hearth removes only what an earlier run on its own data dir left (a Hearth on
  // another data dir sharing the engine, e.g. in a container of its own with the same pid, is
  // never touched), so the next run is started on the dead one's data dir.
  it('are removed at start by the next run on their data dir; a running Hearth\'s are not touched', async () => {
    const env = { HEARTH_STEM_CELLS: '0' };
    [live, dead] = await Promise.all([startHearth({ env }), startHearth({ env, dataDir: deadDir })]);
    await deployOk(live, 'pylive', py(HOST, { keepAliveMs: 60_000 }));
    const warmUp = await call(live, 'pylive');
    expect(warmUp.status, warmUp.text).toBe(200);
    await deployOk(dead, 'pyleft', py(HOST, { minInstances: 2 }));
    const deadPid = dead.proc.pid!;
    await until(async () => {
      const held = [...(await instanceContainers(dead!))];
      const there = (await containersOf(deadPid)).map((c) => short(c.Id));
      return held.length === 2 && there.length === 2 && held.every((c) => there.includes(c));
    }, 20_000, 'the dead-to-be Hearth holds exactly its two reserved containers');
    await until(async () => (await containersOf(live!.proc.pid!)).length === 1, 10_000, 'the live Hearth holds one container');
    const liveBefore = (await containersOf(live.proc.pid!)).map((c) => c.Id);

    await dead.stop('SIGKILL');
    const left = (await containersOf(deadPid)).map((c) => c.Id);
    expect(left).toHaveLength(2); // nobody cleaned up after it

    next = await startHearth({ env, dataDir: deadDir });
    // Removed at start (the engine may still be finishing a removal when the new Hearth listens).
    await until(async () => (await containersOf(deadPid)).length === 0, 5_000, async () => `left: ${(await containersOf(deadPid)).map((c) => `${c.Names[0]} ${c.State}`)}`);
    // The running Hearth keeps its container, and its function is still warm in it.
    const liveAfter = await containersOf(live.proc.pid!);
    expect(liveAfter.map((c) => [c.Id, c.State])).toEqual(liveBefore.map((id) => [id, 'running']));
    const again = await call(live, 'pylive');
    expect([again.status, again.cold, again.body]).toEqual([200, 'false', warmUp.body]);
    // The next run serves the function it found in the data dir, with its own reserved containers.
    await until(async () => (await instanceContainers(next!)).size === 2, 20_000, async () => `held ${[...await instanceContainers(next!)]}; its containers ${(await containersOf(next!.proc.pid!)).map((c) => `${c.Names[0]} ${c.State}`)}; log ${next!.log().slice(-1500)}`);
  }, 60_000);
});

describe('drain on SIGTERM with containers', () => {
  it('lets a python call in flight finish, then removes every container (warm, reserved, stem cells) and exits 0', async () => {
    const h = await startHearth({ args: ['--drain-timeout-ms', '20000'], env: { HEARTH_STEM_CELLS: '1' } });
    const pid = h.proc.pid!;
    try {
      await deployOk(h, 'drain-hold', py(HOLD, { timeoutMs: 20_000 }));
      await deployOk(h, 'drain-kept', py(HOST, { minInstances: 1 }));
      expect((await call(h, 'drain-hold', { hold: 0 })).status).toBe(200);
      await until(async () => (await instances(h, 'drain-kept')).length === 1, 30_000, 'drain-kept\'s reserved container');
      await until(async () => (await stemCells(h)).length >= 1, 30_000, 'a stem cell');
      expect((await containersOf(pid)).length).toBeGreaterThanOrEqual(3);
      const inFlight = call(h, 'drain-hold', { hold: 1.5 });
      await until(async () => (await instances(h, 'drain-hold')).some((i) => i.inFlight === 1), 10_000, 'the call is running');
      const code = h.stop('SIGTERM');
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ peak: 1 });
      expect(await code).toBe(0);
      await expectNothingLeft(pid);
    } finally {
      await h.stop();
    }
  });
});

describe('readiness with containers', () => {
  it('/readyz says ready only once the stem cells are started (the pre-warm pool of both tiers)', async () => {
    const h = await startHearth({ env: { HEARTH_STEM_CELLS: '1' } });
    try {
      let status = 0;
      for (let i = 0; i < 1_200 && status !== 200; i++) {
        status = (await fetch(`${h.url}/readyz`)).status;
        if (status !== 200) await sleep(25);
      }
      expect(status).toBe(200);
      // Ready: a stem cell of each runtime is there, started.
      const running = (await containersOf(h.proc.pid!)).filter((c) => c.State === 'running');
      expect(running.map((c) => c.Labels['hearth.runtime']).sort()).toEqual(['java17', 'python3']);
    } finally {
      await h.stop();
      await expectNothingLeft(h.proc.pid);
    }
  });
});
