// Picks the tier for a resolved version and runs the call; records it. It never knows more of
// a tier than the Backend interface.

import type { Backend, FunctionVersion, Invocation } from './backend.js';
import { HearthError, toHearthError } from './errors.js';
import type { InvocationRecords } from './logs.js';
import type { Metrics } from './metrics.js';

/** Results larger than this are answered but not kept on the invocation record. */
const MAX_KEPT_RESULT = 64 * 1024;

export class Dispatcher {
  constructor(
    private readonly isolates: Backend,
    private readonly containers: Backend,
    private readonly records: InvocationRecords,
    private readonly metrics: Metrics | null = null,
  ) {}

  backendFor(runtime: FunctionVersion['runtime']): Backend {
    return runtime === 'js' ? this.isolates : this.containers;
  }

  /** Resolves a version again by name and version (the registry's resolve); set by the server. */
  resolveAgain: ((name: string, version: string) => FunctionVersion) | null = null;

  /** Runs the call. Never throws: the outcome is on `inv` (result, or error with its status). */
  async invoke(fn: FunctionVersion, inv: Invocation): Promise<void> {
    inv.version = fn.version;
    inv.digest = fn.digest;
    this.records.add(inv);
    try {
      try {
        await (fn.runtime === 'js' ? this.isolates : this.containers).invoke(fn, inv);
      } catch (err) {
        // Redeployed (or deleted) between resolve and run, with no warm instance of it left: run
        // what the name and version mean now (or answer that they are gone).
        if (!(err instanceof HearthError && err.type === 'Superseded') || this.resolveAgain === null) throw err;
        fn = this.resolveAgain(fn.name, fn.version);
        inv.version = fn.version;
        inv.digest = fn.digest;
        await (fn.runtime === 'js' ? this.isolates : this.containers).invoke(fn, inv);
      }
    } catch (err) {
      const e = toHearthError(err);
      inv.error = {
        errorType: e.errorType, errorMessage: e.message, status: e.status, functionError: e.functionError,
        ...(e.functionStack ? { stackTrace: e.functionStack } : {}),
      };
    }
    inv.status = inv.error ? 'failed' : 'succeeded';
    this.metrics?.observe(fn.runtime, inv);
  }

  /** After the response is written: keep small results on the record only. */
  settle(inv: Invocation): void {
    if (inv.result !== null && inv.result.byteLength > MAX_KEPT_RESULT) inv.result = null;
  }
}
