// The instance lifecycle of both tiers, written as states (DESIGN.md "Instance lifecycle").
//
//   prewarmed ──take──▶ initializing ──ok──▶ idle ⇄ busy ──retire/expire/evict──▶ draining ──▶ disposed
//                            └──────fail──────────────────────────────────────────────────────▶ disposed
//
// A draining instance is revived if its digest is routed again before it is gone.
// A busy instance that breaks (timeout, out of memory, crash) goes straight to disposed.

import type { Invocation } from '../core/backend.js';

export const InstanceState = {
  prewarmed: 'prewarmed',
  initializing: 'initializing',
  idle: 'idle',
  busy: 'busy',
  draining: 'draining',
  disposed: 'disposed',
} as const;
export type InstanceState = (typeof InstanceState)[keyof typeof InstanceState];

const allowed: Record<InstanceState, readonly InstanceState[]> = {
  prewarmed: ['initializing', 'disposed'],
  initializing: ['idle', 'busy', 'disposed'],
  idle: ['busy', 'draining', 'disposed'],
  busy: ['idle', 'busy', 'draining', 'disposed'],
  // Revived when its digest takes calls again before it drained (e.g. a deploy rolled back).
  draining: ['disposed', 'idle', 'busy'],
  disposed: [],
};

export function canMove(from: InstanceState, to: InstanceState): boolean {
  return allowed[from].includes(to);
}

/** What both tiers' instances carry for the pool's policy. */
export interface PooledInstance {
  readonly id: string;
  readonly digest: string;
  readonly version: string;
  state: InstanceState;
  inFlight: number;
  callsServed: number;
  createdAt: number;
  lastUsedAt: number;
  /** Measured memory of the instance, MiB. */
  footprintMb: number;
  /** callsServed when the pool last measured it (an instance that has not run since is not asked again). */
  measuredAtCalls?: number;
  /** Dead underneath (its isolate or container is gone): never handed out again. */
  readonly broken: boolean;
}

/** An instance that runs calls: what InstancePool.serve drives. */
export interface CallableInstance extends PooledInstance {
  /** Runs one invocation; function errors land in inv.error, a broken instance rejects. */
  call(inv: Invocation): Promise<void>;
}

let nextMember = 0;

/**
 * The bookkeeping every pooled instance carries (both tiers extend this): identity, state, load
 * and age for the policy. `take` binds it to the version whose code it is about to load.
 */
export abstract class PoolMember implements PooledInstance {
  readonly id: string;
  digest = '';
  version = '';
  functionName = '';
  state: InstanceState = InstanceState.prewarmed;
  inFlight = 0;
  callsServed = 0;
  createdAt = performance.now();
  lastUsedAt = this.createdAt;
  footprintMb = 0;
  /** The version's per-call time limit, ms. */
  protected timeoutMs = 0;

  constructor(idPrefix: string) {
    this.id = `${idPrefix}${++nextMember}`;
  }

  abstract get broken(): boolean;

  /** Starts specializing for this version (prewarmed → initializing). */
  protected take(fn: { digest: string; version: string; name: string; spec: { timeoutMs: number } }): void {
    moveTo(this, InstanceState.initializing);
    this.digest = fn.digest;
    this.version = fn.version;
    this.functionName = fn.name;
    this.timeoutMs = fn.spec.timeoutMs;
  }
}

export function moveTo(inst: PooledInstance, to: InstanceState): void {
  if (inst.state === to) return;
  if (!canMove(inst.state, to)) throw new Error(`instance ${inst.id}: no transition ${inst.state} → ${to}`);
  inst.state = to;
}
