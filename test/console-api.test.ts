// What the console stands on, over real HTTP against a real Hearth (no browser): the page served
// from memory (redirect, gzip, ETag, HEAD, CSP), the live log stream (tail, live lines, request-id
// filter, the admin token, its bounds: 32 streams, a reader that stops reading loses lines that are
// counted, a drain ends the streams), per-function figures and their series, saved test payloads
// and the deployed source.

import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strToU8, zipSync } from 'fflate';
import { takeEvents, type ServerSentEvent } from '../core/sse.js';
import { jsSource, startHearth, type Hearth } from './support/hearth.js';
import { until, waitFor } from './support/until.js';

const TOKEN = 'console-api-admin-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };
const get = (h: Hearth, path: string, headers: Record<string, string> = auth) => fetch(`${h.url}${path}`, { headers });
const deploy = (h: Hearth, name: string, spec: unknown) => fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(spec) });
const json = async (h: Hearth, path: string) => (await get(h, path)).json() as Promise<Record<string, any>>;

/** A stream's events as they come: `next()` waits for one; `close()` aborts it. */
async function openStream(h: Hearth, path: string) {
  const ctl = new AbortController();
  const res = await fetch(`${h.url}${path}`, { headers: auth, signal: ctl.signal });
  const events: ServerSentEvent[] = [];
  let buf = '';
  const done = (async () => {
    if (!res.body) return;
    const dec = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        const taken = takeEvents(buf + dec.decode(chunk as Uint8Array, { stream: true }));
        buf = taken.rest;
        events.push(...taken.events);
      }
    } catch { /* aborted */ }
  })();
  return { res, events, done, close: () => ctl.abort() };
}

