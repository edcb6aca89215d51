// ContainerBackend's pool logic against a fake engine (test/support/fake-engine.ts: in-process
// bootstraps on 127.0.0.1, no Docker): stem cells, warm reuse, web calls to python functions,
// exits, the engine going away and coming back, a missing runtime image, custom images.
// test/containers.test.ts and test/engine-restart.test.ts drive the same code with real containers.

import { afterEach, describe, expect, it } from 'vitest';
import type { FunctionVersion } from '../core/backend.js';
import { newCall, SUPERSEDED, type CallOutcome, type CallRequest, type WebRequest } from '../core/call.js';
import { FakeEngine } from '../test/support/fake-engine.js';
import { until } from '../test/support/until.js';
import { ContainerBackend, type ContainerBackendOptions } from './backend.js';
import { runtimeImageTag } from './images.js';

const OPTS: ContainerBackendOptions = {
  stemCells: 1, defaultMemoryMb: 128, cpus: 0.5,
  maxTotalInstances: 20, memoryBudgetMb: 100_000, waitQueueSize: 10, waitQueueTimeoutMs: 2_000,
  scaleUpThreshold: 0.8, scaleDownThreshold: 0.5, scaleDownDelayMs: 60_000, sweepIntervalMs: 60_000,
};

type Line = [fn: string, requestId: string, stream: number, message: string];

let backend: ContainerBackend | null = null;
let engine: FakeEngine;
let lines: Line[];

afterEach(async () => {
  await backend?.close();
  backend = null;
});

function start(prepare: (e: FakeEngine) => void = () => undefined): ContainerBackend {
  engine = new FakeEngine();
  prepare(engine);
  lines = [];
  backend = new ContainerBackend(OPTS, engine, { getCode: () => Buffer.from('def handler(event, context):\n    return event\n') },
    (fn, requestId, stream, _time, message) => lines.push([fn, requestId, stream, message]));
  return backend;
}

function version(name: string, runtime: 'python3' | 'java17' | 'image', over: Record<string, unknown> = {}): FunctionVersion {
  const handler = runtime === 'java17' ? 'example.Hello::handle' : 'index.handler';
  const spec = {
    runtime, handler, env: {}, memoryMb: 128, timeoutMs: 2_000, concurrency: 1, minInstances: 0, maxInstances: 2,
    keepAliveMs: 60_000, egress: { allow: [] }, schedules: [], ...(runtime === 'image' ? { image: 'my-server:1' } : {}), ...over,
  };
  return {
    name, version: '$LATEST', digest: `${name}-digest`, codeDigest: `${name}-code`, runtime, handler, exportName: 'handler',
    imageId: runtime === 'image' ? 'sha256:my-server' : null, spec: spec as unknown as FunctionVersion['spec'], createdAt: '',
  };
}

let n = 0;
function event(body: unknown, requestId = `r${++n}`): CallRequest {
  const bytes = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return newCall({ requestId, functionName: 'f', source: 'v1', body: toArrayBuffer(bytes), reqEnc: 0, resEnc: 0 });
}

function web(method: string, url: string, headers: string[], body: string, requestId = `w${++n}`): CallRequest {
  const w: WebRequest = { method, url, headers, remoteAddress: '10.0.0.7' };
  return newCall({ requestId, functionName: 'f', source: 'web', body: toArrayBuffer(Buffer.from(body)), reqEnc: 0, resEnc: 0, web: w });
}

function toArrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function call(fn: FunctionVersion, req: CallRequest): Promise<CallOutcome> {
  const out = await backend!.invoke(fn, req);
  if (out === SUPERSEDED) throw new Error('superseded');
  return out;
}

function json(out: CallOutcome): Record<string, unknown> {
  expect(out.error).toBeNull();
  return JSON.parse(Buffer.from(out.result!).toString('utf8')) as Record<string, unknown>;
}

/** A condition of the fake engine's world, within 3 s. */
const eventually = (cond: () => boolean): Promise<void> => until(cond, 3_000, () => cond.toString(), 5);

const containerOf = (fn: FunctionVersion): string[] => (backend!.pool.peek(fn.digest)?.instances ?? []).map((i) => i.containerId);

