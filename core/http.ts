// The HTTP front end (uWebSockets.js). The invoke route is the hot path and reads top to bottom:
// receive → resolve → dispatch (acquire → run) → respond → record. Management routes are in
// management.ts.

import { randomUUID, timingSafeEqual } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { Encoding, type EncodingCode } from '../runtime/protocol.js';
import type { AsyncInvoker } from './async/invoker.js';
import { newInvocation, type Invocation } from './backend.js';
import type { Config } from './config.js';
import type { Dispatcher } from './dispatcher.js';
import { HearthError, StatusLine, errorBody, errorJson, toHearthError } from './errors.js';
import { log } from './log.js';
import { exchange, finish, readBody, sendError, sendJson, type Exchange } from './http-io.js';
import { tailBase64 } from './logs.js';
import type { Registry } from './registry.js';

const CONTENT_TYPE = ['application/json', 'application/msgpack'] as const;

/**
 * Draining: how long no request may arrive, after the last one was answered, before the server
 * counts as quiet. A gateway under load sends on each connection it kept within a few ms; one that
 * sends nothing for this long is unlikely to send on it in the instant of the exit.
 */
const QUIET_MS = 250;

export interface FrontEndDeps {
  config: Config;
  registry: Registry;
  dispatcher: Dispatcher;
  /** Event (async) invocations: the durable queue's front. */
  asyncInvoker: AsyncInvoker;
}

