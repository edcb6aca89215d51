// The in-isolate runtime: loaded once into every pre-warmed isolate, before any function code.
// It exposes two functions to the host (load, invoke) through a global that it then deletes,
// installs console, and keeps every host handle in closures that user code cannot reach.

import { BATCH_SETTLE_TURNS, HostGlobal, Outcome } from '../protocol.js';
import { decodeEvent, encodeResult } from './codec.js';
import { makeConsole, type LogSink } from './console.js';

type Handler = (event: unknown, context: unknown, callback?: (err: unknown, result?: unknown) => void) => unknown;

const g = globalThis as Record<string, unknown>;
const sink = g[HostGlobal.log] as LogSink;
delete g[HostGlobal.log];
const resultSink = g[HostGlobal.result] as (requestId: string, result: Result) => void;
delete g[HostGlobal.result];

type Result = ArrayBuffer | [number, string, string, string];

let handler: Handler | null = null;
let functionName = '';
let functionVersion = '';
let memoryLimitInMb = 0;
let timeLimitInMs = 0;

// Attribution of console lines: exact while one call is in flight (the common case and the only
// one at concurrency 1); with several in flight, a line goes to the call that started last.
let inFlight = 0;
let current = '';
const logTarget = { currentRequestId: () => current };

Object.defineProperty(globalThis, 'console', {
  value: makeConsole(sink, logTarget), writable: true, configurable: true, enumerable: false,
});

const ObjectFreeze = Object.freeze;
const dateNow = Date.now;
const PromiseCtor = Promise;
// User code may replace these; the runtime keeps the originals.
const promiseThen = Promise.prototype.then;
const jsonStringify = JSON.stringify;

/** Never throws, whatever was thrown (getters that throw, objects without a string form…). */
function errorTuple(code: number, err: unknown): [number, string, string, string] {
  try {
    if (err instanceof Error) {
      return [code, String(err.name || 'Error'), String(err.message), String(err.stack ?? '')];
    }
    let message: string;
    try { message = typeof err === 'string' ? err : jsonStringify(err) ?? String(err); } catch { message = String(err); }
    return [code, 'Error', message, ''];
  } catch {
    return [code, 'Error', 'the function threw a value that cannot be described', ''];
  }
}

function load(mod: Record<string, unknown> | undefined, exportName: string, name: string, version: string, memoryMb: number, timeoutMs: number): string | null {
  functionName = name; functionVersion = version; memoryLimitInMb = memoryMb; timeLimitInMs = timeoutMs;
  if (mod === undefined || mod === null) return 'the code defines no exports';
  let fn = mod[exportName];
  // `export default async function` and `module.exports = fn` are handlers whatever the name says.
  if (typeof fn !== 'function' && typeof mod === 'function') fn = mod;
  if (typeof fn !== 'function' && typeof mod.default === 'function') fn = mod.default;
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    return `export '${exportName}' is not a function (exported functions: ${names.length ? names.join(', ') : 'none'})`;
  }
  handler = fn as Handler;
  return null;
}

function makeContext(requestId: string, deadline: number) {
  return ObjectFreeze({
    requestId,
    awsRequestId: requestId,
    functionName,
    functionVersion,
    memoryLimitInMb,
    timeLimitInMs,
    getRemainingTimeInMillis: () => Math.max(0, deadline - dateNow()),
  });
}

function callHandler(h: Handler, event: unknown, context: unknown): unknown {
  if (h.length < 3) return h(event, context);
  // Lambda's callback style: (event, context, callback).
  return new PromiseCtor((resolve, reject) => {
    const r = h(event, context, (err, result) => (err ? reject(err) : resolve(result)));
    if (r && typeof (r as Promise<unknown>).then === 'function') (r as Promise<unknown>).then(resolve, reject);
  });
}

async function invoke(body: ArrayBuffer, reqEnc: number, resEnc: number, requestId: string, deadline: number): Promise<Result> {
  let event: unknown;
  try {
    event = decodeEvent(body, reqEnc);
  } catch (err) {
    return [Outcome.badPayload, 'InvalidRequestContent', `could not decode the request body: ${(err as Error)?.message ?? err}`, ''];
  }
  inFlight++;
  const previous = current;
  current = requestId;
  let result: unknown;
  try {
    result = await callHandler(handler!, event, makeContext(requestId, deadline));
  } catch (err) {
    return errorTuple(Outcome.functionError, err);
  } finally {
    if (--inFlight === 0) current = '';
    else if (current === requestId) current = previous;
  }
  try {
    return encodeResult(result, resEnc);
  } catch (err) {
    const [, type, message] = errorTuple(Outcome.badResult, err);
    return [Outcome.badResult, 'ResultNotSerializable', `${type}: ${message}`, ''];
  }
}

/**
 * Several calls in one crossing (the host coalesces the calls an instance receives in one turn
 * of its event loop). Returns each call's result by position; a call still running after
 * BATCH_SETTLE_TURNS microtask turns is `null` here and answers through resultSink when done.
 */
function invokeBatch(bodies: ArrayBuffer[], reqEncs: number[], resEncs: number[], requestIds: string[], deadlines: number[]): Promise<(Result | null)[]> {
  const n = bodies.length;
  const out: (Result | null)[] = [];
  for (let i = 0; i < n; i++) out.push(null);
  return new PromiseCtor<(Result | null)[]>((resolve) => {
    let pending = n;
    let returned = false;
    const finish = () => {
      if (returned) return;
      returned = true;
      resolve(out);
    };
    for (let i = 0; i < n; i++) {
      const rid = requestIds[i]!;
      const answer = (r: Result) => {
        if (returned) return resultSink(rid, r);
        out[i] = r;
        if (--pending === 0) finish();
      };
      promiseThen.call(invoke(bodies[i]!, reqEncs[i]!, resEncs[i]!, rid, deadlines[i]!), answer, (err: unknown) => answer(errorTuple(Outcome.functionError, err)));
    }
    let turns: Promise<void> = new PromiseCtor<void>((r) => r());
    for (let t = 0; t < BATCH_SETTLE_TURNS; t++) turns = promiseThen.call(turns, noop) as Promise<void>;
    promiseThen.call(turns, finish);
  });
}

function noop(): void {}

g[HostGlobal.exportsOut] = { load, invoke, invokeBatch };
