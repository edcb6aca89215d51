// One V8 isolate as a pool instance: booted blank (prewarmed, boot.ts), specialized with one
// version's code, then called many times (crossing.ts) with the host work it asks for
// (host-work.ts), until it is killed (timeout, out of memory) or torn down. Its state changes go
// through the lifecycle table (pool/lifecycle.ts); why it ended is `endCause`.

import type ivm from 'isolated-vm';
import type { FunctionVersion } from '../../core/backend.js';
import type { CallRequest, LogSink, RunResult } from '../../core/call.js';
import { HearthError } from '../../core/errors.js';
import { PoolMember, type CallableInstance } from '../pool-member.js';
import { bootIsolate, compileFunction, disposeIsolate, runFunction, type BlankKind, type BootedIsolate, type CodeCacheUse, type RuntimeScript } from './boot.js';
import type { CodeCache } from './code-cache.js';
import { Crossing, cut, stackLines } from './crossing.js';
import { HostWork } from './host-work.js';
import { LogGate, type LogLimits } from './log-gate.js';
import type { LimitCounters } from '../../core/limit-counters.js';
import { SyncMode, type SyncBudget, type SyncState } from './sync-mode.js';
import { classifyV8Failure } from './v8-failure.js';

const MB = 1024 * 1024;

/** How isolates behave, from the server's settings (no global state: each instance is given them). */
export interface IsolateSettings {
  /** Coalesce the calls of one event-loop turn into one crossing (off for A/B measurements). */
  batching: boolean;
  /** Largest body an outbound fetch may bring back. */
  maxFetchBytes: number;
  /** Where the functions' console lines go. */
  sink: LogSink;
  /** Log lines and bytes a call, bytes a second an instance (enforced here, not only in the isolate). */
  logLimits: LogLimits;
  /** What the channel bounds dropped or refused (metrics). */
  counters: LimitCounters;
  /** Largest result or web response body a call may answer with (ResultTooLarge past it). */
  maxResultBytes: number;
  /** An error's message and its stack trace are each cut to this (bytes). */
  maxErrorBytes: number;
  /** The sync crossings' CPU budget and the functions that ran past it (sync-mode.ts). */
  syncBudget: SyncBudget;
}

export class IsolateInstance extends PoolMember implements CallableInstance {
  /** How the function's code was compiled: from V8 cached data, or parsed (and cache produced). */
  codeCache: CodeCacheUse = 'none';
  /** What the loaded module offers (ModuleKind bits). */
  kinds = 0;
  /** The request whose cold start runs module init (its console lines go to that call). */
  private initRequestId = '';
  private readonly crossing: Crossing;
  private readonly host: HostWork;
  private readonly logs: LogGate;

  private constructor(
    private readonly booted: BootedIsolate,
    readonly memoryMb: number,
    private readonly settings: IsolateSettings,
  ) {
    super('i');
    this.crossing = new Crossing(booted.isolate, booted.refs, this, settings.batching, new SyncMode(settings.syncBudget, () => this.functionName), {
      maxResultBytes: settings.maxResultBytes, maxErrorBytes: settings.maxErrorBytes,
      counted: (what) => settings.counters.count(what, this.functionName),
    });
    this.host = new HostWork(booted.isolate, booted.refs, this, settings.maxFetchBytes);
    this.logs = new LogGate(settings.logLimits, {
      line: (rid, stream, t, text) => settings.sink(this.functionName, rid, stream, t, text),
      dropped: (lines, bytes) => {
        settings.counters.count('logDroppedLines', this.functionName, lines);
        settings.counters.count('logDroppedBytes', this.functionName, bytes);
      },
      requestIdOf: (rid) => (typeof rid === 'string' && rid.length > 0 && rid.length <= 64 ? rid : this.initRequestId),
    });
  }

  get isolate(): ivm.Isolate {
    return this.booted.isolate;
  }

