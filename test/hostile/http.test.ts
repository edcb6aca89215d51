// Hostile tenants and callers against the HTTP front end (issue 15, points 5, 8, 9, 13 and 16),
// each against a real Hearth process while a neighbour function is called at a steady rate (every
// neighbour call must succeed). Raw sockets (node:net) where the bytes on the wire are the point.
//
// Two Hearths: `open` has only an admin token (web and invoke calls need none: the default way
// to run), `locked` has an invoke token too (the Lambda API's SigV4), a small cap on bytes held
// for request bodies in flight and a short body deadline, so the bounds are reached in seconds.

import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHearth, type Hearth } from '../support/hearth.js';
import { NEIGHBOUR_SOURCE, settledRssMiB, startNeighbour, type Neighbour } from '../support/neighbour.js';
import { until } from '../support/until.js';

const ADMIN = 'admin-token-for-hostile-http-0123';
const INVOKE = 'invoke-token-for-hostile-http-0123';
const MiB = 1024 * 1024;

// ---- raw HTTP over node:net -------------------------------------------------------------------

interface Raw {
  socket: Socket;
  /** Everything received so far (latin1: byte for byte). */
  text(): string;
  closed: Promise<void>;
  isClosed(): boolean;
}

function raw(h: Hearth): Raw {
  const socket = connect(h.port, '127.0.0.1');
  let got = '';
  let closed = false;
  socket.on('data', (d: Buffer) => { got += d.toString('latin1'); });
  socket.on('error', () => { /* a reset after the server answered and closed: what is asserted is what arrived */ });
  const done = new Promise<void>((r) => socket.once('close', () => { closed = true; r(); }));
  return { socket, text: () => got, closed: done, isClosed: () => closed };
}

interface Parsed { status: number; headers: [string, string][]; body: string; rest: string }

/** One response at the start of `text` (Content-Length framed), or null when it is not all there. */
function parseResponse(text: string): Parsed | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = lines.map((l) => { const i = l.indexOf(':'); return [l.slice(0, i).trim(), l.slice(i + 1).trim()] as [string, string]; });
  const cl = headers.find(([k]) => k.toLowerCase() === 'content-length');
  const length = cl ? Number(cl[1]) : 0;
  if (text.length < end + 4 + length) return null;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + length), rest: text.slice(end + 4 + length) };
}

const named = (p: Parsed, name: string) => p.headers.filter(([k]) => k.toLowerCase() === name.toLowerCase()).map(([, v]) => v);

async function metric(h: Hearth, series: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

async function deploy(h: Hearth, name: string, spec: unknown): Promise<void> {
  const r = await fetch(`${h.url}/v1/functions/${name}`, {
    method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(spec),
  });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

const js = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.handler', code: { source }, ...extra });
const workers = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'js', handler: 'index.default', code: { source }, ...extra });

async function neighbourDone(n: Neighbour): Promise<void> {
  const report = await n.stop();
  expect(report.calls).toBeGreaterThan(0);
  expect(report.failures).toEqual([]);
}

// ---- the open Hearth (admin token only) ---------------------------------------------------------

