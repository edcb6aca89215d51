// The dispatch step every entry uses (HTTP protocols, timers, async attempts): pick the tier, run
// the call, say what happened; the record and the metrics hang off its end (CallHooks), so no
// caller has to remember them. It never knows more of a tier than the Backend interface.

import type { FunctionVersion, Tiers } from './backend.js';
import { failedOutcome, SUPERSEDED, type CallOutcome, type CallRequest } from './call.js';
import { HearthError, toHearthError } from './errors.js';

/** Name + version → the version as it is now (the registry's catalog). */
export interface Resolver {
  resolve(name: string, qualifier: string): FunctionVersion;
}

/**
 * What runs around every call: `begin` before the tier has it (a record to attach its log lines
 * to), `end` once it has an outcome. core/call-recorder.ts is the one implementation (records,
 * metrics).
 */
export interface CallHooks<T = unknown> {
  begin(req: CallRequest, fn: FunctionVersion): T;
  end(token: T, req: CallRequest, fn: FunctionVersion, out: CallOutcome): void;
}

export class Dispatcher {
  constructor(
    private readonly tiers: Tiers,
    private readonly resolver: Resolver,
    private readonly hooks: CallHooks,
  ) {}

  /** Runs the call. Never throws: the outcome says what happened (a result, or an error with its status). */
  async run(fn: FunctionVersion, req: CallRequest): Promise<CallOutcome> {
    const token = this.hooks.begin(req, fn);
    let out: CallOutcome;
    try {
      let r = await this.tiers.for(fn.runtime).invoke(fn, req);
      if (r === SUPERSEDED) {
        // Redeployed (or deleted) between resolve and run, with no warm instance of it left: run
        // what the name and version mean now (or answer that they are gone). Once.
        fn = this.resolver.resolve(fn.name, fn.version);
        r = await this.tiers.for(fn.runtime).invoke(fn, req);
        if (r === SUPERSEDED) throw new HearthError('Superseded', `${fn.name}: version ${fn.version} (${fn.digest.slice(0, 12)}) was replaced or deleted while this call waited`);
      }
      out = r;
    } catch (err) {
      out = failedOutcome(fn.version, toHearthError(err));
    }
    this.hooks.end(token, req, fn, out);
    return out;
  }
}
