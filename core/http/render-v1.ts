// The v1 API's renderer: Hearth's own JSON errors (`{errorType, errorMessage, stackTrace?}` with the
// status errors.ts gives each type) and the headers every call carries: which call, cold or warm,
// where the time went (and a cold start's origin), the version that ran, the function-error flag and the log tail.

import type { HttpResponse } from 'uWebSockets.js';
import type { CallError, CallOutcome } from '../call.js';
import { errorBody, errorJson, StatusLine, type HearthError } from '../errors.js';
import { finish, type Exchange } from './exchange.js';

export interface V1ErrorOptions {
  /** A call's error: the invocation headers go with it (the call did not run: warm, no time). */
  requestId?: string;
  headers?: Record<string, string>;
  /** Close the connection after it (a body left unread). */
  close?: boolean;
}

/** A JSON error response: the one way the v1 API (invoke, web and management routes) answers one. */
export function v1Error(ex: Exchange, err: HearthError, opts: V1ErrorOptions = {}): void {
  if (ex.aborted) return;
  const body = errorBody(err);
  ex.res.cork(() => {
    ex.res.writeStatus(statusLine(err.status));
    ex.res.writeHeader('Content-Type', 'application/json');
    if (opts.requestId !== undefined) writeInvocationHeaders(ex.res, opts.requestId, false, 0, 0, 0);
    if (opts.headers) for (const k in opts.headers) ex.res.writeHeader(k, opts.headers[k]!);
    if (err.retryAfterS !== undefined) ex.res.writeHeader('Retry-After', String(err.retryAfterS));
    ex.res.end(body, opts.close === true || ex.server.draining);
  });
  finish(ex);
}

/** A call's error as the body of its response (in a cork, with the call's headers around it). */
export function callErrorBody(e: CallError): string {
  return errorJson(e.errorType, e.errorMessage, e.stackTrace as string[] | undefined);
}

export function statusLine(status: number): string {
  return StatusLine[status] ?? String(status);
}

/** The headers a call that ran carries (invoke and web route): timings, version, error flag, log tail. */
export function writeCallHeaders(res: HttpResponse, requestId: string, out: CallOutcome, functionError: boolean, logResult: string | null): void {
  writeInvocationHeaders(res, requestId, out.cold, out.initMs, out.queueMs, out.durationMs);
  // Cold calls only: where the fresh instance came from (the reserve, or made from scratch).
  if (out.coldStart !== null) res.writeHeader('X-Hearth-Cold-Start', out.coldStart);
  res.writeHeader('X-Hearth-Executed-Version', out.version);
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
