// The scheduling policy as plain functions: no instance is started here.
import { describe, expect, it } from 'vitest';
import { packLimit, pickEvictions, pickInstance, placeCall, releasable, shouldScaleUp, type ReleasePolicy } from './policy.js';
import { InstanceState } from './lifecycle.js';
import type { PooledInstance } from './pool-member.js';

let n = 0;
const inst = (over: Partial<PooledInstance> = {}): PooledInstance => ({
  id: `t${++n}`, digest: 'd', version: '$LATEST', state: InstanceState.idle, inFlight: 0, callsServed: 0,
  createdAt: 0, lastUsedAt: 0, footprintMb: 10, ...over,
});

describe('placeCall', () => {
  const base = { instances: 0, starting: 0, claimed: 0, waiting: 0, concurrency: 1, maxInstances: 2, queueLimit: 2 };
  it('starts an instance while the version may grow', () => {
    expect(placeCall(base)).toBe('start');
    expect(placeCall({ ...base, instances: 1 })).toBe('start');
  });
  it('waits for an instance already starting that has room', () => {
    expect(placeCall({ ...base, starting: 1, concurrency: 4, waiting: 2 })).toBe('wait');
    expect(placeCall({ ...base, starting: 1, concurrency: 1, waiting: 1 })).toBe('start');
    // A start made for a call is that call's: its first slot is not free for others.
    expect(placeCall({ ...base, starting: 1, claimed: 1, concurrency: 1 })).toBe('start');
    expect(placeCall({ ...base, starting: 1, claimed: 1, concurrency: 2 })).toBe('wait');
  });
  it('queues at maxInstances, rejects when the queue is full', () => {
    expect(placeCall({ ...base, instances: 2, waiting: 1 })).toBe('wait');
    expect(placeCall({ ...base, instances: 2, waiting: 2 })).toBe('reject');
    expect(placeCall({ ...base, instances: 2, queueLimit: 0 })).toBe('reject');
  });
});

describe('shouldScaleUp', () => {
  it('past the threshold of capacity and below maxInstances', () => {
    expect(shouldScaleUp(13, 1, 0, 16, 4, 0.8)).toBe(true);
    expect(shouldScaleUp(12, 1, 0, 16, 4, 0.8)).toBe(false);
    expect(shouldScaleUp(16, 1, 1, 16, 4, 0.8)).toBe(false);
    expect(shouldScaleUp(16, 4, 0, 16, 4, 0.8)).toBe(false);
  });
  it('never ahead of demand at concurrency 1 (each call starts its own)', () => {
    expect(shouldScaleUp(1, 1, 0, 1, 4, 0.5)).toBe(false);
  });
});

describe('packLimit', () => {
  it('is the scale-up threshold\'s share of the slots, at least 1', () => {
    expect(packLimit(16, 0.8)).toBe(12);
    expect(packLimit(10, 0.8)).toBe(8);
    expect(packLimit(100, 0.29)).toBe(29); // not 28 (0.29 × 100 is 28.999… in floating point)
    expect(packLimit(4, 1)).toBe(4);
    expect(packLimit(1, 0.8)).toBe(1);
    expect(packLimit(2, 0.3)).toBe(1);
  });
});

describe('pickInstance', () => {
  const busy = (inFlight: number, over: Partial<PooledInstance> = {}) => inst({ inFlight, state: inFlight > 0 ? 'busy' : 'idle', ...over });

  it('packs: the most loaded instance still below the pack limit, the first one on a tie', () => {
    expect(pickInstance([busy(3), busy(1), busy(2)], 16, 12)).toBe(0);
    expect(pickInstance([busy(0), busy(5), busy(5), busy(0)], 16, 12)).toBe(1);
    expect(pickInstance([busy(0), busy(0), busy(0)], 16, 12)).toBe(0);
    // Full up to the pack limit: the next one gets the call, though the first has free slots.
    expect(pickInstance([busy(12), busy(4), busy(0)], 16, 12)).toBe(1);
  });
  it('at concurrency 1, the first idle instance (the others stay idle and can go)', () => {
    expect(pickInstance([busy(1), busy(0), busy(0)], 1, 1)).toBe(1);
    expect(pickInstance([busy(1), busy(1)], 1, 1)).toBe(-1);
  });
  it('when every instance is at or past the pack limit, the least loaded with a free slot', () => {
    expect(pickInstance([busy(15), busy(13), busy(14)], 16, 12)).toBe(1);
    expect(pickInstance([busy(16), busy(16)], 16, 12)).toBe(-1);
    expect(pickInstance([busy(4), busy(4)], 4, 4)).toBe(-1);
  });
  it('never a draining, initializing or broken one', () => {
    expect(pickInstance([inst({ state: 'draining' }), inst({ state: 'initializing' }), inst({ state: 'broken' })], 4, 3)).toBe(-1);
    expect(pickInstance([busy(2, { state: 'broken' }), busy(1)], 4, 3)).toBe(1);
    expect(pickInstance([busy(3, { state: 'draining' }), busy(3, { state: 'broken' }), busy(3)], 4, 3)).toBe(2);
  });
});

