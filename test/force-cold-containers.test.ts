// What `hearth bench` needs of Hearth, container tier (issue 21): X-Hearth-Force-Cold `true` takes
// a stem cell from the reserve, `scratch` starts a container from nothing and leaves the reserve
// alone; X-Hearth-Cold-Start says which, honestly: a function whose memory size has no stem cells,
// and a custom image (no reserve at all), say scratch even when asked for `true`. GET /readyz's
// reserve counts the stem cells. Real Docker, real containers; nothing is timed.

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../container-fallback/images.js';
import { reserveFor, reserveFull, reserveState } from '../core/measure/reserve-state.js';
import { buildEchoImage, removeImage } from './support/container-fixtures.js';
import { startHearth, type Hearth } from './support/hearth.js';
import { py } from './support/python.js';
import { waitFor } from './support/until.js';

const ADMIN = 'force-cold-containers-admin-token-0123456789';
const AS_ADMIN = { authorization: `Bearer ${ADMIN}` };
const TOKENS = { adminToken: ADMIN };
const IMAGE = `hearth-test-force-cold:${process.pid}`;
const ECHO = 'def main_handler(event, context):\n    return {"ok": True}\n';

let h: Hearth;

beforeAll(async () => {
  const docker = new Docker();
  try {
    await docker.ping();
    await docker.getImage(runtimeImageTag('python3')).inspect();
  } catch (err) {
    throw new Error(`these tests need a Docker engine and the python3 runtime image (${(err as Error).message}): run \`bash scripts/setup-images.sh\``);
  }
  buildEchoImage(IMAGE);
  h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_STEM_CELLS: '1' } });
  await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, 60_000, 'ready: the stem cells are started');
}, 90_000);

afterAll(async () => {
  await h?.stop();
  removeImage(IMAGE);
});

async function deploy(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...AS_ADMIN }, body: JSON.stringify(spec) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

async function answer(r: Response) {
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), coldStart: r.headers.get('x-hearth-cold-start'), initMs: Number(r.headers.get('x-hearth-init-ms')), body, text };
}

const invoke = async (name: string, headers: Record<string, string> = {}) => answer(await fetch(`${h.url}/v1/functions/${name}/invoke`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"name":"x"}', signal: AbortSignal.timeout(30_000),
}));

/** Until a python3 cold start would meet a full reserve (its stem cell started again). */
const fullStems = (runtime = 'python3') => waitFor(async () => {
  const s = await reserveState(h.url, TOKENS);
  return s !== null && reserveFull(s, runtime) && s;
}, 30_000, `the ${runtime} stem cell is started again`, 100);

describe('stem cells and X-Hearth-Force-Cold', () => {
  it('GET /readyz counts the stem cells per runtime, at the size they are made', async () => {
    const s = await fullStems();
    expect(s.containers.python3).toMatchObject({ ready: 1, target: 1 });
    expect(s.containers.java17).toMatchObject({ ready: 1, target: 1 });
    expect(s.containers.python3!.memoryMb).toBeGreaterThan(0);
    expect(reserveFor(s, 'python3')).toEqual(s.containers.python3);
    expect(reserveFor(s, 'python3', s.containers.python3!.memoryMb! * 2)).toBeNull();
  });

  it('python3: a cold call takes the stem cell (reserve); true takes one too; scratch starts a container and leaves the reserve full', async () => {
    await deploy('pycold', py(ECHO));
    await fullStems();
    const first = await invoke('pycold');
    expect([first.status, first.cold, first.coldStart], first.text).toEqual([200, 'true', 'reserve']);
    const warm = await invoke('pycold');
    expect([warm.status, warm.cold, warm.coldStart], warm.text).toEqual([200, 'false', null]);

    await fullStems();
    const fresh = await invoke('pycold', { 'x-hearth-force-cold': 'true', ...AS_ADMIN });
    expect([fresh.status, fresh.cold, fresh.coldStart], fresh.text).toEqual([200, 'true', 'reserve']);

    const full = await fullStems();
    const scratch = await invoke('pycold', { 'x-hearth-force-cold': 'scratch', ...AS_ADMIN });
    expect([scratch.status, scratch.cold, scratch.coldStart], scratch.text).toEqual([200, 'true', 'scratch']);
    expect(scratch.initMs).toBeGreaterThan(0);
    expect((await reserveState(h.url, TOKENS))!.containers.python3).toEqual(full.containers.python3);

    // The web route (a function URL event for python3) takes it the same way.
    const viaWeb = await answer(await fetch(`${h.url}/v1/web/pycold/x`, { headers: { 'x-hearth-force-cold': 'scratch', ...AS_ADMIN } }));
    expect([viaWeb.status, viaWeb.cold, viaWeb.coldStart], viaWeb.text).toEqual([200, 'true', 'scratch']);
  }, 60_000);

  it('says scratch when there was no stem cell to take: another memory size, a custom image', async () => {
    const s = await fullStems();
    await deploy('pybig', py(ECHO, { memoryMb: s.containers.python3!.memoryMb! * 2 }));
    const big = await invoke('pybig', { 'x-hearth-force-cold': 'true', ...AS_ADMIN });
    expect([big.status, big.cold, big.coldStart], big.text).toEqual([200, 'true', 'scratch']);

    await deploy('img', { runtime: 'image', image: IMAGE, timeoutMs: 10_000 });
    const img = await invoke('img', { 'x-hearth-force-cold': 'true', ...AS_ADMIN });
    expect([img.status, img.cold, img.coldStart], img.text).toEqual([200, 'true', 'scratch']);
    expect(img.body).toEqual({ ok: true, name: 'x' });
    const again = await invoke('img');
    expect([again.status, again.cold, again.coldStart], again.text).toEqual([200, 'false', null]);
  }, 60_000);
});