describe('the console\'s API', () => {
  let h: Hearth;

  beforeAll(async () => {
    h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: TOKEN }, args: ['--log-bytes-per-second', String(256 * 1024 * 1024), '--log-bytes-per-call', String(4 * 1024 * 1024)] });
    const spec = jsSource('export async function handler(e) { for (let i = 0; i < (e.lines ?? 1); i++) console.log(e.say + (e.pad ?? "")); if (e.fail) throw new Error("asked to"); return { said: e.say }; }');
    expect((await deploy(h, 'talk', spec)).status).toBe(201);
  }, 60_000);
  afterAll(async () => { await h?.stop(); });

  it('serves the page: /console redirects to /console/, a same-origin policy with a style nonce a load, HEAD; assets gzipped, with an ETag', async () => {
    const r = await fetch(`${h.url}/console`, { redirect: 'manual' });
    expect(r.status).toBe(308);
    expect(r.headers.get('location')).toBe('console/');
    const page = await fetch(`${h.url}/console/`);
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/default-src 'none'.*connect-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // A style nonce made for each load: in the policy and in the page, never the same twice.
    const html = await page.text();
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    expect(html).toContain(`content="${nonce}"`);
    const again = (await fetch(`${h.url}/console/`)).headers.get('content-security-policy')!;
    expect(again).not.toContain(nonce);
    const head = await fetch(`${h.url}/console/`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toContain('text/html');
    // The assets: gzip, an ETag, cached as immutable (their names carry their hash).
    const script = /src="(assets\/app\.[^"]+\.js)"/.exec(html)![1]!;
    const js = await fetch(`${h.url}/console/${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.headers.get('content-encoding')).toBe('gzip');
    expect(js.headers.get('cache-control')).toContain('immutable');
    const etag = js.headers.get('etag')!;
    expect((await fetch(`${h.url}/console/${script}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${h.url}/console/assets/index.html`)).status).toBe(404);
    const session = await (await fetch(`${h.url}/console/session`)).json();
    expect(session).toEqual({ adminTokenRequired: true, invokeTokenRequired: false, host: '127.0.0.1' });
  });

  it('streams a function\'s logs: the tail, then each new line; filtered by request id; behind the token', async () => {
    expect((await fetch(`${h.url}/v1/functions/talk/logs/stream`)).status).toBe(401);
    expect((await get(h, '/v1/functions/nobody/logs/stream')).status).toBe(404);
    expect((await get(h, '/v1/functions/talk/logs/stream?tail=5000')).status).toBe(400);
    const before = await h.invoke('talk', { say: 'before' }, auth);
    expect(before.status).toBe(200);
    const s = await openStream(h, '/v1/functions/talk/logs/stream?tail=10');
    expect(s.res.headers.get('content-type')).toContain('text/event-stream');
    await until(() => s.events.some((e) => e.data.includes('"before"')), 10_000, 'the tail');
    const r = await h.invoke('talk', { say: 'live-one' }, auth);
    const id = r.headers.get('x-hearth-request-id')!;
    await until(() => s.events.some((e) => JSON.parse(e.data).message === 'live-one'), 10_000, 'the live line');
    const line = JSON.parse(s.events.find((e) => e.data.includes('live-one'))!.data);
    expect(line).toMatchObject({ requestId: id, stream: 'stdout', message: 'live-one' });

    const only = await openStream(h, `/v1/functions/talk/logs/stream?tail=0&requestId=${id}`);
    await h.invoke('talk', { say: 'not-this-one' }, auth);
    await until(() => s.events.some((e) => e.data.includes('not-this-one')), 10_000, 'the other line on the unfiltered stream');
    expect(only.events.map((e) => JSON.parse(e.data).message)).toEqual([]);
    s.close();
    only.close();
    await Promise.all([s.done, only.done]);
    await until(async () => /hearth_log_streams 0/.test(await (await get(h, '/metrics')).text()), 10_000, 'the streams to be closed');
  });

  it('opens at most 32 streams, and a reader that stops reading loses lines, counted', async () => {
    const open = await Promise.all(Array.from({ length: 32 }, () => openStream(h, '/v1/functions/talk/logs/stream?tail=0')));
    expect(open.every((s) => s.res.status === 200)).toBe(true);
    const refused = await get(h, '/v1/functions/talk/logs/stream');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('5');
    for (const s of open) s.close();
    await Promise.all(open.map((s) => s.done));
    await until(async () => /hearth_log_streams 0/.test(await (await get(h, '/metrics')).text()), 10_000, 'the streams to be closed');

    // A raw socket that asks for the stream and then reads nothing: its buffers fill.
    const sock = connect(h.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /v1/functions/talk/logs/stream?tail=0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await new Promise<void>((r) => sock.once('data', () => r()));
    sock.pause();
    const dropped = async () => Number(/hearth_log_stream_dropped_lines_total (\d+)/.exec(await (await get(h, '/metrics')).text())?.[1] ?? 0);
    // 2 MiB of log a call (2,048 lines of 1 KiB) until the socket's buffers are full.
    await waitFor(async () => {
      const r = await h.invoke('talk', { say: 'x', pad: 'y'.repeat(1023), lines: 2048 }, auth);
      await r.arrayBuffer();
      return (await dropped()) > 0;
    }, 60_000, 'lines dropped for the reader that stopped', 0);
    // Other calls and streams are not held up meanwhile.
    const s = await openStream(h, '/v1/functions/talk/logs/stream?tail=0');
    await h.invoke('talk', { say: 'still-flowing' }, auth);
    await until(() => s.events.some((e) => e.data.includes('still-flowing')), 10_000, 'a line on a stream that reads');
    s.close();
    // Reading again: the reader is told how many it missed.
    let text = '';
    sock.on('data', (d) => { text += d.toString('latin1'); if (text.length > 1e6) text = text.slice(-1e6); });
    sock.resume();
    await h.invoke('talk', { say: 'after' }, auth);
    await until(() => /event: dropped\ndata: \{"lines":\d+\}/.test(text), 30_000, 'the dropped event');
    sock.destroy();
  });

  it('gives each function\'s figures and, every 5 s, a point of the last minutes', async () => {
    for (let i = 0; i < 3; i++) await (await h.invoke('talk', { say: 'n' }, auth)).arrayBuffer();
    await (await h.invoke('talk', { say: 'n', fail: true }, auth)).arrayBuffer();
    const all = await json(h, '/v1/stats');
    expect(all.intervalMs).toBe(5000);
    const t = all.functions.talk;
    expect(t.calls).toBeGreaterThanOrEqual(4);
    expect(t.errors).toBeGreaterThanOrEqual(1);
    expect(t.coldStarts).toBeGreaterThanOrEqual(1);
    expect(t.tier).toBe('isolate');
    expect(t.p50Ms).toBeGreaterThan(0);
    expect(t.instances).toBeGreaterThanOrEqual(1);
    const one = await waitFor(async () => {
      const s = await json(h, '/v1/functions/talk/stats');
      return s.series.t.length > 0 ? s : null;
    }, 15_000, 'a point of the series');
    expect(one.summary.calls).toBeGreaterThanOrEqual(t.calls);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(one.series.calls)).toBeLessThanOrEqual(one.summary.calls);
    expect(sum(one.series.errors)).toBeGreaterThanOrEqual(1);
    expect((await get(h, '/v1/functions/nobody/stats')).status).toBe(404);
    expect((await fetch(`${h.url}/v1/stats`)).status).toBe(401);
  });

  it('keeps saved test payloads per function, and the source $LATEST was deployed from', async () => {
    const put = (fn: string, name: string, body: unknown) => fetch(`${h.url}/v1/functions/${fn}/test-payloads/${encodeURIComponent(name)}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await put('talk', 'say hi', { body: '{"say":"hi"}' })).status).toBe(201);
    expect((await put('talk', 'say hi', { body: '{"say":"hi again"}', encoding: 'msgpack' })).status).toBe(200);
    const bad = await put('talk', 'broken', { body: '{nope' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).problems).toEqual([expect.objectContaining({ path: 'body' })]);
    expect((await put('nobody', 'x', { body: '{}' })).status).toBe(404);
    const list = await json(h, '/v1/functions/talk/test-payloads');
    expect(list.payloads).toEqual([expect.objectContaining({ name: 'say hi', encoding: 'msgpack', body: '{"say":"hi again"}' })]);

    const code = await json(h, '/v1/functions/talk/code');
    expect(code.source).toContain('console.log(e.say');
    // Deployed some other way (an archive): no source to offer.
    const zip = Buffer.from(zipSync({ 'index.js': strToU8('exports.handler = async () => 1;') })).toString('base64');
    expect((await deploy(h, 'zipped', { runtime: 'js', handler: 'index.handler', code: { zip } })).status).toBe(201);
    expect((await get(h, '/v1/functions/zipped/code')).status).toBe(404);
    // The same function deployed from text again has it again.
    expect((await deploy(h, 'zipped', jsSource('exports.handler = async () => 2;'))).status).toBe(200);
    expect((await json(h, '/v1/functions/zipped/code')).source).toBe('exports.handler = async () => 2;');

    // Deleting the function deletes its payloads.
    const spec = jsSource('export async function handler() { return 1; }');
    expect((await deploy(h, 'gone', spec)).status).toBe(201);
    expect((await put('gone', 'p', { body: '1' })).status).toBe(201);
    expect((await fetch(`${h.url}/v1/functions/gone`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await deploy(h, 'gone', spec)).status).toBe(201);
    expect((await json(h, '/v1/functions/gone/test-payloads')).payloads).toEqual([]);
  });

  it('takes a new configuration without the code, onto the $LATEST the client saw (If-Match), and creates without replacing (If-None-Match)', async () => {
    const put = (path: string, body: unknown, headers: Record<string, string> = {}) => fetch(`${h.url}/v1/functions/${path}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const zip = Buffer.from(zipSync({ 'index.js': strToU8('exports.handler = async (e, ctx) => ({ mem: ctx.memoryLimitInMb, n: e.n });') })).toString('base64');
    const created = await put('configured', { runtime: 'js', handler: 'index.handler', code: { zip } }, { 'if-none-match': '*' });
    expect(created.status).toBe(201);
    const digest = JSON.parse(created.headers.get('etag')!) as string;
    expect((await put('configured', { runtime: 'js', handler: 'index.handler', code: { zip } }, { 'if-none-match': '*' })).status).toBe(412);

    // The settings alone: the archive's code stays and runs with them.
    const r = await put('configured/configuration', { memoryMb: 256, env: { A: '1' }, timeoutMs: 5000 }, { 'if-match': `"${digest}"` });
    expect(r.status).toBe(200);
    const view = await r.json() as { memoryMb: number; env: Record<string, string>; digest: string; codeDigest: string };
    expect(view).toMatchObject({ memoryMb: 256, env: { A: '1' } });
    expect(view.digest).not.toBe(digest);
    const call = await h.invoke('configured', { n: 3 }, auth);
    expect(await call.json()).toEqual({ mem: 256, n: 3 });
    // A second save from a page that still holds the first digest is refused: it would undo this one.
    const stale = await put('configured/configuration', { memoryMb: 64 }, { 'if-match': `"${digest}"` });
    expect(stale.status).toBe(412);
    expect((await stale.json()).errorType).toBe('PreconditionFailed');
    // Code, or what changes with it, is not taken here.
    const withCode = await put('configured/configuration', { code: { source: 'x' } });
    expect(withCode.status).toBe(400);
    expect((await withCode.json()).problems).toEqual([expect.objectContaining({ path: 'code' })]);
    expect((await put('configured/configuration', { runtime: 'python3' })).status).toBe(400);
    expect((await put('configured/configuration', { memoryMb: 1 })).status).toBe(400);
    expect((await put('nobody/configuration', { memoryMb: 256 })).status).toBe(404);
    // A function deployed from text keeps its source through a new configuration.
    expect((await put('talk/configuration', { memoryMb: 192 })).status).toBe(200);
    expect((await json(h, '/v1/functions/talk/code')).source).toContain('console.log(e.say');
  });

  it('answers 400 to a payload name that is not percent-encoded UTF-8, and ends a deleted function\'s streams', async () => {
    expect((await fetch(`${h.url}/v1/functions/talk/test-payloads/%E0%A4%A`, { method: 'DELETE', headers: auth })).status).toBe(400);
    const spec = jsSource('export async function handler() { console.log("x"); return 1; }');
    expect((await deploy(h, 'brief', spec)).status).toBe(201);
    const s = await openStream(h, '/v1/functions/brief/logs/stream');
    expect(s.res.status).toBe(200);
    expect((await fetch(`${h.url}/v1/functions/brief`, { method: 'DELETE', headers: auth })).status).toBe(204);
    await s.done;
  });

  it('ends open streams when it drains, with their connections, and exits without waiting for its deadline', async () => {
    const sock = connect(h.port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`GET /v1/functions/talk/logs/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    await new Promise<void>((r) => sock.once('data', () => r()));
    sock.resume();
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    const code = await h.stop('SIGTERM');
    expect(code).toBe(0);
    await closed;
    expect(h.log()).not.toContain('drain deadline reached');
  });
});

