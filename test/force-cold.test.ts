// What `hearth bench` needs of Hearth, isolate tier (issue 21): X-Hearth-Force-Cold on the invoke
// and web routes (admin only, never seen by the function), `scratch` (a fresh isolate made from
// nothing, the reserve of blank isolates left alone), X-Hearth-Cold-Start on every cold call and
// only on those, and GET /readyz's reserve as core/measure/reserve-state.ts reads it. A real
// Hearth; nothing is timed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reserveFor, reserveFull, reserveState } from '../core/measure/reserve-state.js';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { waitFor } from './support/until.js';

const ADMIN = 'force-cold-test-admin-token-0123456789';
const INVOKE = 'force-cold-test-invoke-token-0123456789';
const AS_ADMIN = { authorization: `Bearer ${ADMIN}` };
const AS_INVOKER = { authorization: `Bearer ${INVOKE}` };
const TOKENS = { adminToken: ADMIN };

let h: Hearth;

beforeAll(async () => {
  h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_INVOKE_TOKEN: INVOKE } });
  await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, 20_000, 'ready');
}, 30_000);

afterAll(async () => { await h?.stop(); });

async function deploy(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...AS_ADMIN }, body: JSON.stringify(spec) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

interface Answer { status: number; cold: string | null; coldStart: string | null; initMs: number; body: any }

async function answer(r: Response): Promise<Answer> {
  const text = await r.text();
  let body: any;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), coldStart: r.headers.get('x-hearth-cold-start'), initMs: Number(r.headers.get('x-hearth-init-ms')), body };
}

const invoke = async (name: string, headers: Record<string, string> = {}) => answer(await fetch(`${h.url}/v1/functions/${name}/invoke`, {
  method: 'POST', headers: { 'content-type': 'application/json', ...AS_INVOKER, ...headers }, body: '{}',
}));

const web = async (name: string, headers: Record<string, string> = {}) => answer(await fetch(`${h.url}/v1/web/${name}/here`, { headers: { ...AS_INVOKER, ...headers } }));

