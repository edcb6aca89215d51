// Every row of ARCHITECTURE.md's error table, over real HTTP against a real Hearth process: the status,
// the errorType, and a JSON body — plus the encodings (JSON / msgpack in and out).

import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

interface ErrorBody { errorType: string; errorMessage: string; stackTrace?: unknown }

/** Server A: a small body limit and a wait queue of one (default queue deadline). */
let a: Hearth;
/** Server B: a wait queue of one with a 100 ms deadline. */
let b: Hearth;

const ECHO = 'exports.handler = async (event) => event;';
// Slow for ~300 ms: with a timer when the isolate has one, else a busy loop.
const SLOW = `
exports.handler = async (event) => {
  if (typeof setTimeout === 'function') {
    await new Promise((r) => setTimeout(r, 300));
  } else {
    const end = Date.now() + 300;
    while (Date.now() < end) {}
  }
  return { slept: true, i: event.i ?? null };
};`;
const THROWS = "exports.handler = async () => { throw new TypeError('boom'); };";
const SPIN = 'exports.handler = async () => { while (true) {} };';

beforeAll(async () => {
  [a, b] = await Promise.all([
    startHearth({ args: ['--max-body-bytes', '2048', '--wait-queue-size', '1'] }),
    startHearth({ args: ['--wait-queue-size', '1', '--wait-queue-timeout-ms', '100'] }),
  ]);
  await Promise.all([
    deployOk(a, 'echo', jsSource(ECHO)),
    deployOk(a, 'slow', jsSource(SLOW, { concurrency: 1, maxInstances: 1 })),
    deployOk(a, 'throws', jsSource(THROWS)),
    deployOk(a, 'spin', jsSource(SPIN, { timeoutMs: 200 })),
    deployOk(a, 'py', { runtime: 'python3', handler: 'index.main_handler', code: { source: 'def main_handler(event, context):\n    return event\n' } }),
    deployOk(b, 'slow', jsSource(SLOW, { concurrency: 1, maxInstances: 1 })),
  ]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

/** Asserts the status and a JSON error body with this errorType; returns the body. */
async function expectError(r: Response, status: number, errorType: string): Promise<ErrorBody> {
  const text = await r.text();
  expect(r.status, text).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  let body: ErrorBody;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    throw new Error(`the ${r.status} body is not JSON: ${text}`);
  }
  expect(body.errorType, text).toBe(errorType);
  expect(typeof body.errorMessage).toBe('string');
  expect(body.errorMessage.length).toBeGreaterThan(0);
  return body;
}

function invokeRaw(h: Hearth, name: string, init: RequestInit & { query?: string } = {}): Promise<Response> {
  const { query, ...rest } = init;
  return fetch(`${h.url}/v1/functions/${name}/invoke${query ?? ''}`, { method: 'POST', ...rest });
}

/** A body sent without Content-Length (chunked), in `chunks` pieces of `size` bytes. */
function streamed(chunks: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ >= chunks) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(0x20));
    },
  });
}

