// Autoscaling, reserved instances, the maxInstances cap, the instances API and X-Hearth-Force-Cold,
// against real Hearth processes, for both tiers (js isolates, python3 containers): the shared pool
// policy (pool/policy.ts packs calls, scales up past --scale-up-threshold, releases surplus idle
// instances after --scale-down-delay-ms and the last one only at its keepAliveMs).
//
// Everything is observed through the HTTP API (and Hearth's own log for why an instance went, and
// the Docker engine); state changes are polled for with deadlines, never timed. The python tests
// need the Docker engine and the runtime image (npm test's set-up: scripts/setup-images.sh); without
// them they fail saying so — none of them skips.

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../container-fallback/images.js';
import { startHearth, type Hearth } from './support/hearth.js';
import { HOLD, py } from './support/python.js';
import { until } from './support/until.js';

const ADMIN = 'autoscale-test-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${ADMIN}` };
const docker = new Docker();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Inst {
  id: string; tier: string; state: string; digest: string; version: string; inFlight: number; callsServed: number;
  createdAt: number; lastUsedAt: number; ageMs: number; idleMs: number; memoryMb: number;
  detail: Record<string, unknown> & { container?: string };
}

/** Every management call carries the admin token (needed when one is set, harmless when not). */
async function deploy(h: Hearth, name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(spec) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

async function instances(h: Hearth, name: string): Promise<Inst[]> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`, { headers: AUTH });
  if (r.status !== 200) throw new Error(`instances of ${name}: ${r.status} ${await r.text()}`);
  return ((await r.json()) as { instances: Inst[] }).instances;
}

async function call(h: Hearth, name: string, event: unknown = {}, headers: Record<string, string> = {}) {
  const r = await fetch(`${h.url}/v1/functions/${name}/invoke`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), body, text };
}


/** Calls in `workers` loops at once until stop() (each loop waits for its call); every status is kept. */
function load(h: Hearth, name: string, event: unknown, workers: number) {
  let stopped = false;
  const statuses: number[] = [];
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) statuses.push((await call(h, name, event)).status);
  });
  return { statuses, stop: async () => { stopped = true; await Promise.all(loops); } };
}

/** Why Hearth released each instance of a function (its debug log: "instance released"), in order. */
function releases(h: Hearth, fn: string): { instance: string; reason: string }[] {
  const out: { instance: string; reason: string }[] = [];
  for (const line of h.log().split('\n')) {
    if (!line.includes('"instance released"')) continue;
    try {
      const e = JSON.parse(line) as { function?: string; instance: string; reason: string };
      if (e.function === fn) out.push({ instance: e.instance, reason: e.reason });
    } catch { /* a line cut short by the read */ }
  }
  return out;
}

/**
 * Scale up under concurrent load, then a trickle: the surplus instances go (reason "scale-down")
 * while the trickle goes on, never the last one; once the trickle stops the last one goes at its
 * keepalive (reason "keepalive"), not before (its lastUsedAt + keepAliveMs).
 */
async function scaleUpThenDown(h: Hearth, name: string, opts: { busy: unknown; quick: unknown; workers: number; keepAliveMs: number; scaleUpMs: number }): Promise<Inst[]> {
  // Sustained load until more than one instance serves the function.
  const l = load(h, name, opts.busy, opts.workers);
  // The instances seen serving the load (surplus ones may go as soon as the load stops).
  let scaled: Inst[] = [];
  try {
    await until(async () => {
      const now = await instances(h, name);
      if (now.length < 2 || now.filter((i) => i.callsServed > 0).length < 2) return false;
      scaled = now;
      return true;
    }, opts.scaleUpMs, async () => `instances under load: ${JSON.stringify(await instances(h, name))}`);
  } finally {
    await l.stop();
  }
  expect(l.statuses.every((s) => s === 200), `statuses under load: ${l.statuses}`).toBe(true);
  expect(scaled.length).toBeGreaterThan(1);

  // A trickle (one call at a time): the surplus goes, the instance taking the trickle stays.
  let stopped = false;
  let served = 0;
  const trickle = (async () => {
    while (!stopped) {
      const r = await call(h, name, opts.quick);
      expect(r.status, r.text).toBe(200);
      served++;
      await sleep(30);
    }
  })();
  let last: Inst | undefined;
  try {
    await until(async () => {
      const now = await instances(h, name);
      expect(now.length, 'the version never loses its last instance while calls come').toBeGreaterThan(0);
      return now.length === 1;
    }, 20_000, async () => `instances during the trickle: ${JSON.stringify(await instances(h, name))}`);
    // It is the one serving the trickle: it goes on taking calls, alone.
    last = (await instances(h, name))[0]!;
    const seen = served;
    await until(async () => served >= seen + 3, 10_000, 'the trickle goes on');
    const after = await instances(h, name);
    expect(after.map((i) => i.id)).toEqual([last!.id]);
    expect(after[0]!.callsServed).toBeGreaterThan(last!.callsServed);
  } finally {
    stopped = true;
    await trickle;
  }
  const gone = scaled.filter((i) => i.id !== last!.id);
  // Released as surplus while the trickle went on (not at their keepalive).
  await until(async () => gone.every((g) => releases(h, name).some((r) => r.instance === g.id)), 5_000, () => Promise.resolve(`releases logged: ${JSON.stringify(releases(h, name))}`));
  for (const g of gone) expect(releases(h, name).find((r) => r.instance === g.id)?.reason, g.id).toBe('scale-down');

  // The last one stays until its keepalive has passed, then goes.
  const [final] = await instances(h, name);
  expect(final!.id).toBe(last!.id);
  for (;;) {
    const now = await instances(h, name);
    const t = Date.now();
    if (now.length === 0) {
      expect(t, 'the last instance went only after its keepalive').toBeGreaterThanOrEqual(final!.lastUsedAt + opts.keepAliveMs - 20);
      break;
    }
    expect(now.map((i) => i.id)).toEqual([last!.id]);
    if (t > final!.lastUsedAt + opts.keepAliveMs + 20_000) throw new Error(`${name}: the last instance is still there long after its keepalive`);
    await sleep(25);
  }
  await until(async () => releases(h, name).some((r) => r.instance === last!.id), 5_000, 'the last release is logged');
  const log = releases(h, name);
  expect(log.find((r) => r.instance === last!.id)?.reason).toBe('keepalive');
  // The surplus went before the last one.
  expect(log.findIndex((r) => r.instance === last!.id)).toBe(log.length - 1);
  return gone;
}

/** The Docker engine and the python3 runtime image are there, or the test fails saying what to do. */
async function requireDocker(): Promise<void> {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`these tests need a Docker engine and none answers (${(err as Error).message}): run \`bash scripts/setup-images.sh\` (npm test's set-up does)`);
  }
  const tag = runtimeImageTag('python3');
  try {
    await docker.getImage(tag).inspect();
  } catch {
    throw new Error(`these tests need the python3 runtime image ${tag}: run \`bash scripts/setup-images.sh\` (npm test's set-up does)`);
  }
}