/** An Idempotency-Key: 1-255 visible ASCII characters. */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export class FrontEnd {
  readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  /** Requests being served (for drain). */
  inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set by drain(): every response from then on closes its connection (see ConnectionOwner). */
  draining = false;
  /** Requests that arrived after drain() began (on connections clients had kept open). */
  private arrivedWhileDraining = 0;
  private readonly adminToken: Buffer | null;
  /** Set: invoke and web calls need it (or the admin token). */
  readonly invokeToken: Buffer | null;

  constructor(private readonly deps: FrontEndDeps) {
    this.app = uWS.App();
    this.adminToken = deps.config.adminToken ? Buffer.from(`Bearer ${deps.config.adminToken}`) : null;
    this.invokeToken = deps.config.invokeToken ? Buffer.from(`Bearer ${deps.config.invokeToken}`) : null;
    this.app.post('/v1/functions/:name/invoke', (res, req) => this.invoke(res, req));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (sock) => {
        if (!sock) return reject(new Error(`could not listen on ${host}:${port} (in use, or not an address of this machine)`));
        this.listenSocket = sock;
        resolve(uWS.us_socket_local_port(sock));
      });
    });
  }

  /**
   * Stops taking connections and resolves once the server is quiet, or at the deadline.
   *
   * From the first moment every response closes its connection (`Connection: close`): a client
   * that kept a connection alive (a gateway's upstream pool) may still send a request on it, which
   * is served, and its next request needs a new connection, which is refused, so it goes to
   * another replica. Quiet means no request in flight and none arriving for QUIET_MS: a request
   * that arrived on a kept-alive connection after the last one was answered would otherwise be
   * cut by the exit, and for a gateway a request it already sent cannot be retried elsewhere.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    const started = performance.now();
    const left = () => started + deadlineMs - performance.now();
    const inFlightAtStart = this.inFlight;
    for (;;) {
      if (this.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => this.drainWaiters.push(r)),
          new Promise<void>((r) => { timer = setTimeout(r, Math.max(0, left())); }),
        ]);
        clearTimeout(timer);
      }
      if (this.inFlight === 0) {
        const arrived = this.arrivedWhileDraining;
        await new Promise<void>((r) => setTimeout(r, Math.max(0, Math.min(QUIET_MS, left()))));
        if (this.inFlight === 0 && this.arrivedWhileDraining === arrived) break;
      }
      if (left() <= 0) break;
    }
    const facts = { inFlightAtStart, arrivedWhileDraining: this.arrivedWhileDraining, ms: Math.round(performance.now() - started) };
    if (this.inFlight > 0) log.warn({ ...facts, cut: this.inFlight }, 'drain deadline reached with requests in flight');
    else log.info(facts, 'drained: no request in flight');
  }

  close(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Tracks a request for drain; returns its exchange. */
  track(res: HttpResponse): Exchange {
    const ex = exchange(res, this);
    this.inFlight++;
    if (this.draining) this.arrivedWhileDraining++;
    ex.onDone = this.onDone;
    return ex;
  }

  private readonly onDone = (): void => {
    if (--this.inFlight === 0 && this.drainWaiters.length > 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  };

  /** Management calls need the admin token when one is set (compared in constant time). */
  authorized(req: HttpRequest): boolean {
    if (this.adminToken === null) return true;
    return sameToken(Buffer.from(req.getHeader('authorization')), this.adminToken);
  }

  /**
   * An invoke or web call's Authorization header, when an invoke token is set: the invoke token or
   * the admin token. Compared in constant time. (Without an invoke token this is not called.)
   */
  mayInvoke(authorization: string): boolean {
    const got = Buffer.from(authorization);
    return sameToken(got, this.invokeToken!) || (this.adminToken !== null && sameToken(got, this.adminToken));
  }

  // ---- the hot path -------------------------------------------------------------------------

  private invoke(res: HttpResponse, req: HttpRequest): void {
    // receive: everything from `req` is read now (it is invalid after the first await)
    const ex = this.track(res);
    const requestId = randomUUID();
    const name = req.getParameter(0)!;
    const qualifier = req.getQuery('qualifier') ?? '';
    const contentType = req.getHeader('content-type');
    const accept = req.getHeader('accept');
    const tail = req.getHeader('x-hearth-log-type') === 'Tail';
    const invocationType = req.getHeader('x-hearth-invocation-type');
    const forceCold = req.getHeader('x-hearth-force-cold') === 'true';
    const contentLength = req.getHeader('content-length');
    if (this.invokeToken !== null && !this.mayInvoke(req.getHeader('authorization'))) {
      return failInvocation(ex, requestId, new HearthError('Unauthorized', 'invoke calls need "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"'));
    }
    if (forceCold && !this.authorized(req)) {
      return failInvocation(ex, requestId, new HearthError('Unauthorized', 'X-Hearth-Force-Cold needs the admin token'));
    }
    if (invocationType !== '' && invocationType !== 'RequestResponse') {
      // The async path leaves here: the sync path below is not touched by it.
      if (invocationType === 'Event') return this.invokeEvent(ex, req, requestId, name, qualifier, contentType, contentLength);
      return failInvocation(ex, requestId, new HearthError('InvalidRequestContent', `X-Hearth-Invocation-Type "${invocationType}" is not supported; use RequestResponse or Event`));
    }
    const reqEnc = requestEncoding(contentType);
    if (reqEnc < 0) {
      return failInvocation(ex, requestId, new HearthError('UnsupportedMediaType', `Content-Type "${contentType}" is not supported; use application/json or application/msgpack`));
    }
    const resEnc = responseEncoding(accept, reqEnc as EncodingCode);
    if (resEnc < 0) {
      return failInvocation(ex, requestId, new HearthError('NotAcceptable', `Accept "${accept}" allows neither application/json nor application/msgpack`));
    }
    // resolve
    let fn;
    try {
      fn = this.deps.registry.resolve(name, qualifier);
    } catch (err) {
      return failInvocation(ex, requestId, err as HearthError);
    }
    readBody(ex, contentLength, this.deps.config.maxBodyBytes, (body) => {
      const inv = newInvocation(requestId, fn, body, reqEnc as EncodingCode, resEnc as EncodingCode, forceCold);
      // dispatch (acquire → run), then respond
      this.deps.dispatcher.invoke(fn, inv).then(() => this.respond(ex, inv, tail)).catch((err) => {
        // respond() failed part-way (it must not, but a request must never go unanswered).
        log.error({ err, requestId }, 'could not write an invoke response');
        if (!ex.aborted) failInvocation(ex, requestId, toHearthError(err));
      });
    }, (err) => failInvocation(ex, requestId, err));
  }

  /**
   * `X-Hearth-Invocation-Type: Event`: checked (encoding, function, size: 415, 404, 413), then
   * stored durably in the queue, and only then answered 202 `{requestId}`. A repeated
   * Idempotency-Key (same function, within the window) queues nothing and answers 200 with the
   * first event's id. A full queue is 429.
   */
  private invokeEvent(ex: Exchange, req: HttpRequest, requestId: string, name: string, qualifier: string, contentType: string, contentLength: string): void {
    const idempotencyKey = req.getHeader('idempotency-key');
    if (idempotencyKey !== '' && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      return failInvocation(ex, requestId, new HearthError('InvalidRequestContent', 'Idempotency-Key must be 1-255 visible ASCII characters'));
    }
    const enc = requestEncoding(contentType);
    if (enc < 0) {
      return failInvocation(ex, requestId, new HearthError('UnsupportedMediaType', `Content-Type "${contentType}" is not supported; use application/json or application/msgpack`));
    }
    let fn;
    try {
      fn = this.deps.registry.resolve(name, qualifier);
    } catch (err) {
      return failInvocation(ex, requestId, err as HearthError);
    }
    const limit = Math.min(this.deps.config.asyncMaxBodyBytes, this.deps.config.maxBodyBytes);
    readBody(ex, contentLength, limit, (body) => {
      this.deps.asyncInvoker.enqueue({
        fn, qualifier, body, enc: enc as EncodingCode, source: 'v1', requestId,
        ...(idempotencyKey !== '' ? { idempotencyKey } : {}),
      }).then((r) => {
        if (ex.aborted) return;
        ex.res.cork(() => {
          ex.res.writeStatus(r.duplicate ? StatusLine[200]! : StatusLine[202]!);
          ex.res.writeHeader('Content-Type', 'application/json');
          // The event's id (the first one's for a replay); it has not run: no cold start, no time.
          writeInvocationHeaders(ex.res, r.id, false, 0, 0, 0);
          if (r.duplicate) ex.res.writeHeader('X-Hearth-Idempotent-Replay', 'true');
          ex.res.end(JSON.stringify(r.duplicate ? { requestId: r.id, duplicate: true } : { requestId: r.id }), ex.server.draining);
        });
        finish(ex);
      }, (err) => failInvocation(ex, requestId, toHearthError(err)));
    }, (err) => failInvocation(ex, requestId, err.type === 'RequestTooLarge'
      ? new HearthError('RequestTooLarge', `${err.message} for Event invocations (--async-max-body-bytes)`)
      : err));
  }

  private respond(ex: Exchange, inv: Invocation, tail: boolean): void {
    if (!ex.aborted) {
      const res = ex.res;
      const err = inv.error;
      // Everything that could throw is computed before the first write.
      const logResult = tail ? tailBase64(inv.logs) : null;
      const body = err ? errorJson(err.errorType, err.errorMessage, err.stackTrace) : inv.result!;
      res.cork(() => {
        res.writeStatus(err ? StatusLine[err.status] ?? String(err.status) : '200 OK');
        res.writeHeader('Content-Type', err || inv.resEnc === Encoding.json ? 'application/json' : 'application/msgpack');
        writeCallHeaders(res, inv, err?.functionError === true, logResult);
        res.end(body, ex.server.draining);
      });
      finish(ex);
    }
    this.deps.dispatcher.settle(inv);
  }

}