  /** A blank isolate with the runtime loaded (boot.ts; `kind`: what else it did, BlankKind). */
  static async prewarm(memoryMb: number, runtime: RuntimeScript, settings: IsolateSettings, kind: BlankKind = 'bare'): Promise<IsolateInstance> {
    let inst: IsolateInstance | null = null;
    const booted = await bootIsolate(memoryMb, runtime, {
      log: (batch) => inst?.logs.batch(batch),
      result: (rid, r) => inst?.crossing.lateResult(rid, r),
      host: (a) => inst?.host.op(a),
    }, kind, LogGate.runtimeLimits(settings.logLimits));
    inst = new IsolateInstance(booted, memoryMb, settings);
    return inst;
  }

  /**
   * Loads the version's code (V8 cached data when there is some) and binds its handler. Throws
   * HearthError('FunctionInitError') for code that throws at load or names no handler.
   */
  async specialize(fn: FunctionVersion, code: CodeCache, requestId: string): Promise<void> {
    this.specializeFor(fn);
    this.initRequestId = requestId;
    this.crossing.bind(fn.spec.timeoutMs);
    this.host.bind(fn.spec.egress.allow, fn.spec.timeoutMs);
    const started = performance.now();
    let compiled;
    try {
      compiled = await compileFunction(this.booted, fn, code);
    } catch (err) {
      this.initRequestId = '';
      throw this.initError(err, fn, started);
    }
    this.codeCache = compiled.cache;
    // Module init's wall-clock deadline (calls have theirs in the crossing).
    const timer = setTimeout(() => this.kill('timeout'), fn.spec.timeoutMs);
    try {
      this.kinds = await runFunction(this.booted, compiled.script, fn, this.settings.maxResultBytes);
    } catch (err) {
      throw err instanceof HearthError ? err : this.initError(err, fn, started);
    } finally {
      clearTimeout(timer);
      compiled.script.release();
      this.initRequestId = '';
    }
    this.footprintMb = this.heapMb();
  }

  /**
   * Whether the isolate still works. V8 disposes an isolate that passed its memory limit on its
   * own, 20–40 ms before the call that did it has its answer: the instance is then broken at once,
   * so the pool gives it no other call meanwhile.
   */
  check(): boolean {
    if (!this.isolate.isDisposed) return true;
    if (!this.over) this.kill('memory');
    return false;
  }

  /** How its event calls cross now: 'sync', 'async', or 'never' sync again (sync-mode.ts). */
  get crossingMode(): SyncState {
    return this.crossing.mode;
  }

  /** Runs one call (crossing.ts); the function's own errors come back as a CallError. */
  call(req: CallRequest): Promise<RunResult> {
    return this.crossing.call(req);
  }

  // ---- what the crossing and the host work need of it ---------------------------------------

  /** Nothing runs in the isolate any more (it was killed, or torn down). */
  get over(): boolean {
    return this.endCause !== null || this.state === 'disposed';
  }

  logError(requestId: string, message: string): void {
    this.settings.sink(this.functionName, requestId, 1, Date.now(), message);
  }

  holdTail(requestId: string, remainingMs: number): Promise<void> {
    // The call's log counts go when its waitUntil work ends, not when it answered.
    return this.host.holdTail(requestId, remainingMs).finally(() => this.logs.end(requestId));
  }

  /** The call's log counts go (with a marker line if it dropped any). */
  callEnded(requestId: string): void {
    this.logs.end(requestId);
  }

  abandon(requestIds: readonly string[]): void {
    this.logs.discard(requestIds);
  }

  killFor(failure: 'timeout' | 'memory'): void {
    this.kill(failure);
  }

  /** A call's wall-clock deadline passed; the isolate may also be gone on its own already (out of memory while only late calls ran). */
  expired(): void {
    this.kill(this.isolate.isDisposed && this.endCause === null ? 'memory' : 'timeout');
  }

