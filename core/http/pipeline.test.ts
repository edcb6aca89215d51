// The pipeline never leaves a request unanswered: a protocol that cannot read it, a step that
// throws, a renderer that throws. uWS's request and response are small fakes here; the protocols'
// own behaviour is tested over real HTTP (test/invoke, web, lambda-api, errors).

import { describe, expect, it } from 'vitest';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { newCall } from '../call.js';
import { HearthError } from '../errors.js';
import { exchange } from './exchange.js';
import { DRY_RUN, Enqueue, pipeline, type CallProtocol, type PipelineDeps, type Received } from './pipeline.js';

interface Written { status: string; headers: [string, string][]; body: string | null }

function fakeRes(): { res: HttpResponse; written: Written } {
  const written: Written = { status: '', headers: [], body: null };
  const res = {
    onAborted() { return res; },
    onData(cb: (chunk: ArrayBuffer, last: boolean) => void) { cb(new TextEncoder().encode('{}').buffer as ArrayBuffer, true); return res; },
    cork(f: () => void) { f(); return res; },
    writeStatus(s: string) { written.status = s; return res; },
    writeHeader(k: string, v: string) { written.headers.push([k, v]); return res; },
    end(b: string | ArrayBuffer) { written.body = typeof b === 'string' ? b : new TextDecoder().decode(b); return res; },
    endWithoutBody() { written.body = ''; return res; },
  };
  return { res: res as unknown as HttpResponse, written };
}

const fn = { name: 'f', version: '$LATEST', digest: 'd', runtime: 'js' } as never;
const deps = (over: Partial<PipelineDeps> = {}): PipelineDeps => ({
  frontEnd: { track: (res: HttpResponse) => exchange(res) } as never,
  gate: {} as never,
  catalog: { resolve: () => fn },
  dispatcher: { run: async () => ({ version: '$LATEST', cold: false, initMs: 0, queueMs: 0, durationMs: 0, result: new ArrayBuffer(0), error: null, response: null, tail: null }) } as never,
  asyncInvoker: { enqueue: async () => ({ id: 'e', duplicate: false }) } as never,
  records: { logsOf: () => [] } as never,
  ...over,
});

/** A protocol that answers `{errorType}` as its error shape; each test breaks one of its steps. */
function protocol(over: Partial<CallProtocol<Received>> = {}): CallProtocol<Received> {
  return {
    bodyFirst: false,
    receive: (_req, _res, requestId) => ({ requestId, contentLength: '2' }),
    authorize: () => null,
    check: () => null,
    target: () => ({ name: 'f', qualifier: '' }),
    bodyLimit: () => 1024,
    plan: (r, _fn, body) => newCall({ requestId: r.requestId, functionName: 'f', source: 'v1', body, reqEnc: 0, resEnc: 0 }),
    renderOutcome: (ex) => { ex.res.cork(() => ex.res.writeStatus('200 OK').end('ok')); },
    renderQueued: (ex) => { ex.res.cork(() => ex.res.writeStatus('202 Accepted').end('queued')); },
    renderChecked: (ex) => { ex.res.cork(() => ex.res.writeStatus('204 No Content').endWithoutBody()); },
    renderError: (ex, _r, err) => { ex.res.cork(() => ex.res.writeStatus(String(err.status)).end(JSON.stringify({ errorType: err.errorType }))); },
    ...over,
  };
}

async function run(p: CallProtocol<Received>, d = deps()): Promise<Written> {
  const { res, written } = fakeRes();
  pipeline(d, p)(res, {} as HttpRequest);
  for (let i = 0; i < 10 && written.body === null; i++) await new Promise((r) => setImmediate(r));
  return written;
}

describe('pipeline', () => {
  it('runs a call, queues an event, answers a dry run', async () => {
    expect((await run(protocol())).body).toBe('ok');
    expect((await run(protocol({ plan: () => new Enqueue([{} as never]) }))).body).toBe('queued');
    expect((await run(protocol({ plan: () => DRY_RUN }))).status).toBe('204 No Content');
  });

  it('answers the protocol\'s error for a failed step: authorize, check, resolve, plan', async () => {
    const denied = new HearthError('Unauthorized', 'no');
    expect(await run(protocol({ authorize: () => denied }))).toMatchObject({ status: '401', body: '{"errorType":"Unauthorized"}' });
    expect(await run(protocol({ check: () => new HearthError('UnsupportedMediaType', 'x') }))).toMatchObject({ status: '415' });
    expect(await run(protocol(), deps({ catalog: { resolve: () => { throw new HearthError('FunctionNotFound', 'x'); } } }))).toMatchObject({ status: '404' });
    expect(await run(protocol({ plan: () => { throw new HearthError('InvalidRequestContent', 'x'); } }))).toMatchObject({ status: '400' });
  });

  it('still answers a JSON error when the protocol cannot read the request, a step throws, or a renderer throws', async () => {
    const cannotRead = await run(protocol({ receive: () => { throw new Error('bad'); } }));
    expect(cannotRead.status).toBe('500 Internal Server Error');
    expect(JSON.parse(cannotRead.body!)).toMatchObject({ errorType: 'InternalError' });
    expect(await run(protocol({ check: () => { throw new Error('bug'); } }))).toMatchObject({ status: '500', body: '{"errorType":"InternalError"}' });
    const brokenRenderers: Partial<CallProtocol<Received>>[] = [
      { renderOutcome: () => { throw new Error('bug'); } },
      { plan: () => new Enqueue([{} as never]), renderQueued: () => { throw new Error('bug'); } },
      { plan: () => DRY_RUN, renderChecked: () => { throw new Error('bug'); } },
    ];
    for (const broken of brokenRenderers) {
      expect(await run(protocol(broken))).toMatchObject({ status: '500', body: '{"errorType":"InternalError"}' });
    }
    // An error renderer that throws falls back to the v1 JSON error.
    const both = await run(protocol({ check: () => new HearthError('NotAcceptable', 'x'), renderError: () => { throw new Error('bug'); } }));
    expect(both.status).toBe('406 Not Acceptable');
    expect(JSON.parse(both.body!)).toMatchObject({ errorType: 'NotAcceptable' });
  });
});
