// The in-isolate runtime: loaded once into every pre-warmed isolate, before any function code.
// It exposes its entry points to the host (load, invoke, invokeBatch, invokeNow, invokeWeb,
// invokeScheduled, deliver) through a global that it then deletes, installs console and the web platform APIs, and
// keeps every host handle in closures that user code cannot reach.

import { BATCH_SETTLE_TURNS, type BatchCalls, Deliver, Encoding, HostGlobal, HostOp, LogLimit, ModuleKind, Outcome, WebField, type FailureTuple, type ResultTuple, type WebCall, type WebResponseTuple } from '../protocol.js';
import { begin, calls, end, host, setCallEndHook } from './calls.js';
import { decodeEvent, encodeResult } from './codec.js';
import { formatValue, LogBuffer, makeConsole, type LogBatchSink } from './console.js';
import { CallTail, incomingRequest, lambdaUrlEvent, lambdaUrlResult, responseTuple, tailDone, type WorkersModule } from './web-call.js';
import { fetchDone, fetchFailed, dropAllFetches } from './web/fetch.js';
import { hostIvm, setExtraLoader } from './extras.js';
import { setDetacher } from './web/clone.js';
import { installGlobals, preloadGlobals } from './web/globals.js';
import { installWasmMemoryLimit } from './wasm-memory.js';
import { clearTimeout, dropAllTimers, fireTimers, setTimeout } from './web/timers.js';

type Handler = (event: unknown, context: unknown, callback?: (err: unknown, result?: unknown) => void) => unknown;

const g = globalThis as Record<string, unknown>;
const sink = g[HostGlobal.log] as LogBatchSink;
delete g[HostGlobal.log];
const logLimits = g[HostGlobal.limits];
delete g[HostGlobal.limits];
// V8's full GC (the host sets --expose-gc): only the WebAssembly memory bound uses it.
const fullGc = typeof g.gc === 'function' ? g.gc as () => void : undefined;
// V8 makes it a non-configurable property: it stays, holding undefined.
if (fullGc !== undefined) g.gc = undefined;
/** Set when a WebAssembly memory was refused: every call on this instance then fails OutOfMemory. */
let outOfMemory = '';
/** Bytes the instance's live WebAssembly memories hold (the host adds them to its measured memory). */
let wasmBytes: () => number = () => 0;
{
  const mb = Array.isArray(logLimits) ? logLimits[LogLimit.memoryMb] : undefined;
  if (typeof mb === 'number' && mb > 0) wasmBytes = installWasmMemoryLimit(mb, fullGc, (message) => { outOfMemory = message; });
}
const resultSink = g[HostGlobal.result] as (requestId: string, result: Result) => void;
delete g[HostGlobal.result];
const seed = g[HostGlobal.seed];
delete g[HostGlobal.seed];
setExtraLoader(g[HostGlobal.extra]);
delete g[HostGlobal.extra];
{
  // structuredClone's transfer detaches with isolated-vm's ExternalCopy (transferOut moves the
  // bytes out without a copy; they are released at once), asked of the host on the first transfer
  // (not at boot: an isolate that never transfers does not pay for it). Only the class is kept.
  type ExternalCopyClass = new (b: ArrayBuffer, o: object) => { release(): void };
  let ExternalCopy: ExternalCopyClass | null | undefined;
  setDetacher((buffer) => {
    if (ExternalCopy === undefined) {
      const m = hostIvm() as { ExternalCopy?: unknown } | null;
      ExternalCopy = typeof m?.ExternalCopy === 'function' ? m.ExternalCopy as ExternalCopyClass : null;
    }
    if (ExternalCopy === null) throw new TypeError('ArrayBuffers cannot be detached here');
    new ExternalCopy(buffer, { transferOut: true }).release();
  });
}

type Failure = FailureTuple;
type Result = ResultTuple;

let handler: Handler | null = null;
let workers: WorkersModule | null = null;
let env: Readonly<Record<string, string>> = Object.freeze({});
let functionName = '';
let functionVersion = '';
let memoryLimitInMb = 0;
let timeLimitInMs = 0;
/** Largest result the host takes (it checks again): a larger one does not even cross. */
let maxResultBytes = Infinity;

