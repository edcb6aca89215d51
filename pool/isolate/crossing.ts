// Calls crossing into an isolate and their answers coming back. Only bytes cross: the request's
// in, the result's out (ARCHITECTURE.md "The hot path").
//
// Four ways across:
//   now       the calls of one turn (as batched), for an instance whose calls are known to be
//             short (sync-mode.ts): one applySync of the runtime's invokeNow on the main thread,
//             under a CPU budget, answered when it returns (~10 µs a call in all, no thread hand-off).
//   batched   the event and web calls an instance receives in one poll phase go together in the check phase
//             right after it (setImmediate: on a quiet server the next thing that runs) through the
//             runtime's invokeBatch. The main thread's share of a crossing is ~13–20 µs whatever it
//             carries (bench/README.md), so one crossing per turn, not per call.
//   alone     one call, one crossing: large bodies (transferred, not copied), slow functions (a
//             batch answers when its calls do), or batching switched off (then no sync mode either).
//   special   web calls with large bodies and cron ticks, through invokeWeb / invokeScheduled.
// A batched call still running when its batch returns answers later through HostGlobal.result.

import ivm from 'isolated-vm';
import { functionError, WebAnswer, type CallRequest, type RunResult } from '../../core/call.js';
import { HearthError, UndeliveredCall } from '../../core/errors.js';
import { checkedHeaders } from '../../core/web-headers.js';
import { Outcome, WebField, type BatchCalls, type FailureTuple, type ResultTuple, type WebCall, type WebResponseTuple } from '../../runtime/protocol.js';
import type { RuntimeRefs } from './boot.js';
import type { SyncMode, SyncState } from './sync-mode.js';
import { classifyV8Failure } from './v8-failure.js';

interface PendingCall {
  req: CallRequest;
  resolve: (r: RunResult) => void;
  reject: (err: unknown) => void;
  started: number;
  /** Null once answered. */
  timer: NodeJS.Timeout | null;
}

/**
 * Calls that use more of the isolate's CPU than this on average (ms) are not batched: a batch
 * answers when its calls do. CPU, not wall time: under load a call's wall time is mostly its wait.
 */
const SLOW_CALL_MS = 2;
/** Request bodies from this size on are transferred into the isolate instead of copied. */
const TRANSFER_AT = 64 * 1024;

/** The bounds on what comes back from the isolate (checked here: the runtime's own checks are not trusted). */
export interface AnswerLimits {
  maxResultBytes: number;
  /** An error's message and its stack each. */
  maxErrorBytes: number;
  /** A bound was hit (metrics). */
  counted(what: 'resultsTooLarge' | 'errorsTruncated' | 'wasmMemoryRefused'): void;
}

/** What the crossing needs of its instance. */
export interface CrossingOwner {
  readonly functionName: string;
  /** Nothing runs in the isolate any more (killed or torn down). */
  readonly over: boolean;
  /** The error a failed crossing gives its calls (it may kill the instance: a timeout, out of memory). */
  runError(err: unknown, startedAt: number): HearthError;
  /** A call's wall-clock deadline passed: the instance is killed. */
  expired(): void;
  /** The instance is past its time or memory (one the runtime found): it is killed. */
  killFor(failure: 'timeout' | 'memory'): void;
  logError(requestId: string, message: string): void;
  /** A web call answered with its waitUntil work still running: resolves when that ends. */
  holdTail(requestId: string, remainingMs: number): Promise<void>;
  /** A call answered with nothing of it left running in the isolate (no waitUntil tail). */
  callEnded(requestId: string): void;
  /** A stopped sync crossing's calls run again elsewhere: what they wrote here is dropped unseen. */
  abandon(requestIds: readonly string[]): void;
}

/**
 * How calls cross (shared with the blank isolates' rehearsal, boot.ts): async with the arguments
 * passed as they are (`apply`, ExternalCopy handles) or copied (`applyCopy`), and synchronously.
 */
export function crossingOptions(timeoutMs: number, syncTimeoutMs: number): { apply: ivm.ReferenceApplyOptions; applyCopy: ivm.ReferenceApplyOptions; sync: ivm.ReferenceApplyOptions } {
  return {
    apply: { result: { promise: true, copy: true }, timeout: timeoutMs },
    applyCopy: { arguments: { copy: true }, result: { promise: true, copy: true }, timeout: timeoutMs },
    sync: { arguments: { copy: true }, result: { copy: true }, timeout: syncTimeoutMs },
  };
}

