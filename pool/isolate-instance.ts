// One V8 isolate: created blank with the in-isolate runtime loaded (prewarmed), then specialized
// with one function version's code, then invoked many times. Only bytes cross the boundary: the
// request's in, the result's out; the calls of one event-loop turn cross together.

import ivm from 'isolated-vm';
import { randomBytes } from 'node:crypto';
import type { FunctionVersion, Invocation } from '../core/backend.js';
import { EgressPolicy, FetchFailure, hostFetch } from '../core/egress.js';
import { HearthError } from '../core/errors.js';
import { checkedHeaders } from '../core/web-headers.js';
import { Deliver, HostGlobal, HostOp, ModuleKind, Outcome } from '../runtime/protocol.js';
import type { CodeCache } from './code-cache.js';
import { InstanceState, PoolMember } from './states.js';

export type HostLog = (functionName: string, requestId: string, stream: number, timeMs: number, message: string) => void;


type WebResult = [4, number, string, string[], ArrayBuffer, boolean];
type Result = ArrayBuffer | [number, string, string, string] | WebResult;

interface PendingCall {
  inv: Invocation;
  resolve: () => void;
  reject: (err: unknown) => void;
  started: number;
  /** Null once answered. */
  timer: NodeJS.Timeout | null;
}

/** The runtime script, compiled once per process and then from V8 cached data. */
export interface RuntimeScript {
  source: string;
  cachedData: ivm.ExternalCopy<ArrayBuffer> | null;
}

const MB = 1024 * 1024;
const MAX_LOG_LINE = 16 * 1024;
/** Calls slower than this on average (ms) are not batched: a batch answers when its calls do. */
const SLOW_CALL_MS = 2;
const EMPTY = new ArrayBuffer(0);
/** Request bodies from this size on are transferred into the isolate instead of copied. */
const TRANSFER_AT = 64 * 1024;
/** Outbound fetches one isolate may have in flight (each may buffer up to maxFetchBytes here). */
const MAX_FETCHES = 32;

/** A web call answered while its ctx.waitUntil work goes on: the instance slot is held until then. */
interface Tail {
  timer: NodeJS.Timeout;
  done: () => void;
}

export class IsolateInstance extends PoolMember {
  /** How the function's code was compiled: from V8 cached data, or parsed (and cache produced). */
  codeCache: 'consumed' | 'produced' | 'rejected' | 'none' = 'none';

  /** Why the isolate was killed, once it is: every call in flight on it fails with that. */
  private killed: 'timeout' | 'memory' | 'shutdown' | null = null;
  /** The request whose cold start runs module init (its console lines go to that call). */
  private initRequestId = '';
  private applyOptions: ivm.ReferenceApplyOptions = {};
  private deliverOptions: ivm.ReferenceApplyOptions = {};
  private applyCopyOptions: ivm.ReferenceApplyOptions = {};
  private load: ivm.Reference<Function> | null = null;
  private invokeRef: ivm.Reference<Function> | null = null;
  private invokeBatchRef: ivm.Reference<Function> | null = null;
  private invokeWebRef: ivm.Reference<Function> | null = null;
  private invokeScheduledRef: ivm.Reference<Function> | null = null;
  private deliverRef: ivm.Reference<Function> | null = null;
  private recoverRef: ivm.Reference<Function> | null = null;
  /** What the loaded module offers (ModuleKind bits). */
  kinds = 0;
  /** Host work the isolate asked for: timers, outbound fetches, calls' waitUntil tails. */
  /** The isolate's next timer wake-up. */
  private wake: NodeJS.Timeout | null = null;
  private readonly fetches = new Map<number, AbortController>();
  private readonly tails = new Map<string, Tail>();
  /** tailDone that arrived before the call's answer (HostOp and results are not ordered). */
  private readonly tailsDoneEarly = new Set<string>();
  private egress = EgressPolicy.denyAll;
  /** Largest body an outbound fetch may bring back. */
  static maxFetchBytes = 6 * 1024 * 1024;

  private constructor(
    readonly isolate: ivm.Isolate,
    readonly context: ivm.Context,
    readonly memoryMb: number,
  ) {
    super('i');
  }

