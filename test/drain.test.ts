// SIGTERM to a real Hearth process: readiness goes 503, new connections are refused, calls in
// flight finish, and the process exits 0; a call longer than the drain deadline is cut, not hung.
// While draining, every response closes its connection, so clients that keep connections alive
// (a gateway's pool) move on instead of keeping the process busy or being cut by its exit.

import http from 'node:http';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth } from './support/hearth.js';

const SLEEPS = 'exports.handler = async (e) => { await new Promise((r) => setTimeout(r, e.ms)); return { slept: e.ms }; };';

/** One request on its own kept-alive agent (so a later request can reuse the connection). */
function call(agent: http.Agent, port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent, headers: body ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A raw kept-alive connection: sends the same request again and again, collects the responses. */
async function raw(port: number, request: () => string, complete: RegExp) {
  const sock = net.connect(port, '127.0.0.1');
  let received = '';
  sock.setEncoding('latin1');
  sock.on('data', (d) => (received += d));
  const closed = new Promise<void>((r) => sock.once('end', () => r()));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return {
    sock,
    closed,
    send: () => sock.write(request()),
    async responses(n: number): Promise<string[]> {
      for (let i = 0; i < 400 && (received.match(complete) ?? []).length < n; i++) await new Promise((r) => setTimeout(r, 25));
      return received.split(/(?=HTTP\/1\.1 \d{3} )/);
    },
  };
}

describe('drain on SIGTERM', () => {
  it('finishes calls in flight, answers readiness 503 meanwhile, refuses new connections, exits 0', async () => {
    const h = await startHearth({ args: ['--no-docker', '--drain-timeout-ms', '5000'] });
    await deployOk(h, 'sleeps', jsSource(SLEEPS, { timeoutMs: 10_000 }));
    const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await call(keep, h.port, 'GET', '/readyz')).status).toBe(200); // the connection now exists
    const inFlight = call(new http.Agent(), h.port, 'POST', '/v1/functions/sleeps/invoke', JSON.stringify({ ms: 1_000 }));
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    // The open connection still gets answers: not ready.
    const ready = await call(keep, h.port, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text).errorType).toBe('Draining');
    // A new connection is refused.
    await expect(call(new http.Agent(), h.port, 'GET', '/healthz')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // The call in flight finishes, then the process exits 0.
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ slept: 1_000 });
    expect(await exited).toBe(0);
    keep.destroy();
    await h.stop();
  });

  it('with --drain-delay-ms, new connections are still taken for that long (readiness 503, calls served with Connection: close), then refused; exits 0', async () => {
    // Kubernetes removes a stopping pod from its Service's endpoints while it delivers SIGTERM: for a
    // few seconds connections still arrive, and a listener closed at once would refuse them.
    const h = await startHearth({ args: ['--no-docker', '--drain-delay-ms', '3000', '--drain-timeout-ms', '5000'] });
    await deployOk(h, 'sleeps', jsSource(SLEEPS, { timeoutMs: 10_000 }));
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    const fresh = () => new http.Agent({ keepAlive: true }); // a client that would keep the connection: told to close it
    const ready = await call(fresh(), h.port, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.text).errorType).toBe('Draining');
    const served = await new Promise<http.IncomingMessage & { text: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h.port, method: 'POST', path: '/v1/functions/sleeps/invoke', agent: fresh(), headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve(Object.assign(res, { text })));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ ms: 1 }));
    });
    expect(served.statusCode).toBe(200);
    expect(JSON.parse(served.text)).toEqual({ slept: 1 });
    expect(served.headers.connection).toBe('close');
    // Once the delay is over the listener closes: new connections are refused, and the process exits 0.
    let refused = false;
    for (let i = 0; i < 200 && !refused; i++) {
      refused = await call(fresh(), h.port, 'GET', '/healthz').then(() => false, (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused).toBe(true);
    expect(await exited).toBe(0);
    await h.stop();
  });

  it('past --drain-timeout-ms a call still running is cut (an answer or a closed connection, not a hang), and the process exits 0', async () => {
    const h = await startHearth({ args: ['--no-docker', '--drain-timeout-ms', '300'] });
    await deployOk(h, 'sleeps', jsSource(SLEEPS, { timeoutMs: 30_000 }));
    const inFlight = call(new http.Agent(), h.port, 'POST', '/v1/functions/sleeps/invoke', JSON.stringify({ ms: 20_000 })).then(
      (r) => r.status, (err: NodeJS.ErrnoException) => err.code ?? 'error',
    );
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const outcome = await inFlight;
    expect(outcome === 'ECONNRESET' || (typeof outcome === 'number' && outcome >= 500)).toBe(true);
    await h.stop();
  }, 15_000); // the call asks for 20 s: a drain that waited for it would time the test out

  it('while draining, requests on kept-alive connections are served with Connection: close (invoke, web, management), and the server closes them', async () => {
    const h = await startHearth({ args: ['--no-docker', '--drain-timeout-ms', '5000'] });
    await deployOk(h, 'sleeps', jsSource(SLEEPS, { timeoutMs: 10_000 }));
    await deployOk(h, 'empty', jsSource('export default { fetch: () => new Response(null, { status: 204 }) };', {}, 'index.default'));
    const body = (ms: number) => JSON.stringify({ ms });
    const invoke = (ms: number) => `POST /v1/functions/sleeps/invoke HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body(ms).length}\r\n\r\n${body(ms)}`;
    const conns = {
      invoke: await raw(h.port, () => invoke(1), /\{"slept":\d+\}/g),
      web: await raw(h.port, () => 'GET /v1/web/empty/ HTTP/1.1\r\nHost: x\r\n\r\n', /HTTP\/1\.1 204 [^]*?\r\n\r\n/g),
      // A loopback Host: without an admin token, management calls are taken only for one (DNS rebinding).
      management: await raw(h.port, () => 'GET /v1/functions HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', /"functions":/g),
    };
    for (const [route, c] of Object.entries(conns)) {
      c.send();
      const [before] = await c.responses(1);
      expect(before, route).toMatch(/^HTTP\/1\.1 20[04] /);
      expect(before, route).not.toMatch(/\r\nconnection: close\r\n/i); // kept alive
    }
    // A call in flight keeps the process draining while the same connections send another one.
    const inFlight = h.invoke('sleeps', { ms: 1_000 });
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    for (const [route, c] of Object.entries(conns)) {
      c.send();
      const all = await c.responses(2);
      expect(all, route).toHaveLength(2);
      expect(all[1], route).toMatch(/^HTTP\/1\.1 20[04] /);
      expect(all[1], route).toMatch(/\r\nconnection: close\r\n/i);
    }
    expect((await conns.invoke.responses(2))[1]).toContain('{"slept":1}');
    expect((await conns.web.responses(2))[1]).not.toMatch(/\r\ncontent-length:/i); // a 204 has none
    // The server closes the connection right after such a response (the process is still
    // draining: the call in flight); for a 204, which has no length to end on, the client does.
    await conns.invoke.closed;
    await conns.management.closed;
    expect(h.proc.exitCode).toBe(null);
    expect((await inFlight).status).toBe(200);
    expect(await exited).toBe(0);
    for (const c of Object.values(conns)) c.sock.destroy();
    await h.stop();
  });

  it('under steady load on kept-alive connections, SIGTERM answers every request that reached the server and exits 0 without waiting for the deadline', async () => {
    const h = await startHearth({ args: ['--no-docker', '--drain-timeout-ms', '60000'] });
    await deployOk(h, 'sleeps', jsSource(SLEEPS, { timeoutMs: 10_000 }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const outcomes: (number | string)[] = [];
    let running = true;
    const loops = Array.from({ length: 8 }, async () => {
      while (running) {
        const r = await call(agent, h.port, 'POST', '/v1/functions/sleeps/invoke', JSON.stringify({ ms: 2 })).then(
          (res) => res.status, (err: NodeJS.ErrnoException) => err.code ?? err.message,
        );
        outcomes.push(r);
        // Once the server refuses new connections this client is done: nothing was lost.
        if (r === 'ECONNREFUSED') return;
      }
    });
    while (outcomes.length < 200) await new Promise((r) => setTimeout(r, 20));
    const exited = new Promise<number | null>((r) => h.proc.once('exit', (code) => r(code)));
    h.proc.kill('SIGTERM');
    expect(await exited).toBe(0); // long before the 60 s deadline: the test would time out
    running = false;
    await Promise.all(loops);
    agent.destroy();
    const tally: Record<string, number> = {};
    for (const o of outcomes) tally[String(o)] = (tally[String(o)] ?? 0) + 1;
    // Every request that reached the server was answered 200; the only other outcome is a refused
    // new connection. A reset or hang-up would be a request cut by the exit.
    expect(Object.keys(tally).filter((k) => k !== '200' && k !== 'ECONNREFUSED')).toEqual([]);
    expect(tally['200']).toBeGreaterThanOrEqual(200);
    await h.stop();
  }, 30_000);
});
