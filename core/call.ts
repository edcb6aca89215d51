// A call's input and its outcome, apart (ARCHITECTURE.md "Calls: inputs and outcomes").
//
// A CallRequest is what a call asks for: made once by its entry (an HTTP protocol, a timer, an
// async attempt) and never written after. A CallOutcome is what happened: made once by the tier
// that ran the call (or by the dispatcher, for a call no tier could take) and never written after.
// The invocation record the management API reads is a third object, owned by core/logs.ts.

import type { EncodingCode } from '../runtime/protocol.js';
import { HearthError } from './errors.js';

/** Which entry a call came from. */
export type CallSource = 'v1' | 'web' | 'lambda' | 'async' | 'timer';

/**
 * Where a cold start's instance came from: the reserve of instances made ahead (a blank isolate,
 * a stem cell), or made from scratch for the call (the reserve had none that fit, the tier keeps
 * none, e.g. custom images, or the call asked for it: X-Hearth-Force-Cold: scratch).
 */
export type ColdStart = 'reserve' | 'scratch';

/**
 * X-Hearth-Force-Cold (admin): 'no'; 'fresh', a fresh instance for this call, from the tier's
 * reserve when it has one; 'scratch', a fresh instance made from nothing, the reserve left alone.
 */
export type ForceCold = 'no' | 'fresh' | 'scratch';

/** How the function is called: with an event, with the HTTP request itself, or as a cron tick. */
export type CallKind = 'event' | 'web' | 'scheduled';

export interface WebRequest {
  readonly method: string;
  /** Absolute URL as the function sees it. */
  readonly url: string;
  /** Flat [name, value, ...], lower-case names. */
  readonly headers: readonly string[];
  /** The client's address (the TCP peer). */
  readonly remoteAddress: string;
}

export interface ScheduleTick {
  readonly cron: string;
  /** Epoch ms the tick was due. */
  readonly scheduledTime: number;
  readonly trigger: string;
}

/**
 * What a call asks for. Every request has the same fields (one object shape on the hot path);
 * `web` is set for kind "web", `schedule` for kind "scheduled".
 */
export interface CallRequest {
  readonly requestId: string;
  readonly functionName: string;
  /** As the caller named it ('' = $LATEST); the version that ran is on the outcome. */
  readonly qualifier: string;
  readonly kind: CallKind;
  readonly source: CallSource;
  /**
   * Request bytes: a whole, un-pooled ArrayBuffer. The tier may transfer it into an isolate,
   * which detaches it: nothing reads it after the call.
   */
  readonly body: ArrayBuffer;
  readonly reqEnc: EncodingCode;
  readonly resEnc: EncodingCode;
  /** A fresh instance for this call, and from where (admin, for measuring cold paths). */
  readonly forceCold: ForceCold;
  /** performance.now() when the request was read completely. */
  readonly startedAt: number;
  /** Epoch ms, the same moment. */
  readonly startedAtEpoch: number;
  readonly web: WebRequest | null;
  readonly schedule: ScheduleTick | null;
}

export interface NewCall {
  requestId: string;
  functionName: string;
  qualifier?: string;
  source: CallSource;
  body: ArrayBuffer;
  reqEnc: EncodingCode;
  resEnc: EncodingCode;
  forceCold?: ForceCold;
  web?: WebRequest;
  schedule?: ScheduleTick;
}

/** The one place a CallRequest is made. */
export function newCall(c: NewCall): CallRequest {
  return {
    requestId: c.requestId,
    functionName: c.functionName,
    qualifier: c.qualifier ?? '',
    kind: c.web !== undefined ? 'web' : c.schedule !== undefined ? 'scheduled' : 'event',
    source: c.source,
    body: c.body,
    reqEnc: c.reqEnc,
    resEnc: c.resEnc,
    forceCold: c.forceCold ?? 'no',
    startedAt: performance.now(),
    startedAtEpoch: Date.now(),
    web: c.web ?? null,
    schedule: c.schedule ?? null,
  };
}

/**
 * The same call as an event call with another body (a web call to a python3 or java17 function
 * runs as the Lambda function URL event): a request of its own, the original left as it was.
 */
export function asEventCall(req: CallRequest, body: ArrayBuffer, enc: EncodingCode): CallRequest {
  return { ...req, kind: 'event', body, reqEnc: enc, resEnc: enc, web: null };
}

/** A call that did not succeed: `{errorType, errorMessage, stackTrace?}` and its HTTP status. */
export interface CallError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stackTrace?: readonly string[];
  readonly status: number;
  /** Raised by the function itself (X-Hearth-Function-Error). */
  readonly functionError: boolean;
}