const js = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.handler', code: { source }, ...extra });

/** Holds each call `ms` ms (a timer: the isolate is free meanwhile); says how many calls its instance held at once. */
const JS_HOLD = `let now = 0, peak = 0;
exports.handler = async (event) => {
  now++; peak = Math.max(peak, now);
  try { await new Promise((r) => setTimeout(r, event.ms ?? 0)); } finally { now--; }
  return { peak };
};`;
/** Blows its memory limit when asked. */
const JS_BOMB = `exports.handler = async (event) => {
  if (event.bomb) { const keep = []; for (let i = 0; ; i++) { keep.push('x'.repeat(1 << 20) + i); keep.push(new Array(1 << 17).fill(i)); } }
  return 'ok';
};`;

describe('autoscaling, js isolates', () => {
  let h: Hearth;
  beforeAll(async () => {
    h = await startHearth({ args: ['--sweep-interval-ms', '50', '--scale-down-delay-ms', '200'], env: { HEARTH_LOG_LEVEL: 'debug', HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_STEM_CELLS: '0' } });
  });
  afterAll(async () => { await h?.stop(); });

  it('scales up under sustained load; when it drops to a trickle the surplus goes, the last instance only at its keepalive', async () => {
    const keepAliveMs = 2_000;
    // Concurrency 4 at the default threshold 0.8: an instance takes 3 calls before the next gets any.
    await deploy(h, 'js-scale', js(JS_HOLD, { concurrency: 4, maxInstances: 4, keepAliveMs }));
    await scaleUpThenDown(h, 'js-scale', { busy: { ms: 40 }, quick: {}, workers: 10, keepAliveMs, scaleUpMs: 15_000 });
  }, 60_000);

  it('a reserved instance that runs out of memory is replaced without waiting for a call', async () => {
    await deploy(h, 'js-reserved', js(JS_BOMB, { minInstances: 1, memoryMb: 32, timeoutMs: 10_000 }));
    await until(async () => (await instances(h, 'js-reserved')).some((i) => i.state === 'idle'), 10_000, 'the reserved instance');
    const [first] = await instances(h, 'js-reserved');
    const boom = await call(h, 'js-reserved', { bomb: true });
    expect(boom.status, boom.text).toBe(500);
    expect(boom.body.errorType).toBe('OutOfMemory');
    expect(boom.cold).toBe('false'); // it ran on the reserved instance
    // No call since: a new instance with the code loaded takes its place.
    await until(async () => {
      const now = await instances(h, 'js-reserved');
      return now.length === 1 && now[0]!.id !== first!.id && now[0]!.state === 'idle';
    }, 10_000, async () => `instances: ${JSON.stringify(await instances(h, 'js-reserved'))}`);
    const [second] = await instances(h, 'js-reserved');
    expect(second!.callsServed).toBe(0);
    const r = await call(h, 'js-reserved');
    expect([r.status, r.cold, r.body]).toEqual([200, 'false', 'ok']);
    expect((await instances(h, 'js-reserved')).map((i) => [i.id, i.callsServed])).toEqual([[second!.id, 1]]);
  }, 30_000);

  it('the instances API: tier, state, version, age, last used, calls served, memory', async () => {
    await deploy(h, 'js-info', js(JS_HOLD));
    expect((await call(h, 'js-info')).status).toBe(200);
    const unauthorized = await fetch(`${h.url}/v1/functions/js-info/instances`);
    expect(unauthorized.status).toBe(401);
    const [a] = await instances(h, 'js-info');
    expect(a).toMatchObject({ tier: 'isolate', state: 'idle', version: '$LATEST', inFlight: 0, callsServed: 1 });
    expect(typeof a!.id).toBe('string');
    expect(a!.digest).toMatch(/\S/);
    expect(a!.memoryMb).toBeGreaterThan(0);
    expect(a!.detail).toMatchObject({ memoryLimitMb: 128 });
    for (const k of ['ageMs', 'idleMs', 'createdAt', 'lastUsedAt'] as const) expect(Number.isFinite(a![k]), k).toBe(true);
    expect(a!.ageMs).toBeGreaterThanOrEqual(a!.idleMs);
    expect(a!.lastUsedAt).toBeGreaterThanOrEqual(a!.createdAt);
    // While a call runs: busy, one in flight, idle for 0.
    const running = call(h, 'js-info', { ms: 1_500 });
    await until(async () => (await instances(h, 'js-info'))[0]?.inFlight === 1, 5_000, 'the call is running');
    const [busy] = await instances(h, 'js-info');
    expect(busy).toMatchObject({ id: a!.id, state: 'busy', inFlight: 1, idleMs: 0 });
    expect(busy!.ageMs).toBeGreaterThan(a!.ageMs);
    expect((await running).status).toBe(200);
    const [after] = await instances(h, 'js-info');
    expect(after).toMatchObject({ id: a!.id, state: 'idle', inFlight: 0, callsServed: 2 });
    expect(after!.lastUsedAt).toBeGreaterThan(a!.lastUsedAt);
  }, 30_000);

  it('X-Hearth-Force-Cold: admin only; a fresh instance, cold, within maxInstances', async () => {
    await deploy(h, 'js-cold', js(JS_HOLD, { maxInstances: 2 }));
    expect((await call(h, 'js-cold')).cold).toBe('true');
    expect((await call(h, 'js-cold')).cold).toBe('false');
    const before = (await instances(h, 'js-cold')).map((i) => i.id);
    expect(before).toHaveLength(1);

    const refused = await call(h, 'js-cold', {}, { 'x-hearth-force-cold': 'true' });
    expect(refused.status).toBe(401);
    expect(refused.body.errorType).toBe('Unauthorized');
    expect((await instances(h, 'js-cold')).map((i) => i.id)).toEqual(before);

    const forced = await call(h, 'js-cold', {}, { 'x-hearth-force-cold': 'true', ...AUTH });
    expect([forced.status, forced.cold], forced.text).toEqual([200, 'true']);
    const two = await instances(h, 'js-cold');
    expect(two).toHaveLength(2);
    const fresh = two.find((i) => !before.includes(i.id));
    expect(fresh?.callsServed).toBe(1);

    // At maxInstances (2): the least recently used idle instance makes room for the fresh one.
    const again = await call(h, 'js-cold', {}, { 'x-hearth-force-cold': 'true', ...AUTH });
    expect([again.status, again.cold], again.text).toEqual([200, 'true']);
    const now = await instances(h, 'js-cold');
    expect(now).toHaveLength(2);
    expect(now.map((i) => i.id)).not.toContain(before[0]);
    expect(now.map((i) => i.id)).toContain(fresh!.id);
  }, 30_000);
});

