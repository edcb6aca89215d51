// SIGTERM to a real Hearth process: readiness goes 503, new connections are refused, calls in
// flight finish, and the process exits 0; a call longer than the drain deadline is cut, not hung.

import http from 'node:http';
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
});