export interface WebResponse {
  readonly status: number;
  readonly statusText: string;
  /** Flat [name, value, ...], checked: safe to write. */
  readonly headers: readonly string[];
}

/** A web call's answer from an instance: status and headers, the body, and its waitUntil work. */
export class WebAnswer {
  constructor(
    readonly response: WebResponse,
    readonly body: ArrayBuffer,
    /** Resolves when the call's ctx.waitUntil work ends (null: none goes on after the answer). */
    readonly tail: Promise<void> | null,
  ) {}
}

/**
 * What an instance's call gives back: the result bytes, a web answer, or the function's own error.
 * Anything else (a timeout, a crash, a bad payload) is thrown as a HearthError.
 */
export type RunResult = ArrayBuffer | WebAnswer | CallError;

/** What happened to a call. */
export interface CallOutcome {
  /** The version that ran it (a call re-resolved after a redeploy ran the new one). */
  readonly version: string;
  readonly cold: boolean;
  /** A cold call's instance: from the reserve or from scratch (X-Hearth-Cold-Start); null for a warm call. */
  readonly coldStart: ColdStart | null;
  readonly initMs: number;
  readonly queueMs: number;
  readonly durationMs: number;
  /** Result bytes (a web call's response body), null on error. */
  readonly result: ArrayBuffer | null;
  readonly error: CallError | null;
  /** A web call's status and headers. */
  readonly response: WebResponse | null;
  /** Set when the call answered but its ctx.waitUntil work goes on: resolves when that ends. */
  readonly tail: Promise<void> | null;
}

/** Timings of one call on one instance, as the pool measured them. */
export interface CallTimings {
  cold: boolean;
  /** Set for a cold call (absent: null). */
  coldStart?: ColdStart | null;
  initMs: number;
  queueMs: number;
  durationMs: number;
}

const NO_TIME: CallTimings = Object.freeze({ cold: false, initMs: 0, queueMs: 0, durationMs: 0 });

/** The outcome of a call an instance ran (the tiers' one way to make one). */
export function ranOutcome(version: string, t: CallTimings, r: RunResult): CallOutcome {
  if (r instanceof ArrayBuffer) {
    return { version, cold: t.cold, coldStart: t.coldStart ?? null, initMs: t.initMs, queueMs: t.queueMs, durationMs: t.durationMs, result: r, error: null, response: null, tail: null };
  }
  if (r instanceof WebAnswer) {
    return { version, cold: t.cold, coldStart: t.coldStart ?? null, initMs: t.initMs, queueMs: t.queueMs, durationMs: t.durationMs, result: r.body, error: null, response: r.response, tail: r.tail };
  }
  return { version, cold: t.cold, coldStart: t.coldStart ?? null, initMs: t.initMs, queueMs: t.queueMs, durationMs: t.durationMs, result: null, error: r, response: null, tail: null };
}

/** The outcome of a call that failed outside the function's code (a timeout, no capacity, no engine). */
export function failedOutcome(version: string, err: HearthError, t: CallTimings = NO_TIME): CallOutcome {
  return ranOutcome(version, t, callError(err));
}

/** A HearthError as a call's error. */
export function callError(e: HearthError): CallError {
  return {
    errorType: e.errorType, errorMessage: e.message, status: e.status, functionError: e.functionError,
    ...(e.functionStack ? { stackTrace: e.functionStack } : {}),
  };
}

/** A function's own error (status 500, X-Hearth-Function-Error). */
export function functionError(errorType: string, errorMessage: string, stackTrace: readonly string[] = []): CallError {
  return { errorType, errorMessage, stackTrace, status: 500, functionError: true };
}

/**
 * A tier's answer when the version a call resolved to was replaced or deleted before an instance
 * took it (and no warm one was left): the dispatcher resolves the name again. An answer, not an
 * error: nothing failed yet.
 */
export const SUPERSEDED: unique symbol = Symbol('superseded');
export type Superseded = typeof SUPERSEDED;

// ---- function output ------------------------------------------------------------------------

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  time: number;
  requestId: string;
  stream: LogStream;
  message: string;
}

/**
 * Where both tiers write a function's output lines as they come: stream 0 stdout, 1 stderr,
 * 2 Hearth's own notice about the call (core/logs.ts LOG_NOTICE); requestId '' for lines outside any call.
 */
export type LogSink = (functionName: string, requestId: string, stream: number, timeMs: number, message: string) => void;
