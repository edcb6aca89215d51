// Functions that attack the runtime's own machinery (review findings): the server keeps serving,
// every call gets an answer, other calls are untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from '../support/hearth.js';

let h: Hearth;
beforeAll(async () => { h = await startHearth(); });
afterAll(async () => { await h?.stop(); });

describe('hostile functions', () => {
  it('replacing Date.now and logging with a Tail does not take the server down', async () => {
    await deployOk(h, 'badclock', jsSource('exports.handler = async () => { Date.now = () => NaN; console.log("x"); console.log("y"); return 1 }'));
    for (let i = 0; i < 3; i++) {
      const r = await h.invoke('badclock', {}, { 'x-hearth-log-type': 'Tail' });
      expect(r.status).toBe(200);
      expect(Buffer.from(r.headers.get('x-hearth-log-result')!, 'base64').toString()).toContain('x');
    }
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('tampering with Promise.prototype.then cannot leave a call unanswered', async () => {
    await deployOk(h, 'badthen', jsSource(`exports.handler = async (e) => {
      const orig = Promise.prototype.then;
      Promise.prototype.then = function (a, b) { return orig.call(this, () => a && a(42), b); };
      for (let i = 0; i < 50; i++) await null;
      return e.i;
    }`, { timeoutMs: 1000 }));
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => h.invoke('badthen', { i })));
    for (const r of rs) expect([200, 500, 504]).toContain(r.status);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('an unhandled rejection in one call does not keep failing the calls beside it', async () => {
    await deployOk(h, 'leaky', jsSource('exports.handler = async (e) => { if (e.bad) Promise.reject(new Error("oops")); return e.i }'));
    const first = await Promise.all(Array.from({ length: 8 }, (_, i) => h.invoke('leaky', { i, bad: i === 0 })));
    for (const r of first) expect([200, 500]).toContain(r.status);
    // After that, the good calls on the same instance succeed.
    const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => h.invoke('leaky', { i, bad: false })));
    expect(rs.map((r) => r.status)).toEqual(Array(8).fill(200));
  });

  it('a thrown value without a string form is a clean 500', async () => {
    await deployOk(h, 'weird', jsSource('exports.handler = async () => { throw Object.assign(Object.create(null), { n: 1n }) }'));
    const r = await h.invoke('weird', {});
    expect(r.status).toBe(500);
    expect(((await r.json()) as any).errorType).toBeTruthy();
  });

  it('deleting a function refuses the calls waiting for it (404), not after the queue deadline', async () => {
    await deployOk(h, 'doomed', jsSource('exports.handler = async () => { const end = Date.now() + 400; while (Date.now() < end); return 1 }', { concurrency: 1, maxInstances: 1 }));
    const calls = Array.from({ length: 3 }, () => h.invoke('doomed', {}));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    expect((await fetch(`${h.url}/v1/functions/doomed`, { method: 'DELETE' })).status).toBe(204);
    const statuses = (await Promise.all(calls)).map((r) => r.status).sort();
    expect(statuses).toContain(404);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