export class Crossing {
  private applyOptions: ivm.ReferenceApplyOptions = {};
  private applyCopyOptions: ivm.ReferenceApplyOptions = {};
  private syncOptions: ivm.ReferenceApplyOptions = {};
  private timeoutMs = 0;
  /** The sync crossing's time limit: the budget, or the call's own limit when that is shorter. */
  private syncTimeoutMs = 0;
  private queue: PendingCall[] = [];
  private flushScheduled = false;
  /** Batched calls still running after their batch returned: they answer through HostGlobal.result. */
  private readonly late = new Map<string, PendingCall>();
  /** Late answers that arrived before their batch's answer (ordering across the two is not FIFO). */
  private readonly early = new Map<string, ResultTuple>();
  /** A batch has been flushed (see flush). */
  private crossedOnce = false;
  /** Batching is for short calls: results of a batch return together, so slow calls go alone. */
  private batchable = true;
  /** Recent CPU time a call in the isolate, ms. */
  private avgRunMs = 0;
  /**
   * The isolate's thread runs work of Hearth's own (an idle release, IsolateInstance.releaseIdle):
   * calls cross async meanwhile and queue behind it there, so none blocks the main thread.
   */
  housekeeping = false;

  constructor(
    private readonly isolate: ivm.Isolate,
    private readonly refs: RuntimeRefs,
    private readonly owner: CrossingOwner,
    /** Coalesce calls into one crossing (on by default; off for A/B measurements). */
    private readonly batching: boolean,
    private readonly sync: SyncMode,
    private readonly limits: AnswerLimits = { maxResultBytes: Infinity, maxErrorBytes: Infinity, counted: () => {} },
  ) {}

  /** The version's per-call time limit (CPU inside V8, and the wall-clock deadline). */
  bind(timeoutMs: number): void {
    this.timeoutMs = timeoutMs;
    this.syncTimeoutMs = Math.max(1, Math.min(Math.ceil(this.sync.budgetMs), timeoutMs));
    ({ apply: this.applyOptions, applyCopy: this.applyCopyOptions, sync: this.syncOptions } = crossingOptions(timeoutMs, this.syncTimeoutMs));
    this.sync.reset(this.batching);
  }

  /** How event calls cross now (sync-mode.ts). */
  get mode(): SyncState {
    return this.sync.state;
  }

  /** Calls not yet answered (queued, or still running after their batch). */
  get pending(): number {
    return this.queue.length + this.alone.length + this.late.size;
  }

  call(req: CallRequest): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
      const p: PendingCall = { req, resolve, reject, started: performance.now(), timer: null };
      p.timer = setTimeout(expireCall, this.timeoutMs, this, p);
      if (this.owner.over) return this.fail(p, new Error('instance killed'));
      // Short calls of an instance in sync mode join the turn's sync crossing (batchable may still
      // be off from the async crossings' averages).
      if (req.kind === 'scheduled' || req.body.byteLength >= TRANSFER_AT || !this.batching || (!this.batchable && this.sync.state !== 'sync')) {
        // One crossing of its own, made from a shallow stack (a microtask): isolated-vm captures
        // the caller's stack (10 frames) on every async apply, and here the whole HTTP path is
        // below. Measured with callgrind on the unbatched path: that capture was ~40% of the main
        // thread's instructions per call.
        this.alone.push(p);
        if (!this.aloneScheduled) {
          this.aloneScheduled = true;
          queueMicrotask(this.crossQueuedAlone);
        }
        return;
      }
      this.queue.push(p);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Calls that cross one by one, waiting for the microtask that sends them. */
  private alone: PendingCall[] = [];
  private aloneScheduled = false;

