// ANY /v1/web/{name}[:{qualifier}]/{path...}: the HTTP request itself goes to the function (a
// Workers fetch handler, or an event handler through the Lambda function URL contract), and its
// response comes back as it is: status, headers and body, binary too. The function sees the URL
// without the /v1/web/{name} prefix (X-Forwarded-Prefix carries it), as if it owned the host.
// `name:live` calls the alias (or version) `live`, as a Lambda function URL of an alias does.

import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Encoding } from '../../runtime/protocol.js';
import type { FunctionVersion } from '../backend.js';
import { newCall, type CallOutcome, type ForceCold, type WebRequest } from '../call.js';
import type { Config } from '../config.js';
import { HearthError } from '../errors.js';
import { tailBase64 } from '../logs.js';
import { endWithoutBody, finish, type Exchange } from './exchange.js';
import { badForceCold, parseForceCold } from './force-cold.js';
import type { Gate } from './gate.js';
import type { HttpCounters } from './http-counters.js';
import { type CallProtocol, type ErrorContext, type LogSource, type Plan, type Received, type Target } from './pipeline.js';
import { callErrorBody, statusLine, v1Error, writeCallHeaders } from './render-v1.js';
import { MAX_RESPONSE_HEADERS, writeFunctionHeaders, type HeaderBounds } from './response-headers.js';

/** A reason phrase (RFC 9112): tab, space, visible characters. */
const REASON = /^[\t\x20-\x7e]*$/;

/** What a Host header may hold (host, IPv4, [IPv6], optional port). */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

interface WebCall extends Received {
  readonly name: string;
  readonly qualifier: string;
  readonly authorization: string;
  readonly tailLogs: boolean;
  /** X-Hearth-Force-Cold as sent and what it asks for (null: a value Hearth does not know); never seen by the function. */
  readonly forceColdHeader: string;
  readonly forceCold: ForceCold | null;
  /** The request as the function sees it; null when its host and path make no URL. */
  readonly web: WebRequest | null;
  readonly badUrl: string;
}

export class WebRoute implements CallProtocol<WebCall> {
  readonly bodyFirst = false;

  private readonly headerBounds: HeaderBounds;

  constructor(private readonly config: Pick<Config, 'maxBodyBytes' | 'maxResponseHeaderBytes'>, private readonly gate: Gate, private readonly counters: HttpCounters) {
    this.headerBounds = { maxCount: MAX_RESPONSE_HEADERS, maxBytes: config.maxResponseHeaderBytes };
  }

  receive(req: HttpRequest, res: HttpResponse, requestId: string): WebCall {
    const segment = req.getParameter(0)!;
    const colon = segment.indexOf(':');
    const method = req.getMethod().toUpperCase();
    const prefix = `/v1/web/${segment}`;
    const path = req.getUrl().slice(prefix.length) || '/';
    const query = req.getQuery() ?? '';
    const hostHeader = req.getHeader('host');
    const proto = req.getHeader('x-forwarded-proto') === 'https' ? 'https' : 'http';
    const headers: string[] = [];
    // The prefix header is Hearth's to set: a client's own is dropped. An Authorization header
    // Hearth takes as its credential (any, with an invoke token; Hearth's admin or invoke token in
    // any case) is never seen by the function.
    const authorization = req.getHeader('authorization');
    const own = this.gate.invokeTokenSet || this.gate.isCredential(authorization) ? 'authorization' : '';
    // X-Hearth-Force-Cold is Hearth's too (it asks Hearth for a fresh instance): never passed on.
    req.forEach((k, v) => { if (k !== 'x-forwarded-prefix' && k !== own && k !== 'x-hearth-force-cold') headers.push(k, v); });
    const forceColdHeader = req.getHeader('x-hearth-force-cold');
    headers.push('x-forwarded-prefix', prefix);
    const host = HOST.test(hostHeader) ? hostHeader : '127.0.0.1';
    // Parsed and serialized here (Node's WHATWG URL), so the isolate can take it as it is.
    let url: string | null = null;
    try {
      url = new URL(`${proto}://${host}${path.startsWith('/') ? path : `/${path}`}${query ? `?${query}` : ''}`).href;
    } catch { /* answered by check() */ }
    return {
      requestId,
      contentLength: req.getHeader('content-length'),
      name: colon < 0 ? segment : segment.slice(0, colon),
      qualifier: colon < 0 ? '' : segment.slice(colon + 1),
      authorization,
      tailLogs: req.getHeader('x-hearth-log-type') === 'Tail',
      forceColdHeader,
      forceCold: parseForceCold(forceColdHeader),
      web: url === null ? null : { method, url, headers, remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString() },
      badUrl: url === null ? `${host}${path}` : '',
    };
  }