describe('400', () => {
  it('malformed JSON body → InvalidRequestContent (decoded inside the isolate)', async () => {
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body: '{"a": ' });
    const body = await expectError(r, 400, 'InvalidRequestContent');
    expect(body.errorMessage).toMatch(/JSON|decode/i);
  });

  it('malformed msgpack body → InvalidRequestContent', async () => {
    // A fixarray of two elements with only one present.
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array([0x92, 0x01]) });
    const body = await expectError(r, 400, 'InvalidRequestContent');
    expect(body.errorMessage).toMatch(/msgpack|decode/i);
  });

  it('a bad spec names the field: memoryMb of the wrong type', async () => {
    const r = await a.deploy('bad-memory', jsSource(ECHO, { memoryMb: 'lots' }));
    const body = await expectError(r, 400, 'InvalidSpec');
    expect(body.errorMessage).toContain('memoryMb');
  });

  it('a bad spec names the field: memoryMb below the minimum', async () => {
    const r = await a.deploy('small-memory', jsSource(ECHO, { memoryMb: 8 }));
    const body = await expectError(r, 400, 'InvalidSpec');
    expect(body.errorMessage).toContain('memoryMb');
  });

  it('a bad spec names the field: missing handler', async () => {
    const r = await a.deploy('no-handler', { runtime: 'js', code: { source: ECHO } });
    const body = await expectError(r, 400, 'InvalidSpec');
    expect(body.errorMessage).toContain('handler');
  });

  it('a bad spec names the field: an unknown extra field', async () => {
    const r = await a.deploy('extra-field', jsSource(ECHO, { colour: 'blue' }));
    const body = await expectError(r, 400, 'InvalidSpec');
    expect(body.errorMessage).toContain('colour');
  });

  it('a spec that is not JSON → 400 InvalidRequestContent', async () => {
    const r = await fetch(`${a.url}/v1/functions/not-json`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{runtime: js' });
    await expectError(r, 400, 'InvalidRequestContent');
  });

  it('code with a syntax error → CompileError quoting the problem', async () => {
    const r = await a.deploy('syntax', jsSource('exports.handler = async (event) => { return event.; };'));
    const body = await expectError(r, 400, 'CompileError');
    expect(body.errorMessage).toContain('return event.;');
    expect(body.errorMessage).toMatch(/index\.js:1:\d+/);
  });

  it("`import fs from 'fs'` → CompileError naming the built-in", async () => {
    const r = await a.deploy('uses-fs', jsSource("import fs from 'fs';\nexport const handler = async () => typeof fs.readFileSync;"));
    const body = await expectError(r, 400, 'CompileError');
    expect(body.errorMessage).toContain('"fs"');
    expect(body.errorMessage).toMatch(/built-in/i);
  });

  it("`require('node:path')` → CompileError naming the built-in", async () => {
    const r = await a.deploy('uses-path', jsSource("const path = require('node:path');\nexports.handler = async () => path.sep;"));
    const body = await expectError(r, 400, 'CompileError');
    expect(body.errorMessage).toContain('node:path');
    expect(body.errorMessage).toMatch(/built-in/i);
  });

  it('none of the bad deploys created a function', async () => {
    for (const name of ['bad-memory', 'small-memory', 'no-handler', 'extra-field', 'syntax', 'uses-fs', 'uses-path']) {
      const r = await fetch(`${a.url}/v1/functions/${name}`);
      await expectError(r, 404, 'FunctionNotFound');
    }
  });
});

describe('404 and 405', () => {
  it('unknown function → 404 FunctionNotFound', async () => {
    const r = await a.invoke('no-such-function', {});
    const body = await expectError(r, 404, 'FunctionNotFound');
    expect(body.errorMessage).toContain('no-such-function');
  });

  it('unknown qualifier → 404 VersionNotFound', async () => {
    const r = await invokeRaw(a, 'echo', { query: '?qualifier=7', headers: { 'content-type': 'application/json' }, body: '{}' });
    const body = await expectError(r, 404, 'VersionNotFound');
    expect(body.errorMessage).toContain('7');
  });

  it('unknown route → 404 NotFound', async () => {
    await expectError(await fetch(`${a.url}/v1/nothing-here`), 404, 'NotFound');
    await expectError(await fetch(`${a.url}/v2/functions/echo/invoke`, { method: 'POST', body: '{}' }), 404, 'NotFound');
  });

  it('wrong method on a known route → 405 MethodNotAllowed', async () => {
    await expectError(await fetch(`${a.url}/v1/functions/echo/invoke`), 405, 'MethodNotAllowed');
    await expectError(await fetch(`${a.url}/healthz`, { method: 'DELETE' }), 405, 'MethodNotAllowed');
    await expectError(await fetch(`${a.url}/v1/functions/echo`, { method: 'POST', body: '{}' }), 405, 'MethodNotAllowed');
    // The 405s are derived from the route tables: the Lambda API's route too (it was a 404 while
    // the list was kept by hand).
    await expectError(await fetch(`${a.url}/2015-03-31/functions/echo/invocations`), 405, 'MethodNotAllowed');
  });
});

