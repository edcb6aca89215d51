// Tokens on a real Hearth process: the admin token for management, the optional invoke token for
// invoke, web and CloudEvents calls (the admin token works there too); neither is logged, and a web function
// never sees the invoke token.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

const ADMIN = 'admin-token-0123456789';
const INVOKE = 'invoke-token-0123456789';
const METRICS = 'metrics-token-0123456789';
let h: Hearth;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

beforeAll(async () => {
  h = await startHearth({ args: ['--no-docker'], env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_INVOKE_TOKEN: INVOKE, HEARTH_METRICS_TOKEN: METRICS } });
  const put = (name: string, spec: unknown) => fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...bearer(ADMIN) }, body: JSON.stringify(spec) });
  expect((await put('hello', jsSource('exports.handler = async (e) => ({ hello: e.name });'))).status).toBe(201);
  expect((await put('web', { runtime: 'js', handler: 'index.default', code: { source: "export default { fetch(req) { return new Response(req.headers.get('authorization') ?? 'none'); } };" } })).status).toBe(201);
});
afterAll(async () => { await h?.stop(); });

const invoke = (headers: Record<string, string>) => fetch(`${h.url}/v1/functions/hello/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"name":"a"}' });

describe('tokens', () => {
  it('invoke and web calls need the invoke token (or the admin token) when one is set', async () => {
    for (const headers of [{}, bearer('wrong-token-0123456789'), { authorization: INVOKE }, bearer(`${INVOKE}x`)]) {
      const r = await invoke(headers);
      expect(r.status).toBe(401);
      expect((await r.json() as { errorType: string }).errorType).toBe('Unauthorized');
    }
    expect((await invoke(bearer(INVOKE))).status).toBe(200);
    expect((await invoke(bearer(ADMIN))).status).toBe(200);
    expect((await fetch(`${h.url}/v1/web/web/`)).status).toBe(401);
    const w = await fetch(`${h.url}/v1/web/web/`, { headers: bearer(INVOKE) });
    expect(w.status).toBe(200);
    expect(await w.text()).toBe('none'); // Hearth's credential is not passed to the function
  });

  it('CloudEvents in (POST /v1/events) need the invoke token as invoke calls do', async () => {
    const ce = (headers: Record<string, string>) => fetch(`${h.url}/v1/events/hello`, {
      method: 'POST', body: '{"name":"ce"}',
      headers: { 'ce-specversion': '1.0', 'ce-id': `auth-${Math.random()}`, 'ce-source': '/auth', 'ce-type': 't', 'content-type': 'application/json', ...headers },
    });
    for (const headers of [{}, bearer('wrong-token-0123456789')]) {
      const r = await ce(headers);
      expect(r.status).toBe(401);
      expect((await r.json() as { errorType: string }).errorType).toBe('Unauthorized');
    }
    expect((await ce(bearer(INVOKE))).status).toBe(202);
    expect((await ce(bearer(ADMIN))).status).toBe(202);
  });

  it('management needs the admin token: the invoke token is not enough', async () => {
    expect((await fetch(`${h.url}/v1/functions`)).status).toBe(401);
    expect((await fetch(`${h.url}/v1/functions`, { headers: bearer(INVOKE) })).status).toBe(401);
    expect((await fetch(`${h.url}/v1/functions`, { headers: bearer(ADMIN) })).status).toBe(200);
  });

  it('GET /metrics takes the metrics token or the admin token; the metrics token opens nothing else', async () => {
    const metrics = (headers: Record<string, string>) => fetch(`${h.url}/metrics`, { headers });
    for (const headers of [{}, bearer(INVOKE), bearer('wrong-token-0123456789')]) {
      const r = await metrics(headers);
      expect(r.status).toBe(401);
      expect((await r.json() as { errorMessage: string }).errorMessage).toContain('HEARTH_METRICS_TOKEN');
    }
    const ok = await metrics(bearer(METRICS));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('\nhearth_invocations_in_flight ');
    expect((await metrics(bearer(ADMIN))).status).toBe(200);
    expect((await fetch(`${h.url}/v1/functions`, { headers: bearer(METRICS) })).status).toBe(401);
    expect((await invoke(bearer(METRICS))).status).toBe(401);
  });

  it('no token appears in Hearth\'s own log', async () => {
    await invoke(bearer('wrong-token-0123456789'));
    expect(h.log()).not.toContain(ADMIN);
    expect(h.log()).not.toContain(INVOKE);
    expect(h.log()).not.toContain(METRICS);
  });
});
