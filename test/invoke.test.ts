// Invoke over real HTTP: encodings, response headers, cold/warm, logs, invocation records.
import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;
beforeAll(async () => {
  h = await startHearth();
  await deployOk(h, 'echo', jsSource('exports.handler = async (event) => ({ event })'));
  await deployOk(h, 'talk', jsSource(`
    console.log('module init');
    exports.handler = async (event, ctx) => {
      console.log('hello from', ctx.requestId, { n: event.n });
      console.error('to stderr');
      console.warn(new Error('warned'));
      return event.n;
    };`));
});
afterAll(async () => { await h?.stop(); });

const post = (name: string, body: BodyInit, headers: Record<string, string>) =>
  fetch(`${h.url}/v1/functions/${name}/invoke`, { method: 'POST', body, headers });

describe('payloads', () => {
  it('JSON in, JSON out', async () => {
    const r = await h.invoke('echo', { a: [1, 'two', { three: 3 }], u: 'héllo ☃ 😀' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ event: { a: [1, 'two', { three: 3 }], u: 'héllo ☃ 😀' } });
  });

  it('msgpack in, msgpack out (binary fields too)', async () => {
    const event = { n: 1, bin: new Uint8Array([0, 1, 2, 255]), s: 'ü' };
    const r = await post("echo", new Uint8Array(pack(event)), { 'content-type': 'application/msgpack' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/msgpack');
    const out = unpack(Buffer.from(await r.arrayBuffer())) as any;
    expect(out.event.n).toBe(1);
    expect(out.event.s).toBe('ü');
    expect([...out.event.bin]).toEqual([0, 1, 2, 255]);
  });

  it('Accept picks the result encoding', async () => {
    const r1 = await post("echo", new Uint8Array(pack({ x: 1 })), { 'content-type': 'application/msgpack', accept: 'application/json' });
    expect(r1.headers.get('content-type')).toBe('application/json');
    expect(await r1.json()).toEqual({ event: { x: 1 } });
    const r2 = await post('echo', JSON.stringify({ y: 2 }), { 'content-type': 'application/json', accept: 'application/msgpack' });
    expect(r2.headers.get('content-type')).toBe('application/msgpack');
    expect(unpack(Buffer.from(await r2.arrayBuffer()))).toEqual({ event: { y: 2 } });
    const r3 = await post('echo', '{}', { 'content-type': 'application/json; charset=utf-8', accept: 'text/html, */*;q=0.8' });
    expect(r3.headers.get('content-type')).toBe('application/json');
  });

  it('an empty body is the empty event', async () => {
    const r = await post('echo', '', { 'content-type': 'application/json' });
    expect(await r.json()).toEqual({ event: {} });
  });

  it('bodies of 1 MB go both ways', async () => {
    const big = 'x'.repeat(1024 * 1024);
    const r = await h.invoke('echo', { big });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).event.big.length).toBe(big.length);
  });
});

