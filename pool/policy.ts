// Scheduling policy shared by the isolate pool and the container pool: plain functions over
// counts and lists, tested without starting a single instance (as OpenWhisk's ContainerPool does).

import { InstanceState, type PooledInstance } from './states.js';

export interface SlotView {
  /** Ready instances (idle or busy) of this version. */
  instances: number;
  /** Instances being started for this version. */
  starting: number;
  /** Of those, the ones started by a call that will take their first slot. */
  claimed: number;
  /** Calls waiting in this version's queue. */
  waiting: number;
  concurrency: number;
  maxInstances: number;
  queueLimit: number;
}

export type Placement = 'start' | 'wait' | 'reject';

/** Where a call goes when no ready instance has a free slot. */
export function placeCall(v: SlotView): Placement {
  // Slots on instances already starting that no waiting call has claimed yet.
  if (v.starting * v.concurrency - v.claimed - v.waiting > 0) return 'wait';
  if (v.instances + v.starting < v.maxInstances) return 'start';
  if (v.waiting < v.queueLimit) return 'wait';
  return 'reject';
}

/** After a call took a warm slot: start one more instance ahead of demand? */
export function shouldScaleUp(inFlight: number, instances: number, starting: number, concurrency: number, maxInstances: number, threshold: number): boolean {
  const total = instances + starting;
  if (total >= maxInstances || concurrency === 1) return false;
  return inFlight > threshold * total * concurrency;
}

/** The ready instance with the fewest calls in flight that still has a free slot, or -1. */
export function pickInstance(instances: readonly PooledInstance[], concurrency: number): number {
  let best = -1;
  let bestLoad = concurrency;
  for (let i = 0; i < instances.length; i++) {
    const inst = instances[i]!;
    if (inst.inFlight < bestLoad && (inst.state === InstanceState.idle || inst.state === InstanceState.busy) && !inst.broken) {
      best = i;
      bestLoad = inst.inFlight;
      if (bestLoad === 0) break;
    }
  }
  return best;
}

/**
 * Idle instances whose keepalive has passed, oldest first, never taking the version below
 * `minInstances`. The last instance waits for the same delay as the others (no start/stop flapping).
 */
export function expiredIdle<I extends PooledInstance>(instances: readonly I[], now: number, keepAliveMs: number, minInstances: number): I[] {
  const idle = instances
    .filter((i) => i.state === InstanceState.idle && i.inFlight === 0 && now - i.lastUsedAt >= keepAliveMs)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  const live = instances.filter((i) => i.state === InstanceState.idle || i.state === InstanceState.busy).length;
  const canRelease = Math.max(0, live - minInstances);
  return idle.slice(0, canRelease);
}

export interface Budget {
  maxInstances: number;
  memoryMb: number;
}

export interface Usage {
  instances: number;
  memoryMb: number;
}

/**
 * Which idle instances to evict, least recently used first, so that `extra` more instances and
 * `extraMb` more memory fit in the budget. `lruIdle` is ordered least recently used first;
 * `evictable` says whether an instance may go (e.g. not below its version's minInstances).
 */
export function pickEvictions<I extends PooledInstance>(
  lruIdle: Iterable<I>,
  usage: Usage,
  budget: Budget,
  extra: { instances: number; memoryMb: number },
  evictable: (i: I) => boolean,
): { evict: I[]; fits: boolean } {
  let instances = usage.instances + extra.instances;
  let memory = usage.memoryMb + extra.memoryMb;
  const evict: I[] = [];
  const over = () => instances > budget.maxInstances || memory > budget.memoryMb;
  if (!over()) return { evict, fits: true };
  for (const i of lruIdle) {
    if (i.state !== InstanceState.idle || i.inFlight !== 0 || !evictable(i)) continue;
    evict.push(i);
    instances--;
    memory -= i.footprintMb;
    if (!over()) return { evict, fits: true };
  }
  return { evict, fits: false };
}
