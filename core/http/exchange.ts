// uWS request/response primitives: body reading with a size limit, JSON and text responses. Error
// bodies are each protocol's renderer's (render-v1.ts, lambda.ts).
// uWS rules honoured here: onAborted before any async step, copy every onData chunk (it is only
// valid during the callback), cork every write made after an await.

import type { HttpResponse } from 'uWebSockets.js';
import { HearthError, StatusLine } from '../errors.js';

export interface Exchange {
  res: HttpResponse;
  aborted: boolean;
  /** Called once when the response is written or the client went away (in-flight accounting). */
  onDone: (() => void) | null;
  /** The server the request came to: while it drains, every response closes its connection. */
  server: ConnectionOwner;
}

/**
 * While `draining`, every response is written with `Connection: close` and its connection is closed
 * once it is sent (uWS: `end(body, true)`), so that a client that kept the connection alive (a
 * gateway's upstream pool) opens a new one for its next request, which the draining server
 * refuses, instead of sending it on this one.
 */
export interface ConnectionOwner {
  readonly draining: boolean;
}

const KEEP_ALIVE: ConnectionOwner = Object.freeze({ draining: false });

export function exchange(res: HttpResponse, server: ConnectionOwner = KEEP_ALIVE): Exchange {
  const ex: Exchange = { res, aborted: false, onDone: null, server };
  res.onAborted(() => {
    ex.aborted = true;
    const done = ex.onDone;
    ex.onDone = null;
    done?.();
  });
  return ex;
}

/** Past this much unread body, a 413 is answered at once and the connection cut. */
const DRAIN_CAP = 64 * 1024 * 1024;

/**
 * Reads the whole body into one fresh ArrayBuffer (never a view of a pooled buffer: it may be
 * transferred into an isolate). Over `limit` → `fail` with a 413 once the rest of the body has
 * been read and thrown away (a lingering close: a client still sending would otherwise see a
 * reset instead of the answer), and the connection is then closed.
 */
export function readBody(
  ex: Exchange,
  contentLength: string,
  limit: number,
  done: (body: ArrayBuffer) => void,
  fail: (err: HearthError, close: boolean) => void,
): void {
  const declared = contentLength === '' ? -1 : Number(contentLength);
  if (declared > limit) {
    const err = new HearthError('RequestTooLarge', `the body is ${declared} bytes, over the ${limit}-byte limit`);
    if (declared > DRAIN_CAP) return fail(err, true);
    return discard(ex, 0, err, fail);
  }
  if (declared === 0) {
    done(new ArrayBuffer(0));
    return;
  }
  const buf: Uint8Array | null = declared > 0 ? new Uint8Array(declared) : null;
  let parts: Uint8Array[] | null = null;
  let size = 0;
  ex.res.onData((chunk, isLast) => {
    const n = chunk.byteLength;
    if (size + n > limit || (buf !== null && size + n > buf.byteLength)) {
      discard(ex, size + n, new HearthError('RequestTooLarge', `the body is over the ${limit}-byte limit`), fail, isLast);
      return;
    }
    if (buf !== null) buf.set(new Uint8Array(chunk), size);
    else (parts ??= []).push(new Uint8Array(chunk.slice(0)));
    size += n;
    if (!isLast) return;
    if (buf !== null) {
      done(size === buf.byteLength ? (buf.buffer as ArrayBuffer) : (buf.buffer.slice(0, size) as ArrayBuffer));
      return;
    }
    const out = new Uint8Array(size);
    let off = 0;
    for (const p of parts ?? []) { out.set(p, off); off += p.byteLength; }
    done(out.buffer as ArrayBuffer);
  });
}

/** Reads and drops the rest of a body that is too large, then answers and closes. */
function discard(ex: Exchange, seen: number, err: HearthError, fail: (err: HearthError, close: boolean) => void, ended = false): void {
  if (ended) return fail(err, true);
  let size = seen;
  ex.res.onData((chunk, isLast) => {
    size += chunk.byteLength;
    if (isLast || size > DRAIN_CAP) fail(err, true);
  });
}

/** Reads a JSON body (management calls: the host parses these, they are not payloads). */
export function readJson(ex: Exchange, contentLength: string, limit: number, done: (value: unknown) => void, fail: (err: HearthError, close: boolean) => void): void {
  readBody(ex, contentLength, limit, (body) => {
    let value: unknown;
    try {
      value = body.byteLength === 0 ? undefined : JSON.parse(Buffer.from(body).toString('utf8'));
    } catch (err) {
      fail(new HearthError('InvalidRequestContent', `the body is not valid JSON: ${(err as Error).message}`), false);
      return;
    }
    done(value);
  }, fail);
}

/**
 * Ends a response that has no body (204, 304, a HEAD's; call inside cork). `length`: the
 * Content-Length the same GET would have. Both it and a closing connection go as headers: uWS
 * 20.30's endWithoutBody(length) leaves the connection broken for its next request
 * (test/web.test.ts), and without a length it takes no close flag (an undefined length is written
 * as a huge number).
 */
export function endWithoutBody(ex: Exchange, length?: number): void {
  if (length !== undefined) ex.res.writeHeader('Content-Length', String(length));
  if (ex.server.draining) ex.res.writeHeader('Connection', 'close');
  ex.res.endWithoutBody();
}

export function sendJson(ex: Exchange, status: number, value: unknown, headers?: Record<string, string>): void {
  if (ex.aborted) return;
  const body = status === 204 ? '' : JSON.stringify(value);
  ex.res.cork(() => {
    ex.res.writeStatus(StatusLine[status] ?? String(status));
    if (status !== 204) ex.res.writeHeader('Content-Type', 'application/json');
    if (headers) for (const k in headers) ex.res.writeHeader(k, headers[k]!);
    ex.res.end(body, ex.server.draining);
  });
  finish(ex);
}

/** A text body with its own content type (e.g. Prometheus' exposition format). */
export function sendText(ex: Exchange, status: number, contentType: string, text: string): void {
  if (ex.aborted) return;
  ex.res.cork(() => {
    ex.res.writeStatus(StatusLine[status] ?? String(status)).writeHeader('Content-Type', contentType).end(text, ex.server.draining);
  });
  finish(ex);
}

export function finish(ex: Exchange): void {
  ex.aborted = true; // the response is gone; nothing more may be written
  const done = ex.onDone;
  ex.onDone = null;
  done?.();
}