  private readonly crossQueuedAlone = (): void => {
    this.aloneScheduled = false;
    const calls = this.alone;
    this.alone = [];
    for (const p of calls) {
      if (p.timer === null) continue; // already failed (the instance was killed meanwhile)
      if (p.req.kind !== 'event') this.crossSpecial(p);
      else this.crossAlone(p);
    }
  };

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    if (!this.housekeeping && this.sync.crossesNow()) return this.crossNow(batch);
    // The instance's first call (the cold one) crosses alone, through the path module load left
    // compiled: a first run of invokeBatch costs it ~0.4 ms (bench --compare-cold).
    if (!this.crossedOnce) {
      this.crossedOnce = true;
      if (batch.length === 1) return batch[0]!.req.kind === 'event' ? this.crossAlone(batch[0]!) : this.crossSpecial(batch[0]!);
    }
    // A batch of one too: its answer says whether the call settled in its crossing (SyncMode).
    const n = batch.length;
    const calls = batchCalls(batch, this.timeoutMs);
    const cpu0 = this.cpuNow();
    // Queued behind an idle release on the isolate's thread, whose CPU time the crossing's would hold.
    const measured = !this.housekeeping;
    (this.refs.invokeBatch.apply(undefined, [calls], this.applyCopyOptions) as unknown as Promise<(ResultTuple | null)[]>).then(
      (results) => {
        if (measured) {
          const cpuMs = this.cpuMsSince(cpu0);
          this.observe(cpuMs / n);
          this.sync.asyncCrossing(cpuMs, n, results.includes(null));
        }
        for (let i = 0; i < n; i++) {
          const r = results[i];
          const p = batch[i]!;
          if (r !== null && r !== undefined) this.settle(p, r);
          else {
            // Still running when the batch returned; its answer may even have overtaken the batch's.
            const early = this.early.get(p.req.requestId);
            if (early !== undefined) {
              this.early.delete(p.req.requestId);
              this.settle(p, early, true);
            } else this.late.set(p.req.requestId, p);
          }
        }
      },
      (err) => {
        if (this.stray(err, batch)) return;
        // Any other rejection that did not kill the isolate fails the whole batch: stop batching
        // on this instance so it cannot happen again to others.
        if (!this.owner.over && !this.isolate.isDisposed) this.batchable = false;
        for (const p of batch) {
          this.late.delete(p.req.requestId);
          this.early.delete(p.req.requestId);
          this.fail(p, err);
        }
      },
    );
  };

  /** A crossing's calls used `ms` of the isolate's CPU each. */
  private observe(ms: number): void {
    this.avgRunMs = this.avgRunMs * 0.9 + ms * 0.1;
    if (this.avgRunMs > SLOW_CALL_MS) this.batchable = false;
    else if (this.avgRunMs < SLOW_CALL_MS / 4) this.batchable = true;
  }

  /**
   * The isolate's CPU time so far, ns; -1 once it is gone (isolated-vm throws then: V8 disposes an
   * isolate past its memory limit on its own, before the instance hears of it).
   */
  private cpuNow(): bigint {
    try {
      return this.isolate.cpuTime;
    } catch {
      return -1n;
    }
  }

  /** The isolate's CPU time since `cpu0` (cpuNow), ms; Infinity when either reading failed. */
  private cpuMsSince(cpu0: bigint): number {
    const now = this.cpuNow();
    return cpu0 < 0n || now < 0n ? Infinity : Number(now - cpu0) / 1e6;
  }

  /**
   * The calls of one turn, across with applySync (SyncMode 'sync'): each answers before this
   * returns, or later through HostGlobal.result when it waits for host work. At most maxBatch
   * calls go; the rest wait for the next turn.
   */
  private crossNow(batch: PendingCall[]): void {
    const max = this.sync.maxBatch;
    if (batch.length > max) {
      this.queue = batch.slice(max);
      batch = batch.slice(0, max);
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    const n = batch.length;
    const calls = batchCalls(batch, this.timeoutMs);
    const cpu0 = this.cpuNow();
    let results: unknown;
    try {
      results = this.refs.invokeNow.applySync(undefined, [calls], this.syncOptions);
    } catch (err) {
      return this.nowFailed(batch, calls[3], err, cpu0);
    }
    // The isolate's CPU time, not the wall clock: on a loaded machine the OS stretches the
    // crossing, and that is not the function's doing (the budget's stop is wall clock).
    const ms = this.cpuMsSince(cpu0);
    this.observe(ms / n);
    if (!Array.isArray(results) || results.length !== n) {
      for (const p of batch) this.fail(p, new Error('the runtime answered with something that is not a result'));
      return;
    }
    let unsettled = false;
    for (let i = 0; i < n; i++) {
      const r = results[i] as unknown;
      const p = batch[i]!;
      if (r !== null && r !== undefined) this.settle(p, r);
      else {
        this.late.set(p.req.requestId, p);
        unsettled = true;
      }
    }
    this.sync.syncCrossing(ms, n, unsettled);
  }

  /**
   * A sync crossing threw. Past the budget (not the calls' own limit): V8 stopped the function
   * midway, and nothing of the crossing has left the isolate (its answers were never copied out,
   * its console lines and host requests are dropped with the instance), so its calls go once more
   * to another instance, on the async path (UndeliveredCall), and the instance is killed.
   */
  private nowFailed(batch: PendingCall[], rids: string[], err: unknown, cpu0: bigint): void {
    if (classifyV8Failure(err) === 'timeout' && this.syncTimeoutMs < this.timeoutMs && !this.owner.over) {
      this.sync.overran(this.cpuMsSince(cpu0));
      this.owner.abandon(rids);
      const again = new UndeliveredCall(`${this.owner.functionName}: the call ran past the synchronous crossing's budget (${this.syncTimeoutMs} ms) and was stopped before it answered; it was sent again, asynchronously`);
      for (const p of batch) resend(p, again);
      this.owner.killFor('timeout');
      return;
    }
    if (this.stray(err, batch)) return;
    for (const p of batch) this.fail(p, err);
  }

  private crossAlone(p: PendingCall): void {
    const req = p.req;
    // Small bodies are copied in with the call; large ones are transferred, not copied.
    const large = req.body.byteLength >= TRANSFER_AT;
    const body = large
      ? new ivm.ExternalCopy(req.body, { transferOut: true }).copyInto({ release: true, transferIn: true })
      : req.body;
    const cpu0 = this.cpuNow();
    const measured = !this.housekeeping; // as in flush
    (this.refs.invoke.apply(
      undefined,
      [body, req.reqEnc, req.resEnc, req.requestId, Date.now() + this.timeoutMs],
      large ? this.applyOptions : this.applyCopyOptions,
    ) as unknown as Promise<ResultTuple>).then(
      (r) => {
        if (measured) this.observe(this.cpuMsSince(cpu0));
        this.settle(p, r);
      },
      (err) => { if (!this.stray(err, [p])) this.fail(p, err); },
    );
  }

  /** A web call or a cron tick: one crossing of its own, through invokeWeb / invokeScheduled. */
  private crossSpecial(p: PendingCall): void {
    const req = p.req;
    const deadline = Date.now() + this.timeoutMs;
    const large = req.body.byteLength >= TRANSFER_AT;
    const body = large
      ? new ivm.ExternalCopy(req.body, { transferOut: true }).copyInto({ release: true, transferIn: true })
      : new ivm.ExternalCopy(req.body).copyInto({ release: true });
    let ref: ivm.Reference<Function>, args: unknown[];
    if (req.web !== null) {
      const w = req.web;
      ref = this.refs.invokeWeb;
      args = [w.method, w.url, new ivm.ExternalCopy(w.headers).copyInto({ release: true }), body, req.requestId, deadline, w.remoteAddress];
    } else {
      const s = req.schedule!;
      ref = this.refs.invokeScheduled;
      args = [s.cron, s.scheduledTime, body, req.requestId, deadline];
    }
    (ref.apply(undefined, args, this.applyOptions) as unknown as Promise<ResultTuple>).then(
      (r) => this.settle(p, r),
      (err) => { if (!this.stray(err, [p])) this.fail(p, err); },
    );
  }

  /**
   * A crossing failed because a promise was rejected with no handler during it (isolated-vm fails
   * the crossing; Workers and Node only report it). The calls it carried are not lost: the runtime
   * remembers recent results and answers them again (recover). True when that is what happened.
   */
  private stray(err: unknown, calls: PendingCall[]): boolean {
    if (this.owner.over || this.isolate.isDisposed) return false;
    if (classifyV8Failure(err) !== null) return false;
    const open = calls.filter((p) => p.timer !== null);
    const stack = err instanceof Error && err.stack ? err.stack : err instanceof Error ? err.message : String(err);
    for (const p of open) {
      this.owner.logError(p.req.requestId, `Uncaught (in promise) ${stack}`);
      this.late.set(p.req.requestId, p);
    }
    if (open.length > 0) {
      (this.refs.recover.apply(undefined, [open.map((p) => p.req.requestId)], { arguments: { copy: true } }) as Promise<unknown>).catch((e: unknown) => {
        for (const p of open) {
          this.late.delete(p.req.requestId);
          this.fail(p, e);
        }
      });
    }
    return true;
  }

  /** A batched call that outlived its batch has finished (HostGlobal.result). */
  lateResult(requestId: unknown, r: unknown): void {
    if (typeof requestId !== 'string') return;
    const p = this.late.get(requestId);
    if (p === undefined) {
      // The callback can arrive before the batch's own answer: keep it for the batch (bounded,
      // so that what is kept is small whatever the isolate sends).
      if (this.early.size < 10_000 && isResult(r)) this.early.set(requestId, this.bounded(r));
      return;
    }
    this.late.delete(requestId);
    this.settle(p, r);
  }

  /**
   * An answer within the bounds: a result or web body past maxResultBytes becomes a ResultTooLarge
   * failure (its bytes dropped here), an error's message and stack are cut to maxErrorBytes.
   */
  private bounded(r: ResultTuple): ResultTuple {
    const l = this.limits;
    const bytes = r instanceof ArrayBuffer ? r.byteLength : r[0] === Outcome.webResponse ? (r as WebResponseTuple)[WebField.body].byteLength : -1;
    if (bytes > l.maxResultBytes) {
      l.counted('resultsTooLarge');
      const what = r instanceof ArrayBuffer ? 'result' : 'response body';
      return [Outcome.tooLarge, 'ResultTooLarge', `${this.owner.functionName}: the function's ${what} is ${bytes} bytes, more than the ${l.maxResultBytes} bytes allowed (--max-result-bytes)`, ''];
    }
    if (bytes >= 0) return r;
    const f = r as FailureTuple;
    if (f[0] === Outcome.tooLarge) {
      l.counted('resultsTooLarge');
      return [Outcome.tooLarge, 'ResultTooLarge', `${this.owner.functionName}: ${cut(f[2], 512)}`, ''];
    }
    if (f[1].length <= 256 && f[2].length <= l.maxErrorBytes && f[3].length <= l.maxErrorBytes) return r;
    l.counted('errorsTruncated');
    return [f[0], cut(f[1], 256), cut(f[2], l.maxErrorBytes), cut(f[3], l.maxErrorBytes)];
  }

  /** `isBounded`: the answer already went through `bounded` (one kept in `early`). */
  private settle(p: PendingCall, raw: unknown, isBounded = false): void {
    if (p.timer === null) return; // already answered (e.g. expired)
    if (!isResult(raw)) return this.fail(p, new Error('the runtime answered with something that is not a result'));
    const r = isBounded ? raw : this.bounded(raw);
    if (!(r instanceof ArrayBuffer) && r[0] === Outcome.outOfMemory) {
      // WebAssembly memory past memoryMb (the runtime refused it): the instance goes, the call
      // fails as any out-of-memory one does, and its stderr says why. Counted once per instance
      // (the other calls of its batch fail with it).
      this.owner.logError(p.req.requestId, cut(r[2] as string, this.limits.maxErrorBytes));
      if (!this.owner.over) {
        this.limits.counted('wasmMemoryRefused');
        this.owner.killFor('memory');
      }
      return this.fail(p, new Error(r[2] as string));
    }
    clearTimeout(p.timer);
    p.timer = null;
    if (r instanceof ArrayBuffer || r[0] !== Outcome.webResponse || (r as WebResponseTuple)[WebField.tailPending] !== true) this.owner.callEnded(p.req.requestId);
    if (r instanceof ArrayBuffer) return p.resolve(r);
    if (r[0] === Outcome.webResponse) {
      const w = r as WebResponseTuple;
      const headers = checkedHeaders(w[WebField.headers]);
      if (headers === null) return p.reject(new HearthError('Unhandled', `${this.owner.functionName}: the response has a header name or value HTTP does not allow`, { functionError: true, errorType: 'InvalidResponse' }));
      const response = { status: w[WebField.status], statusText: w[WebField.statusText].slice(0, 512).replace(/[^\t\x20-\x7e]/g, ''), headers };
      const tail = w[WebField.tailPending] === true
        ? this.owner.holdTail(p.req.requestId, this.timeoutMs - (performance.now() - p.started))
        : null;
      return p.resolve(new WebAnswer(response, w[WebField.body], tail));
    }
    const [code, errorType, errorMessage, stack] = r as FailureTuple;
    if (code === Outcome.badPayload) return p.reject(new HearthError(errorType === 'InvalidRequest' ? 'InvalidRequest' : 'InvalidRequestContent', errorMessage));
    if (code === Outcome.unsupported) return p.reject(new HearthError('WrongFunctionKind', errorMessage));
    if (code === Outcome.tooLarge) return p.reject(new HearthError('ResultTooLarge', errorMessage, { functionError: true }));
    p.resolve(functionError(code === Outcome.badResult ? 'ResultNotSerializable' : errorType, errorMessage, stack ? stackLines(stack) : []));
  }

  private fail(p: PendingCall, err: unknown): void {
    if (p.timer === null) return;
    clearTimeout(p.timer);
    p.timer = null;
    this.owner.callEnded(p.req.requestId);
    p.reject(this.owner.runError(err, p.started));
  }

  /** A call's wall-clock deadline passed (the CPU time inside V8 is capped by `timeout`). */
  expire(p: PendingCall): void {
    if (p.timer === null) return;
    this.owner.expired();
    this.fail(p, new Error('timed out'));
  }

  /**
   * The isolate is gone: calls not inside a crossing would never hear back, so they fail now.
   * `resendUnsent`: calls not yet sent into the isolate (queued for the next turn) go to another instance
   * instead (UndeliveredCall): the function never saw them. Off when Hearth is shutting down.
   */
  failWaiting(resendUnsent = false): void {
    // (Calls inside one get the crossing's rejection.)
    const unsent = [...this.queue, ...this.alone];
    const sent = [...this.late.values()];
    this.queue = [];
    this.alone = [];
    this.late.clear();
    this.early.clear();
    const again = new UndeliveredCall(`${this.owner.functionName}: the instance was replaced before the call reached it; it was sent to another`);
    for (const p of unsent) {
      if (resendUnsent) resend(p, again);
      else this.fail(p, new Error('instance killed'));
    }
    for (const p of sent) this.fail(p, new Error('instance killed'));
  }
}