  authorize(r: WebCall, gate: Gate): HearthError | null {
    if (!gate.mayInvoke(r.authorization)) return new HearthError('Unauthorized', 'web calls need "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"');
    if (r.forceCold !== 'no' && !gate.isAdmin(r.authorization)) return new HearthError('Unauthorized', 'X-Hearth-Force-Cold needs the admin token');
    return null;
  }

  check(r: WebCall): HearthError | null {
    if (r.forceCold === null) return badForceCold(r.forceColdHeader);
    return r.web === null ? new HearthError('InvalidRequest', `the request's host and path do not make a URL: ${r.badUrl}`) : null;
  }

  target(r: WebCall): Target {
    return r;
  }

  bodyLimit(): number {
    return this.config.maxBodyBytes;
  }

  plan(r: WebCall, fn: FunctionVersion, body: ArrayBuffer): Plan {
    return newCall({
      requestId: r.requestId, functionName: fn.name, qualifier: r.qualifier, source: 'web', body,
      reqEnc: Encoding.json, resEnc: Encoding.json, web: r.web!,
      forceCold: r.forceCold!,
    });
  }

  renderOutcome(ex: Exchange, r: WebCall, out: CallOutcome, logs: LogSource): void {
    const res = ex.res;
    const resp = out.response;
    const logResult = r.tailLogs ? tailBase64(logs.logsOf(r.requestId)) : null;
    if (out.error !== null || resp === null) {
      const e = out.error ?? { errorType: 'InternalError', errorMessage: 'the function gave no response', status: 500, functionError: false };
      const body = callErrorBody(e);
      res.cork(() => {
        res.writeStatus(statusLine(e.status));
        res.writeHeader('Content-Type', 'application/json');
        writeCallHeaders(res, r.requestId, out, e.functionError, logResult);
        res.end(body, ex.server.draining);
      });
      finish(ex);
      return;
    }
    // Checked again here whatever the tier did: the status line is written as it is.
    const code = Number.isInteger(resp.status) && resp.status >= 100 && resp.status <= 999 ? resp.status : 502;
    const reason = typeof resp.statusText === 'string' && REASON.test(resp.statusText) && code === resp.status ? resp.statusText : '';
    const status = `${code} ${reason || STATUS_CODES[code] || ''}`.trimEnd();
    const body = out.result ?? new ArrayBuffer(0);
    const head = r.web!.method === 'HEAD';
    const noBody = head || code === 204 || code === 304 || (code >= 100 && code < 200);
    res.cork(() => {
      res.writeStatus(status);
      writeFunctionHeaders(res, resp.headers, this.headerBounds, this.counters.headersDropped);
      writeCallHeaders(res, r.requestId, out, false, logResult);
      if (head) endWithoutBody(ex, body.byteLength);
      else if (noBody) endWithoutBody(ex);
      else res.end(body, ex.server.draining);
    });
    finish(ex);
  }

  renderQueued(): void {
    throw new Error('web calls are not queued');
  }

  renderChecked(): void {
    throw new Error('web calls have no dry run');
  }

  renderError(ex: Exchange, r: WebCall, err: HearthError, at: ErrorContext): void {
    v1Error(ex, err, { requestId: r.requestId, close: at.close || err.status === 413 });
  }
}
