// POST /v1/functions/{name}/invoke[?qualifier=]: Hearth's own invoke. The body is the event
// (JSON or msgpack, decoded only in the isolate or the container); the result comes back in the
// request's encoding unless Accept asks for the other. `X-Hearth-Invocation-Type: Event` stores the
// event in the durable queue and answers 202 `{requestId}` (a repeated Idempotency-Key: 200 with
// the first event's id). The hot path: see pipeline.ts for the steps.

import type { HttpRequest } from 'uWebSockets.js';
import { CONTENT_TYPES, Encoding, type EncodingCode } from '../../runtime/protocol.js';
import { badIdempotencyKey, eventBodyLimit } from '../async/invoker.js';
import type { EnqueueResult } from '../async/queue.js';
import type { FunctionVersion } from '../backend.js';
import { newCall, type CallOutcome, type ForceCold } from '../call.js';
import type { Config } from '../config.js';
import { HearthError } from '../errors.js';
import { tailBase64 } from '../logs.js';
import { requestEncoding, responseEncoding } from './encodings.js';
import { finish, type Exchange } from './exchange.js';
import { badForceCold, parseForceCold } from './force-cold.js';
import type { Gate } from './gate.js';
import { Enqueue, type CallProtocol, type ErrorContext, type LogSource, type Plan, type Received, type Target } from './pipeline.js';
import { callErrorBody, statusLine, v1Error, writeCallHeaders, writeInvocationHeaders } from './render-v1.js';

interface V1Request extends Received {
  readonly name: string;
  readonly qualifier: string;
  readonly contentType: string;
  readonly accept: string;
  readonly tail: boolean;
  readonly invocationType: string;
  /** X-Hearth-Force-Cold as sent ('' when absent) and what it asks for (null: a value Hearth does not know). */
  readonly forceColdHeader: string;
  readonly forceCold: ForceCold | null;
  readonly authorization: string;
  readonly idempotencyKey: string;
  /** An Event invocation (X-Hearth-Invocation-Type: Event). */
  readonly event: boolean;
  /** -1: unsupported. */
  readonly reqEnc: number;
  readonly resEnc: number;
}

export class V1Invoke implements CallProtocol<V1Request> {
  readonly bodyFirst = false;

  constructor(private readonly config: Pick<Config, 'maxBodyBytes' | 'asyncMaxBodyBytes'>, private readonly gate: Gate) {}

  receive(req: HttpRequest, _res: unknown, requestId: string): V1Request {
    const contentType = req.getHeader('content-type');
    const accept = req.getHeader('accept');
    const invocationType = req.getHeader('x-hearth-invocation-type');
    const reqEnc = requestEncoding(contentType);
    const forceColdHeader = req.getHeader('x-hearth-force-cold');
    const forceCold = parseForceCold(forceColdHeader);
    return {
      requestId,
      name: req.getParameter(0)!,
      qualifier: req.getQuery('qualifier') ?? '',
      contentType,
      accept,
      tail: req.getHeader('x-hearth-log-type') === 'Tail',
      invocationType,
      forceColdHeader,
      forceCold,
      contentLength: req.getHeader('content-length'),
      // Read only when a token decides (the hot path without tokens skips it).
      authorization: this.gate.invokeTokenSet || forceCold !== 'no' ? req.getHeader('authorization') : '',
      idempotencyKey: invocationType === 'Event' ? req.getHeader('idempotency-key') : '',
      event: invocationType === 'Event',
      reqEnc,
      resEnc: reqEnc < 0 ? -1 : responseEncoding(accept, reqEnc as EncodingCode),
    };
  }

  authorize(r: V1Request, gate: Gate): HearthError | null {
    if (!gate.mayInvoke(r.authorization)) return new HearthError('Unauthorized', 'invoke calls need "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"');
    if (r.forceCold !== 'no' && !gate.isAdmin(r.authorization)) return new HearthError('Unauthorized', 'X-Hearth-Force-Cold needs the admin token');
    return null;
  }

