// What every pooled instance carries, in both tiers: identity, lifecycle state, load and age for
// the policy (pool/policy.ts), and the version it holds once specialized.

import type { CallRequest, ColdStart, RunResult } from '../core/call.js';
import { InstanceState, transition, type EndCause, type HasLifecycle } from './lifecycle.js';

/** What the pool's policy reads of an instance. */
export interface PooledInstance extends HasLifecycle {
  readonly digest: string;
  readonly version: string;
  inFlight: number;
  callsServed: number;
  createdAt: number;
  lastUsedAt: number;
  /** Measured memory of the instance, MiB. */
  footprintMb: number;
  /** callsServed when the pool last measured it (an instance that has not run since is not asked again). */
  measuredAtCalls?: number;
  /** callsServed when the pool queued it to give back its unused memory (InstanceFactory.releaseIdle). */
  releasedAtCalls?: number;
  /** Why it broke or was torn down with calls on it. */
  readonly endCause?: EndCause | null;
  /** Taken from the tier's reserve or made from scratch (X-Hearth-Cold-Start of the call that started it); absent: scratch. */
  readonly startedFrom?: ColdStart;
}

/** An instance that runs calls: what InstancePool.serve drives. */
export interface CallableInstance extends PooledInstance {
  /**
   * Runs one call: the result bytes, a web answer or the function's own error. Anything else
   * (timeout, out of memory, crash, a payload that does not decode) rejects with a HearthError;
   * an instance that died doing it is `broken` by then.
   */
  call(req: CallRequest): Promise<RunResult>;
}

let nextMember = 0;

/**
 * The bookkeeping both tiers' instances extend. `specializeFor` binds it to the version whose code
 * it is about to load; every state change goes through transition() (pool/lifecycle.ts).
 */
export abstract class PoolMember implements PooledInstance {
  readonly id: string;
  digest = '';
  version = '';
  functionName = '';
  readonly state: InstanceState = InstanceState.prewarmed;
  /** Why it broke or was torn down with calls on it, once it did. */
  endCause: EndCause | null = null;
  inFlight = 0;
  callsServed = 0;
  createdAt = performance.now();
  lastUsedAt = this.createdAt;
  footprintMb = 0;
  /** Made for its call unless the tier says it took it from its reserve (a blank isolate, a stem cell). */
  startedFrom: ColdStart = 'scratch';
  /** The version's per-call time limit, ms. */
  protected timeoutMs = 0;

  constructor(idPrefix: string) {
    this.id = `${idPrefix}${++nextMember}`;
  }

  /** Starts specializing for this version (prewarmed → initializing). */
  protected specializeFor(fn: { digest: string; version: string; name: string; spec: { timeoutMs: number } }): void {
    transition(this, 'specialize');
    this.digest = fn.digest;
    this.version = fn.version;
    this.functionName = fn.name;
    this.timeoutMs = fn.spec.timeoutMs;
  }

  /**
   * It died underneath: never routed again (the pool disposes it once its calls are accounted
   * for). The first cause is kept. Returns false when it was already over.
   */
  protected markBroken(cause: EndCause): boolean {
    if (this.endCause === null) this.endCause = cause;
    if (this.state === InstanceState.broken || this.state === InstanceState.disposed) return false;
    transition(this, 'break');
    return true;
  }

  /** Torn down (idempotent). Returns false when it already was. */
  protected markDisposed(): boolean {
    if (this.state === InstanceState.disposed) return false;
    transition(this, 'dispose');
    return true;
  }
}