describe('response headers', () => {
  it('every response says its request id, cold or warm, and where the time went', async () => {
    await deployOk(h, 'fresh', jsSource('exports.handler = async () => 1'));
    const first = await h.invoke('fresh', {});
    const second = await h.invoke('fresh', {});
    for (const r of [first, second]) {
      expect(r.headers.get('x-hearth-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number(r.headers.get('x-hearth-init-ms'))).toBeGreaterThanOrEqual(0);
      expect(Number(r.headers.get('x-hearth-duration-ms'))).toBeGreaterThan(0);
    }
    expect(first.headers.get('x-hearth-cold')).toBe('true');
    expect(Number(first.headers.get('x-hearth-init-ms'))).toBeGreaterThan(0);
    expect(second.headers.get('x-hearth-cold')).toBe('false');
    expect(second.headers.get('x-hearth-init-ms')).toBe('0.000');
    expect(first.headers.get('x-hearth-request-id')).not.toBe(second.headers.get('x-hearth-request-id'));
    // Errors refused before running carry them too.
    const missing = await h.invoke('nope', {});
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-hearth-request-id')).toBeTruthy();
    expect(missing.headers.get('x-hearth-cold')).toBe('false');
  });
});

describe('logs', () => {
  it('console.* is captured per invocation, with request id, stream and time', async () => {
    const r = await h.invoke('talk', { n: 7 }, { 'x-hearth-log-type': 'Tail' });
    expect(await r.json()).toBe(7);
    const id = r.headers.get('x-hearth-request-id')!;
    const tail = Buffer.from(r.headers.get('x-hearth-log-result')!, 'base64').toString();
    expect(tail).toContain(`hello from ${id} {"n":7}`);
    expect(tail).toContain('to stderr');
    expect(tail).toContain('Error: warned');
    // Module init ran during this (cold) call, so its output belongs to it.
    expect(tail).toContain('module init');

    const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as any;
    expect(rec).toMatchObject({ requestId: id, functionName: 'talk', status: 'succeeded', result: 7, cold: true });
    expect(rec.timings.durationMs).toBeGreaterThan(0);
    const streams = rec.logs.map((l: any) => l.stream);
    expect(streams).toContain('stdout');
    expect(streams).toContain('stderr');
    for (const l of rec.logs) {
      expect(l.requestId).toBe(id);
      expect(Math.abs(l.time - Date.now())).toBeLessThan(60_000);
    }

    const fn = await (await fetch(`${h.url}/v1/functions/talk/logs?limit=50`)).json() as any;
    expect(fn.lines.some((l: any) => l.requestId === id && l.message.includes('hello from'))).toBe(true);
  });

  it('a tail is at most 4 KB, the end of the log', async () => {
    await deployOk(h, 'chatty', jsSource('exports.handler = async () => { for (let i = 0; i < 500; i++) console.log("line " + i); return 1 }'));
    const r = await h.invoke('chatty', {}, { 'x-hearth-log-type': 'Tail' });
    const tail = Buffer.from(r.headers.get('x-hearth-log-result')!, 'base64');
    expect(tail.length).toBeLessThanOrEqual(4096);
    expect(tail.toString()).toContain('line 499');
    expect(tail.toString()).not.toContain('line 1\n');
  });

  it('failed calls are on record too, and the logs API filters by time and limit', async () => {
    await deployOk(h, 'fails', jsSource('exports.handler = async () => { console.log("about to fail"); throw new RangeError("nope") }'));
    const r = await h.invoke('fails', {});
    expect(r.status).toBe(500);
    const id = r.headers.get('x-hearth-request-id')!;
    const rec = await (await fetch(`${h.url}/v1/invocations/${id}`)).json() as any;
    expect(rec.status).toBe('failed');
    expect(rec.error).toMatchObject({ errorType: 'RangeError', errorMessage: 'nope' });
    expect(rec.logs[0].message).toBe('about to fail');
    const future = await (await fetch(`${h.url}/v1/functions/fails/logs?since=${Date.now() + 60_000}`)).json() as any;
    expect(future.lines).toEqual([]);
    expect((await fetch(`${h.url}/v1/functions/fails/logs?limit=0`)).status).toBe(400);
    expect((await fetch(`${h.url}/v1/invocations/not-a-real-id`)).status).toBe(404);
    expect((await fetch(`${h.url}/v1/functions/nobody/logs`)).status).toBe(404);
  });
});

describe('calls that share a crossing', () => {
  it('each call gets its own result, also calls that finish after their batch returned', async () => {
    // 200 awaits is far more than the microtask turns a batch waits: these answer late, one by one.
    await deployOk(h, 'slowish', jsSource('exports.handler = async (e) => { for (let i = 0; i < e.awaits; i++) await null; return { i: e.i } }', { concurrency: 64, maxInstances: 1 }));
    const rs = await Promise.all(Array.from({ length: 48 }, (_, i) => h.invoke('slowish', { i, awaits: i % 2 ? 200 : 0 })));
    expect(rs.map((r) => r.status).every((s) => s === 200)).toBe(true);
    const bodies = await Promise.all(rs.map((r) => r.json() as Promise<{ i: number }>));
    expect(bodies.map((b) => b.i)).toEqual(Array.from({ length: 48 }, (_, i) => i));
  });
});