  check(r: V1Request): HearthError | null {
    if (r.forceCold === null) return badForceCold(r.forceColdHeader);
    if (r.invocationType !== '' && r.invocationType !== 'RequestResponse' && !r.event) {
      return new HearthError('InvalidRequestContent', `X-Hearth-Invocation-Type "${r.invocationType}" is not supported; use RequestResponse or Event`);
    }
    if (r.event) {
      const bad = badIdempotencyKey(r.idempotencyKey);
      if (bad !== null) return bad;
    }
    if (r.reqEnc < 0) {
      return new HearthError('UnsupportedMediaType', `Content-Type "${r.contentType}" is not supported; use application/json or application/msgpack`);
    }
    // An event's result goes to its record, not to this caller: Accept does not apply.
    if (!r.event && r.resEnc < 0) {
      return new HearthError('NotAcceptable', `Accept "${r.accept}" allows neither application/json nor application/msgpack`);
    }
    return null;
  }

  target(r: V1Request): Target {
    return r;
  }

  bodyLimit(r: V1Request): number {
    return r.event ? eventBodyLimit(this.config) : this.config.maxBodyBytes;
  }

  plan(r: V1Request, fn: FunctionVersion, body: ArrayBuffer): Plan {
    if (r.event) {
      return new Enqueue([{
        fn, qualifier: r.qualifier, body, enc: r.reqEnc as EncodingCode, source: 'v1', requestId: r.requestId,
        ...(r.idempotencyKey !== '' ? { idempotencyKey: r.idempotencyKey } : {}),
      }]);
    }
    return newCall({
      requestId: r.requestId, functionName: fn.name, qualifier: r.qualifier, source: 'v1', body,
      reqEnc: r.reqEnc as EncodingCode, resEnc: r.resEnc as EncodingCode,
      forceCold: r.forceCold!,
    });
  }

  renderOutcome(ex: Exchange, r: V1Request, out: CallOutcome, logs: LogSource): void {
    const res = ex.res;
    const err = out.error;
    // Everything that could throw is computed before the first write.
    const logResult = r.tail ? tailBase64(logs.logsOf(r.requestId)) : null;
    const body = err ? callErrorBody(err) : out.result!;
    res.cork(() => {
      res.writeStatus(err ? statusLine(err.status) : '200 OK');
      res.writeHeader('Content-Type', err || r.resEnc === Encoding.json ? CONTENT_TYPES[Encoding.json] : CONTENT_TYPES[Encoding.msgpack]);
      writeCallHeaders(res, r.requestId, out, err?.functionError === true, logResult);
      res.end(body, ex.server.draining);
    });
    finish(ex);
  }

  renderQueued(ex: Exchange, _r: V1Request, _fn: FunctionVersion, [q]: readonly EnqueueResult[]): void {
    if (q === undefined) throw new Error('an Event invocation queues one event');
    ex.res.cork(() => {
      ex.res.writeStatus(q.duplicate ? statusLine(200) : statusLine(202));
      ex.res.writeHeader('Content-Type', 'application/json');
      // The event's id (the first one's for a replay); it has not run: no cold start, no time.
      writeInvocationHeaders(ex.res, q.id, false, 0, 0, 0);
      if (q.duplicate) ex.res.writeHeader('X-Hearth-Idempotent-Replay', 'true');
      ex.res.end(JSON.stringify(q.duplicate ? { requestId: q.id, duplicate: true } : { requestId: q.id }), ex.server.draining);
    });
    finish(ex);
  }

  renderChecked(): void {
    throw new Error('v1 invoke has no dry run');
  }

  renderError(ex: Exchange, r: V1Request, err: HearthError, at: ErrorContext): void {
    const e = r.event && err.type === 'RequestTooLarge'
      ? new HearthError('RequestTooLarge', `${err.message} for Event invocations (--async-max-body-bytes)`)
      : err;
    v1Error(ex, e, { requestId: r.requestId, close: at.close || e.status === 413 });
  }
}