async function instanceCount(name: string): Promise<number> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`, { headers: AS_ADMIN });
  return ((await r.json()) as { instances: unknown[] }).instances.length;
}

/** Until a cold start of a js function would meet a full reserve of blank isolates. */
const fullReserve = () => waitFor(async () => {
  const s = await reserveState(h.url, TOKENS);
  return s !== null && reserveFull(s, 'js') && s;
}, 10_000, 'the blank isolates are all made again');

describe('GET /readyz: the reserve', () => {
  it('says how many blank isolates and stem cells are ready against how many are kept', async () => {
    const r = await fetch(`${h.url}/readyz`);
    expect(r.status).toBe(200);
    const { reserve } = await r.json() as { reserve: any };
    expect(reserve.isolates.target).toBe(2); // --prewarm-isolates 2 (test/support/hearth.ts)
    expect(reserve.isolates.ready).toBeLessThanOrEqual(reserve.isolates.target);
    expect(Object.keys(reserve.isolates.kinds)).toContain('128MiB:event');
    expect(reserve.isolates.kinds['128MiB:event']).toMatchObject({ target: 2, memoryMb: 128 });
    expect(Object.keys(reserve.containers).sort()).toEqual(['java17', 'python3']);
    for (const c of Object.values(reserve.containers) as { ready: number; target: number }[]) expect(c.ready).toBeLessThanOrEqual(c.target);

    const s = await fullReserve();
    expect(s.isolates.ready).toBe(s.isolates.target);
    expect(reserveFor(s, 'js')).toEqual(s.isolates);
    expect(reserveFor(s, 'js', 128)).toMatchObject({ ready: 2, target: 2 });
    expect(reserveFor(s, 'image')).toBeNull();
  });
});

describe('X-Hearth-Force-Cold on the invoke route', () => {
  it('true: a fresh instance from the reserve; scratch: one made from scratch, the reserve left as it was; X-Hearth-Cold-Start only on cold calls', async () => {
    await deploy('iso', jsSource('exports.handler = async () => ({ ok: true });'));
    await fullReserve();
    const first = await invoke('iso');
    expect([first.status, first.cold, first.coldStart]).toEqual([200, 'true', 'reserve']);
    const warm = await invoke('iso');
    expect([warm.status, warm.cold, warm.coldStart]).toEqual([200, 'false', null]);

    await fullReserve();
    const fresh = await invoke('iso', { 'x-hearth-force-cold': 'true', ...AS_ADMIN });
    expect([fresh.status, fresh.cold, fresh.coldStart]).toEqual([200, 'true', 'reserve']);
    expect(fresh.initMs).toBeGreaterThan(0);

    const full = await fullReserve();
    const scratch = await invoke('iso', { 'x-hearth-force-cold': 'scratch', ...AS_ADMIN });
    expect([scratch.status, scratch.cold, scratch.coldStart]).toEqual([200, 'true', 'scratch']);
    expect(scratch.initMs).toBeGreaterThan(0);
    // Nothing was taken from the reserve: it is as full as it was, with no refill needed.
    expect((await reserveState(h.url, TOKENS))!.isolates).toEqual(full.isolates);
    expect(await instanceCount('iso')).toBe(3);
  });

  it('admin only; a value Hearth does not know is a 400, not a guess', async () => {
    const refused = await invoke('iso', { 'x-hearth-force-cold': 'scratch' });
    expect([refused.status, refused.body.errorType]).toEqual([401, 'Unauthorized']);
    const bad = await invoke('iso', { 'x-hearth-force-cold': 'yes', ...AS_ADMIN });
    expect([bad.status, bad.body.errorType]).toEqual([400, 'InvalidRequestContent']);
    expect(bad.body.errorMessage).toContain('true, scratch');
    const off = await invoke('iso', { 'x-hearth-force-cold': 'false' });
    expect([off.status, off.cold]).toEqual([200, 'false']);
  });
});

describe('X-Hearth-Force-Cold on the web route', () => {
  it('a fresh instance for a web call too (admin only), and the function never sees the header', async () => {
    await deploy('webfn', jsSource(`export default {
      async fetch(request) {
        return Response.json({ forceCold: request.headers.get('x-hearth-force-cold'), auth: request.headers.get('authorization') });
      },
    };`, {}, 'index.default'));
    await fullReserve();
    const first = await web('webfn');
    expect([first.status, first.cold, first.coldStart]).toEqual([200, 'true', 'reserve']);
    const warm = await web('webfn');
    expect([warm.status, warm.cold, warm.coldStart]).toEqual([200, 'false', null]);
    expect(await instanceCount('webfn')).toBe(1);

    const refused = await web('webfn', { 'x-hearth-force-cold': 'true' });
    expect([refused.status, refused.body.errorType]).toEqual([401, 'Unauthorized']);
    expect(await instanceCount('webfn')).toBe(1);

    await fullReserve();
    const fresh = await web('webfn', { 'x-hearth-force-cold': 'true', ...AS_ADMIN });
    expect([fresh.status, fresh.cold, fresh.coldStart]).toEqual([200, 'true', 'reserve']);
    expect(fresh.body).toEqual({ forceCold: null, auth: null });

    const scratch = await web('webfn', { 'x-hearth-force-cold': 'scratch', ...AS_ADMIN });
    expect([scratch.status, scratch.cold, scratch.coldStart]).toEqual([200, 'true', 'scratch']);
    expect(scratch.body).toEqual({ forceCold: null, auth: null });
    expect(await instanceCount('webfn')).toBe(3);

    const bad = await web('webfn', { 'x-hearth-force-cold': 'later', ...AS_ADMIN });
    expect([bad.status, bad.body.errorType]).toEqual([400, 'InvalidRequestContent']);
  });
});