/** A call refused before it ran (invoke or web route): a JSON error that still carries the invocation headers. */
export function failInvocation(ex: Exchange, requestId: string, err: HearthError): void {
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res.writeStatus(StatusLine[err.status] ?? String(err.status));
    ex.res.writeHeader('Content-Type', 'application/json');
    writeInvocationHeaders(ex.res, requestId, false, 0, 0, 0);
    ex.res.end(errorBody(err), err.status === 413 || ex.server.draining);
  });
  finish(ex);
}

/** The headers a call that ran carries (invoke and web route): timings, version, error flag, log tail. */
export function writeCallHeaders(res: HttpResponse, inv: Invocation, functionError: boolean, logResult: string | null): void {
  writeInvocationHeaders(res, inv.requestId, inv.cold, inv.initMs, inv.queueMs, inv.durationMs);
  res.writeHeader('X-Hearth-Executed-Version', inv.version);
  if (functionError) res.writeHeader('X-Hearth-Function-Error', 'Unhandled');
  if (logResult !== null) res.writeHeader('X-Hearth-Log-Result', logResult);
}

/** The headers every invoke response carries: which call, cold or warm, where the time went. */
export function writeInvocationHeaders(res: HttpResponse, requestId: string, cold: boolean, initMs: number, queueMs: number, durationMs: number): void {
  res.writeHeader('X-Hearth-Request-Id', requestId);
  res.writeHeader('X-Hearth-Cold', cold ? 'true' : 'false');
  res.writeHeader('X-Hearth-Init-Ms', initMs.toFixed(3));
  res.writeHeader('X-Hearth-Queue-Ms', queueMs.toFixed(3));
  res.writeHeader('X-Hearth-Duration-Ms', durationMs.toFixed(3));
}

/** Content-Type → encoding code, or -1 when unsupported. An absent type is JSON. */
export function requestEncoding(contentType: string): number {
  if (contentType === '' || contentType.startsWith(CONTENT_TYPE[0])) return Encoding.json;
  if (contentType.startsWith(CONTENT_TYPE[1]) || contentType.startsWith('application/x-msgpack')) return Encoding.msgpack;
  return -1;
}

/** Accept → encoding code: the request's own unless Accept names the other; -1 if neither fits. */
export function responseEncoding(accept: string, reqEnc: EncodingCode): number {
  if (accept === '' || accept === '*/*') return reqEnc;
  const wantsMsgpack = accept.includes('application/msgpack') || accept.includes('application/x-msgpack');
  const wantsJson = accept.includes('application/json');
  if (wantsMsgpack && wantsJson) return reqEnc;
  if (wantsMsgpack) return Encoding.msgpack;
  if (wantsJson) return Encoding.json;
  if (accept.includes('*/*') || accept.includes('application/*')) return reqEnc;
  return -1;
}

export { sendError, sendJson };

/** Equal tokens, in constant time for equal lengths (a length tells nothing a guess could use). */
function sameToken(got: Buffer, want: Buffer): boolean {
  return got.length === want.length && timingSafeEqual(got, want);
}
