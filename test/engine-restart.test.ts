// The Docker engine stopping for real, and coming back: a Hearth process on a private dockerd that
// this test owns (test/support/private-dockerd.ts) — the system engine goes on serving the other
// test files. While the engine is stopped, container functions answer 503 at once and JS
// functions go on answering 200; once it is back, container functions answer 200 again from a
// fresh (cold) container: the containers the stop killed are not used as warm ones, the stem-cell
// reserve refills (also when the engine stopped while a stem cell was starting), and nothing of
// this Hearth is left in the engine after it stops.
//
// The tests run in order on one engine and one Hearth (HEARTH_STEM_CELLS=1). They need root and
// dockerd (npm test's set-up installs it); without them they fail saying why, like every other
// test that needs Docker: none of them skips.

import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MANAGED_LABEL, NETWORK_NAME } from '../container-fallback/contract.js';
import { runtimeImageTag } from '../container-fallback/images.js';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';
import { createPrivateDockerd, type PrivateDockerd } from './support/private-dockerd.js';
import { waitFor } from './support/until.js';

const PY_TAG = runtimeImageTag('python3');
const MANAGED = MANAGED_LABEL;
/** No single call may take longer than this: a call that hangs fails the test (not a timing claim). */
const CALL_GUARD_MS = 20_000;
/**
 * How long the stem-cell reserve may take to be full again: generous (a stem cell starts in well
 * under 1 s here), and shorter than the 30 s a stem cell's start may wait for its server, so that a
 * reserve stuck behind a start that an engine stop cut short is seen as stuck.
 */
const STEM_DEADLINE_MS = 15_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const py = (source: string) => ({ runtime: 'python3', handler: 'index.main_handler', code: { source } });

let d: PrivateDockerd | undefined;
let h: Hearth | undefined;
let hearthPid = 0;
/** The id of Hearth's functions network in the private engine. */
let networkId = '';
/** Every container of this Hearth seen before an engine stop (the stops killed them). */
const killedByStops = new Set<string>();

/** How long each phase took, printed after each test (for reading, never asserted). */
let phases: string[] = [];
let phaseStart = 0;
function phase(name: string): void {
  const now = Date.now();
  phases.push(`${name} ${now - phaseStart} ms`);
  phaseStart = now;
}

interface Answer { status: number; cold: string | null; contentType: string | null; text: string }

async function call(name: string, event: unknown = {}): Promise<Answer> {
  let r: Response;
  try {
    r = await fetch(`${h!.url}/v1/functions/${name}/invoke`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event),
      signal: AbortSignal.timeout(CALL_GUARD_MS),
    });
  } catch (err) {
    throw new Error(`${name}: no answer in ${CALL_GUARD_MS} ms (${(err as Error).message})`);
  }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), contentType: r.headers.get('content-type'), text: await r.text() };
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const r = await fetch(`${h!.url}${path}`, { signal: AbortSignal.timeout(CALL_GUARD_MS) });
  return { status: r.status, body: await r.json() };
}

/** The containers Hearth lists as the function's instances (12-hex container id prefixes). */
async function instanceContainers(name: string): Promise<string[]> {
  const r = await getJson(`/v1/functions/${name}/instances`);
  expect(r.status).toBe(200);
  return (r.body as { instances: { detail: { container: string } }[] }).instances.map((i) => i.detail.container);
}

interface Managed { id: string; name: string; state: string; runtime: string; address: string }

