// Web functions end to end: real Hearth process, real uWS, real isolates, real HTTP both ways
// (an outbound fetch goes to a real node:http server on loopback).

import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;
let upstream: http.Server;
let upstreamPort = 0;

const workers = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.default', code: { source }, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 5_000);
      res.setHeader('content-type', 'application/json');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString('utf8'), xTest: req.headers['x-test'] ?? null }));
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  h = await startHearth();
});

afterAll(async () => {
  await h?.stop();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
});

describe('Workers fetch handlers at /v1/web/{name}', () => {
  it('gets method, path with query, headers and body; its status, headers and body come back unchanged', async () => {
    await deployOk(h, 'echo', workers(`
      export default {
        async fetch(request, env, ctx) {
          const u = new URL(request.url);
          const body = await request.text();
          return new Response(JSON.stringify({
            method: request.method, path: u.pathname, q: u.searchParams.get('q'), host: u.host,
            header: request.headers.get('x-thing'), prefix: request.headers.get('x-forwarded-prefix'), body, env: env.GREETING,
          }), { status: 201, statusText: 'Made It', headers: { 'content-type': 'application/json', 'x-out': 'yes' } });
        },
      };`, { env: { GREETING: 'hi' } }));
    const r = await fetch(`${h.url}/v1/web/echo/a/b%20c?q=1&q=2`, { method: 'PATCH', headers: { 'x-thing': 'thing' }, body: 'hello' });
    expect(r.status).toBe(201);
    expect(r.statusText).toBe('Made It');
    expect(r.headers.get('x-out')).toBe('yes');
    expect(r.headers.get('x-hearth-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await r.json()).toEqual({
      method: 'PATCH', path: '/a/b%20c', q: '1', host: `127.0.0.1:${h.port}`, header: 'thing', prefix: '/v1/web/echo', body: 'hello', env: 'hi',
    });
    const root = await fetch(`${h.url}/v1/web/echo`);
    expect(((await root.json()) as { path: string }).path).toBe('/');
  });

  it('carries binary bodies both ways byte for byte, up to the body limit, and streams where the API has streams', async () => {
    await deployOk(h, 'binary', workers(`
      export default {
        async fetch(request) {
          const u = new URL(request.url);
          if (u.pathname === '/echo') return new Response(await request.arrayBuffer(), { headers: { 'content-type': 'application/octet-stream' } });
          if (u.pathname === '/stream-in') {
            const reader = request.body.getReader();
            let total = 0, chunks = 0;
            for (;;) { const { done, value } = await reader.read(); if (done) break; total += value.byteLength; chunks++; }
            return Response.json({ total, chunks: chunks > 0 });
          }
          if (u.pathname === '/stream-out') {
            const n = Number(u.searchParams.get('n'));
            let i = 0;
            return new Response(new ReadableStream({
              pull(c) { if (i === n) return c.close(); const b = new Uint8Array(1024); b.fill(i % 256); c.enqueue(b); i++; },
            }));
          }
          return new Response('?', { status: 404 });
        },
      };`));
    const all = new Uint8Array(256 * 8);
    for (let i = 0; i < all.length; i++) all[i] = i % 256;
    const r = await fetch(`${h.url}/v1/web/binary/echo`, { method: 'POST', body: all });
    expect(r.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.from(all))).toBe(true);

    const big = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    const rb = await fetch(`${h.url}/v1/web/binary/echo`, { method: 'POST', body: big });
    expect(rb.status).toBe(200);
    expect(Buffer.from(await rb.arrayBuffer()).equals(Buffer.from(big))).toBe(true);

    const si = await fetch(`${h.url}/v1/web/binary/stream-in`, { method: 'POST', body: big });
    expect(await si.json()).toEqual({ total: big.length, chunks: true });

    const so = await fetch(`${h.url}/v1/web/binary/stream-out?n=300`);
    const got = Buffer.from(await so.arrayBuffer());
    expect(got.length).toBe(300 * 1024);
    expect(got[1024 * 299]).toBe(299 % 256);

    const tooBig = await fetch(`${h.url}/v1/web/binary/echo`, { method: 'POST', body: new Uint8Array(7 * 1024 * 1024) });
    expect(tooBig.status).toBe(413);
    expect(((await tooBig.json()) as { errorType: string }).errorType).toBe('RequestTooLarge');
  });

  it('answers HEAD without a body, and 204 and multiple Set-Cookie headers as given', async () => {
    await deployOk(h, 'heads', workers(`
      export default {
        async fetch(request) {
          const u = new URL(request.url);
          if (u.pathname === '/none') return new Response(null, { status: 204 });
          const headers = new Headers({ 'content-type': 'text/plain' });
          headers.append('Set-Cookie', 'a=1; Path=/');
          headers.append('Set-Cookie', 'b=2; HttpOnly');
          return new Response('body text', { headers });
        },
      };`));
    const head = await fetch(`${h.url}/v1/web/heads/x`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const none = await fetch(`${h.url}/v1/web/heads/none`);
    expect(none.status).toBe(204);
    const r = await fetch(`${h.url}/v1/web/heads/x`);
    expect(r.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
    expect(await r.text()).toBe('body text');
  });

  it('NAME:QUALIFIER reaches a version or an alias; the function still sees its own path', async () => {
    const src = (v: number) => workers(`export default { fetch: (req) => Response.json({ v: ${v}, path: new URL(req.url).pathname, prefix: req.headers.get('x-forwarded-prefix') }) };`);
    const api = (method: string, path: string, body?: unknown) => fetch(`${h.url}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    await deployOk(h, 'webver', src(1));
    expect((await api('POST', '/v1/functions/webver/versions')).status).toBe(201);
    await deployOk(h, 'webver', src(2));
    expect((await api('PUT', '/v1/functions/webver/aliases/live', { version: '1' })).status).toBe(201);
    const live = await fetch(`${h.url}/v1/web/webver:live/a/b?q=1`);
    expect(live.headers.get('x-hearth-executed-version')).toBe('1');
    expect(await live.json()).toEqual({ v: 1, path: '/a/b', prefix: '/v1/web/webver:live' });
    expect(await (await fetch(`${h.url}/v1/web/webver:1/`)).json()).toMatchObject({ v: 1 });
    expect(await (await fetch(`${h.url}/v1/web/webver/`)).json()).toMatchObject({ v: 2 });
    const nope = await fetch(`${h.url}/v1/web/webver:staging/`);
    expect(nope.status).toBe(404);
    expect(((await nope.json()) as { errorType: string }).errorType).toBe('VersionNotFound');
  });

  it('a HEAD call leaves its kept-alive connection good for the next request', async () => {
    await deployOk(h, 'heads2', workers(`export default { fetch: () => new Response('twelve bytes') };`));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const one = (method: string) => new Promise<{ status: number; body: string; length: string | undefined; socket: unknown }>((resolve, reject) => {
      const req = http.request(`${h.url}/v1/web/heads2/x`, { method, agent }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, length: res.headers['content-length'], socket: req.socket }));
      });
      req.on('error', reject);
      req.end();
    });
    try {
      const sockets = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        const head = await one('HEAD');
        expect([head.status, head.body, head.length]).toEqual([200, '', '12']);
        const get = await one('GET');
        expect([get.status, get.body]).toEqual([200, 'twelve bytes']);
        sockets.add(head.socket).add(get.socket);
      }
      expect(sockets.size).toBe(1); // one connection throughout
    } finally {
      agent.destroy();
    }
  });

  it('keeps ctx.waitUntil work going after the response, within the timeout, and records its logs', async () => {
    await deployOk(h, 'later', workers(`
      let done = 0;
      export default {
        async fetch(request, env, ctx) {
          if (new URL(request.url).pathname === '/status') return Response.json({ done });
          ctx.waitUntil(new Promise((r) => setTimeout(() => { done++; console.log('waitUntil finished'); r(); }, 150)));
          return Response.json({ done });
        },
      };`, { maxInstances: 1 }));
    const r = await fetch(`${h.url}/v1/web/later/start`);
    expect(await r.json()).toEqual({ done: 0 });
    const id = r.headers.get('x-hearth-request-id')!;
    await sleep(400);
    expect(await (await fetch(`${h.url}/v1/web/later/status`)).json()).toEqual({ done: 1 });
    const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { logs: { message: string }[]; invocationType: string };
    expect(rec.invocationType).toBe('Web');
    expect(rec.logs.map((l) => l.message)).toContain('waitUntil finished');
  });

  it('cancels waitUntil work still running at the deadline, and says so in the call\'s logs', async () => {
    await deployOk(h, 'overtime', workers(`
      export default {
        async fetch(request, env, ctx) {
          ctx.waitUntil(new Promise(() => {}));
          return new Response('ok');
        },
      };`, { timeoutMs: 300 }));
    const r = await fetch(`${h.url}/v1/web/overtime/`);
    expect(await r.text()).toBe('ok');
    const id = r.headers.get('x-hearth-request-id')!;
    await sleep(600);
    const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { logs: { message: string }[] };
    expect(rec.logs.some((l) => /waitUntil work was still running/.test(l.message))).toBe(true);
    // The instance is not broken by it.
    expect(await (await fetch(`${h.url}/v1/web/overtime/`)).text()).toBe('ok');
  });

  it('gives an event function the Lambda function URL event and maps its result', async () => {
    await deployOk(h, 'lambdaurl', {
      runtime: 'js', handler: 'index.handler', code: { source: `
        exports.handler = async (event) => {
          if (event.rawPath === '/plain') return { hello: 'world' };
          return { statusCode: 202, headers: { 'x-kind': 'lambda' }, cookies: ['c=3'], body: JSON.stringify({
            method: event.requestContext.http.method, rawPath: event.rawPath, q: event.queryStringParameters, body: event.body, b64: event.isBase64Encoded,
          }) };
        };` },
    });
    const r = await fetch(`${h.url}/v1/web/lambdaurl/p/q?x=1`, { method: 'POST', body: 'text body' });
    expect(r.status).toBe(202);
    expect(r.headers.get('x-kind')).toBe('lambda');
    expect(r.headers.getSetCookie()).toEqual(['c=3']);
    expect(await r.json()).toEqual({ method: 'POST', rawPath: '/p/q', q: { x: '1' }, body: 'text body', b64: false });
    const plain = await fetch(`${h.url}/v1/web/lambdaurl/plain`);
    expect(plain.headers.get('content-type')).toBe('application/json');
    expect(await plain.json()).toEqual({ hello: 'world' });
  });

  it('refuses an event call to a module with only a fetch handler, with a 400 that says where to call it', async () => {
    await deployOk(h, 'webonly', workers(`export default { fetch() { return new Response('x'); } };`));
    const r = await h.invoke('webonly', {});
    expect(r.status).toBe(400);
    const body = await r.json() as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe('WrongFunctionKind');
    expect(body.errorMessage).toContain('/v1/web/webonly/');
  });
});

describe('bad input and bad handlers on the web route', () => {
  beforeAll(async () => {
    await deployOk(h, 'bad', workers(`
      export default {
        async fetch(request) {
          const p = new URL(request.url).pathname;
          if (p === '/object') return { not: 'a response' };
          if (p === '/throw') throw new RangeError('thrown on purpose');
          if (p === '/reject') return Promise.reject(new Error('rejected'));
          if (p === '/hang') return new Promise(() => {});
          if (p === '/loop') { for (;;) {} }
          if (p === '/error') return Response.error();
          if (p === '/badstream') return new Response(new ReadableStream({ start(c) { c.enqueue('not bytes'); c.close(); } }));
          return new Response('fine');
        },
      };`, { timeoutMs: 500 }));
  });

  it('a non-Response is a JSON 500', async () => {
    for (const path of ['/object', '/error', '/badstream']) {
      const r = await fetch(`${h.url}/v1/web/bad${path}`);
      expect(r.status).toBe(500);
      const body = await r.json() as { errorType: string };
      expect(['InvalidResponse', 'TypeError']).toContain(body.errorType);
      expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    }
  });

  it('a throw or a rejection is a JSON 500 with the function\'s error', async () => {
    const r = await fetch(`${h.url}/v1/web/bad/throw`);
    expect(r.status).toBe(500);
    expect(await r.json()).toMatchObject({ errorType: 'RangeError', errorMessage: 'thrown on purpose' });
    const j = await fetch(`${h.url}/v1/web/bad/reject`);
    expect(j.status).toBe(500);
    expect(await j.json()).toMatchObject({ errorType: 'Error', errorMessage: 'rejected' });
  });

  it('a handler that never resolves or never stops is a JSON 504, and the next call works', async () => {
    for (const path of ['/hang', '/loop']) {
      const r = await fetch(`${h.url}/v1/web/bad${path}`);
      expect(r.status).toBe(504);
      expect(((await r.json()) as { errorType: string }).errorType).toBe('Timeout');
      expect(await (await fetch(`${h.url}/v1/web/bad/fine`)).text()).toBe('fine');
    }
  });

  it('malformed hosts, paths, headers and methods never crash the server', async () => {
    const raw = (text: string) => new Promise<string>((resolve) => {
      const sock = net.connect(h.port, '127.0.0.1', () => sock.end(text));
      let out = '';
      sock.on('data', (d: Buffer) => (out += d));
      sock.on('close', () => resolve(out));
      sock.on('error', () => resolve(out));
    });
    const answers = [
      await raw('GET /v1/web/bad/fine HTTP/1.1\r\nHost: a b c\r\nConnection: close\r\n\r\n'),
      await raw('GET /v1/web/bad/%zz/%%%?%%=%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      await raw('GET /v1/web/bad/fine HTTP/1.1\r\nHost: [::1\r\nX-Odd: \x01\x7f\r\nConnection: close\r\n\r\n'),
      await raw('FOO /v1/web/bad/fine HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      await raw('POST /v1/web/bad/fine HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nab'),
      await raw('GET /v1/web/nosuchfunction/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    ];
    for (const a of answers) if (a) expect(a).toMatch(/^HTTP\/1\.1 \d{3}/);
    expect(answers[5]).toMatch(/^HTTP\/1\.1 404/);
    const ok = await fetch(`${h.url}/v1/web/bad/fine`);
    expect(await ok.text()).toBe('fine');
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});

describe('web platform APIs inside isolates (event functions too)', () => {
  it('has encoding, URL, crypto, timers, microtasks, structuredClone, abort, performance and console', async () => {
    await deployOk(h, 'apis', { runtime: 'js', handler: 'index.handler', code: { source: `
      exports.handler = async () => {
        const out = {};
        out.text = new TextDecoder().decode(new TextEncoder().encode('héllo €'));
        out.b64 = [btoa('hello'), atob('aGVsbG8=')];
        const u = new URL('https://user:pw@EXAMPLE.com:443/a/../b?x=1#h');
        out.url = [u.href, u.host, u.pathname, new URLSearchParams('a=1&b=2').get('b')];
        const d = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
        out.sha256 = [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
        out.uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID());
        out.random = crypto.getRandomValues(new Uint8Array(16)).some((b) => b !== 0);
        const order = [];
        queueMicrotask(() => order.push('micro'));
        setTimeout(() => order.push('t10'), 10);
        setTimeout(() => order.push('t0'), 0);
        const cancelled = setTimeout(() => order.push('never'), 5);
        clearTimeout(cancelled);
        let ticks = 0;
        await new Promise((r) => { const i = setInterval(() => { if (++ticks === 3) { clearInterval(i); r(); } }, 5); });
        await new Promise((r) => setTimeout(r, 20));
        out.order = order;
        out.ticks = ticks;
        const m = structuredClone(new Map([[1, { d: new Date(0) }]]));
        out.clone = m.get(1).d.getTime() === 0 && m instanceof Map;
        const ac = new AbortController();
        ac.abort();
        out.aborted = [ac.signal.aborted, ac.signal.reason.name];
        const t = AbortSignal.timeout(10);
        await new Promise((r) => t.addEventListener('abort', r));
        out.timeout = t.reason.name;
        const p0 = performance.now();
        out.perf = typeof p0 === 'number' && performance.now() >= p0;
        out.globals = ['Request', 'Response', 'Headers', 'fetch', 'ReadableStream', 'self'].every((k) => k in globalThis);
        console.log('apis ok');
        return out;
      };` } });
    const r = await h.invoke('apis', {});
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({
      text: 'héllo €', b64: ['aGVsbG8=', 'hello'],
      url: ['https://user:pw@example.com/b?x=1#h', 'example.com', '/b', '2'],
      sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      uuid: true, random: true, order: ['micro', 't0', 't10'], ticks: 3, clone: true,
      aborted: [true, 'AbortError'], timeout: 'TimeoutError', perf: true, globals: true,
    });
  });

  it('a promise rejected with no handler is logged, and the call still answers (batched calls too)', async () => {
    await deployOk(h, 'stray', { runtime: 'js', handler: 'index.handler', code: { source: `
      exports.handler = async (event) => {
        Promise.reject(new Error('stray ' + event.i));
        if (event.wait) await new Promise((r) => setTimeout(r, 5));
        return event.i;
      };` } });
    // 40 at once: they share crossings (batches) on the same instances.
    const calls = await Promise.all(Array.from({ length: 40 }, (_, i) => h.invoke('stray', { i, wait: i % 2 === 0 })));
    expect(calls.map((r) => r.status)).toEqual(calls.map(() => 200));
    expect(await Promise.all(calls.map((r) => r.json()))).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const one = await h.invoke('stray', { i: 99 });
    const rec = await (await fetch(`${h.url}/v1/invocations/${one.headers.get('x-hearth-request-id')}`)).json() as { logs: { message: string; stream: string }[] };
    expect(rec.logs.some((l) => l.stream === 'stderr' && /Uncaught \(in promise\).*stray 99/.test(l.message))).toBe(true);
  });

  it('drops timers nobody waits for when the call ends (no interval keeps running)', async () => {
    await deployOk(h, 'leaky', { runtime: 'js', handler: 'index.handler', code: { source: `
      exports.handler = async () => { setInterval(() => console.log('tick'), 5); return 'ok'; };` } });
    const r = await h.invoke('leaky', {}, { 'x-hearth-log-type': 'Tail' });
    expect(await r.json()).toBe('ok');
    await sleep(200);
    const logs = await (await fetch(`${h.url}/v1/functions/leaky/logs`)).json() as { lines: { message: string }[] };
    expect(logs.lines.filter((l) => l.message === 'tick').length).toBe(0);
  });

  it('a timer callback that never stops is stopped by the timeout, and other functions do not notice', async () => {
    await deployOk(h, 'timerloop', { runtime: 'js', handler: 'index.handler', timeoutMs: 400, code: { source: `
      exports.handler = () => new Promise(() => setTimeout(() => { for (;;) {} }, 1));` } });
    await deployOk(h, 'bystander', { runtime: 'js', handler: 'index.handler', code: { source: `exports.handler = async () => 'fine';` } });
    const [looped, fine] = await Promise.all([h.invoke('timerloop', {}), (async () => { await sleep(50); return h.invoke('bystander', {}); })()]);
    expect([500, 504]).toContain(looped.status);
    expect(fine.status).toBe(200);
    expect(await fine.json()).toBe('fine');
  });

  it('fetch is denied by default and allowed to listed hosts, within the deadline', async () => {
    const source = `
      exports.handler = async (event) => {
        try {
          const r = await fetch(event.url, { method: event.method ?? 'GET', headers: { 'x-test': 'yes' }, body: event.body });
          return { status: r.status, json: await r.json(), cookies: r.headers.getSetCookie() };
        } catch (err) {
          return { error: err.name, message: err.message };
        }
      };`;
    await deployOk(h, 'nofetch', { runtime: 'js', handler: 'index.handler', code: { source } });
    const denied = await (await h.invoke('nofetch', { url: `http://127.0.0.1:${upstreamPort}/x` })).json() as { error: string; message: string };
    expect(denied.error).toBe('TypeError');
    expect(denied.message).toMatch(/not allowed.*egress\.allow/);

    await deployOk(h, 'withfetch', { runtime: 'js', handler: 'index.handler', timeoutMs: 1000, egress: { allow: [`127.0.0.1:${upstreamPort}`] }, code: { source } });
    const ok = await (await h.invoke('withfetch', { url: `http://127.0.0.1:${upstreamPort}/path?q=1`, method: 'POST', body: 'sent' })).json();
    expect(ok).toEqual({ status: 200, json: { method: 'POST', url: '/path?q=1', body: 'sent', xTest: 'yes' }, cookies: ['a=1', 'b=2'] });
    const slow = await (await h.invoke('withfetch', { url: `http://127.0.0.1:${upstreamPort}/slow` })).json() as { error?: string };
    // The call's deadline bounds the fetch: either the fetch fails with TimeoutError inside the
    // call, or the whole call times out first.
    expect(slow.error ?? 'Timeout').toMatch(/Timeout/);
  });

  it('rejects bad egress patterns and bad cron expressions at deploy with a 400 that names the field', async () => {
    const e = await h.deploy('badegress', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = () => 1' }, egress: { allow: ['https://x.com/path'] } });
    expect(e.status).toBe(400);
    expect(((await e.json()) as { errorMessage: string }).errorMessage).toContain('egress.allow');
    const c = await h.deploy('badcron', { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = () => 1' }, schedules: [{ cron: 'every tuesday' }] });
    expect(c.status).toBe(400);
    expect(((await c.json()) as { errorMessage: string }).errorMessage).toContain('schedules.0.cron');
  });
});

describe('timer triggers', () => {
  it('runs scheduled() of a Workers module and the handler of an event function on time, once per tick, recorded with logs', async () => {
    await deployOk(h, 'cronweb', workers(`
      export default {
        async scheduled(controller, env, ctx) {
          console.log('tick', controller.cron, typeof controller.scheduledTime, env.WHO);
          ctx.waitUntil(Promise.resolve());
        },
      };`, { env: { WHO: 'me' }, schedules: [{ cron: '* * * * * *', name: 'every-second' }] }));
    await deployOk(h, 'cronevent', {
      runtime: 'js', handler: 'index.handler', schedules: [{ cron: '* * * * * *', name: 'each', message: 'hello timer' }],
      code: { source: `exports.handler = async (event) => { console.log(JSON.stringify(event)); return 'ran'; };` },
    });
    await sleep(3_300);
    for (const [name, check] of [
      ['cronweb', (m: string) => m === 'tick * * * * * * number me'],
      ['cronevent', (m: string) => { const e = JSON.parse(m); return e.Type === 'Timer' && e.TriggerName === 'each' && e.Message === 'hello timer' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(e.Time); }],
    ] as const) {
      const s = await (await fetch(`${h.url}/v1/functions/${name}/schedules`)).json() as { schedules: { lastRuns: { requestId: string; scheduledTime: string; status: string }[]; nextRun: string }[] };
      const runs = s.schedules[0]!.lastRuns;
      expect(runs.length).toBeGreaterThanOrEqual(2);
      expect(runs.length).toBeLessThanOrEqual(5);
      // Once per tick: no scheduled time twice.
      expect(new Set(runs.map((r) => r.scheduledTime)).size).toBe(runs.length);
      const done = runs.filter((r) => r.status !== 'running');
      expect(done.every((r) => r.status === 'succeeded')).toBe(true);
      const rec = await (await fetch(`${h.url}/v1/invocations/${done[0]!.requestId}`)).json() as { invocationType: string; logs: { message: string }[]; trigger: { name: string } };
      expect(rec.invocationType).toBe('Timer');
      expect(rec.logs.some((l) => check(l.message))).toBe(true);
    }
    // Deleting the function stops its schedule.
    await fetch(`${h.url}/v1/functions/cronevent`, { method: 'DELETE' });
  });
});

describe('isolates made on a cold call\'s path (no pre-warm reserve) load URL and crypto on first use', () => {
  it('works the same as in pre-warmed isolates', async () => {
    const bare = await startHearth({ args: ['--prewarm-isolates', '0'] });
    try {
      await deployOk(bare, 'lazy', workers(`
        export default {
          async fetch(request) {
            const u = new URL(request.url);
            const body = new URLSearchParams({ a: u.searchParams.get('a'), b: 'x y' });
            const r = new Request('https://example.com/p', { method: 'POST', body });
            const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(await r.text()));
            return Response.json({
              type: r.headers.get('content-type'), uuid: crypto.randomUUID().length,
              sha1: [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join(''),
              globals: Object.keys(globalThis).filter((k) => k.startsWith('__')),
            });
          },
        };`));
      const r = await fetch(`${bare.url}/v1/web/lazy/x?a=1`);
      expect(r.headers.get('x-hearth-cold')).toBe('true');
      expect(await r.json()).toEqual({
        type: 'application/x-www-form-urlencoded;charset=UTF-8', uuid: 36,
        sha1: (await import('node:crypto')).createHash('sha1').update('a=1&b=x+y').digest('hex'), globals: [],
      });
    } finally {
      await bare.stop();
    }
  });
});

describe('edge cases found in review', () => {
  it('waitUntil work that settles at once frees the instance at once, with no "cancelled" line', async () => {
    await deployOk(h, 'quicktail', workers(`
      export default { async fetch(request, env, ctx) { ctx.waitUntil(Promise.resolve()); ctx.waitUntil(Promise.resolve().then(() => 1)); return new Response('ok'); } };`,
      { concurrency: 1, maxInstances: 1, timeoutMs: 60_000 }));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${h.url}/v1/web/quicktail/`);
      expect(await r.text()).toBe('ok');
      ids.push(r.headers.get('x-hearth-request-id')!);
    }
    await sleep(100);
    const inst = await (await fetch(`${h.url}/v1/functions/quicktail/instances`)).json() as { instances: { inFlight: number }[] };
    expect(inst.instances.map((i) => i.inFlight)).toEqual([0]);
    for (const id of ids) {
      const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as { logs: { message: string }[] };
      expect(rec.logs.filter((l) => /cancelled/.test(l.message))).toEqual([]);
    }
  });

  it('an event function that makes large results and temporaries keeps working within its memory (results are not hoarded)', async () => {
    await deployOk(h, 'bigresults', { runtime: 'js', handler: 'index.handler', memoryMb: 64, code: { source: `
      exports.handler = async () => { const tmp = []; for (let i = 0; i < 20; i++) tmp.push(new Uint8Array(1 << 20).fill(i)); return 'x'.repeat(250_000); };` } });
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.all(Array.from({ length: 30 }, () => h.invoke('bigresults', {})));
      expect(rs.map((r) => r.status)).toEqual(rs.map(() => 200));
      await Promise.all(rs.map((r) => r.arrayBuffer()));
    }
  });

  it('a 1xx status is never written as the response', async () => {
    await deployOk(h, 'informational', workers(`
      class R extends Response { get status() { return 101; } }
      export default { fetch() { return new R('x'); } };`));
    const r = await fetch(`${h.url}/v1/web/informational/`);
    expect(r.status).toBe(500);
    await r.arrayBuffer();
  });

  it('timers set while the module loads do not get in the way of calls', async () => {
    await deployOk(h, 'inittimers', { runtime: 'js', handler: 'index.handler', code: { source: `
      for (let i = 0; i < 10000; i++) setTimeout(() => {}, 1e9);
      exports.handler = async () => { await new Promise((r) => setTimeout(r, 10)); return 'ok'; };` } });
    const r = await h.invoke('inittimers', {});
    expect(r.status).toBe(200);
    expect(await r.json()).toBe('ok');
  });

  it('many timers in one call fire in due order (by due time, then by when they were set)', async () => {
    await deployOk(h, 'manytimers', { runtime: 'js', handler: 'index.handler', code: { source: `
      exports.handler = async () => {
        const fired = [];
        await new Promise((resolve) => {
          for (let i = 0; i < 2000; i++) setTimeout(() => { fired.push(i); if (fired.length === 2000) resolve(); }, i % 2 ? 60 : 0);
        });
        const evens = fired.slice(0, 1000), odds = fired.slice(1000);
        const inOrder = (xs, first) => xs.every((x, k) => x === first + 2 * k);
        return inOrder(evens, 0) && inOrder(odds, 1) ? fired.length : fired.slice(0, 20);
      };` } });
    expect(await (await h.invoke('manytimers', {})).json()).toBe(2000);
  });

  it('a proxied compressed upstream response reaches the client decodable', async () => {
    const { gzipSync } = await import('node:zlib');
    const gz = http.createServer((_req, res) => {
      res.setHeader('content-encoding', 'gzip');
      res.setHeader('content-type', 'text/plain');
      res.end(gzipSync(Buffer.from('hello, compressed world')));
    });
    await new Promise<void>((r) => gz.listen(0, '127.0.0.1', r));
    const port = (gz.address() as AddressInfo).port;
    try {
      await deployOk(h, 'proxy', workers(`export default { fetch() { return fetch('http://127.0.0.1:${port}/'); } };`, { egress: { allow: [`127.0.0.1:${port}`] } }));
      const r = await fetch(`${h.url}/v1/web/proxy/`);
      expect(r.status).toBe(200);
      expect(await r.text()).toBe('hello, compressed world');
    } finally {
      gz.closeAllConnections();
      await new Promise((r) => gz.close(r));
    }
  });

  it('functions cannot write Hearth\'s own headers, and odd header names reach Lambda URL events intact', async () => {
    await deployOk(h, 'spoof', workers(`
      export default { fetch() { return new Response('x', { headers: { 'x-hearth-request-id': 'forged', 'x-hearth-cold': 'maybe' } }); } };`));
    const r = await fetch(`${h.url}/v1/web/spoof/`);
    expect(r.headers.get('x-hearth-request-id')).not.toContain('forged');
    expect(r.headers.get('x-hearth-cold')).toMatch(/^(true|false)$/);
    await deployOk(h, 'oddheaders', { runtime: 'js', handler: 'index.handler', code: { source: `
      exports.handler = async (e) => ({ statusCode: 200, body: JSON.stringify({ c: e.headers.constructor, q: e.queryStringParameters, ip: e.requestContext.http.sourceIp }) });` } });
    const o = await fetch(`${h.url}/v1/web/oddheaders/?constructor=1&toString=2`, { headers: { constructor: 'c', 'x-forwarded-for': '6.6.6.6' } });
    expect(await o.json()).toEqual({ c: 'c', q: { constructor: '1', toString: '2' }, ip: '127.0.0.1' });
  });
});