  /**
   * A blank isolate with the runtime loaded: no function code yet. `preload`: also load what the
   * runtime otherwise loads on first use (URL, crypto: ~10 ms), for isolates made ahead of need.
   */
  static async prewarm(memoryMb: number, runtime: RuntimeScript, hostLog: HostLog, preload = false): Promise<IsolateInstance> {
    const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
    try {
      const context = await isolate.createContext();
      const inst = new IsolateInstance(isolate, context, memoryMb);
      // Arguments come from user-reachable code paths: check them all (types, sizes, times).
      const log = new ivm.Callback(
        (rid: unknown, stream: unknown, t: unknown, msg: unknown) => {
          const id = typeof rid === 'string' && rid.length <= 64 ? rid : '';
          const time = typeof t === 'number' && Number.isFinite(t) && Math.abs(t - Date.now()) < 86_400_000 ? t : Date.now();
          const text = typeof msg === 'string' ? (msg.length > MAX_LOG_LINE ? msg.slice(0, MAX_LOG_LINE) : msg) : String(msg).slice(0, MAX_LOG_LINE);
          hostLog(inst.functionName, id || inst.initRequestId, stream === 1 ? 1 : 0, time, text);
        },
        { ignored: true },
      );
      await context.global.set(HostGlobal.log, log);
      await context.global.set(
        HostGlobal.result,
        new ivm.Callback((rid: unknown, r: unknown) => { if (typeof rid === 'string') inst.lateResult(rid, r); }, { ignored: true }),
      );
      await context.global.set(
        HostGlobal.host,
        new ivm.Callback((...a: unknown[]) => inst.hostOp(a), { ignored: true }),
      );
      inst.logError = (rid, message) => hostLog(inst.functionName, rid, 1, Date.now(), message);
      await context.global.set(HostGlobal.seed, new ivm.ExternalCopy(randomBytes(32).buffer).copyInto({ release: true }));
      const script: ivm.Script & ivm.CachedDataResult = await isolate.compileScript(runtime.source, {
        filename: 'hearth:runtime',
        ...(runtime.cachedData ? { cachedData: runtime.cachedData } : { produceCachedData: true }),
      });
      if (!runtime.cachedData && script.cachedData) runtime.cachedData = script.cachedData;
      await script.run(context);
      script.release();
      const rt = await context.global.get(HostGlobal.exportsOut, { reference: true });
      inst.load = await rt.get('load', { reference: true });
      inst.invokeRef = await rt.get('invoke', { reference: true });
      inst.invokeBatchRef = await rt.get('invokeBatch', { reference: true });
      inst.invokeWebRef = await rt.get('invokeWeb', { reference: true });
      inst.invokeScheduledRef = await rt.get('invokeScheduled', { reference: true });
      inst.deliverRef = await rt.get('deliver', { reference: true });
      inst.recoverRef = await rt.get('recover', { reference: true });
      if (preload) {
        const p = await rt.get('preload', { reference: true });
        await p.apply(undefined, [], { timeout: 5_000 });
        p.release();
      }
      rt.release();
      await context.global.delete(HostGlobal.exportsOut);
      return inst;
    } catch (err) {
      if (!isolate.isDisposed) isolate.dispose();
      throw err;
    }
  }