/** This Hearth's containers in the private engine. */
async function managed(): Promise<Managed[]> {
  const list = await d!.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${MANAGED}=${hearthPid}`] }) });
  return list.map((c) => ({
    id: c.Id, name: c.Names[0] ?? '', state: c.State, runtime: c.Labels['hearth.runtime'] ?? '',
    address: Object.values(c.NetworkSettings?.Networks ?? {}).map((n) => n.IPAddress).find((ip) => ip) ?? '',
  }));
}

async function healthy(address: string): Promise<boolean> {
  if (!address) return false;
  try {
    const r = await fetch(`http://${address}:9000/health`, { signal: AbortSignal.timeout(1_000) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

/**
 * Waits until the stem-cell reserve is full: one running python3 container of this Hearth that is
 * no function's instance, answers /health, and is still the same one a moment later (a deploy's
 * check container is also such a container, for the few ms until its removal). Returns its id.
 */
async function readyStemCell(what: string, functions: string[]): Promise<string> {
  let last = '';
  return waitFor(async () => {
    const held = (await Promise.all(functions.map(instanceContainers))).flat();
    const stems = (await managed()).filter((c) => c.state === 'running' && c.runtime === 'python3' &&
      !held.some((i) => c.id.startsWith(i)) && !killedByStops.has(c.id));
    const one = stems.length === 1 && (await healthy(stems[0]!.address)) ? stems[0]!.id : '';
    if (one && one === last) return one;
    last = one;
    return undefined;
  }, STEM_DEADLINE_MS, what, 300);
}

/** Hearth's warnings and errors (pino JSON lines, level >= 40) logged after `from`, for failure messages. */
function hearthWarnings(from = 0): string {
  const lines = h!.log().slice(from).split('\n').filter((l) => {
    try { return (JSON.parse(l) as { level: number }).level >= 40; } catch { return false; }
  });
  return lines.length === 0 ? '(Hearth logged no warnings)' : `Hearth's warnings:\n${lines.slice(-20).join('\n')}`;
}

function waitForLog(what: string, re: RegExp, from: number): Promise<true> {
  return waitFor(() => (re.test(h!.log().slice(from)) ? true as const : undefined), 20_000, `Hearth logging that ${what}`, 100);
}

function errorJson(a: Answer): { errorType: string; errorMessage: string } {
  expect(a.contentType).toMatch(/^application\/json/);
  try {
    return JSON.parse(a.text) as { errorType: string; errorMessage: string };
  } catch {
    throw new Error(`the error body is not JSON: ${a.text}`);
  }
}

/** Stops the engine for real and waits until Hearth has noticed (its watcher pings every 2 s). */
async function stopEngine(): Promise<number> {
  for (const c of await managed()) killedByStops.add(c.id);
  const mark = h!.log().length;
  await d!.stop();
  // Waiting for what Hearth logs, rather than calling functions meanwhile, leaves its warm
  // instances alone: recovery is then checked with them in place.
  await waitForLog('the Docker engine is gone', /Docker engine is gone/, mark);
  return mark;
}

/** Starts the engine again (same data root) and waits until Hearth has noticed. */
async function startEngine(): Promise<void> {
  const mark = h!.log().length;
  await d!.start();
  // The engine kept Hearth's network (the same one: none had to be made again).
  const nets = await d!.docker.listNetworks({ filters: JSON.stringify({ name: [NETWORK_NAME] }) });
  expect(nets.filter((n) => n.Name === NETWORK_NAME).map((n) => n.Id)).toEqual([networkId]);
  // Without live-restore, what ran when the engine stopped is stopped now.
  const now = new Map((await managed()).map((c) => [c.id, c.state]));
  for (const id of killedByStops) expect(now.get(id) ?? 'gone', `container ${id.slice(0, 12)} after the engine restart`).not.toBe('running');
  await waitForLog('the Docker engine is back', /Docker engine is back/, mark);
}

describe('a real Docker engine stop and restart', () => {
  beforeAll(async () => {
    // The image comes from the system engine (npm test's set-up builds it there).
    const system = new Docker();
    const have = await system.getImage(PY_TAG).inspect().then(() => true, () => false);
    if (!have) throw new Error(`${PY_TAG} is not in the system Docker engine: run \`npm run build && bash scripts/setup-images.sh\``);
    d = await createPrivateDockerd();
    await d.start();
    await d.loadImage(PY_TAG);
    // Hearth's network, made as container-fallback/engine.ts makes it, but on a subnet of the private
    // engine's own range (see private-dockerd.ts): Hearth finds it by name and uses it.
    networkId = await d.createNetwork(NETWORK_NAME, {
      internal: true, options: { 'com.docker.network.bridge.enable_icc': 'false' }, labels: { [MANAGED]: 'network' },
    });
    h = await startHearth({ env: { DOCKER_HOST: d.host, HEARTH_STEM_CELLS: '1' } });
    hearthPid = h.proc.pid!;
  }, 180_000);

  beforeEach(() => {
    phases = [];
    phaseStart = Date.now();
  });

  afterEach((ctx) => {
    console.log(`${ctx.task.name.slice(0, 60)}…: ${phases.join('; ')}`);
  });

  afterAll(async () => {
    try {
      if (h && h.proc.exitCode === null && h.proc.signalCode === null) await h.stop();
    } finally {
      if (d) {
        const driver = d.running ? await d.storageDriver().catch(() => '?') : '(stopped)';
        console.log(`private dockerd: storage driver ${driver}; starts ${d.timings.starts.join(', ')} ms; stops ${d.timings.stops.join(', ')} ms; image loads ${JSON.stringify(d.timings.loads)} ms; idle shims killed after a stop ${d.timings.idleShimsKilled}`);
        await d.cleanup();
      }
    }
  }, 120_000);

  it('stopped: python answers 503 (no hang) and JS 200; back: python answers 200 from a new container, none of the killed ones is held', async () => {
    // Ready although this engine has no java17 image: a stem cell that cannot be made does not hold readiness.
    let ready = 0;
    for (let i = 0; i < 400 && ready !== 200; i++) {
      ready = (await fetch(`${h!.url}/readyz`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready).toBe(200);
    await deployOk(h!, 'pyrestart', py('def main_handler(event, context):\n    return "py up"\n'));
    await deployOk(h!, 'jsrestart', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => "js up"' } });

    // Both warm.
    for (let i = 0; i < 2; i++) {
      const a = await call('pyrestart');
      expect(a.status, a.text).toBe(200);
      expect(JSON.parse(a.text)).toBe('py up');
      if (i === 1) expect(a.cold).toBe('false');
      const j = await call('jsrestart');
      expect(j.status, j.text).toBe(200);
      expect(JSON.parse(j.text)).toBe('js up');
    }
    const warmBefore = await instanceContainers('pyrestart');
    expect(warmBefore).toHaveLength(1);
    // The reserve has refilled after the cold call took its stem cell: a settled state to stop in.
    await readyStemCell('a ready python3 stem cell before the stop', ['pyrestart']);
    phase('deploy, warm calls, stem cell ready');

    // The engine stops for real: dockerd gets SIGTERM, stops its containers and exits.
    const downMark = await stopEngine();
    phase('engine stopped and Hearth noticed');
    for (let i = 0; i < 3; i++) {
      const a = await call('pyrestart');
      expect(a.status, a.text).toBe(503);
      const e = errorJson(a);
      expect(e.errorType).toBe('BackendUnavailable');
      expect(e.errorMessage).toMatch(/Docker engine/);
      const j = await call('jsrestart');
      expect(j.status, j.text).toBe(200);
      expect(JSON.parse(j.text)).toBe('js up');
    }
    // Hearth itself is ready (JS serves); /readyz reports the isolates only, not the engine.
    expect((await getJson('/readyz')).status).toBe(200);
    expect((await getJson('/healthz')).status).toBe(200);

    // The engine comes back on the same data root.
    await startEngine();
    phase('calls while stopped; engine started and Hearth noticed');

    // The first answer that is not a 503 is a 200 from a new (cold) container: the warm instance
    // from before the stop died with the engine (and its address may be another container's now).
    const first = await waitFor(async () => {
      const a = await call('pyrestart');
      return a.status === 503 ? undefined : a;
    }, 40_000, 'the python function answering other than 503 after the engine came back', 250);
    expect.soft(first.status, `first call after the engine came back: ${first.status} ${first.text}`).toBe(200);
    expect.soft(first.cold, `first call after the engine came back: ${first.status} ${first.text}`).toBe('true');
    // Whatever the first answer was, the function serves again within a bounded poll.
    const ok = first.status === 200 ? first : await waitFor(async () => {
      const a = await call('pyrestart');
      return a.status === 200 ? a : undefined;
    }, 40_000, 'the python function answering 200 again', 250);
    expect(JSON.parse(ok.text)).toBe('py up');
    phase('python answers 200 again');
    const warmAgain = await call('pyrestart');
    expect(warmAgain.status, warmAgain.text).toBe(200);
    expect(warmAgain.cold).toBe('false');
    expect((await call('jsrestart')).status).toBe(200);

    // Every container Hearth holds as warm runs in the engine; none is one the stop killed.
    const warmAfter = await instanceContainers('pyrestart');
    expect(warmAfter.length).toBeGreaterThan(0);
    for (const c of warmAfter) {
      expect.soft(warmBefore, 'a warm instance from before the engine stop is still held').not.toContain(c);
      const info = await d!.docker.getContainer(c).inspect().catch(() => null);
      expect.soft(info?.State.Running, `warm instance ${c} is not a running container`).toBe(true);
    }
    // The stem-cell reserve is full again, with a new container.
    await readyStemCell('a ready python3 stem cell after the engine came back', ['pyrestart'])
      .catch((err: Error) => { expect.soft(`${err.message}; ${hearthWarnings(downMark)}`).toBe('a ready stem cell'); });
    phase('stem cell ready again');
  }, 120_000);

  it('the engine stopping while a stem cell starts: once it is back, the reserve refills and python serves', async () => {
    if (!d!.running) await startEngine();
    await readyStemCell('a ready python3 stem cell to begin with', ['pyrestart']);
    phase('stem cell ready');
    await deployOk(h!, 'pyrace', py('def main_handler(event, context):\n    return "race up"\n'));
    // The cold call takes the stem cell and the reserve starts a new one: stop the engine the
    // moment that container has started (its server needs ~100 ms more to listen).
    const events = await d!.docker.getEvents({ filters: JSON.stringify({ type: ['container'], event: ['start'], label: [`${MANAGED}=${hearthPid}`] }) });
    let startedName = '';
    const started = new Promise<void>((resolve) => {
      let buf = '';
      events.on('data', (chunk: Buffer) => {
        buf += chunk.toString('utf8');
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          try {
            const e = JSON.parse(line) as { Actor?: { Attributes?: Record<string, string> } };
            startedName = e.Actor?.Attributes?.name ?? '?';
          } catch { continue; }
          resolve();
        }
      });
      events.on('error', () => undefined);
    });
    const cold = call('pyrace').catch((err: Error) => ({ status: 0, cold: null, contentType: null, text: err.message }));
    const seen = await Promise.race([started.then(() => true), sleep(20_000).then(() => false)]);
    expect(seen, 'no new stem cell started after the cold call took the ready one').toBe(true);
    const downMark = await stopEngine();
    phase('stem cell started, engine stopped, Hearth noticed');
    (events as unknown as { destroy?: () => void }).destroy?.();
    // The cold call answers (whatever it was: the engine went away under it), and does not hang.
    const coldAnswer = await cold;
    expect([200, 500, 503, 504], `the cold call when the engine stopped: ${coldAnswer.status} ${coldAnswer.text}`).toContain(coldAnswer.status);
    const a = await call('pyrace');
    expect(a.status, a.text).toBe(503);

    await startEngine();
    phase('engine started and Hearth noticed');
    await waitFor(async () => ((await call('pyrace')).status === 200 ? true : undefined), 40_000, 'pyrace answering 200 after the engine came back', 250);
    phase('pyrace answers 200');
    // The reserve is not stuck behind the start the stop cut short (${startedName}).
    await readyStemCell(`a ready python3 stem cell after the engine came back (the stop cut short the start of ${startedName})`, ['pyrestart', 'pyrace'])
      .catch((err: Error) => { expect.soft(`${err.message}; ${hearthWarnings(downMark)}`).toBe('a ready stem cell'); });
    phase('stem cell ready again');
  }, 120_000);

  it('Hearth stops and leaves nothing of its own in the engine, the containers the stops killed included', async () => {
    if (!d!.running) await startEngine();
    // Its network is still the one it started with.
    const nets = await d!.docker.listNetworks({ filters: JSON.stringify({ name: [NETWORK_NAME] }) });
    expect(nets.filter((n) => n.Name === NETWORK_NAME).map((n) => n.Id)).toEqual([networkId]);
    const snapshot = await managed();
    const code = await h!.stop();
    expect(code).toBe(0);
    const left = await managed();
    expect(left.map((c) => `${c.name} ${c.state}${killedByStops.has(c.id) ? ' (from before an engine stop)' : ''}`),
      `this Hearth's containers at its stop were: ${snapshot.map((c) => `${c.name} ${c.state}`).join(', ')}`).toEqual([]);
  }, 60_000);
});