const logTarget = { currentRequestId: () => calls.current };
const logs = new LogBuffer(sink, logLimits);
setCallEndHook((requestId) => logs.endCall(requestId));
const console_ = makeConsole(logs, logTarget);
Object.defineProperty(globalThis, 'console', {
  value: console_, writable: true, configurable: true, enumerable: false,
});
/** An exception nobody can catch (a timer callback, waitUntil work): it goes to stderr. */
function reportUncaught(where: string, err: unknown): void {
  console_.error(`Uncaught ${where}:`, err instanceof Error ? (err.stack || `${err.name}: ${err.message}`) : formatValue(err));
}
installGlobals(seed instanceof ArrayBuffer ? new Uint8Array(seed) : seed instanceof Uint8Array ? seed : new Uint8Array(0), reportUncaught);

const ObjectFreeze = Object.freeze;
const dateNow = Date.now;
const PromiseCtor = Promise;
// User code may replace these; the runtime keeps the originals.
const promiseThen = Promise.prototype.then;
const jsonStringify = JSON.stringify;
const reflectApply = Reflect.apply;
const arrayFrom = Array.from;

/** `n` nulls, as own properties (Array.from defines them: no setter on Array.prototype runs, no push). */
function nulls<T>(n: number): (T | null)[] {
  return reflectApply(arrayFrom, undefined, [{ length: n }, nullOf]) as (T | null)[];
}
function nullOf(): null {
  return null;
}

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

function isWorkersModule(v: unknown): v is WorkersModule {
  return typeof v === 'object' && v !== null && (typeof (v as WorkersModule).fetch === 'function' || typeof (v as WorkersModule).scheduled === 'function');
}

/**
 * Binds the handler. Returns what the module offers (ModuleKind bits), or a string that says why
 * it offers nothing. `flatEnv`: the function's env vars as [name, value, ...].
 */
function load(mod: Record<string, unknown> | undefined, exportName: string, name: string, version: string, memoryMb: number, timeoutMs: number, flatEnv: string[], resultLimit?: number): string | number {
  if (typeof resultLimit === 'number' && resultLimit > 0) maxResultBytes = resultLimit;
  functionName = name; functionVersion = version; memoryLimitInMb = memoryMb; timeLimitInMs = timeoutMs;
  logs.endCall(''); // module init's lines (and what it dropped) go now
  const e: Record<string, string> = {};
  for (let i = 0; i + 1 < flatEnv.length; i += 2) e[flatEnv[i]!] = flatEnv[i + 1]!;
  env = Object.freeze(e);
  // Timers set while the module loaded have nobody to wait for them.
  if (calls.hostWork > 0) { dropAllTimers(); dropAllFetches(); host(HostOp.cancelAll); }
  if (mod === undefined || mod === null) return 'the code defines no exports';
  let fn = mod[exportName];
  // A Workers module: `export default { fetch, scheduled }` (or the export the handler names).
  if (isWorkersModule(fn)) workers = fn;
  else if (typeof fn !== 'function' && isWorkersModule(mod.default)) workers = mod.default;
  if (workers !== null) {
    return (typeof workers.fetch === 'function' ? ModuleKind.fetch : 0) | (typeof workers.scheduled === 'function' ? ModuleKind.scheduled : 0);
  }
  // `export default async function` and `module.exports = fn` are handlers whatever the name says.
  if (typeof fn !== 'function' && typeof mod === 'function') fn = mod;
  if (typeof fn !== 'function' && typeof mod.default === 'function') fn = mod.default;
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    return `export '${exportName}' is not a function or a Workers module (exported functions: ${names.length ? names.join(', ') : 'none'})`;
  }
  handler = fn as Handler;
  return ModuleKind.event;
}

function timLimit(): number {
  return timeLimitInMs;
}

