// The invocation pipeline over HTTP, written once (ARCHITECTURE.md "One pipeline"):
//
//   receive → authorize → resolve → read body → dispatch → render → record
//
// Each protocol (v1 invoke, web, the Lambda API; the event sources next) supplies only how it
// parses a request (CallProtocol.receive/authorize/check/target/plan) and how it answers
// (render*). The record (invocation record, metrics) hangs off dispatch (core/call-recorder.ts);
// nothing here or in a protocol has to remember it. A request is always answered: an error from
// any step, or from a renderer, becomes the protocol's error response.
//
// A protocol whose authorization covers the body (the Lambda API's SigV4 signature) reads the body
// right after authorize, and checks and resolves only then: nothing about a function is told to a
// caller not yet authorized.

import { randomUUID } from 'node:crypto';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { EnqueueResult } from '../async/queue.js';
import type { AsyncInvoker, NewEvent } from '../async/invoker.js';
import type { FunctionVersion } from '../backend.js';
import type { CallOutcome, CallRequest, LogLine } from '../call.js';
import type { Dispatcher, Resolver } from '../dispatcher.js';
import { HearthError, toHearthError } from '../errors.js';
import { log } from '../log.js';
import type { InvocationRecords } from '../records.js';
import { readBody, type Exchange } from './exchange.js';
import type { FrontEnd } from './front-end.js';
import type { Gate } from './gate.js';
import { v1Error } from './render-v1.js';

/** What every protocol reads of a request. */
export interface Received {
  readonly requestId: string;
  readonly contentLength: string;
}

/** Which function a request names. */
export interface Target {
  readonly name: string;
  readonly qualifier: string;
}

/**
 * A request that asks for its events to be stored in the durable queue (answered 202 once all are
 * stored), not run now: one, or a CloudEvents batch's.
 */
export class Enqueue {
  constructor(readonly events: readonly NewEvent[]) {}
}

/** A dry run: every check passed, nothing to run. */
export const DRY_RUN: unique symbol = Symbol('dry run');

/**
 * What a checked request becomes: a call to run now (the CallRequest itself: no wrapper on the hot
 * path), an event for the durable queue, or nothing to run.
 */
export type Plan = CallRequest | Enqueue | typeof DRY_RUN;

/** Where a renderer finds a call's log lines (the log tail). */
export interface LogSource {
  logsOf(requestId: string): readonly LogLine[];
}

/** Where an error happened: the version is known once the function was resolved. */
export interface ErrorContext {
  readonly version: string | null;
  /** Close the connection after the answer (a body left unread). */
  readonly close: boolean;
}

/** One HTTP protocol that runs calls: how it reads a request, and how it answers. */
export interface CallProtocol<R extends Received> {
  /** Read the body right after authorize (the authorization covers it), then check and resolve. */
  readonly bodyFirst: boolean;
  /** receive: everything it needs of `req`, which is invalid once the handler returns. */
  receive(req: HttpRequest, res: HttpResponse, requestId: string): R;
  /** authorize: may this caller make this call? (From the headers.) */
  authorize(r: R, gate: Gate): HearthError | null;
  /**
   * authorize, what can be checked before the body without blocking (a signature whose signed
   * payload hash stands for the body): a refusal is answered at once, the body left unread. Runs
   * while the body starts to arrive (uWS hands a body only to a reader attached in the handler).
   */
  authorizeHead?(r: R, gate: Gate): Promise<HearthError | null>;
  /** authorize, the part that needs the body (a signature over it). */
  authorizeBody?(r: R, body: ArrayBuffer, gate: Gate): Promise<HearthError | null>;
  /**
   * Is the caller known only once the body is in (authorizeBody decides)? Such bodies share a
   * quarter of the bytes-in-flight cap (core/http/body-intake.ts), so forgers cannot take it all.
   */
  verifiedByBody?(r: R): boolean;
  /** The request's own form: invocation type, encodings, names (400, 415, 406). */
  check(r: R): HearthError | null;
  /** resolve: which function and qualifier (throws HearthError for one it cannot name). */
  target(r: R): Target;
  /** read body: the largest it may be. */
  bodyLimit(r: R): number;
  /** dispatch: what the request asks for (throws HearthError for a body that does not fit it). */
  plan(r: R, fn: FunctionVersion, body: ArrayBuffer): Plan;
  /** render: a call that ran (or could not run: `out.error`); `logs` has its log lines, for a tail. */
  renderOutcome(ex: Exchange, r: R, out: CallOutcome, logs: LogSource): void;
  /** render: the events stored in the durable queue (as many results as the plan had events). */
  renderQueued(ex: Exchange, r: R, fn: FunctionVersion, qs: readonly EnqueueResult[]): void;
  /** render: a dry run, every check passed. */
  renderChecked(ex: Exchange, r: R, fn: FunctionVersion): void;
  /** render: an error from any step before the call ran, or a renderer that failed. */
  renderError(ex: Exchange, r: R, err: HearthError, at: ErrorContext): void;
}