/**
 * The call goes to another instance (the pool resends an UndeliveredCall once): it is answered here
 * without `callEnded`, since nothing of it runs on this instance.
 */
function resend(p: PendingCall, err: UndeliveredCall): void {
  if (p.timer === null) return;
  clearTimeout(p.timer);
  p.timer = null;
  p.reject(err);
}

/** A batch's calls as the runtime's invokeBatch / invokeNow take them: one tuple, by position. */
function batchCalls(batch: PendingCall[], timeoutMs: number): BatchCalls {
  const n = batch.length;
  const bodies = new Array<ArrayBuffer>(n), reqEncs = new Array<number>(n), resEncs = new Array<number>(n);
  const rids = new Array<string>(n), webs = new Array<WebCall | null>(n);
  for (let i = 0; i < n; i++) {
    const req = batch[i]!.req;
    bodies[i] = req.body; reqEncs[i] = req.reqEnc; resEncs[i] = req.resEnc; rids[i] = req.requestId;
    const w = req.web;
    // (The isolate gets a copy: the headers' readonly is the host's promise, not the runtime's.)
    webs[i] = w === null ? null : [w.method, w.url, w.headers as string[], w.remoteAddress];
  }
  return [bodies, reqEncs, resEncs, rids, Date.now() + timeoutMs, webs];
}

function expireCall(c: Crossing, p: PendingCall): void {
  c.expire(p);
}

function isResult(r: unknown): r is ResultTuple {
  if (r instanceof ArrayBuffer) return true;
  if (!Array.isArray(r)) return false;
  if (r.length === 6 && r[0] === Outcome.webResponse) {
    // Final statuses only: a 1xx written as the response would leave clients and proxies waiting
    // (or switching protocols).
    const status = r[WebField.status];
    return Number.isInteger(status) && status >= 200 && status <= 599 && typeof r[WebField.statusText] === 'string'
      && Array.isArray(r[WebField.headers]) && r[WebField.body] instanceof ArrayBuffer && typeof r[WebField.tailPending] === 'boolean';
  }
  return r.length === 4 && typeof r[0] === 'number' && typeof r[1] === 'string' && typeof r[2] === 'string' && typeof r[3] === 'string';
}

/** At most `max` characters, marked when cut. */
export function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…[truncated: ${s.length} characters, limit ${max}]`;
}

export function stackLines(stack: string): string[] {
  return stack.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}