  /**
   * Loads the version's code (V8 cached data when there is some) and binds its handler. Throws
   * HearthError('FunctionInitError') for code that throws at load or names no handler.
   */
  async specialize(fn: FunctionVersion, code: CodeCache, requestId: string): Promise<void> {
    this.take(fn);
    this.initRequestId = requestId;
    this.applyOptions = { result: { promise: true, copy: true }, timeout: fn.spec.timeoutMs };
    this.applyCopyOptions = { arguments: { copy: true }, result: { promise: true, copy: true }, timeout: fn.spec.timeoutMs };
    this.deliverOptions = { arguments: { copy: true }, timeout: fn.spec.timeoutMs };
    this.egress = fn.spec.egress.allow.length > 0 ? new EgressPolicy(fn.spec.egress.allow) : EgressPolicy.denyAll;
    const started = performance.now();
    const compiled = code.get(fn.codeDigest);
    let script: ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean };
    try {
      script = await this.isolate.compileScript(compiled.source, {
        filename: `file:///${fn.name}/${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.js`,
        ...(compiled.cachedData ? { cachedData: compiled.cachedData } : { produceCachedData: true }),
      });
    } catch (err) {
      throw this.initError(err, fn, started);
    }
    if (script.cachedDataRejected) {
      this.codeCache = 'rejected';
      code.reject(fn.codeDigest);
    } else if (compiled.cachedData) {
      this.codeCache = 'consumed';
    } else if (script.cachedData) {
      this.codeCache = 'produced';
      code.setCachedData(fn.codeDigest, script.cachedData);
    }
    const timer = this.armWallClock(fn.spec.timeoutMs);
    try {
      const exportsRef = await script.run(this.context, { reference: true, timeout: fn.spec.timeoutMs });
      const problem = await this.load!.apply(
        undefined,
        [exportsRef.derefInto({ release: true }), fn.exportName, fn.name, fn.version, fn.spec.memoryMb, fn.spec.timeoutMs,
          new ivm.ExternalCopy(Object.entries(fn.spec.env).flat()).copyInto({ release: true })],
        { result: { copy: true }, timeout: fn.spec.timeoutMs },
      );
      if (typeof problem === 'string') {
        throw new HearthError('FunctionInitError', `handler "${fn.handler}": ${problem}`);
      }
      this.kinds = typeof problem === 'number' ? problem : ModuleKind.event;
    } catch (err) {
      throw err instanceof HearthError ? err : this.initError(err, fn, started);
    } finally {
      clearTimeout(timer);
      script.release();
      this.initRequestId = '';
    }
    this.load!.release();
    this.load = null;
    this.footprintMb = this.heapMb();
  }

  /**
   * Runs one invocation. Function errors land in inv.error; a broken instance rejects.
   *
   * Calls cross into the isolate once per turn of the event loop, not once per call: the calls an
   * instance receives in one poll phase are sent together in the check phase right after it
   * (`setImmediate`: on a quiet server that is the next thing that runs) through the runtime's
   * invokeBatch. The main thread's share of a crossing is ~13–20 µs whatever it carries.
   */
  call(inv: Invocation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: PendingCall = { inv, resolve, reject, started: performance.now(), timer: null };
      p.timer = setTimeout(expireCall, this.timeoutMs, this, p);
      if (this.killed !== null) return this.fail(p, new Error('instance killed'));
      if (inv.web !== undefined || inv.schedule !== undefined) {
        this.crossSpecial(p);
        return;
      }
      if (inv.body.byteLength >= TRANSFER_AT || !IsolateInstance.batching || !this.batchable) {
        this.crossAlone(p);
        return;
      }
      this.queue.push(p);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Coalesce calls into one crossing (on by default; off for A/B measurements). */
  static batching = true;

  private queue: PendingCall[] = [];
  private flushScheduled = false;
  /** Batched calls still running after their batch returned: they answer through HostGlobal.result. */
  private readonly late = new Map<string, PendingCall>();
  /** Late answers that arrived before their batch's answer (ordering across the two is not FIFO). */
  private readonly early = new Map<string, Result>();

  private readonly flush = (): void => {
    this.flushScheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    if (batch.length === 1) return this.crossAlone(batch[0]!);
    const n = batch.length;
    const bodies = new Array<ArrayBuffer>(n), reqEncs = new Array<number>(n), resEncs = new Array<number>(n);
    const rids = new Array<string>(n), deadlines = new Array<number>(n);
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const inv = batch[i]!.inv;
      bodies[i] = inv.body; reqEncs[i] = inv.reqEnc; resEncs[i] = inv.resEnc; rids[i] = inv.requestId;
      deadlines[i] = now + this.timeoutMs;
    }
    (this.invokeBatchRef!.apply(undefined, [bodies, reqEncs, resEncs, rids, deadlines], this.applyCopyOptions) as unknown as Promise<(Result | null)[]>).then(
      (results) => {
        for (let i = 0; i < n; i++) {
          const r = results[i];
          const p = batch[i]!;
          if (r !== null && r !== undefined) this.settle(p, r);
          else {
            // Still running when the batch returned; its answer may even have overtaken the batch's.
            const early = this.early.get(p.inv.requestId);
            if (early !== undefined) {
              this.early.delete(p.inv.requestId);
              this.settle(p, early);
            } else this.late.set(p.inv.requestId, p);
          }
        }
      },
      (err) => {
        if (this.stray(err, batch)) return;
        // Any other rejection that did not kill the isolate fails the whole batch: stop batching
        // on this instance so it cannot happen again to others.
        if (this.killed === null && !this.isolate.isDisposed) this.batchable = false;
        for (const p of batch) {
          this.late.delete(p.inv.requestId);
          this.early.delete(p.inv.requestId);
          this.fail(p, err);
        }
      },
    );
  };

  /** Batching is for short calls: results of a batch return together, so slow calls go alone. */
  private batchable = true;
  private avgRunMs = 0;
  private observe(ms: number): void {
    this.avgRunMs = this.avgRunMs * 0.9 + ms * 0.1;
    if (this.avgRunMs > SLOW_CALL_MS) this.batchable = false;
    else if (this.avgRunMs < SLOW_CALL_MS / 4) this.batchable = true;
  }

  private crossAlone(p: PendingCall): void {
    const inv = p.inv;
    // Small bodies are copied in with the call; large ones are transferred, not copied.
    const large = inv.body.byteLength >= TRANSFER_AT;
    const body = large
      ? new ivm.ExternalCopy(inv.body, { transferOut: true }).copyInto({ release: true, transferIn: true })
      : inv.body;
    (this.invokeRef!.apply(
      undefined,
      [body, inv.reqEnc, inv.resEnc, inv.requestId, Date.now() + this.timeoutMs],
      large ? this.applyOptions : this.applyCopyOptions,
    ) as unknown as Promise<Result>).then(
      (r) => this.settle(p, r),
      (err) => { if (!this.stray(err, [p])) this.fail(p, err); },
    );
  }

  /** A web call or a cron tick: one crossing of its own, through invokeWeb / invokeScheduled. */
  private crossSpecial(p: PendingCall): void {
    const inv = p.inv;
    const deadline = Date.now() + this.timeoutMs;
    const large = inv.body.byteLength >= TRANSFER_AT;
    const body = large
      ? new ivm.ExternalCopy(inv.body, { transferOut: true }).copyInto({ release: true, transferIn: true })
      : new ivm.ExternalCopy(inv.body).copyInto({ release: true });
    let ref: ivm.Reference<Function>, args: unknown[];
    if (inv.web !== undefined) {
      const w = inv.web;
      ref = this.invokeWebRef!;
      args = [w.method, w.url, new ivm.ExternalCopy(w.headers).copyInto({ release: true }), body, inv.requestId, deadline, w.remoteAddress];
    } else {
      const s = inv.schedule!;
      ref = this.invokeScheduledRef!;
      args = [s.cron, s.scheduledTime, body, inv.requestId, deadline];
    }
    (ref.apply(undefined, args, this.applyOptions) as unknown as Promise<Result>).then(
      (r) => this.settle(p, r),
      (err) => { if (!this.stray(err, [p])) this.fail(p, err); },
    );
  }

  // ---- host work asked for by the isolate (HostOp) -----------------------------------------

  /** Everything from the isolate is checked: user code can call the runtime's channel too. */
  hostOp(a: unknown[]): void {
    if (this.isolate.isDisposed || this.killed !== null) return;
    const op = a[0], id = a[1];
    switch (op) {
      case HostOp.timerSet: {
        // One wake-up per instance: the isolate keeps its timers and fires all that are due.
        const ms = typeof a[2] === 'number' && a[2] >= 0 ? Math.min(a[2], 2 ** 31 - 1) : 0;
        if (this.wake !== null) clearTimeout(this.wake);
        this.wake = setTimeout(() => {
          this.wake = null;
          this.deliver([Deliver.timer, 0]);
        }, ms);
        return;
      }
      case HostOp.timerClear: {
        if (this.wake !== null) { clearTimeout(this.wake); this.wake = null; }
        return;
      }
      case HostOp.fetch: return this.startFetch(a);
      case HostOp.fetchAbort: {
        const c = typeof id === 'number' ? this.fetches.get(id) : undefined;
        if (c !== undefined) { this.fetches.delete(id as number); c.abort(); }
        return;
      }
      case HostOp.tailDone: {
        if (typeof id !== 'string') return;
        // It can overtake the crossing's own answer (work that settled within the crossing).
        if (this.tails.has(id)) this.endTail(id, false);
        else if (this.tailsDoneEarly.size < 10_000) this.tailsDoneEarly.add(id);
        return;
      }
      case HostOp.cancelAll: return this.cancelHostWork();
    }
  }

  private startFetch(a: unknown[]): void {
    const [, id, , deadline, method, url, headers, body, redirect] = a;
    if (typeof id !== 'number' || this.fetches.has(id)) return;
    if (this.fetches.size >= MAX_FETCHES) {
      this.deliver([Deliver.fetchFail, id, 'TypeError', `too many fetches in flight in this instance (${MAX_FETCHES})`]);
      return;
    }
    const latest = Date.now() + this.timeoutMs;
    const controller = new AbortController();
    this.fetches.set(id, controller);
    const ok = typeof method === 'string' && typeof url === 'string' && Array.isArray(headers) && headers.every((h) => typeof h === 'string')
      && (body === null || body instanceof ArrayBuffer) && (redirect === 'follow' || redirect === 'manual' || redirect === 'error');
    const request = ok
      ? { method: method as string, url: url as string, headers: headers as string[], body: body === null ? null : new Uint8Array(body as ArrayBuffer), redirect: redirect as 'follow' | 'manual' | 'error' }
      : null;
    const limits = {
      deadline: typeof deadline === 'number' && deadline > 0 ? Math.min(deadline, latest) : latest,
      maxResponseBytes: IsolateInstance.maxFetchBytes,
      signal: controller.signal,
    };
    (request === null ? Promise.reject(new FetchFailure('TypeError', 'fetch: malformed request')) : hostFetch(this.egress, request, limits)).then(
      (r) => {
        if (this.fetches.get(id) !== controller) return; // aborted or cancelled meanwhile
        this.fetches.delete(id);
        this.deliver([Deliver.fetchOk, id, r.status, r.statusText, r.headers, r.body, r.url, r.redirected]);
      },
      (err: unknown) => {
        if (this.fetches.get(id) !== controller) return;
        this.fetches.delete(id);
        const kind = err instanceof FetchFailure ? err.kind : 'TypeError';
        this.deliver([Deliver.fetchFail, id, kind, err instanceof Error ? err.message : String(err)]);
      },
    );
  }

  /** Runs a delivery in the isolate (fire and forget); a delivery that runs too long kills it. */
  private deliver(args: unknown[]): void {
    if (this.isolate.isDisposed || this.killed !== null) return;
    (this.deliverRef!.apply(undefined, args, this.deliverOptions) as Promise<unknown>).catch((err: unknown) => {
      if (this.killed !== null || this.state === InstanceState.disposed) return;
      const message = err instanceof Error ? err.message : String(err);
      if (/timed out/i.test(message)) this.kill('timeout');
      else if (/memory limit|allocation failed|out of memory/i.test(message) || this.isolate.isDisposed) this.kill('memory');
      // Anything else is a bug in the runtime's deliver; the work it carried is lost, not the isolate.
    });
  }

  /** Nothing in the isolate waits for host work any more: drop every timer and fetch. */
  private cancelHostWork(): void {
    if (this.wake !== null) { clearTimeout(this.wake); this.wake = null; }
    for (const c of this.fetches.values()) c.abort();
    this.fetches.clear();
  }

  /**
   * A web call answered but its waitUntil work goes on: `done` runs when it ends (HostOp.tailDone)
   * or when the call's deadline passes (the work is then cancelled in the isolate).
   */
  holdTail(requestId: string, remainingMs: number, done: () => void): void {
    if (this.tailsDoneEarly.delete(requestId)) return done();
    const timer = setTimeout(() => this.endTail(requestId, true), Math.max(0, remainingMs));
    this.tails.set(requestId, { timer, done });
  }

  private endTail(requestId: string, cancelled: boolean): void {
    const t = this.tails.get(requestId);
    if (t === undefined) return;
    this.tails.delete(requestId);
    clearTimeout(t.timer);
    if (cancelled) {
      this.logError(requestId, `ctx.waitUntil work was still running at the call's deadline (${this.timeoutMs} ms) and was cancelled`);
      this.deliver([Deliver.tailCancel, requestId]);
    }
    t.done();
  }

  /** Told when a call's waitUntil work was cancelled at its deadline (for its logs). */
  /** Writes a line to the function's stderr log for a call. */
  private logError: (requestId: string, message: string) => void = () => undefined;

  /**
   * A crossing failed because a promise was rejected with no handler during it (isolated-vm fails
   * the crossing; Workers and Node only report it). The calls it carried are not lost: the runtime
   * remembers recent results and answers them again (recover). True when that is what happened.
   */
  private stray(err: unknown, calls: PendingCall[]): boolean {
    if (this.killed !== null || this.isolate.isDisposed) return false;
    const message = err instanceof Error ? err.message : String(err);
    if (/timed out|memory limit|allocation failed|out of memory|disposed/i.test(message)) return false;
    const open = calls.filter((p) => p.timer !== null);
    const stack = err instanceof Error && err.stack ? err.stack : message;
    for (const p of open) {
      this.logError(p.inv.requestId, `Uncaught (in promise) ${stack}`);
      this.late.set(p.inv.requestId, p);
    }
    if (open.length > 0) {
      (this.recoverRef!.apply(undefined, [open.map((p) => p.inv.requestId)], { arguments: { copy: true } }) as Promise<unknown>).catch((e: unknown) => {
        for (const p of open) {
          this.late.delete(p.inv.requestId);
          this.fail(p, e);
        }
      });
    }
    return true;
  }

  /** A batched call that outlived its batch has finished. */
  private lateResult(requestId: string, r: unknown): void {
    const p = this.late.get(requestId);
    if (p === undefined) {
      // The callback can arrive before the batch's own answer: keep it for the batch.
      if (this.early.size < 10_000 && isResult(r)) this.early.set(requestId, r);
      return;
    }
    this.late.delete(requestId);
    this.settle(p, r);
  }

  private settle(p: PendingCall, r: unknown): void {
    if (p.timer === null) return; // already answered (e.g. expired)
    if (!isResult(r)) return this.fail(p, new Error('the runtime answered with something that is not a result'));
    clearTimeout(p.timer);
    p.timer = null;
    this.observe(performance.now() - p.started);
    const inv = p.inv;
    // The host keeps the record, not the request bytes.
    inv.body = EMPTY;
    if (r instanceof ArrayBuffer) {
      inv.result = r;
      return p.resolve();
    }
    if (r[0] === Outcome.webResponse) {
      const w = r as WebResult;
      const headers = checkedHeaders(w[3]);
      if (headers === null) return p.reject(new HearthError('Unhandled', `${this.functionName}: the response has a header name or value HTTP does not allow`, { functionError: true, errorType: 'InvalidResponse' }));
      inv.response = { status: w[1], statusText: w[2].replace(/[^\t\x20-\x7e]/g, ''), headers };
      inv.result = w[4];
      if (w[5] === true) {
        inv.tail = new Promise<void>((done) => this.holdTail(inv.requestId, this.timeoutMs - (performance.now() - p.started), done));
      }
      return p.resolve();
    }
    const [code, errorType, errorMessage, stack] = r as [number, string, string, string];
    if (code === Outcome.badPayload) return p.reject(new HearthError(errorType === 'InvalidRequest' ? 'InvalidRequest' : 'InvalidRequestContent', errorMessage));
    if (code === Outcome.unsupported) return p.reject(new HearthError('WrongFunctionKind', errorMessage));
    inv.error = {
      errorType: code === Outcome.badResult ? 'ResultNotSerializable' : errorType,
      errorMessage,
      stackTrace: stack ? stackLines(stack) : [],
      status: 500,
      functionError: true,
    };
    p.resolve();
  }

  private fail(p: PendingCall, err: unknown): void {
    if (p.timer === null) return;
    clearTimeout(p.timer);
    p.timer = null;
    p.reject(this.runError(err, p.started));
  }

  /** A call's wall-clock deadline passed (the CPU time inside V8 is capped by `timeout`). */
  expire(p: PendingCall): void {
    if (p.timer === null) return;
    // The isolate may already be gone on its own (out of memory while only late calls ran).
    this.kill(this.isolate.isDisposed && this.killed === null ? 'memory' : 'timeout');
    this.fail(p, new Error('timed out'));
  }

  /** Whether the isolate still works (a call that threw may have disposed it). */
  get broken(): boolean {
    return this.isolate.isDisposed;
  }

  /** Tears the isolate down (evicted, drained, or Hearth stopping); calls still on it fail with Draining. */
  dispose(): void {
    if (this.killed === null && (this.queue.length > 0 || this.late.size > 0 || this.inFlight > 0)) this.kill('shutdown');
    this.state = InstanceState.disposed;
    this.cancelHostWork();
    for (const id of [...this.tails.keys()]) this.endTail(id, false);
    this.tailsDoneEarly.clear();
    if (this.isolate.isDisposed) return;
    try {
      this.invokeRef?.release();
      this.invokeBatchRef?.release();
      this.invokeWebRef?.release();
      this.invokeScheduledRef?.release();
      this.deliverRef?.release();
      this.recoverRef?.release();
      this.load?.release();
      this.context.release();
      this.isolate.dispose();
    } catch {
      // already gone
    }
  }

  /** The isolate's heap now, MiB (the pool moves it into footprintMb and its total at a sweep). */
  heapMb(): number {
    try {
      const h = this.isolate.getHeapStatisticsSync();
      return (h.total_heap_size + h.externally_allocated_size) / MB;
    } catch {
      return this.footprintMb; // disposed
    }
  }

  /** Module init's wall-clock deadline (calls have theirs in call()). */
  private armWallClock(ms: number): NodeJS.Timeout {
    return setTimeout(() => this.kill('timeout'), ms);
  }

  /** Disposes the isolate and takes the instance out of rotation at once. */
  private kill(why: 'timeout' | 'memory' | 'shutdown'): void {
    if (this.killed === null) this.killed = why;
    if (this.state !== InstanceState.disposed) this.state = InstanceState.draining;
    if (!this.isolate.isDisposed) this.isolate.dispose();
    this.cancelHostWork();
    for (const id of [...this.tails.keys()]) this.endTail(id, false);
    // Calls not inside a crossing would never hear back: fail them now. (Calls inside one get
    // the crossing's rejection.)
    const waiting = [...this.queue, ...this.late.values()];
    this.queue = [];
    this.late.clear();
    this.early.clear();
    for (const p of waiting) this.fail(p, new Error('instance killed'));
  }

  private runError(err: unknown, startedAt: number): HearthError {
    const message = err instanceof Error ? err.message : String(err);
    if (this.killed === null) {
      if (/timed out/i.test(message)) this.kill('timeout'); // CPU time, inside V8
      else if (/memory limit|allocation failed|out of memory/i.test(message) || this.isolate.isDisposed) this.kill('memory');
      else return new HearthError('InternalError', message);
    }
    if (this.killed === 'shutdown') {
      return new HearthError('Draining', `${this.functionName}: the instance was shut down during the call`);
    }
    if (this.killed === 'memory') {
      return new HearthError('OutOfMemory', `${this.functionName}: the function ran out of memory (memoryMb ${this.memoryMb}); the instance was replaced`, { errorType: 'OutOfMemory' });
    }
    // Killed for a timeout: this call's, or another call's on the same instance?
    if (performance.now() - startedAt >= this.timeoutMs - 1) {
      return new HearthError('Timeout', `${this.functionName}: task timed out after ${this.timeoutMs} ms`);
    }
    return new HearthError('InstanceFailed', `${this.functionName}: another call on this instance ran past its timeout and the instance was replaced; this call was stopped with it`);
  }

  private initError(err: unknown, fn: FunctionVersion, startedAt: number): HearthError {
    const e = this.runError(err, startedAt);
    if (e.type === 'Timeout' || e.type === 'OutOfMemory') return e;
    const stack = err instanceof Error && err.stack ? stackLines(err.stack) : [];
    return new HearthError('FunctionInitError', `${fn.name}: the code failed to load: ${err instanceof Error ? err.message : String(err)}`, { functionStack: stack });
  }
}

function expireCall(inst: IsolateInstance, p: PendingCall): void {
  inst.expire(p);
}

function isResult(r: unknown): r is Result {
  if (r instanceof ArrayBuffer) return true;
  if (!Array.isArray(r)) return false;
  if (r.length === 6 && r[0] === Outcome.webResponse) {
    // Final statuses only: a 1xx written as the response would leave clients and proxies waiting
    // (or switching protocols).
    return Number.isInteger(r[1]) && r[1] >= 200 && r[1] <= 599 && typeof r[2] === 'string' && Array.isArray(r[3]) && r[4] instanceof ArrayBuffer && typeof r[5] === 'boolean';
  }
  return r.length === 4 && typeof r[0] === 'number' && typeof r[1] === 'string' && typeof r[2] === 'string' && typeof r[3] === 'string';
}

function stackLines(stack: string): string[] {
  return stack.split('\n').slice(1).map((l) => l.trim()).filter(Boolean);
}