describe('a Hearth with only an admin token', () => {
  let h: Hearth;
  let neighbour: Neighbour;

  beforeAll(async () => {
    h = await startHearth({ args: ['--no-docker'], env: { HEARTH_ADMIN_TOKEN: ADMIN } });
    await deploy(h, 'neighbour', js(NEIGHBOUR_SOURCE));
    await deploy(h, 'echo', js('exports.handler = async (e) => e'));
    neighbour = startNeighbour(h);
  }, 60_000);
  afterAll(async () => {
    if (neighbour) await neighbourDone(neighbour);
    await h?.stop();
  });

  it('a function that tampers with its prototypes cannot put framing, hop-by-hop or X-Hearth-* headers on the wire', async () => {
    await deploy(h, 'spoof', workers(`
      // What a hostile function does to slip its names past a filter that trusts the isolate to lower-case them.
      String.prototype.toLowerCase = function () { return String(this); };
      String.prototype.toUpperCase = function () { return String(this); };
      export default {
        async fetch() {
          const h = new Headers();
          h.append('X-Hearth-Cold', 'forged');
          h.append('X-Hearth-Request-Id', 'forged-id');
          h.append('Content-Length', '1000');
          h.append('Transfer-Encoding', 'chunked');
          h.append('Connection', 'keep-alive');
          h.append('Keep-Alive', 'timeout=999');
          h.append('Upgrade', 'h2c');
          h.append('TE', 'trailers');
          h.append('Trailer', 'X-Evil');
          h.append('Proxy-Authenticate', 'Basic');
          h.append('X-Fine', 'yes');
          return new Response('spoofed body', { status: 200, headers: h });
        },
      };`));
    const before = await metric(h, 'hearth_response_headers_dropped_total{reason="reserved"}');
    const c = raw(h);
    c.socket.write('GET /v1/web/spoof/ HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n');
    await c.closed;
    const p = parseResponse(c.text());
    expect(p, c.text()).not.toBeNull();
    expect(p!.status).toBe(200);
    expect(p!.body).toBe('spoofed body');
    expect(p!.rest).toBe('');
    expect(named(p!, 'content-length')).toEqual([String('spoofed body'.length)]);
    expect(named(p!, 'transfer-encoding')).toEqual([]);
    expect(named(p!, 'keep-alive')).toEqual([]);
    expect(named(p!, 'upgrade')).toEqual([]);
    expect(named(p!, 'te')).toEqual([]);
    expect(named(p!, 'trailer')).toEqual([]);
    expect(named(p!, 'proxy-authenticate')).toEqual([]);
    expect(named(p!, 'connection').every((v) => v.toLowerCase() === 'close')).toBe(true);
    // Hearth's own, once each, with Hearth's values.
    expect(named(p!, 'x-hearth-cold')).toHaveLength(1);
    expect(named(p!, 'x-hearth-cold')[0]).toMatch(/^(true|false)$/);
    expect(named(p!, 'x-hearth-request-id')).toHaveLength(1);
    expect(named(p!, 'x-hearth-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(named(p!, 'x-fine')).toEqual(['yes']);
    expect(await metric(h, 'hearth_response_headers_dropped_total{reason="reserved"}')).toBeGreaterThanOrEqual(before + 10);
  });

  it('a web function never sees Hearth\'s admin token, but does see a credential of its own', async () => {
    await deploy(h, 'headers', workers(`
      export default { async fetch(req) { return Response.json({ authorization: req.headers.get('authorization') }); } };`));
    const as = (authorization: string) => fetch(`${h.url}/v1/web/headers/`, { headers: { authorization } }).then((r) => r.json());
    expect(await as(`Bearer ${ADMIN}`)).toEqual({ authorization: null });
    expect(await as('Bearer the-app-s-own-session')).toEqual({ authorization: 'Bearer the-app-s-own-session' });
  });

  it('egress to Hearth\'s own listening address is refused after DNS resolution, whatever egress.allow says; other loopback ports still work', async () => {
    const other: Server = createServer((_req, res) => res.end('other service'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const otherPort = (other.address() as { port: number }).port;
    try {
      const port = h.port;
      const targets = [`127.0.0.1:${port}`, `localhost:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, `0.0.0.0:${port}`, `[::ffff:127.0.0.1]:${port}`];
      await deploy(h, 'reach', js(`
        exports.handler = async (e) => {
          const out = {};
          for (const u of e.urls) {
            try { const r = await fetch(u); out[u] = 'status ' + r.status + ': ' + (await r.text()).slice(0, 40); }
            catch (err) { out[u] = err.name + ': ' + err.message; }
          }
          return out;
        };`, { egress: { allow: [...targets, `127.0.0.1:${otherPort}`] }, timeoutMs: 10_000 }));
      const urls = targets.map((t) => `http://${t}/v1/functions`);
      const r = await fetch(`${h.url}/v1/functions/reach/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ urls: [...urls, `http://127.0.0.1:${otherPort}/`] }) });
      expect(r.status).toBe(200);
      const out = await r.json() as Record<string, string>;
      for (const u of urls) expect(out[u], u).toMatch(/^TypeError: .*Hearth's own listening address/);
      expect(out[`http://127.0.0.1:${otherPort}/`]).toBe('status 200: other service');
      expect(await metric(h, 'hearth_egress_refused_total{reason="hearth_address"}')).toBeGreaterThanOrEqual(urls.length);
    } finally {
      other.close();
    }
  });

  it('Expect: 100-continue is answered 100 Continue, then the call; a body too large gets its final status without being sent', async () => {
    const body = '{"expect":true}';
    const c = raw(h);
    c.socket.write(`POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await until(() => c.text().includes('\r\n\r\n'), 10_000, () => `no interim answer: ${JSON.stringify(c.text())}`);
    expect(c.text()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    c.socket.write(body);
    await until(() => parseResponse(c.text().slice('HTTP/1.1 100 Continue\r\n\r\n'.length)) !== null, 10_000, () => c.text());
    const p = parseResponse(c.text().slice('HTTP/1.1 100 Continue\r\n\r\n'.length))!;
    expect(p.status).toBe(200);
    expect(JSON.parse(p.body)).toEqual({ expect: true });
    c.socket.destroy();

    const big = raw(h);
    big.socket.write(`POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * MiB}\r\nExpect: 100-continue\r\n\r\n`);
    await until(() => /HTTP\/1\.1 413 /.test(big.text()), 10_000, () => big.text());
    await big.closed;
  });

  it('pipelined requests: answered in order where uWS allows it (synchronous answers), and never a hang where it does not', async () => {
    // Requests answered within their handler (GET /healthz) are answered in order on one connection.
    const sync = raw(h);
    sync.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(3));
    await until(() => (sync.text().match(/HTTP\/1\.1 200 /g) ?? []).length === 3, 10_000, () => sync.text());
    sync.socket.destroy();
    // A request that arrives while an earlier one's answer is pending (a call) makes uWS 20.30 close
    // the connection ("denying async pipelining"): a client sees a close, not a hang, and retries.
    const body = '{"p":1}';
    const post = `POST /v1/functions/echo/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const piped = raw(h);
    piped.socket.write(post + post + post);
    await piped.closed;
    // Whatever arrived before the close is whole responses, in order.
    let rest = piped.text();
    while (rest !== '') {
      const p = parseResponse(rest);
      expect(p, rest).not.toBeNull();
      expect(p!.status).toBe(200);
      rest = p!.rest;
    }
  });

  it('HTTP/1.0 and more headers than uWS parses (50) get a close, not a hang; past 4 KiB of headers at once', async () => {
    let many = '';
    for (let i = 0; i < 60; i++) many += `X-Header-${i}: v\r\n`;
    let large = '';
    for (let i = 0; i < 60; i++) large += `X-Header-${i}: ${'v'.repeat(100)}\r\n`;
    const cases = [
      'GET /healthz HTTP/1.0\r\n\r\n',
      `POST /v1/functions/echo/invoke HTTP/1.0\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${many}\r\n`,
      `GET /healthz HTTP/1.1\r\nHost: x\r\n${large}\r\n`,
    ];
    const conns = cases.map((c) => { const r = raw(h); r.socket.write(c); return r; });
    // uWS 20.30 closes each: on its idle timeout (10 s) when the request never completes in its
    // parser, at once when the head passes its 4 KiB buffer. If a later uWS answers, it must be
    // with an HTTP/1.1 status (431 for the headers).
    await until(() => conns.every((c) => c.isClosed()), 30_000, () => conns.map((c) => `${c.isClosed()} ${JSON.stringify(c.text().slice(0, 80))}`).join('\n'));
    for (const c of conns) expect(c.text()).toMatch(/^(|HTTP\/1\.1 (200|431|505) [^]*)$/);
  });
});

// ---- the locked Hearth (admin and invoke tokens, small body bounds) -----------------------------

describe('a Hearth with an invoke token and small body bounds', () => {
  let h: Hearth;
  let neighbour: Neighbour;
  const bearer = { authorization: `Bearer ${INVOKE}` };
  const CAP = 48 * MiB;

  beforeAll(async () => {
    h = await startHearth({
      args: ['--no-docker', '--max-body-bytes-in-flight', String(CAP), '--body-timeout-ms', '3000'],
      env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_INVOKE_TOKEN: INVOKE },
    });
    await deploy(h, 'neighbour', js(NEIGHBOUR_SOURCE));
    await deploy(h, 'hello', js('exports.handler = async (e) => ({ hello: e.name ?? null })'));
    neighbour = startNeighbour(h, { headers: bearer });
  }, 60_000);
  afterAll(async () => {
    if (neighbour) await neighbourDone(neighbour);
    await h?.stop();
  });

  const amzDate = () => new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const fakeSigV4 = (withPayloadHash: boolean, length: number) => {
    const date = amzDate();
    const signed = withPayloadHash ? 'host;x-amz-content-sha256;x-amz-date' : 'host;x-amz-date';
    return 'POST /2015-03-31/functions/hello/invocations HTTP/1.1\r\nHost: x\r\n'
      + `Authorization: AWS4-HMAC-SHA256 Credential=AKIDFAKE/${date.slice(0, 8)}/us-east-1/lambda/aws4_request, SignedHeaders=${signed}, Signature=${'0'.repeat(64)}\r\n`
      + `X-Amz-Date: ${date}\r\n`
      + (withPayloadHash ? `X-Amz-Content-Sha256: ${'a'.repeat(64)}\r\n` : '')
      + `Content-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  };

  it('a fake SigV4 signature over a signed payload hash is refused before its body is sent; 150 such callers leave RSS where it was', async () => {
    const one = raw(h);
    one.socket.write(fakeSigV4(true, 6_000_000));
    await until(() => parseResponse(one.text()) !== null, 10_000, () => one.text());
    const p = parseResponse(one.text())!;
    expect(p.status).toBe(403);
    expect(named(p, 'x-amzn-errortype')).toEqual(['InvalidSignatureException']);
    one.socket.destroy();
    // The connection stays usable: the body sent after the answer is dropped, the next request answered.
    const again = raw(h);
    again.socket.write(fakeSigV4(true, 1000));
    await until(() => parseResponse(again.text()) !== null, 10_000, () => again.text());
    again.socket.write(`${'x'.repeat(1000)}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => parseResponse(parseResponse(again.text())!.rest) !== null, 10_000, () => again.text());
    expect(parseResponse(parseResponse(again.text())!.rest)!.status).toBe(200);
    again.socket.destroy();

    const before = await settledRssMiB(h);
    const chunk = Buffer.alloc(MiB, 0x20);
    const conns = Array.from({ length: 150 }, () => {
      const c = raw(h);
      c.socket.write(fakeSigV4(true, 6_000_000));
      for (let i = 0; i < 5; i++) c.socket.write(chunk);
      return c;
    });
    // Each is answered (the rest of its body is dropped by uWS as it comes, never held).
    await until(() => conns.every((c) => parseResponse(c.text()) !== null || c.isClosed()), 60_000, () => `${conns.filter((c) => parseResponse(c.text()) === null).length} not answered`);
    for (const c of conns) expect(parseResponse(c.text())?.status, c.text().slice(0, 100)).toBe(403);
    for (const c of conns) c.socket.destroy();
    expect(await settledRssMiB(h) - before).toBeLessThan(64);
  }, 120_000);

  it('bodies in flight past the cap are answered 503 with Retry-After, and their memory comes back', async () => {
    const before = await metric(h, 'hearth_request_bodies_refused_total{reason="capacity"}');
    const part = Buffer.alloc(5 * MiB, 0x20);
    // Each holds 5 MiB of a declared 6 MiB and waits: the cap (48 MiB) is passed by the 10th or so.
    const holders = Array.from({ length: 16 }, () => {
      const c = raw(h);
      c.socket.write(`POST /v1/functions/hello/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${INVOKE}\r\nContent-Type: application/json\r\nContent-Length: ${6 * MiB}\r\n\r\n`);
      c.socket.write(part);
      return c;
    });
    await until(async () => (await metric(h, 'hearth_request_bodies_refused_total{reason="capacity"}')) >= before + 4, 30_000, 'bodies refused at the cap');
    const refused = holders.filter((c) => parseResponse(c.text())?.status === 503);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    const p = parseResponse(refused[0]!.text())!;
    expect(named(p, 'retry-after')).toEqual(['1']);
    expect(JSON.parse(p.body)).toMatchObject({ errorType: 'BodyCapacity' });
    // The holders go: their bytes are given back, and a body is taken again.
    for (const c of holders) c.socket.destroy();
    await until(async () => (await metric(h, 'hearth_request_body_bytes_in_flight')) < MiB, 20_000, 'bytes in flight given back');
    const r = await fetch(`${h.url}/v1/functions/hello/invoke`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'after', pad: 'x'.repeat(2 * MiB) }) });
    expect(r.status).toBe(200);
  }, 60_000);

  it('a fake SigV4 signature without a payload hash is read (bounded by the cap) and refused; RSS settles back', async () => {
    const before = await settledRssMiB(h);
    const body = Buffer.alloc(4 * MiB, 0x20);
    const conns = Array.from({ length: 30 }, () => {
      const c = raw(h);
      c.socket.write(fakeSigV4(false, body.length));
      c.socket.write(body);
      return c;
    });
    await until(() => conns.every((c) => c.isClosed() || parseResponse(c.text()) !== null), 60_000, 'every caller answered');
    // 403 once its body is in; 503 past the cap; 408 when the machine is too slow to take it all within the deadline.
    // A connection closed with no answer: refused mid-body, and its 503 lost to the reset that a
    // close with the client's bytes still unread can make (seen in CI under load; see the README's limits).
    for (const c of conns) expect([403, 503, 408, undefined]).toContain(parseResponse(c.text())?.status);
    expect(conns.some((c) => parseResponse(c.text()) !== null)).toBe(true);
    for (const c of conns) c.socket.destroy();
    // The dropped bodies' buffers are given back by a collection the front end asks for (at most
    // one a second, so the last may come up to a second after the last body went), not whenever V8 gets to it.
    await until(async () => (await metric(h, 'hearth_request_body_bytes_in_flight')) === 0, 20_000, 'every body given back');
    await until(async () => (await metric(h, 'hearth_request_body_collections_total')) > 0, 10_000, 'a collection for the dropped bodies');
    expect(await settledRssMiB(h, { settleMs: 1500 }) - before).toBeLessThan(64);
  }, 120_000);

  it('2,000 connections that declare 6 MiB and send 1 byte hold little, are answered 408 at the body deadline, and the neighbour does not notice', async () => {
    const before = await settledRssMiB(h);
    const timeouts = await metric(h, 'hearth_request_bodies_refused_total{reason="timeout"}');
    const conns: Raw[] = [];
    for (let i = 0; i < 2000; i++) {
      const c = raw(h);
      c.socket.write(`POST /v1/functions/hello/invoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${INVOKE}\r\nContent-Type: application/json\r\nContent-Length: ${6 * MiB}\r\n\r\n{`);
      conns.push(c);
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, 20));
    }
    await until(async () => (await metric(h, 'hearth_request_bodies_refused_total{reason="timeout"}')) >= timeouts + 2000, 60_000, 'every body timed out');
    await until(() => conns.every((c) => c.isClosed()), 30_000, () => `${conns.filter((c) => !c.isClosed()).length} still open`);
    for (const c of conns) {
      const p = parseResponse(c.text());
      expect(p?.status, c.text().slice(0, 100)).toBe(408);
    }
    expect(JSON.parse(parseResponse(conns[0]!.text())!.body)).toMatchObject({ errorType: 'RequestTimeout' });
    // Every attacker's bytes given back (each held at least 4 KiB); the neighbour, called all along, may have a small body in flight.
    expect(await metric(h, 'hearth_request_body_bytes_in_flight')).toBeLessThan(4096);
    expect(await settledRssMiB(h) - before).toBeLessThan(64);
  }, 120_000);
});