describe('413', () => {
  it('a body over --max-body-bytes (with Content-Length) → 413 RequestTooLarge', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(10 * 1024) });
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body: big });
    await expectError(r, 413, 'RequestTooLarge');
  });

  it('a streamed body just over the limit (no Content-Length) → 413 RequestTooLarge', async () => {
    const r = await invokeRaw(a, 'echo', {
      headers: { 'content-type': 'application/json' },
      body: streamed(3, 1024),
      duplex: 'half',
    } as RequestInit);
    await expectError(r, 413, 'RequestTooLarge');
  });

  it('a streamed 64 KB body (no Content-Length) → 413 RequestTooLarge, not a broken connection', async () => {
    // The client is still sending when Hearth decides; the 413 must still reach it.
    const r = await invokeRaw(a, 'echo', {
      headers: { 'content-type': 'application/json' },
      body: streamed(64, 1024),
      duplex: 'half',
    } as RequestInit);
    await expectError(r, 413, 'RequestTooLarge');
  });

  it('an 8 MiB body with Content-Length → 413 RequestTooLarge, not a broken connection', async () => {
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body: new Uint8Array(8 << 20).fill(0x20) });
    await expectError(r, 413, 'RequestTooLarge');
  });

  it('a streamed body under the limit is served', async () => {
    const enc = new TextEncoder();
    const parts = ['{"a":', '[1,2,', '3],"b":"', 'héllo"}'];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const p = parts.shift();
        if (p === undefined) c.close();
        else c.enqueue(enc.encode(p));
      },
    });
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ a: [1, 2, 3], b: 'héllo' });
  });

  it('the server still serves after refusing large bodies', async () => {
    const r = await a.invoke('echo', { ok: 1 });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: 1 });
  });
});