describe('the maxInstances × concurrency cap with no wait queue (--wait-queue-size 0)', () => {
  let h: Hearth;
  beforeAll(async () => {
    await requireDocker();
    h = await startHearth({ args: ['--sweep-interval-ms', '50', '--wait-queue-size', '0'], env: { HEARTH_STEM_CELLS: '1' } });
  });
  afterAll(async () => { await h?.stop(); });

  it('js: a burst of 10 at concurrency 2 × maxInstances 2: 4 run, 6 get 429 at once', async () => {
    await deploy(h, 'js-cap', js(JS_HOLD, { concurrency: 2, maxInstances: 2, timeoutMs: 20_000 }));
    const rs = await Promise.all(Array.from({ length: 10 }, () => call(h, 'js-cap', { ms: 2_000 })));
    expect(rs.map((r) => r.status).sort(), JSON.stringify(rs.map((r) => r.text))).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    for (const r of rs.filter((x) => x.status === 429)) {
      expect(r.body.errorType).toBe('TooManyRequests');
      expect(r.body.errorMessage).toMatch(/concurrency 2, maxInstances 2/);
    }
    // No instance held more than its concurrency, and there were never more than maxInstances.
    expect(rs.filter((r) => r.status === 200).every((r) => r.body.peak <= 2)).toBe(true);
    expect((await instances(h, 'js-cap')).length).toBe(2);
  }, 30_000);

  it('python3: a burst of 5 at concurrency 1 × maxInstances 2: 2 run, 3 get 429 at once', async () => {
    await deploy(h, 'py-cap', py(HOLD, { concurrency: 1, maxInstances: 2, timeoutMs: 20_000 }));
    const rs = await Promise.all(Array.from({ length: 5 }, () => call(h, 'py-cap', { hold: 3 })));
    expect(rs.map((r) => r.status).sort(), JSON.stringify(rs.map((r) => r.text))).toEqual([200, 200, 429, 429, 429]);
    for (const r of rs.filter((x) => x.status === 429)) expect(r.body.errorType).toBe('TooManyRequests');
    const ok = rs.filter((r) => r.status === 200);
    expect(ok.every((r) => r.body.peak === 1)).toBe(true);
    expect(new Set(ok.map((r) => r.body.host)).size).toBe(2);
    expect((await instances(h, 'py-cap')).length).toBe(2);
  }, 60_000);
});