export interface PipelineDeps {
  readonly frontEnd: FrontEnd;
  readonly gate: Gate;
  readonly catalog: Resolver;
  readonly dispatcher: Dispatcher;
  readonly asyncInvoker: AsyncInvoker;
  readonly records: InvocationRecords;
}

/** The uWS handler that runs a protocol's requests through the pipeline. */
export function pipeline<R extends Received>(deps: PipelineDeps, p: CallProtocol<R>): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    // receive: everything from `req` is read now (it is invalid after the first await)
    const ex = deps.frontEnd.track(res);
    let r: R;
    try {
      r = p.receive(req, res, randomUUID());
    } catch (err) {
      // A request is never left unanswered, even one its protocol could not read.
      log.error({ err }, 'could not read a request');
      return v1Error(ex, new HearthError('InternalError', 'the request could not be read'));
    }
    const fail = (err: HearthError, version: string | null = null, close = false) => {
      if (ex.aborted) return;
      try {
        p.renderError(ex, r, err, { version, close });
      } catch (e) {
        log.error({ err: e, requestId: r.requestId }, 'could not write an error response');
        v1Error(ex, err, { close });
      }
    };
    try {
      // authorize
      const denied = p.authorize(r, deps.gate);
      if (denied !== null) return fail(denied);
      if (p.bodyFirst) {
        const head = p.authorizeHead?.(r, deps.gate) ?? Promise.resolve(null);
        // A body read but not dispatched is marked dropped first (its memory reclaimed: body-intake.ts).
        const refuse = (err: HearthError) => {
          reading.cancel();
          fail(err);
        };
        const reading = readBody(ex, r.contentLength, p.bodyLimit(r), (body) => {
          head.then((early) => early ?? p.authorizeBody?.(r, body, deps.gate) ?? null).then((err) => {
            if (ex.aborted) return;
            if (err !== null) return refuse(err);
            const fn = checkAndResolve(deps, p, r, refuse);
            if (fn !== null) dispatch(deps, p, ex, r, fn, body, fail);
          }, (err: unknown) => {
            log.error({ err: (err as Error).message, requestId: r.requestId }, 'could not check a request signature');
            refuse(new HearthError('InternalError', 'the request signature could not be checked'));
          });
        }, (err, close) => fail(err, null, close), p.verifiedByBody?.(r) ?? false);
        // Refused from the headers alone: answered now and the body never held. The connection
        // stays open: uWS drops the rest of the body as it comes (no memory; its idle timeout
        // bounds a slow sender), so the answer is not lost to a reset as a close under unread
        // bytes would make it.
        head.then((err) => {
          if (err === null || ex.aborted) return;
          refuse(err);
        }, () => { /* answered when the body is in (above) */ });
        return;
      }
      const fn = checkAndResolve(deps, p, r, fail);
      if (fn === null) return;
      // read body
      readBody(ex, r.contentLength, p.bodyLimit(r), (body) => dispatch(deps, p, ex, r, fn, body, fail), (err, close) => fail(err, fn.version, close));
    } catch (err) {
      log.error({ err, requestId: r.requestId }, 'a request failed in the pipeline');
      fail(toHearthError(err));
    }
  };
}

/** The request's own checks, then resolve: the version, or null once the error was answered. */
function checkAndResolve<R extends Received>(deps: PipelineDeps, p: CallProtocol<R>, r: R, fail: (err: HearthError) => void): FunctionVersion | null {
  const bad = p.check(r);
  if (bad !== null) {
    fail(bad);
    return null;
  }
  try {
    const t = p.target(r);
    return deps.catalog.resolve(t.name, t.qualifier);
  } catch (err) {
    fail(toHearthError(err));
    return null;
  }
}

/** dispatch → render (the record hangs off the dispatcher). A request is never left unanswered. */
function dispatch<R extends Received>(
  deps: PipelineDeps, p: CallProtocol<R>, ex: Exchange, r: R, fn: FunctionVersion, body: ArrayBuffer,
  fail: (err: HearthError, version?: string | null) => void,
): void {
  // A renderer that fails part-way (it must not) still leaves the request answered.
  const rendered = (err: unknown) => {
    log.error({ err, requestId: r.requestId }, 'could not write a call\'s response');
    fail(toHearthError(err), fn.version);
  };
  let plan: Plan;
  try {
    plan = p.plan(r, fn, body);
    if (plan === DRY_RUN) return p.renderChecked(ex, r, fn);
  } catch (err) {
    return fail(toHearthError(err), fn.version);
  }
  if (plan instanceof Enqueue) {
    Promise.all(plan.events.map((e) => deps.asyncInvoker.enqueue(e))).then(
      (qs) => { if (!ex.aborted) p.renderQueued(ex, r, fn, qs); },
      (err: unknown) => fail(toHearthError(err), fn.version),
    ).catch(rendered);
    return;
  }
  deps.dispatcher.run(fn, plan).then((out) => {
    if (!ex.aborted) p.renderOutcome(ex, r, out, deps.records);
  }).catch(rendered);
}