  /** The error a failed crossing gives its call, killing the instance when the isolate cannot go on. */
  runError(err: unknown, startedAt: number): HearthError {
    if (this.endCause === null) {
      const f = classifyV8Failure(err);
      if (f === 'timeout') this.kill('timeout'); // CPU time, inside V8
      else if (f === 'memory' || this.isolate.isDisposed) this.kill('memory');
      else return new HearthError('InternalError', err instanceof Error ? err.message : String(err));
    }
    if (this.endCause === 'shutdown') {
      return new HearthError('Draining', `${this.functionName}: the instance was shut down during the call`);
    }
    if (this.endCause === 'memory') {
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
    // Cut as a call's error is (crossing.ts `cut`): message and stack each to --max-error-bytes.
    const max = this.settings.maxErrorBytes;
    const message = err instanceof Error ? err.message : String(err);
    const rawStack = err instanceof Error && err.stack ? err.stack : '';
    if (message.length > max || rawStack.length > max) this.settings.counters.count('errorsTruncated', this.functionName);
    const stack = rawStack ? stackLines(cut(rawStack, max)) : [];
    return new HearthError('FunctionInitError', `${fn.name}: the code failed to load: ${cut(message, max)}`, { functionStack: stack.slice(0, 200) });
  }

  // ---- the end --------------------------------------------------------------------------------

  /**
   * The isolate cannot go on (a call or a delivery ran past its time or out of memory): it is
   * disposed, the instance is broken (never routed again), and every call still on it fails.
   */
  private kill(cause: 'timeout' | 'memory' | 'shutdown'): void {
    if (this.endCause === null) this.endCause = cause;
    this.markBroken(cause);
    if (!this.isolate.isDisposed) this.isolate.dispose();
    this.host.end();
    this.crossing.failWaiting(true);
  }

  /** Tears the isolate down (evicted, drained, or Hearth stopping); calls still on it fail with Draining. */
  dispose(): void {
    if (this.endCause === null && (this.crossing.pending > 0 || this.inFlight > 0)) {
      this.endCause = 'shutdown';
      if (!this.isolate.isDisposed) this.isolate.dispose();
      this.crossing.failWaiting();
    }
    this.markDisposed();
    this.host.end();
    disposeIsolate(this.booted);
  }

  /**
   * Idle for a while (InstanceFactory.releaseIdle, --idle-release-ms): V8 collects all it can and
   * gives back the heap pages the isolate holds unused (its young generation's semi-spaces, empty
   * pages of the other spaces): an idle hello instance's RSS from 3.3 to 2.2 MiB (bench/README,
   * "Density"). It runs on the isolate's own thread (2–5 ms); a call
   * arriving meanwhile crosses async and waits for it there, never on the main thread. Needs
   * isolated-vm's lowMemoryNotification, which Hearth's patch adds (patches/, scripts/patch-native.mjs).
   */
  async releaseIdle(): Promise<boolean> {
    if (this.crossing.housekeeping || this.isolate.isDisposed) return false;
    this.crossing.housekeeping = true;
    try {
      await this.isolate.lowMemoryNotification();
      return true;
    } catch {
      return false; // disposed meanwhile (evicted, Hearth stopping): nothing to give back
    } finally {
      this.crossing.housekeeping = false;
    }
  }

  /** WebAssembly memory the isolate held when last measured, MiB (part of footprintMb). */
  wasmMb = 0;

  /**
   * The instance's memory now, MiB: its heap plus the WebAssembly memories it holds (the pool
   * moves it into footprintMb and its total at a sweep, for idle instances that ran since). V8's
   * heap statistics do not see WebAssembly memory (externally_allocated_size stays 0), so the
   * runtime's own count is asked for: one synchronous call (~1 µs, less than the statistics
   * themselves), only here, never per call. It is the runtime's figure, kept in a closure the
   * function cannot reach, taken from V8's own buffers (runtime/isolate/wasm-memory.ts).
   */
  heapMb(): number {
    // Not while its thread runs the release: the synchronous calls below would wait for it.
    if (this.crossing.housekeeping) return this.footprintMb;
    try {
      const h = this.isolate.getHeapStatisticsSync();
      const wasm = this.booted.refs.wasmBytes.applySync(undefined, [], { timeout: 1_000 }) as unknown;
      if (typeof wasm === 'number' && Number.isFinite(wasm) && wasm >= 0) this.wasmMb = wasm / MB;
      return (h.total_heap_size + h.externally_allocated_size) / MB + this.wasmMb;
    } catch {
      return this.footprintMb; // disposed
    }
  }
}
