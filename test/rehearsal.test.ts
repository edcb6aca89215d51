// A blank isolate made ahead of need rehearses a cold call on throwaway modules before it waits in
// the reserve (pool/isolate/boot.ts rehearse(), then the runtime's blank()), so that a cold call
// finds the runtime's paths compiled. Against a real Hearth process and real isolates: the function
// loaded into a rehearsed blank finds nothing of the rehearsal's modules, calls or state.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;

beforeAll(async () => {
  h = await startHearth({ args: ['--prewarm-isolates', '2'] });
});
afterAll(async () => {
  await h?.stop();
});

const workers = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.default', code: { source }, ...extra });

async function logsOf(name: string): Promise<{ message: string; requestId: string }[]> {
  const r = await fetch(`${h.url}/v1/functions/${name}/logs?limit=100`);
  return ((await r.json()) as { lines: { message: string; requestId: string }[] }).lines;
}

describe('a blank isolate after its rehearsal', () => {
  it('an event function finds its own name, version and limits, logs only its own lines, and answers on the web route itself', async () => {
    await deployOk(h, 'own-event', jsSource(`
exports.handler = async (event, context) => {
  console.log('own line');
  return { fn: context.functionName, version: context.functionVersion, mem: context.memoryLimitInMb, limit: context.timeLimitInMs, event };
};`, { memoryMb: 64, timeoutMs: 2_000 }));
    const r = await h.invoke('own-event', { a: 1 });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-hearth-cold')).toBe('true');
    expect(await r.json()).toEqual({ fn: 'own-event', version: '$LATEST', mem: 64, limit: 2_000, event: { a: 1 } });

    // The Lambda URL path, rehearsed too, runs this function's handler.
    const web = await fetch(`${h.url}/v1/web/own-event/p?q=2`);
    expect(web.status).toBe(200);
    const body = (await web.json()) as { fn: string; event: { rawPath: string; queryStringParameters: Record<string, string> } };
    expect(body.fn).toBe('own-event');
    expect(body.event.rawPath).toBe('/p');
    expect(body.event.queryStringParameters).toEqual({ q: '2' });

    const lines = await logsOf('own-event');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) {
      expect(l.message).toBe('own line');
      expect(l.requestId).not.toBe('hearth-rehearsal');
    }
  });

  it('a Workers module gets only its own env, and as an event function it has no handler (WrongFunctionKind)', async () => {
    await deployOk(h, 'own-web', workers(`
export default {
  async fetch(request, env) {
    return new Response(JSON.stringify({ env, url: request.url, text: await request.text() }), { status: 202 });
  },
};`, { env: { OWN: 'yes' } }));
    const r = await fetch(`${h.url}/v1/web/own-web/x?y=1`, { method: 'POST', body: 'hi' });
    expect(r.status).toBe(202);
    expect(r.headers.get('x-hearth-cold')).toBe('true');
    const body = (await r.json()) as { env: Record<string, string>; url: string; text: string };
    expect(body.env).toEqual({ OWN: 'yes' });
    expect(new URL(body.url).pathname).toBe('/x');
    expect(body.text).toBe('hi');

    // The rehearsal bound an event handler too: the blank forgot it.
    const ev = await h.invoke('own-web', {});
    expect(ev.status).toBe(400);
    expect(((await ev.json()) as { errorType: string }).errorType).toBe('WrongFunctionKind');
  });

  it('an event function that names URL gets it loaded ahead; one that reaches URL and crypto without naming them loads them on first touch, and both answer right', async () => {
    await deployOk(h, 'names-url', jsSource(`exports.handler = async (e) => ({ host: new URL(e.href).host, q: new URLSearchParams(e.qs).get('q') })`));
    const r = await h.invoke('names-url', { href: 'https://a.example:8443/p', qs: 'q=7' });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-hearth-cold')).toBe('true');
    expect(await r.json()).toEqual({ host: 'a.example:8443', q: '7' });

    await deployOk(h, 'hides-url', jsSource(`exports.handler = async (e) => {
  const U = globalThis['U' + 'RL'], P = globalThis['U' + 'RLSearch' + 'Params'], C = globalThis['cry' + 'pto'];
  return { host: new U(e.href).host, q: new P(e.qs).get('q'), same: U === new U('http://x/').constructor, id: C.randomUUID().length };
};`));
    const h2 = await h.invoke('hides-url', { href: 'https://b.example/p', qs: 'q=8' });
    expect(h2.status).toBe(200);
    expect(h2.headers.get('x-hearth-cold')).toBe('true');
    expect(await h2.json()).toEqual({ host: 'b.example', q: '8', same: true, id: 36 });
  });

  it('every new function\'s first call is cold and right, one after another, as the reserve refills', async () => {
    for (let i = 0; i < 6; i++) {
      await deployOk(h, `seq${i}`, jsSource(`exports.handler = async (e) => ({ n: ${i}, e })`));
      const r = await h.invoke(`seq${i}`, { i });
      expect(r.status).toBe(200);
      expect(r.headers.get('x-hearth-cold')).toBe('true');
      expect(await r.json()).toEqual({ n: i, e: { i } });
    }
  });
});