function wrongKind(what: string): Failure {
  return [Outcome.unsupported, 'WrongFunctionKind', what, ''];
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

function idle(): void {
  dropAllTimers();
  dropAllFetches();
}

async function invoke(body: ArrayBuffer, reqEnc: number, resEnc: number, requestId: string, deadline: number): Promise<Result> {
  if (handler === null) {
    return wrongKind(`${functionName} is a Workers module with no event handler: call it at /v1/web/${functionName}/`);
  }
  let event: unknown;
  try {
    event = decodeEvent(body, reqEnc);
  } catch (err) {
    return [Outcome.badPayload, 'InvalidRequestContent', `could not decode the request body: ${(err as Error)?.message ?? err}`, ''];
  }
  const prevId = calls.current, prevDeadline = calls.deadline;
  begin(requestId, deadline);
  let result: unknown;
  try {
    result = await callHandler(handler, event, makeContext(requestId, deadline));
  } catch (err) {
    return errorTuple(Outcome.functionError, err);
  } finally {
    end(requestId, prevId, prevDeadline, idle);
  }
  try {
    return encodeResult(result, resEnc);
  } catch (err) {
    const [, type, message] = errorTuple(Outcome.badResult, err);
    return [Outcome.badResult, 'ResultNotSerializable', `${type}: ${message}`, ''];
  }
}

/**
 * Starts a batch's calls (event or web, by position) and keeps its answers where recover() finds
 * them. Each answer is bounded and remembered; it goes into `out` while `inTime()` says the batch
 * has not answered yet (then `answered()`), else through resultSink.
 */
function startBatch(calls: BatchCalls, inTime: () => boolean, answered: () => void): (Result | null)[] {
  // By index: the tuple is the isolate's own copy, its elements own properties (no iterator).
  const bodies = calls[0], reqEncs = calls[1], resEncs = calls[2], requestIds = calls[3], deadline = calls[4], webs = calls[5];
  const n = bodies.length;
  const out = nulls<Result>(n);
  batchRids[batchAt] = requestIds;
  batchOuts[batchAt] = out;
  batchAt = batchAt === BATCHES - 1 ? 0 : batchAt + 1;
  for (let i = 0; i < n; i++) {
    const rid = requestIds[i]!;
    const answer = (res: Result) => {
      const r = bounded(res);
      if (remember(rid, r)) return; // already answered (the host asked for it again)
      if (!inTime()) return resultSink(rid, r);
      out[i] = r;
      answered();
    };
    reflectApply(promiseThen, invokeOne(bodies[i]!, reqEncs[i]!, resEncs[i]!, rid, deadline, webs[i] ?? null), [answer, (err: unknown) => answer(errorTuple(Outcome.functionError, err))]);
  }
  return out;
}

/**
 * Several calls in one crossing (the host coalesces the calls an instance receives in one turn
 * of its event loop). Returns each call's result by position; a call still running after
 * BATCH_SETTLE_TURNS microtask turns is `null` here and answers through resultSink when done.
 */
function invokeBatch(calls: BatchCalls): Promise<(Result | null)[]> {
  return new PromiseCtor<(Result | null)[]>((resolve) => {
    let pending = calls[0].length;
    let returned = false;
    const finish = () => {
      if (returned) return;
      returned = true;
      resolve(out);
    };
    // (Answers arrive in promise callbacks, never during startBatch: `out` is set before finish runs.)
    const out = startBatch(calls, () => !returned, () => { if (--pending === 0) finish(); });
    let turns: Promise<void> = new PromiseCtor<void>((r) => r());
    for (let t = 0; t < BATCH_SETTLE_TURNS; t++) turns = reflectApply(promiseThen, turns, [noop]) as Promise<void>;
    reflectApply(promiseThen, turns, [finish]);
  });
}

function noop(): void {}

/**
 * Entries into the runtime from the host so far (every exported entry point counts itself). A
 * call of a synchronous batch that settles during a later entry answers through resultSink: its
 * batch's answers were copied out when its own entry returned.
 */
let entries = 0;

/**
 * invokeBatch for the host's synchronous crossing (applySync under a CPU budget): the answers come
 * back as the entry's return value. V8 runs the microtasks when the entry's call returns, before
 * isolated-vm copies that value out and inside the same time limit, so every call that settles
 * without waiting for the host (no timer, no fetch) is answered in `out`; the rest are null there
 * and answer through resultSink when they finish.
 */
function invokeNow(calls: BatchCalls): (Result | null)[] {
  const at = ++entries;
  return startBatch(calls, () => entries === at, noop);
}

/** One call of a batch: an event call, or a web call when it has its request's head. */
function invokeOne(body: ArrayBuffer, reqEnc: number, resEnc: number, rid: string, deadline: number, web: WebCall | null): Promise<Result> {
  return web === null ? invoke(body, reqEnc, resEnc, rid, deadline) : invokeWeb(web[0], web[1], web[2], body, rid, deadline, web[3]);
}

// ---- results lost to a stray rejection -----------------------------------------------------
// isolated-vm fails a whole crossing when a promise was rejected with no handler during it (a
// "stray" rejection, e.g. `Promise.reject(x)` nobody awaits), dropping the results it carried.
// Workers answers such calls normally. So the last results are remembered (in fixed slots, no
// allocation per call) and the host, when a crossing fails that way, asks for them again
// (recover): finished calls answer through resultSink, running ones will when they finish.

const RING = 256;
/** Results kept at most: bytes in all (they stay alive until overwritten), and per result. */
const RING_MAX_TOTAL = 1024 * 1024;
const RING_MAX_ONE = 64 * 1024;
const ringIds: string[] = new Array<string>(RING).fill('');
const ringResults: (Result | null)[] = new Array<Result | null>(RING).fill(null);
const ringBytes: number[] = new Array<number>(RING).fill(0);
let ringTotal = 0;
let ringAt = 0;
/** Calls the host asked about that had not finished: they answer through resultSink when they do. */
const answerLater = new Set<string>();
/** The last batches' answers by position (a finished call whose result was not kept is still there). */
const BATCHES = 8;
const batchRids: (string[] | null)[] = new Array<string[] | null>(BATCHES).fill(null);
const batchOuts: ((Result | null)[] | null)[] = new Array<(Result | null)[] | null>(BATCHES).fill(null);
let batchAt = 0;

function resultBytes(r: Result): number {
  if (r instanceof ArrayBuffer) return r.byteLength;
  return r[0] === Outcome.webResponse ? (r as WebResponseTuple)[WebField.body].byteLength + 256 : 256;
}

/** A result past the host's limit becomes its failure here, before its bytes cross. */
function bounded(r: Result): Result {
  if (outOfMemory !== '') return [Outcome.outOfMemory, 'OutOfMemory', outOfMemory, ''];
  const bytes = r instanceof ArrayBuffer ? r.byteLength : r[0] === Outcome.webResponse ? (r as WebResponseTuple)[WebField.body].byteLength : 0;
  if (bytes <= maxResultBytes) return r;
  const what = r instanceof ArrayBuffer ? 'result' : 'response body';
  return [Outcome.tooLarge, 'ResultTooLarge', `the function's ${what} is ${bytes} bytes, more than the ${maxResultBytes} bytes allowed`, ''];
}

/** Keeps a finished call's result; true when it was answered here (the host had asked for it). */
function remember(rid: string, r: Result): boolean {
  const bytes = resultBytes(r);
  ringTotal -= ringBytes[ringAt]!;
  const keep = bytes <= RING_MAX_ONE && ringTotal + bytes <= RING_MAX_TOTAL;
  ringIds[ringAt] = rid;
  ringResults[ringAt] = keep ? r : null;
  ringBytes[ringAt] = keep ? bytes : 0;
  if (keep) ringTotal += bytes;
  ringAt = ringAt === RING - 1 ? 0 : ringAt + 1;
  if (answerLater.size > 0 && answerLater.delete(rid)) {
    resultSink(rid, r);
    return true;
  }
  return false;
}

/** A call answered by its own crossing (not a batch): remembered too. */
function tracked(rid: string, p: Promise<Result>): Promise<Result> {
  // Reflect.apply, captured: the function may have replaced Function.prototype.call.
  const out = reflectApply(promiseThen, p, [bounded]) as Promise<Result>;
  reflectApply(promiseThen, out, [(r: Result) => { remember(rid, r); }, noop]);
  return out;
}

const LOST: Failure = [Outcome.functionError, 'ResultLost', 'a promise was rejected with no handler during this call, and its result was not kept', ''];

/** The host lost these calls' answers to a failed crossing: answer them again. */
function recover(rids: string[]): void {
  for (const rid of rids) {
    const i = ringIds.lastIndexOf(rid);
    const kept = i >= 0 ? ringResults[i] : null;
    if (kept) { resultSink(rid, kept); continue; }
    let found: Result | null = null;
    for (let b = 0; b < BATCHES && found === null; b++) {
      const at = batchRids[b]?.indexOf(rid) ?? -1;
      if (at >= 0) found = batchOuts[b]![at] ?? null;
    }
    if (found !== null) resultSink(rid, found);
    else if (i >= 0) resultSink(rid, LOST); // finished, result too large to keep
    else answerLater.add(rid); // still running: it answers when it finishes
  }
}

/** Tails (waitUntil work) of calls that have answered, by request id. */
const tails = new Map<string, { tail: CallTail; prevId: string; prevDeadline: number }>();

/** A web call: the HTTP request in, the HTTP response out (see web-call.ts). */
async function invokeWeb(method: string, url: string, headers: string[], body: ArrayBuffer, requestId: string, deadline: number, remote: string): Promise<Result> {
  if (workers === null) return invokeWebEvent(method, url, headers, body, requestId, deadline, remote);
  const fetchHandler = workers.fetch;
  if (typeof fetchHandler !== 'function') {
    return wrongKind(`${functionName} has no fetch handler (its Workers module exports only scheduled)`);
  }
  let request;
  try {
    request = incomingRequest(method, url, headers, body);
  } catch (err) {
    return [Outcome.badPayload, 'InvalidRequest', `the request cannot be given to the function: ${(err as Error)?.message ?? err}`, ''];
  }
  const tail = new CallTail((err) => reportUncaught('in ctx.waitUntil work', err));
  const prevId = calls.current, prevDeadline = calls.deadline;
  begin(requestId, deadline);
  let out: Result;
  try {
    const response = await reflectApply(fetchHandler, workers, [request, env, tail.ctx]);
    out = await responseTuple(response, false);
  } catch (err) {
    out = errorTuple(Outcome.functionError, err);
  }
  if (out[0] !== Outcome.webResponse || !tail.pending) {
    // No waitUntil work, or the handler failed: the call ends with its answer.
    tail.cancel();
    end(requestId, prevId, prevDeadline, idle);
    return out;
  }
  // The response goes now; the call goes on until its waitUntil work settles (or the host sends
  // Deliver.tailCancel at the deadline).
  out[5] = true;
  tails.set(requestId, { tail, prevId, prevDeadline });
  void reflectApply(promiseThen, tail.settled(), [() => endTail(requestId, tail), () => endTail(requestId, tail)]);
  return out;
}

function endTail(requestId: string, tail: CallTail): void {
  const t = tails.get(requestId);
  if (t === undefined || t.tail !== tail) return;
  tails.delete(requestId);
  tailDone(requestId);
  end(requestId, t.prevId, t.prevDeadline, idle);
}

/** An event function called on the web route: the Lambda function URL contract. */
async function invokeWebEvent(method: string, url: string, headers: string[], body: ArrayBuffer, requestId: string, deadline: number, remote: string): Promise<Result> {
  let event: Record<string, unknown>;
  try {
    event = lambdaUrlEvent(method, url, headers, body, requestId, typeof remote === 'string' ? remote : '');
  } catch (err) {
    return [Outcome.badPayload, 'InvalidRequest', `the request cannot be given to the function: ${(err as Error)?.message ?? err}`, ''];
  }
  const prevId = calls.current, prevDeadline = calls.deadline;
  begin(requestId, deadline);
  try {
    const result = await callHandler(handler!, event, makeContext(requestId, deadline));
    try {
      return lambdaUrlResult(result);
    } catch (err) {
      const [, type, message] = errorTuple(Outcome.badResult, err);
      return [Outcome.badResult, 'ResultNotSerializable', `${type}: ${message}`, ''];
    }
  } catch (err) {
    return errorTuple(Outcome.functionError, err);
  } finally {
    end(requestId, prevId, prevDeadline, idle);
  }
}

/**
 * A cron tick: a Workers module's scheduled(controller, env, ctx), which ends when its waitUntil
 * work does; an event function gets the timer event (SCF's format) that the host encoded.
 */
async function invokeScheduled(cron: string, scheduledTime: number, event: ArrayBuffer, requestId: string, deadline: number): Promise<Result> {
  if (workers === null) return invoke(event, Encoding.json, Encoding.json, requestId, deadline);
  const scheduled = workers.scheduled;
  if (typeof scheduled !== 'function') return wrongKind(`${functionName} has cron schedules but its Workers module has no scheduled handler`);
  const tail = new CallTail((err) => reportUncaught('in ctx.waitUntil work', err));
  let noRetry = false;
  const controller = Object.freeze({ cron, scheduledTime, type: 'scheduled', noRetry: () => { noRetry = true; } });
  const prevId = calls.current, prevDeadline = calls.deadline;
  begin(requestId, deadline);
  try {
    await reflectApply(scheduled, workers, [controller, env, tail.ctx]);
    if (tail.pending) {
      // Its waitUntil work may run until just before the deadline; then it is let go (not killed).
      let timer = 0;
      const cut = new PromiseCtor<boolean>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now() - 25)); });
      const settled = await Promise.race([reflectApply(promiseThen, tail.settled(), [() => true]) as Promise<boolean>, cut]);
      clearTimeout(timer);
      if (!settled) {
        tail.cancel();
        console_.error(`ctx.waitUntil work was still running at the deadline (${timLimit()} ms) and was cancelled`);
      }
    }
    return encodeResult(noRetry ? { noRetry } : null, Encoding.json);
  } catch (err) {
    return errorTuple(Outcome.functionError, err);
  } finally {
    end(requestId, prevId, prevDeadline, idle);
  }
}