describe('autoscaling, python3 containers', () => {
  let h: Hearth;
  beforeAll(async () => {
    await requireDocker();
    h = await startHearth({ args: ['--sweep-interval-ms', '50', '--scale-down-delay-ms', '200'], env: { HEARTH_LOG_LEVEL: 'debug', HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_STEM_CELLS: '1' } });
  });
  afterAll(async () => { await h?.stop(); });

  const containersOf = async (pid: number) =>
    (await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.managed=${pid}`, 'hearth.runtime=python3'] }) })).map((c) => c.Id.slice(0, 12));

  it('scales up under sustained load (concurrency 1); when it drops to a trickle the surplus goes, the last container only at its keepalive', async () => {
    const keepAliveMs = 2_000;
    await deploy(h, 'py-scale', py(HOLD, { concurrency: 1, maxInstances: 3, keepAliveMs }));
    const gone = await scaleUpThenDown(h, 'py-scale', { busy: { hold: 0.3 }, quick: {}, workers: 3, keepAliveMs, scaleUpMs: 40_000 });
    // The released containers are removed from Docker.
    const ids = gone.map((g) => g.detail.container!);
    await until(async () => { const left = await containersOf(h.proc.pid!); return ids.every((c) => !left.includes(c)); }, 15_000, 'the released containers are removed');
  }, 120_000);

  it('a reserved container killed from outside is replaced without waiting for a call', async () => {
    await deploy(h, 'py-reserved', py(HOLD, { minInstances: 1 }));
    await until(async () => (await instances(h, 'py-reserved')).some((i) => i.state === 'idle'), 30_000, 'the reserved container');
    const [first] = await instances(h, 'py-reserved');
    const container = first!.detail.container!;
    await docker.getContainer(container).kill();
    await until(async () => {
      const now = await instances(h, 'py-reserved');
      return now.length === 1 && now[0]!.id !== first!.id && now[0]!.state === 'idle';
    }, 30_000, async () => `instances: ${JSON.stringify(await instances(h, 'py-reserved'))}`);
    const [second] = await instances(h, 'py-reserved');
    expect(second!.callsServed).toBe(0);
    expect(second!.detail.container).not.toBe(container);
    const r = await call(h, 'py-reserved');
    expect([r.status, r.cold], r.text).toEqual([200, 'false']);
    expect(r.body.host).toBe(second!.detail.container);
  }, 60_000);
});

// Its own Hearth with the default scale-down delay: with the 200 ms one above, the first container
// (idle through the forced cold start) could be released as surplus before the instances were listed.
describe('X-Hearth-Force-Cold, python3 containers', () => {
  let h: Hearth;
  beforeAll(async () => {
    await requireDocker();
    h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_STEM_CELLS: '1' } });
  });
  afterAll(async () => { await h?.stop(); });

  it('the instances API and X-Hearth-Force-Cold for a container function', async () => {
    await deploy(h, 'py-cold', py(HOLD));
    const first = await call(h, 'py-cold');
    expect([first.status, first.cold], first.text).toEqual([200, 'true']);
    const [a] = await instances(h, 'py-cold');
    expect(a).toMatchObject({ tier: 'container', state: 'idle', version: '$LATEST', inFlight: 0, callsServed: 1 });
    expect(a!.detail.container).toBe(first.body.host);
    expect(a!.memoryMb).toBeGreaterThan(0);
    expect(a!.ageMs).toBeGreaterThanOrEqual(a!.idleMs);

    const refused = await call(h, 'py-cold', {}, { 'x-hearth-force-cold': 'true' });
    expect(refused.status).toBe(401);
    expect((await instances(h, 'py-cold')).map((i) => i.id)).toEqual([a!.id]);

    const forced = await call(h, 'py-cold', {}, { 'x-hearth-force-cold': 'true', ...AUTH });
    expect([forced.status, forced.cold], forced.text).toEqual([200, 'true']);
    const now = await instances(h, 'py-cold');
    expect(now).toHaveLength(2);
    const fresh = now.find((i) => i.id !== a!.id)!;
    expect(fresh.callsServed).toBe(1);
    expect(forced.body.host).toBe(fresh.detail.container);
    expect(forced.body.host).not.toBe(first.body.host);
  }, 60_000);
});