describe('ContainerBackend (fake engine)', () => {
  it('makes a stem cell per runtime; a cold call specializes one and the reserve makes another', async () => {
    const b = start();
    await b.ready();
    expect(engine.runningOf('python3').length).toBe(1);
    expect(engine.runningOf('java17').length).toBe(1);
    expect(b.stats().prewarmed).toBe(2);
    const stem = engine.runningOf('python3')[0]!;
    expect(stem.spec).toMatchObject({ image: runtimeImageTag('python3'), user: '10001:10001', egress: null, cpus: 0.5, pids: 256 });

    const fn = version('hello', 'python3', { cpus: 1, env: { GREETING: 'hi' } });
    const out = await call(fn, event({ a: 1 }));
    expect(out.cold).toBe(true);
    expect(json(out)).toEqual({ event: { a: 1 }, container: stem.id });
    // The stem cell took the function's code and limits.
    expect(stem.init).toMatchObject({ functionName: 'hello', handler: 'index.handler', env: { GREETING: 'hi' }, code: { filename: 'index.py' } });
    expect(stem.limits).toEqual({ cpus: 1, pids: 256 });

    await eventually(() => b.stats().prewarmed === 2);
    const stems = engine.runningOf('python3').filter((c) => c.init === null);
    expect(stems.length).toBe(1);
    expect(stems[0]!.id).not.toBe(stem.id);
  });

  it('a warm call reuses the container; its log lines, a function error and a bad payload are the call\'s', async () => {
    start();
    engine.handler = (ev, ctx) => {
      const e = ev as { fail?: boolean };
      ctx.print(`hello from ${ctx.requestId}`);
      ctx.print('to stderr', 1);
      if (e.fail) { const err = new Error('it broke'); err.name = 'ValueError'; throw err; }
      return { container: ctx.container };
    };
    const fn = version('warm', 'python3');
    const first = await call(fn, event({}));
    const second = await call(fn, event({}, 'second'));
    expect([first.cold, second.cold]).toEqual([true, false]);
    expect(json(second).container).toBe(json(first).container);
    expect(containerOf(fn)).toEqual([json(first).container]);
    expect(lines).toContainEqual(['warm', 'second', 0, 'hello from second']);
    expect(lines).toContainEqual(['warm', 'second', 1, 'to stderr']);

    const failed = await call(fn, event({ fail: true }));
    expect(failed.error).toMatchObject({ errorType: 'ValueError', errorMessage: 'it broke', status: 500, functionError: true });
    expect(failed.error!.stackTrace).toEqual(['  File "index.py", line 1, in handler']);
    const bad = await call(fn, event('{not json'));
    expect(bad.error).toMatchObject({ errorType: 'InvalidRequestContent', status: 400, functionError: false });
    // Neither broke the container.
    expect(containerOf(fn)).toEqual([json(first).container]);
  });

  it('a web call to a python function gets the function URL event and answers with its response', async () => {
    start();
    engine.handler = (ev) => {
      const e = ev as { rawPath: string; rawQueryString: string; body?: string; headers: Record<string, string>; requestContext: { http: { method: string; sourceIp: string } } };
      if (e.rawPath === '/bad') return { statusCode: 100 };
      return {
        statusCode: 201, headers: { 'X-Answer': 'yes' }, cookies: ['a=1'],
        body: JSON.stringify({ path: e.rawPath, query: e.rawQueryString, body: e.body, method: e.requestContext.http.method, ip: e.requestContext.http.sourceIp, h: e.headers['x-h'] }),
      };
    };
    const fn = version('site', 'python3');
    const req = web('POST', 'http://localhost:8080/web/site/items?x=1', ['content-type', 'text/plain', 'x-h', 'v'], 'the body');
    const out = await call(fn, req);
    expect(out.error).toBeNull();
    expect(out.response).toEqual({ status: 201, statusText: '', headers: ['x-answer', 'yes', 'set-cookie', 'a=1'] });
    expect(json(out)).toEqual({ path: '/web/site/items', query: 'x=1', body: 'the body', method: 'POST', ip: '10.0.0.7', h: 'v' });
    // The web call's request is as it was: the event call was a request of its own.
    expect(req.kind).toBe('web');
    expect(Buffer.from(req.body).toString()).toBe('the body');

    const bad = await call(fn, web('GET', 'http://localhost:8080/bad', [], ''));
    expect(bad.response).toBeNull();
    expect(bad.error).toMatchObject({ errorType: 'InvalidResponse', errorMessage: 'site: statusCode 100 is not a final HTTP status', functionError: true });
  });

  it('a call past its time limit answers Timeout and its container is replaced', async () => {
    start();
    engine.handler = async (ev) => {
      if ((ev as { slow?: boolean }).slow) await new Promise((r) => setTimeout(r, 1_000));
      return 'done';
    };
    const fn = version('slow', 'python3', { timeoutMs: 150 });
    const first = await call(fn, event({}));
    const [container] = containerOf(fn);
    const out = await call(fn, event({ slow: true }));
    expect(out.error).toMatchObject({ errorType: 'Timeout', status: 504, errorMessage: 'slow: task timed out after 150 ms (the container was replaced)' });
    expect(engine.containers.get(container!)!.running).toBe(false);
    const next = await call(fn, event({}));
    expect([first.cold, next.cold]).toEqual([true, true]);
    expect(containerOf(fn)).not.toContain(container);
  });

  it('a reserved container that exits is replaced without a call, and so is a stem cell', async () => {
    const b = start();
    await b.ready();
    const fn = version('kept', 'python3', { minInstances: 1 });
    b.reserve(fn);
    await eventually(() => b.pool.peek(fn.digest)?.instances[0]?.state === 'idle');
    const [first] = containerOf(fn);
    await engine.die(first!);
    await eventually(() => containerOf(fn).length === 1 && containerOf(fn)[0] !== first && b.pool.peek(fn.digest)?.instances[0]?.state === 'idle');
    expect(engine.calls).toBe(0);

    await eventually(() => b.stats().prewarmed === 2);
    const javaStem = engine.runningOf('java17')[0]!.id;
    await engine.die(javaStem);
    await eventually(() => engine.runningOf('java17').length === 1 && engine.runningOf('java17')[0]!.id !== javaStem);
    await eventually(() => b.stats().prewarmed === 2);
  });

  it('a warm container whose exit went unreported is dropped when the exit events had a gap', async () => {
    start();
    const fn = version('gap', 'python3');
    await call(fn, event({}));
    const [first] = containerOf(fn);
    await engine.dieUnreported(first!);
    expect(containerOf(fn)).toEqual([first]);
    engine.gap();
    await eventually(() => containerOf(fn).length === 0);
    expect((await call(fn, event({}))).cold).toBe(true);
  });

  it('answers 503 while the engine is gone; once back, a container that did not survive is dropped and one that did stays warm', async () => {
    const b = start();
    await b.ready();
    const lostFn = version('lost', 'python3');
    const keptFn = version('kept', 'python3');
    await call(lostFn, event({}));
    await call(keptFn, event({}));
    const [lost] = containerOf(lostFn);
    const [kept] = containerOf(keptFn);

    engine.goAway();
    await expect(b.invoke(lostFn, event({}))).rejects.toMatchObject({
      type: 'BackendUnavailable', status: 503,
      message: expect.stringMatching(/^container functions cannot run: no Docker engine answers: .* \(connect ECONNREFUSED \/var\/run\/docker.sock\)$/),
    });
    expect(b.stats().prewarmed).toBe(0);
    // Stopped while the engine was away: nobody is told.
    await engine.die(lost!);
    expect(containerOf(lostFn)).toEqual([lost]);

    engine.comeBack();
    const again = await call(lostFn, event({}));
    expect(again.cold).toBe(true);
    expect(containerOf(lostFn)).not.toContain(lost);
    const warm = await call(keptFn, event({}));
    expect(warm.cold).toBe(false);
    expect(containerOf(keptFn)).toEqual([kept]);
    await eventually(() => b.stats().prewarmed === 2);
  });

  it('a missing runtime image answers 503 and makes no stem cells of it; pinImage says which images the engine has', async () => {
    const tag = runtimeImageTag('java17');
    const b = start((e) => e.missing.add(tag).add('nowhere:1'));
    await b.ready();
    expect(engine.runningOf('java17').length).toBe(0);
    expect(engine.runningOf('python3').length).toBe(1);
    const fn = version('jv', 'java17');
    const missing = `the java17 runtime image (${tag}) is not in the Docker engine: run \`hearth images build\` (npm test's set-up does)`;
    await expect(b.invoke(fn, event({}))).rejects.toMatchObject({ type: 'BackendUnavailable', status: 503, message: missing });
    await expect(b.prepare(fn, Buffer.from('jar'))).rejects.toMatchObject({ type: 'BackendUnavailable', message: missing });
    // python3 is not held up by it.
    expect((await call(version('py', 'python3'), event({}))).error).toBeNull();

    expect(await b.pinImage('my-server:1')).toMatch(/^sha256:[0-9a-f]{64}$/);
    await expect(b.pinImage('nowhere:1')).rejects.toMatchObject({ type: 'InvalidSpec', status: 400 });
  });

  it('prepare loads the code in a container of its own and turns a load failure into a 400', async () => {
    const b = start();
    await b.ready();
    engine.initError = (init) => (init.code.source?.includes('syntax error') ? 'cannot load handler \'index.handler\': SyntaxError: invalid syntax (index.py, line 1)' : null);
    const fn = version('checked', 'python3');
    await b.prepare(fn, Buffer.from('def handler(e, c): return e\n'));
    await expect(b.prepare(fn, Buffer.from('syntax error'))).rejects.toMatchObject({
      type: 'InitError', status: 400, message: 'checked: the code failed to load: cannot load handler \'index.handler\': SyntaxError: invalid syntax (index.py, line 1)',
    });
    // Its containers are gone, and the stem cells were not used.
    await eventually(() => engine.runningOf('python3').length === 1);
    expect(engine.runningOf('python3')[0]!.init).toBeNull();
  });

  it('a custom image: event calls go to /event-invoke, web calls pass through, and output lines go to the call that had started', async () => {
    start();
    const fn = version('img', 'image', { env: { MODE: 'x' } });
    const first = await call(fn, event({ n: 1 }, 'img-1'));
    expect(json(first)).toEqual({ event: { n: 1 }, requestId: 'img-1' });
    const [id] = containerOf(fn);
    const c = engine.containers.get(id!)!;
    expect(c.spec).toMatchObject({ image: 'sha256:my-server', env: { MODE: 'x' }, labels: { 'hearth.runtime': 'image', 'hearth.function': 'img' } });
    expect(c.spec.user).toBeUndefined();

    const w = await call(fn, web('PUT', 'http://localhost/web/img/a/b?c=d', ['x-client', 'one', 'host', 'localhost', 'x-client', 'two'], 'payload', 'img-2'));
    expect(w.response?.status).toBe(200);
    expect(w.response?.headers).toEqual(expect.arrayContaining(['x-image', 'yes']));
    expect(json(w)).toEqual({ method: 'PUT', path: '/web/img/a/b?c=d', body: 'payload', header: 'one, two' });

    // Stamped before the first call: the server's own; after a call started: that call's.
    const before = Date.now() - 60_000;
    engine.output(id!, 1, 'listening', before);
    engine.output(id!, 0, 'a line of img-2');
    await new Promise((r) => setTimeout(r, 5));
    await call(fn, event({}, 'img-3'));
    engine.output(id!, 0, 'a line of img-3');
    expect(lines).toEqual([['img', '', 1, 'listening'], ['img', 'img-2', 0, 'a line of img-2'], ['img', 'img-3', 0, 'a line of img-3']]);
  });

  it('egress rules: a stem cell taken by such a function joins the function\'s egress network; a custom image starts on it; none: neither', async () => {
    const b = start();
    await b.ready();
    const stem = engine.runningOf('python3')[0]!;
    await call(version('out', 'python3', { egress: { allow: ['api.example.com'] } }), event({}));
    expect(stem.egress).toBe('out');
    await eventually(() => b.stats().prewarmed === 2);
    const plain = engine.runningOf('python3').find((c) => c.init === null)!;
    await call(version('in', 'python3'), event({}));
    expect(plain.egress).toBeNull();
    const img = version('imgout', 'image', { egress: { allow: ['*.example.org'] } });
    await call(img, event({}));
    expect(engine.containers.get(containerOf(img)[0]!)!.spec.egress).toBe('imgout');
    const imgIn = version('imgin', 'image');
    await call(imgIn, event({}));
    expect(engine.containers.get(containerOf(imgIn)[0]!)!.spec.egress).toBeNull();
  });
});
