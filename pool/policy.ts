// Scheduling policy shared by the isolate pool and the container pool: plain functions over
// counts and lists, tested without starting a single instance (as OpenWhisk's ContainerPool does).

import { InstanceState } from './lifecycle.js';
import type { PooledInstance } from './pool-member.js';

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

/**
 * Calls one instance takes before the router sends any to another: the scale-up threshold's share
 * of its slots, at least 1. Up to there an instance is at or below the threshold, so packing calls
 * up to this many never makes an instance count as hot.
 */
export function packLimit(concurrency: number, scaleUpThreshold: number): number {
  // The epsilon keeps e.g. 0.29 × 100 (28.999…) at 29.
  return Math.max(1, Math.floor(concurrency * scaleUpThreshold + 1e-9));
}

/**
 * The ready instance a call goes to, or -1 when none has a free slot. Calls are packed: the most
 * loaded instance still below `pack` calls (packLimit) takes it, the first in the list on a tie, so
 * load gathers on the oldest instances and the ones the load no longer needs go idle (and can be
 * released: releasable). When every instance is at or past `pack`, the least loaded one with a free
 * slot takes it (the version is past its scale-up threshold then, and one more is starting).
 * On the hot path: one pass, no allocation, and it stops at the first instance with pack − 1 calls
 * (with concurrency 1: the first idle one).
 */
export function pickInstance(instances: readonly PooledInstance[], concurrency: number, pack: number): number {
  let packed = -1;
  let packedLoad = -1;
  let spare = -1;
  let spareLoad = concurrency;
  for (let i = 0; i < instances.length; i++) {
    const inst = instances[i]!;
    const load = inst.inFlight;
    if (load < pack) {
      if (load <= packedLoad) continue;
    } else if (load >= spareLoad) {
      continue;
    }
    if ((inst.state !== InstanceState.idle && inst.state !== InstanceState.busy)) continue;
    if (load < pack) {
      packed = i;
      packedLoad = load;
      if (load === pack - 1) break;
    } else {
      spare = i;
      spareLoad = load;
    }
  }
  return packed >= 0 ? packed : spare;
}

/** What decides which idle instances of a version go (server settings and the version's spec). */
export interface ReleasePolicy {
  concurrency: number;
  minInstances: number;
  keepAliveMs: number;
  /** packLimit(concurrency, scaleUpThreshold): the calls one instance is meant to carry. */
  pack: number;
  /** In-flight calls per slot of the version's instances below which it has more than it needs. */
  scaleDownThreshold: number;
  /** How long an instance must have been idle before it goes as surplus. */
  scaleDownDelayMs: number;
}

/**
 * The idle instances of a version to release now, least recently used first:
 *
 * - `expired`: idle for keepAliveMs, down to minInstances, the version's last instance included
 *   (it waits for the same delay: no start/stop flapping);
 * - `surplus`: when the calls in flight now are below scaleDownThreshold of the version's slots,
 *   instances idle for scaleDownDelayMs, down to what those calls need at `pack` calls an instance
 *   (never below minInstances, never the last one: that one waits for its keepalive).
 *
 * Routing packs calls (pickInstance), so an instance the load does not need stops being picked and
 * its idle time grows: "idle for scaleDownDelayMs" says the load stayed below what the others
 * carry for that long, and the threshold keeps a version that is busy now from shrinking.
 */
export function releasable<I extends PooledInstance>(instances: readonly I[], inFlight: number, now: number, p: ReleasePolicy): { expired: I[]; surplus: I[] } {
  let live = 0;
  const idle: I[] = [];
  for (const i of instances) {
    if ((i.state !== InstanceState.idle && i.state !== InstanceState.busy)) continue;
    live++;
    if (i.state === InstanceState.idle && i.inFlight === 0) idle.push(i);
  }
  const expired: I[] = [];
  const surplus: I[] = [];
  if (idle.length === 0) return { expired, surplus };
  idle.sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  let k = 0;
  for (; k < idle.length && live > p.minInstances && now - idle[k]!.lastUsedAt >= p.keepAliveMs; k++) {
    expired.push(idle[k]!);
    live--;
  }
  const keep = Math.max(p.minInstances, 1, Math.ceil(inFlight / p.pack));
  if (live > keep && inFlight < p.scaleDownThreshold * live * p.concurrency) {
    for (; k < idle.length && live > keep && now - idle[k]!.lastUsedAt >= p.scaleDownDelayMs; k++) {
      surplus.push(idle[k]!);
      live--;
    }
  }
  return { expired, surplus };
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