describe('releasable', () => {
  // Concurrency 4, threshold 0.8 (pack 3), scale down below 0.5 after 100 ms idle, keepalive 1 s.
  const p: ReleasePolicy = { concurrency: 4, minInstances: 0, keepAliveMs: 1_000, pack: 3, scaleDownThreshold: 0.5, scaleDownDelayMs: 100 };
  const idle = (lastUsedAt: number) => inst({ lastUsedAt });
  const busy = (inFlight: number, lastUsedAt = 0) => inst({ state: 'busy', inFlight, lastUsedAt });

  it('past keepalive: idle instances, oldest first, the last one included, never below minInstances', () => {
    const a = idle(0), b = idle(500), c = idle(900);
    expect(releasable([c, a, b], 0, 1000, { ...p, keepAliveMs: 400 }).expired).toEqual([a, b]);
    expect(releasable([a], 0, 1000, p).expired).toEqual([a]);
    expect(releasable([a], 0, 999, p).expired).toEqual([]);
    expect(releasable([a, b], 0, 5000, { ...p, minInstances: 2 }).expired).toEqual([]);
    expect(releasable([a, b], 0, 5000, { ...p, minInstances: 1 }).expired).toEqual([a]);
    const held = busy(1);
    expect(releasable([a, b, held], 1, 5000, { ...p, minInstances: 2 }).expired).toEqual([a]);
  });

  it('surplus: instances idle for the delay go, least recently used first, but never the last one', () => {
    const a = idle(800), b = idle(850), c = idle(950);
    // Nothing in flight: all but the most recently used go after 100 ms idle; c (50 ms idle) stays anyway.
    expect(releasable([a, b, c], 0, 1000, p)).toEqual({ expired: [], surplus: [a, b] });
    // Only a has been idle long enough.
    expect(releasable([a, b, c], 0, 920, p)).toEqual({ expired: [], surplus: [a] });
    // The last instance waits for its keepalive, however long it has been idle.
    expect(releasable([a], 0, 1700, p)).toEqual({ expired: [], surplus: [] });
    expect(releasable([a], 0, 1800, p)).toEqual({ expired: [a], surplus: [] });
  });

  it('down to what the calls in flight need at the pack limit, never below minInstances', () => {
    const x = busy(3), y = busy(2), a = idle(0), b = idle(10), c = idle(20);
    // 5 in flight, pack 3: two instances needed; 5 < 0.5 × 5 × 4 — the three idle ones are surplus.
    expect(releasable([x, y, a, b, c], 5, 500, p).surplus).toEqual([a, b, c]);
    // 1 in flight: one instance would do, but the busy ones stay (only idle ones go).
    expect(releasable([busy(1), a, b], 1, 500, p).surplus).toEqual([a, b]);
    // Never below minInstances.
    expect(releasable([busy(1), a, b], 1, 500, { ...p, minInstances: 2 }).surplus).toEqual([a]);
    expect(releasable([a, b, c], 0, 500, { ...p, minInstances: 3 }).surplus).toEqual([]);
    // 7 in flight on 3 instances: ceil(7 / 3) = 3 needed (and 7 is not below 0.5 × 3 × 4 anyway).
    expect(releasable([busy(3), busy(3), busy(1), a], 7, 500, p).surplus).toEqual([a]);
  });

  it('not while the calls in flight are at or past the scale-down threshold of the slots', () => {
    const a = idle(0);
    // 4 instances, 16 slots, 8 in flight: exactly 0.5 — no surplus; 7: below.
    expect(releasable([busy(3), busy(3), busy(2), a], 8, 500, p).surplus).toEqual([]);
    expect(releasable([busy(3), busy(3), busy(1), a], 7, 500, p).surplus).toEqual([a]);
    // Concurrency 1, two instances, one call in flight: 1 is not below 0.5 × 2; with three it is.
    const one = { ...p, concurrency: 1, pack: 1 };
    expect(releasable([busy(1), idle(0)], 1, 500, one).surplus).toEqual([]);
    const b = idle(5);
    expect(releasable([busy(1), a, b], 1, 500, one).surplus).toEqual([a, b]);
  });

  it('keepalive first, then surplus, and nothing busy, broken, draining or initializing', () => {
    const old = idle(0), a = idle(1_900), b = idle(1_950), last = idle(1_990);
    expect(releasable([last, b, a, old], 0, 2_000, { ...p, scaleDownDelayMs: 40 })).toEqual({ expired: [old], surplus: [a, b] });
    const odd = [inst({ state: 'draining' }), inst({ state: 'initializing' }), inst({ state: 'broken' }), busy(1)];
    expect(releasable(odd, 1, 10_000, p)).toEqual({ expired: [], surplus: [] });
    // A broken instance does not count as one that carries load: the idle one is the last.
    expect(releasable([inst({ state: 'broken' }), old], 0, 500, p)).toEqual({ expired: [], surplus: [] });
  });
});

describe('pickEvictions', () => {
  const budget = { maxInstances: 3, memoryMb: 100 };
  it('nothing when the new instance fits', () => {
    expect(pickEvictions([inst()], { instances: 2, memoryMb: 20 }, budget, { instances: 1, memoryMb: 10 }, () => true)).toEqual({ evict: [], fits: true });
  });
  it('least recently used idle first, skipping busy and protected ones', () => {
    const busy = inst({ state: 'busy', inFlight: 1 }), kept = inst(), old = inst(), newer = inst();
    const r = pickEvictions([busy, kept, old, newer], { instances: 4, memoryMb: 40 }, budget, { instances: 1, memoryMb: 10 }, (i) => i !== kept);
    expect(r).toEqual({ evict: [old, newer], fits: true });
  });
  it('by memory', () => {
    const big = inst({ footprintMb: 60 }), small = inst({ footprintMb: 5 });
    expect(pickEvictions([big, small], { instances: 2, memoryMb: 95 }, budget, { instances: 1, memoryMb: 20 }, () => true)).toEqual({ evict: [big], fits: true });
  });
  it('says when it cannot fit', () => {
    expect(pickEvictions([inst({ state: 'busy', inFlight: 1 })], { instances: 3, memoryMb: 0 }, budget, { instances: 1, memoryMb: 0 }, () => true).fits).toBe(false);
  });
});
