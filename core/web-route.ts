// ANY /v1/web/{name}[:{qualifier}]/{path...}: the HTTP request itself goes to the function (a
// Workers fetch handler, or an event handler through the Lambda function URL contract), and its
// response comes back as it is: status, headers and body, binary too. The function sees the URL
// without the /v1/web/{name} prefix (X-Forwarded-Prefix carries it), as if it owned the host.
// `name:live` calls the alias (or version) `live`, as a Lambda function URL of an alias does.

import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { Encoding } from '../runtime/protocol.js';
import { newInvocation, type Invocation } from './backend.js';
import type { Config } from './config.js';
import type { Dispatcher } from './dispatcher.js';
import { errorJson, HearthError, StatusLine, toHearthError } from './errors.js';
import { endWithoutBody, finish, readBody, type Exchange } from './http-io.js';
import { failInvocation, writeCallHeaders, type FrontEnd } from './http.js';
import { log } from './log.js';
import { tailBase64 } from './logs.js';
import type { Registry } from './registry.js';

export interface WebRouteDeps {
  config: Config;
  registry: Registry;
  dispatcher: Dispatcher;
}

/** Headers that belong to the connection, not to the message: Hearth writes its own. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'proxy-connection', 'te', 'trailer']);
/** What a Host header may hold (host, IPv4, [IPv6], optional port). */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function mountWeb(fe: FrontEnd, deps: WebRouteDeps): void {
  const handler = (res: HttpResponse, req: HttpRequest) => serveWeb(fe, deps, res, req);
  fe.app.any('/v1/web/:name', handler);
  fe.app.any('/v1/web/:name/*', handler);
}

function serveWeb(fe: FrontEnd, deps: WebRouteDeps, res: HttpResponse, req: HttpRequest): void {
  // receive: everything from `req` is read now (it is invalid after the first await)
  const ex = fe.track(res);
  const requestId = randomUUID();
  const segment = req.getParameter(0)!;
  const colon = segment.indexOf(':');
  const name = colon < 0 ? segment : segment.slice(0, colon);
  const qualifier = colon < 0 ? '' : segment.slice(colon + 1);
  const method = req.getMethod().toUpperCase();
  const prefix = `/v1/web/${segment}`;
  const path = req.getUrl().slice(prefix.length) || '/';
  const query = req.getQuery() ?? '';
  const hostHeader = req.getHeader('host');
  const proto = req.getHeader('x-forwarded-proto') === 'https' ? 'https' : 'http';
  const tailLogs = req.getHeader('x-hearth-log-type') === 'Tail';
  const contentLength = req.getHeader('content-length');
  const denied = fe.invokeToken !== null && !fe.mayInvoke(req.getHeader('authorization'));
  const headers: string[] = [];
  // The prefix header is Hearth's to set: a client's own is dropped. With an invoke token the
  // Authorization header is Hearth's credential: the function never sees it.
  const own = fe.invokeToken !== null ? 'authorization' : '';
  req.forEach((k, v) => { if (k !== 'x-forwarded-prefix' && k !== own) headers.push(k, v); });
  headers.push('x-forwarded-prefix', prefix);
  const remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString();

  if (denied) return failInvocation(ex, requestId, new HearthError('Unauthorized', 'web calls need "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"'));

  const host = HOST.test(hostHeader) ? hostHeader : '127.0.0.1';
  // Parsed and serialized here (Node's WHATWG URL), so the isolate can take it as it is.
  let url: string;
  try {
    url = new URL(`${proto}://${host}${path.startsWith('/') ? path : `/${path}`}${query ? `?${query}` : ''}`).href;
  } catch {
    return failInvocation(ex, requestId, new HearthError('InvalidRequest', `the request's host and path do not make a URL: ${host}${path}`));
  }

  let fn;
  try {
    fn = deps.registry.resolve(name, qualifier);
  } catch (err) {
    return failInvocation(ex, requestId, err as HearthError);
  }
  readBody(ex, contentLength, deps.config.maxBodyBytes, (body) => {
    const inv = newInvocation(requestId, fn, body, Encoding.json, Encoding.json);
    inv.web = { method, url, headers, remoteAddress };
    deps.dispatcher.invoke(fn, inv).then(() => respond(ex, inv, method === 'HEAD', tailLogs, deps)).catch((err) => {
      log.error({ err, requestId }, 'could not write a web response');
      if (!ex.aborted) failInvocation(ex, requestId, toHearthError(err));
    });
  }, (err) => failInvocation(ex, requestId, err));
}

function respond(ex: Exchange, inv: Invocation, head: boolean, tailLogs: boolean, deps: WebRouteDeps): void {
  if (!ex.aborted) {
    const res = ex.res;
    const err = inv.error;
    const r = inv.response;
    const logResult = tailLogs ? tailBase64(inv.logs) : null;
    if (err || r === undefined) {
      const e = err ?? { errorType: 'InternalError', errorMessage: 'the function gave no response', status: 500, functionError: false };
      const body = errorJson(e.errorType, e.errorMessage, e.stackTrace);
      res.cork(() => {
        res.writeStatus(StatusLine[e.status] ?? String(e.status));
        res.writeHeader('Content-Type', 'application/json');
        writeCallHeaders(res, inv, e.functionError, logResult);
        res.end(body, ex.server.draining);
      });
    } else {
      const status = `${r.status} ${r.statusText || STATUS_CODES[r.status] || ''}`.trimEnd();
      const body = inv.result ?? new ArrayBuffer(0);
      const noBody = head || r.status === 204 || r.status === 304 || (r.status >= 100 && r.status < 200);
      res.cork(() => {
        res.writeStatus(status);
        const h = r.headers;
        for (let i = 0; i < h.length; i += 2) {
          const k = h[i]!;
          // Connection headers and Hearth's own are Hearth's to write.
          if (!HOP_BY_HOP.has(k) && !k.startsWith('x-hearth-')) res.writeHeader(k, h[i + 1]!);
        }
        writeCallHeaders(res, inv, false, logResult);
        if (head) endWithoutBody(ex, body.byteLength);
        else if (noBody) endWithoutBody(ex);
        else res.end(body, ex.server.draining);
      });
    }
    finish(ex);
  }
  deps.dispatcher.settle(inv);
}