describe('the console\'s API without an admin token', () => {
  it('takes management calls only for a Host that names this machine (no DNS rebinding)', async () => {
    const h = await startHearth();
    try {
      const ask = (host: string) => new Promise<string>((resolve, reject) => {
        const sock = connect(h.port, '127.0.0.1');
        let text = '';
        sock.on('data', (d) => { text += d; });
        sock.on('error', reject);
        sock.on('end', () => resolve(text));
        sock.write(`GET /v1/functions HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      });
      for (const host of [`127.0.0.1:${h.port}`, `localhost:${h.port}`, 'localhost', `[::1]:${h.port}`, `127.1.2.3:${h.port}`, `app.localhost:${h.port}`]) {
        expect((await ask(host)).split('\r\n')[0], host).toBe('HTTP/1.1 200 OK');
      }
      for (const host of [`attacker.example:${h.port}`, 'evil.com', '127.0.0.1.evil.com', '']) {
        const reply = await ask(host);
        expect(reply.split('\r\n')[0], host).toBe('HTTP/1.1 403 Forbidden');
        expect(reply).toContain('"errorType":"ForbiddenHost"');
      }
    } finally {
      await h.stop();
    }
  });
});

describe('a python3 deploy that does not compile', () => {
  it('says where: its problems carry the file and line Python names, for the editor', async () => {
    const h = await startHearth();
    try {
      const r = await h.deploy('py-broken', { runtime: 'python3', handler: 'index.main_handler', code: { filename: 'index.py', source: 'import json\n\ndef main_handler(event, context)\n    return 1\n' } });
      expect(r.status).toBe(400);
      const body = await r.json() as { errorType: string; problems: unknown[] };
      expect(body.errorType).toBe('InitError');
      expect(body.problems).toEqual([{ message: expect.stringMatching(/^SyntaxError: /), file: 'index.py', line: 3 }]);
    } finally {
      await h.stop();
    }
  });
});
