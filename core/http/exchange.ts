// uWS request/response primitives: body reading with a size limit, JSON and text responses. Error
// bodies are each protocol's renderer's (render-v1.ts, lambda.ts).
// uWS rules honoured here: onAborted before any async step, copy every onData chunk (it is only
// valid during the callback), cork every write made after an await.

import type { HttpResponse } from 'uWebSockets.js';
import { HearthError, StatusLine } from '../errors.js';
import { BodyIntake, WHOLE_BODY_EXEMPT_BYTES, type BodyCharge } from './body-intake.js';
import { HttpCounters } from './http-counters.js';

export interface Exchange {
  res: HttpResponse;
  aborted: boolean;
  /** Called once when the response is written or the client went away (in-flight accounting). */
  onDone: (() => void) | null;
  /** The server the request came to: while it drains, every response closes its connection. */
  server: ConnectionOwner;
  /** Where request bodies take their memory (the global cap and the body deadline). */
  intake: BodyIntake;
  /** Gives back what the request's body holds of the intake: when the response is done or the client left. */
  releaseBody: (() => void) | null;
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

/** An intake without bounds (unit tests with faked collaborators). */
export const UNBOUNDED_INTAKE = new BodyIntake({ maxBodyBytesInFlight: Number.MAX_SAFE_INTEGER, bodyTimeoutMs: 2 ** 31 - 1 }, new HttpCounters());

export function exchange(res: HttpResponse, server: ConnectionOwner = KEEP_ALIVE, intake: BodyIntake = UNBOUNDED_INTAKE): Exchange {
  const ex: Exchange = { res, aborted: false, onDone: null, server, intake, releaseBody: null };
  res.onAborted(() => {
    ex.aborted = true;
    settle(ex);
  });
  return ex;
}

/** The response is gone (written, or the client left): the body's memory and the in-flight count go back. */
function settle(ex: Exchange): void {
  const release = ex.releaseBody;
  ex.releaseBody = null;
  release?.();
  const done = ex.onDone;
  ex.onDone = null;
  done?.();
}

/** Past this much unread body, a 413 is answered at once and the connection cut. */
const DRAIN_CAP = 64 * 1024 * 1024;
/** The first allocation for a body that comes in more than one chunk; doubled from there. */
const FIRST_CHUNK_BYTES = 4096;

/**
 * A body being read: `cancel` stops it (the request was refused meanwhile) and frees what it held;
 * once delivered, it marks the body dropped (refused after it was read), so that its memory is
 * reclaimed with the dropped ones' when the response is done.
 */
export interface BodyRead {
  cancel(): void;
}

const NOTHING_TO_CANCEL: BodyRead = Object.freeze({ cancel() {} });

/**
 * Reads the whole body into one fresh ArrayBuffer (never a view of a pooled buffer: it may be
 * transferred into an isolate). Memory is taken as the bytes arrive (grown geometrically, clamped
 * to the declared length so that a body that matches it needs no last copy), never from the
 * declared length, and charged to the exchange's intake until the response is done:
 * - over `limit` → 413 once the rest of the body has been read and thrown away (a lingering close:
 *   a client still sending would otherwise see a reset instead of the answer), then the close;
 * - the intake full → 503 with Retry-After, connection closed (a small body that comes whole in
 *   its first chunk has a reserve past the cap; `unverified`: its caller is checked only once the
 *   body is in, and such bodies share a quarter of the cap: see BodyCharge);
 * - not all there by the intake's deadline → 408, connection closed, its memory given back.
 */
export function readBody(
  ex: Exchange,
  contentLength: string,
  limit: number,
  done: (body: ArrayBuffer) => void,
  fail: (err: HearthError, close: boolean) => void,
  unverified = false,
): BodyRead {
  const declared = contentLength === '' ? -1 : Number(contentLength);
  if (declared > limit) {
    const err = new HearthError('RequestTooLarge', `the body is ${declared} bytes, over the ${limit}-byte limit`);
    if (declared > DRAIN_CAP) fail(err, true);
    else discard(ex, 0, err, fail);
    return NOTHING_TO_CANCEL;
  }
  if (declared === 0) {
    done(new ArrayBuffer(0));
    return NOTHING_TO_CANCEL;
  }
  const intake = ex.intake;
  const most = declared > 0 ? declared : limit;
  let buf = new Uint8Array(0);
  let size = 0;
  let held = 0;
  let over = false;
  let delivered = false;
  // Its memory back to the intake: when the response is done, or at once when the body is dropped.
  const giveBack = () => {
    intake.give(held, !delivered, unverified);
    held = 0;
    buf = new Uint8Array(0);
  };
  ex.releaseBody = giveBack;
  const stop = () => {
    over = true;
    intake.unwatch(pending);
  };
  const pending = {
    deadline: Date.now() + intake.settings.bodyTimeoutMs,
    expire: () => {
      stop();
      if (ex.aborted) return;
      giveBack();
      fail(intake.refused('timeout'), true);
    },
  };
  intake.watch(pending);
  ex.res.onData((chunk, isLast) => {
    if (over) return;
    const n = chunk.byteLength;
    if (size + n > limit || size + n > most) {
      stop();
      giveBack();
      discard(ex, size + n, new HearthError('RequestTooLarge', `the body is over the ${limit}-byte limit`), fail, isLast);
      return;
    }
    if (size + n > buf.byteLength) {
      // The last chunk: exactly what is needed; otherwise at least double, never past the most.
      const want = isLast ? size + n : Math.min(most, Math.max(size + n, buf.byteLength * 2, FIRST_CHUNK_BYTES));
      const charge: BodyCharge = unverified ? 'unverified'
        : size === 0 && isLast && n <= WHOLE_BODY_EXEMPT_BYTES ? 'small-whole' : 'plain';
      if (!intake.take(want - held, charge)) {
        stop();
        giveBack();
        if (!ex.aborted) fail(intake.refused('capacity'), true);
        return;
      }
      const grown = new Uint8Array(want);
      grown.set(buf.subarray(0, size));
      buf = grown;
      held = want;
    }
    buf.set(new Uint8Array(chunk), size);
    size += n;
    if (!isLast) return;
    stop();
    delivered = true;
    done(size === buf.byteLength ? (buf.buffer as ArrayBuffer) : (buf.buffer.slice(0, size) as ArrayBuffer));
  });
  return {
    cancel() {
      delivered = false;
      if (over) return;
      stop();
      giveBack();
    },
  };
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
export function readJson(ex: Exchange, contentLength: string, limit: number, done: (value: unknown) => void, fail: (err: HearthError, close: boolean) => void): BodyRead {
  return readBody(ex, contentLength, limit, (body) => {
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
  settle(ex);
}
