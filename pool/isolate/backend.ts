// The isolate tier behind the Backend interface: blank isolates, per-version warm instances in
// the shared InstancePool, and the call itself.
//
// Where isolates run: on isolated-vm's own threads, driven from the main thread with async
// `apply` (bench/placement.ts measured this against piscina workers; see bench/README.md).

import ivm from 'isolated-vm';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Backend, BackendStats, FunctionVersion, InstanceInfo, ReserveLevel } from '../../core/backend.js';
import type { CallOutcome, CallRequest, Superseded } from '../../core/call.js';
import { HearthError, UndeliveredCall } from '../../core/errors.js';
import { InstancePool, type InstanceFactory, type PoolEvents, type PoolSettings } from '../instance-pool.js';
import { BlankIsolates } from './blank-isolates.js';
import type { RuntimeScript } from './boot.js';
import { ExtraScripts } from './extras.js';
import { ModuleKind } from '../../runtime/protocol.js';
import { CodeCache, type CodeStore } from './code-cache.js';
import { IsolateInstance, type IsolateSettings } from './instance.js';
import { SyncBudget } from './sync-mode.js';
import { LimitCounters } from '../../core/limit-counters.js';
import { log } from '../../core/log.js';

export interface IsolateBackendOptions extends PoolSettings, Omit<IsolateSettings, 'logLimits' | 'counters' | 'maxResultBytes' | 'maxErrorBytes' | 'syncBudget'>, Partial<Pick<IsolateSettings, 'logLimits' | 'counters' | 'maxResultBytes' | 'maxErrorBytes'>> {
  /** CPU budget of a synchronous crossing, ms (sync-mode.ts); 0: none, every call async. */
  syncBudgetMs?: number;
  prewarmIsolates: number;
  defaultMemoryMb: number;
  runtimePath: string;
}

/** Hearth's isolated-vm patch is in the binary that loaded (npm's postinstall applies and compiles it). */
const LOW_MEMORY = typeof (ivm.Isolate.prototype as Partial<ivm.Isolate>).lowMemoryNotification === 'function';

export class IsolateBackend implements Backend {
  readonly tier = 'isolate' as const;
  private readonly blanks: BlankIsolates;
  private readonly code: CodeCache;
  private readonly extras: ExtraScripts;
  readonly pool: InstancePool<IsolateInstance>;

  constructor(opts: IsolateBackendOptions, store: CodeStore, events: PoolEvents = {}) {
    this.extras = ExtraScripts.fromDir(dirname(opts.runtimePath));
    const runtime: RuntimeScript = { source: readFileSync(opts.runtimePath, 'utf8'), cachedData: null, extras: this.extras };
    const counters = opts.counters ?? new LimitCounters();
    const settings: IsolateSettings = {
      batching: opts.batching, maxFetchBytes: opts.maxFetchBytes, sink: opts.sink,
      // The defaults are core/config.ts's.
      logLimits: opts.logLimits ?? { bytesPerCall: 1024 * 1024, linesPerCall: 10_000, bytesPerSecond: 1024 * 1024 },
      counters,
      maxResultBytes: opts.maxResultBytes ?? 6 * 1024 * 1024,
      maxErrorBytes: opts.maxErrorBytes ?? 64 * 1024,
      syncBudget: new SyncBudget(opts.syncBudgetMs ?? 5, (name) => counters.count('syncBudgetOverruns', name)),
    };
    this.code = new CodeCache(store);
    this.blanks = new BlankIsolates(runtime, settings, opts.defaultMemoryMb, opts.prewarmIsolates);
    const factory: InstanceFactory<IsolateInstance> = {
      create: async (fn, requestId, scratch) => {
        const inst = await this.blanks.take(fn.spec.memoryMb, this.code.blankKind(fn.codeDigest), scratch);
        try {
          await inst.specialize(fn, this.code, requestId);
          this.code.setOffersFetch(fn.codeDigest, (inst.kinds & ModuleKind.fetch) !== 0);
        } catch (err) {
          inst.dispose();
          throw err;
        }
        return inst;
      },
      dispose: (inst) => inst.dispose(),
      // A call stopped midway through a sync crossing (nothing of it left the isolate) runs again.
      undelivered: (err) => err instanceof UndeliveredCall,
      estimateMb: () => 2,
      measure: (inst) => inst.heapMb(),
      check: (inst) => inst.check(),
      ...(LOW_MEMORY ? { releaseIdle: (inst: IsolateInstance) => inst.releaseIdle() } : {}),
    };
    if (!LOW_MEMORY && (opts.idleReleaseMs ?? 0) > 0) {
      log.warn('this isolated-vm lacks Hearth\'s patch (lowMemoryNotification; see patches/ and scripts/patch-native.mjs, run by npm install): idle isolates keep their unused heap pages');
    }
    this.pool = new InstancePool(factory, opts, events);
  }

  ready(): Promise<void> {
    return this.blanks.filled();
  }

  /** Deploy-time: compile and load the code in a scratch isolate, which also makes V8 cached data. */
  async prepare(fn: FunctionVersion, code: Buffer): Promise<void> {
    this.code.put(fn.codeDigest, code.toString('utf8'));
    const inst = await this.blanks.fresh(fn.spec.memoryMb);
    try {
      await inst.specialize(fn, this.code, '');
      const web = (inst.kinds & ModuleKind.fetch) !== 0;
      this.code.setOffersFetch(fn.codeDigest, web);
      const kind = this.code.blankKind(fn.codeDigest);
      if (kind !== 'event') this.blanks.expect(fn.spec.memoryMb, kind);
    } catch (err) {
      if (err instanceof HearthError && err.type === 'FunctionInitError') {
        throw new HearthError('InitError', err.message, { functionStack: err.functionStack });
      }
      if (err instanceof HearthError && (err.type === 'Timeout' || err.type === 'OutOfMemory')) {
        throw new HearthError('InitError', `the code did not finish loading: ${err.message}`);
      }
      throw err;
    } finally {
      inst.dispose();
    }
  }

  invoke(fn: FunctionVersion, req: CallRequest): Promise<CallOutcome | Superseded> {
    return this.pool.serve(fn, req);
  }

  retire(digest: string, gone = false): void {
    this.pool.retire(digest, gone);
  }

  /** The version takes calls from now on (again, if it was retired); keep its minInstances. */
  reserve(fn: FunctionVersion): void {
    this.pool.reserve(fn);
  }

  instances(digest?: string): InstanceInfo[] {
    return this.pool.describe('isolate', (i) => ({ codeCache: i.codeCache, memoryLimitMb: i.memoryMb, wasmMemoryMb: Math.round(i.wasmMb * 100) / 100, crossing: i.crossingMode }), digest);
  }

  stats(): BackendStats {
    return { ...this.pool.stats(this.blanks.size), runtimeExtras: this.extras.counts() };
  }

  reserveLevels(): Record<string, ReserveLevel> {
    return this.blanks.levels();
  }

  async close(): Promise<void> {
    await this.pool.close();
    await this.blanks.close();
  }
}

export { ivm };