describe('415 and 406', () => {
  it('text/plain invoke → 415 UnsupportedMediaType', async () => {
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'text/plain' }, body: 'hello' });
    await expectError(r, 415, 'UnsupportedMediaType');
  });

  it("curl's default for -d (application/x-www-form-urlencoded) is taken as JSON, the answer JSON", async () => {
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/x-www-form-urlencoded', accept: '*/*' }, body: '{"x":1}' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(await r.json()).toEqual({ x: 1 });
  });

  it('a spec sent as text/plain → 415 UnsupportedMediaType', async () => {
    const r = await fetch(`${a.url}/v1/functions/plain-spec`, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(jsSource(ECHO)) });
    await expectError(r, 415, 'UnsupportedMediaType');
  });

  it('Accept: text/html only → 406 NotAcceptable', async () => {
    const r = await a.invoke('echo', { x: 1 }, { accept: 'text/html' });
    await expectError(r, 406, 'NotAcceptable');
  });
});

describe('429', () => {
  it('a full wait queue → 429 TooManyRequests, the others 200', async () => {
    const rs = await Promise.all([0, 1, 2, 3].map((i) => a.invoke('slow', { i })));
    const outcomes = await Promise.all(rs.map(async (r) => ({ status: r.status, text: await r.text() })));
    const ok = outcomes.filter((o) => o.status === 200);
    const refused = outcomes.filter((o) => o.status !== 200);
    expect(refused.length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(1);
    expect(ok.length, JSON.stringify(outcomes)).toBeGreaterThanOrEqual(1);
    for (const o of refused) {
      expect(o.status, o.text).toBe(429);
      expect(JSON.parse(o.text).errorType).toBe('TooManyRequests');
    }
    for (const o of ok) expect(JSON.parse(o.text).slept).toBe(true);
  });

  it('the wait-queue deadline → 429 QueueTimeout', async () => {
    const warm = await b.invoke('slow', { i: -1 });
    expect(warm.status).toBe(200);
    const rs = await Promise.all([0, 1].map((i) => b.invoke('slow', { i })));
    const outcomes = await Promise.all(rs.map(async (r) => ({ status: r.status, text: await r.text() })));
    const statuses = outcomes.map((o) => o.status).sort();
    expect(statuses, JSON.stringify(outcomes)).toEqual([200, 429]);
    const late = rs.find((r) => r.status === 429)!;
    expect(late.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(outcomes.find((o) => o.status === 429)!.text) as ErrorBody;
    expect(body.errorType).toBe('QueueTimeout');
    expect(body.errorMessage).toMatch(/100 ms/);
  });
});

describe('500, 503, 504', () => {
  it('the function threw → 500 with X-Hearth-Function-Error: Unhandled', async () => {
    const r = await a.invoke('throws', {});
    expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    const body = await expectError(r, 500, 'TypeError');
    expect(body.errorMessage).toBe('boom');
  });

  it('a python3 function with no Docker engine to run it → 503 BackendUnavailable that says how to get one', async () => {
    const noEngine = await startHearth({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    try {
      await deployOk(noEngine, 'py', { runtime: 'python3', handler: 'index.main_handler', code: { source: 'def main_handler(e, c):\n    return 1\n' } });
      const r = await noEngine.invoke('py', { x: 1 });
      expect(r.headers.get('x-hearth-request-id')).toBeTruthy();
      const body = await expectError(r, 503, 'BackendUnavailable');
      expect(body.errorMessage).toMatch(/Docker engine/);
      expect(body.errorMessage).toMatch(/docker\.io|DOCKER_HOST/);
    } finally {
      await noEngine.stop();
    }
  });

  it('a timeout → 504 Timeout', async () => {
    const r = await a.invoke('spin', {});
    await expectError(r, 504, 'Timeout');
  });
});

describe('every invoke response carries the invocation headers, errors included', () => {
  it('X-Hearth-Request-Id, -Cold, -Init-Ms and -Duration-Ms on success and on every error status', async () => {
    const cases: [string, () => Promise<Response>][] = [
      ['200', () => a.invoke('echo', {})],
      ['400 bad body', () => invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body: '{' })],
      ['404 function', () => a.invoke('no-such-function', {})],
      ['404 qualifier', () => invokeRaw(a, 'echo', { query: '?qualifier=7', body: '{}' })],
      ['413', () => invokeRaw(a, 'echo', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(10 * 1024) }) })],
      ['415', () => invokeRaw(a, 'echo', { headers: { 'content-type': 'text/plain' }, body: 'x' })],
      ['406', () => a.invoke('echo', {}, { accept: 'text/html' })],
      ['500', () => a.invoke('throws', {})],
      ['200 container', () => a.invoke('py', {})],
      ['504', () => a.invoke('spin', {})],
    ];
    const missing: string[] = [];
    for (const [label, send] of cases) {
      const r = await send();
      await r.arrayBuffer();
      for (const hdr of ['x-hearth-request-id', 'x-hearth-cold', 'x-hearth-init-ms', 'x-hearth-duration-ms']) {
        if (!r.headers.get(hdr)) missing.push(`${label} (${r.status}): ${hdr}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('encodings', () => {
  const event = { name: 'Ada', n: 42, f: 1.5, neg: -7, ok: true, nothing: null, list: [1, 'two', { three: 3 }], nested: { deep: { s: 'ünïcødé ✓' } } };

  it('msgpack in, JSON out (Accept: application/json)', async () => {
    const r = await invokeRaw(a, 'echo', {
      headers: { 'content-type': 'application/msgpack', accept: 'application/json' },
      body: new Uint8Array(pack(event)),
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(await r.text())).toEqual(event);
  });

  it('JSON in, msgpack out (Accept: application/msgpack)', async () => {
    const r = await a.invoke('echo', event, { accept: 'application/msgpack' });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/msgpack/);
    expect(unpack(new Uint8Array(await r.arrayBuffer()))).toEqual(event);
  });

  it('msgpack in, msgpack out by default', async () => {
    const r = await invokeRaw(a, 'echo', { headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(pack(event)) });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/msgpack/);
    expect(unpack(new Uint8Array(await r.arrayBuffer()))).toEqual(event);
  });

  it('JSON in, JSON out by default', async () => {
    const r = await a.invoke('echo', event);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await r.json()).toEqual(event);
  });

  it('errors are JSON even when the caller asked for msgpack', async () => {
    const r = await invokeRaw(a, 'throws', { headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' }, body: new Uint8Array(pack({})) });
    const body = await expectError(r, 500, 'TypeError');
    expect(body.errorMessage).toBe('boom');
  });
});