/** The host delivers the outcome of a HostOp (a timer went off, a fetch answered…). */
function deliver(kind: number, id: number | string, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown): void {
  try {
    deliverOne(kind, id, a, b, c, d, e, f);
  } finally {
    logs.flushPending();
  }
}

function deliverOne(kind: number, id: number | string, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown): void {
  switch (kind) {
    case Deliver.timer: return fireTimers();
    case Deliver.fetchOk: return fetchDone(id as number, a as number, b as string, c as string[], d as ArrayBuffer, e as string, f as boolean);
    case Deliver.fetchFail: return fetchFailed(id as number, a as string, b as string);
    case Deliver.tailCancel: {
      const t = tails.get(id as string);
      if (t === undefined) return;
      t.tail.cancel();
      tails.delete(id as string);
      end(id as string, t.prevId, t.prevDeadline, idle);
      return;
    }
  }
}

/**
 * Back to a blank runtime after the host's rehearsal of a cold call (pool/isolate/boot.ts
 * rehearse(), which runs load and the invoke paths once so that V8 has compiled them: the
 * runtime's cached data holds only its top level): no handler, nothing remembered of its calls
 * (the function's own load sets the rest), and their garbage collected.
 */
function blank(): void {
  handler = null;
  workers = null;
  functionName = ''; functionVersion = ''; memoryLimitInMb = 0; timeLimitInMs = 0;
  maxResultBytes = Infinity;
  env = Object.freeze({});
  ringIds.fill('');
  ringResults.fill(null);
  ringBytes.fill(0);
  ringTotal = 0;
  ringAt = 0;
  answerLater.clear();
  batchRids.fill(null);
  batchOuts.fill(null);
  batchAt = 0;
  // The garbage of loading and of the rehearsal goes at once (~0.2 MiB of resident memory).
  fullGc?.();
}

g[HostGlobal.exportsOut] = {
  load,
  invokeNow,
  invokeBatch: (calls: BatchCalls) => { entries++; return invokeBatch(calls); },
  invoke: (body: ArrayBuffer, reqEnc: number, resEnc: number, rid: string, deadline: number) => { entries++; return tracked(rid, invoke(body, reqEnc, resEnc, rid, deadline)); },
  invokeWeb: (method: string, url: string, headers: string[], body: ArrayBuffer, rid: string, deadline: number, remote: string) => { entries++; return tracked(rid, invokeWeb(method, url, headers, body, rid, deadline, remote)); },
  invokeScheduled: (cron: string, at: number, event: ArrayBuffer, rid: string, deadline: number) => { entries++; return tracked(rid, invokeScheduled(cron, at, event, rid, deadline)); },
  deliver: (kind: number, id: number | string, a?: unknown, b?: unknown, c?: unknown, d?: unknown, e?: unknown, f?: unknown) => { entries++; deliver(kind, id, a, b, c, d, e, f); },
  recover: (rids: string[]) => { entries++; recover(rids); },
  preload: () => { preloadGlobals(); },
  blank: () => blank(),
  wasmBytes: () => wasmBytes(),
};
