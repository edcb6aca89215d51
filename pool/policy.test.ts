// The scheduling policy as plain functions: no instance is started here.
import { describe, expect, it } from 'vitest';
import { expiredIdle, pickEvictions, pickInstance, placeCall, shouldScaleUp } from './policy.js';
import { InstanceState, canMove, type PooledInstance } from './states.js';

let n = 0;
const inst = (over: Partial<PooledInstance> = {}): PooledInstance => ({
  id: `t${++n}`, digest: 'd', version: '$LATEST', state: InstanceState.idle, inFlight: 0, callsServed: 0,
  createdAt: 0, lastUsedAt: 0, footprintMb: 10, broken: false, ...over,
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

describe('pickInstance', () => {
  it('takes the least loaded ready instance with a free slot', () => {
    const list = [inst({ inFlight: 3, state: 'busy' }), inst({ inFlight: 1, state: 'busy' }), inst({ inFlight: 2, state: 'busy' })];
    expect(pickInstance(list, 4)).toBe(1);
    expect(pickInstance(list, 1)).toBe(-1);
  });
  it('never a draining, initializing or broken one', () => {
    expect(pickInstance([inst({ state: 'draining' }), inst({ state: 'initializing' }), inst({ broken: true })], 4)).toBe(-1);
  });
});

describe('expiredIdle', () => {
  it('releases idle instances past keepalive, oldest first, the last one included', () => {
    const a = inst({ lastUsedAt: 0 }), b = inst({ lastUsedAt: 500 }), c = inst({ lastUsedAt: 900 });
    expect(expiredIdle([c, a, b], 1000, 400, 0)).toEqual([a, b]);
    expect(expiredIdle([a], 1000, 400, 0)).toEqual([a]);
    expect(expiredIdle([a], 300, 400, 0)).toEqual([]);
  });
  it('keeps minInstances', () => {
    const a = inst({ lastUsedAt: 0 }), b = inst({ lastUsedAt: 1 }), busy = inst({ state: 'busy', inFlight: 1 });
    expect(expiredIdle([a, b], 1000, 10, 2)).toEqual([]);
    expect(expiredIdle([a, b], 1000, 10, 1)).toEqual([a]);
    expect(expiredIdle([a, b, busy], 1000, 10, 2)).toEqual([a]);
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

describe('instance states', () => {
  it('follows the lifecycle', () => {
    expect(canMove('prewarmed', 'initializing')).toBe(true);
    expect(canMove('initializing', 'idle')).toBe(true);
    expect(canMove('idle', 'busy')).toBe(true);
    expect(canMove('busy', 'draining')).toBe(true);
    expect(canMove('draining', 'disposed')).toBe(true);
    expect(canMove('disposed', 'idle')).toBe(false);
    expect(canMove('prewarmed', 'busy')).toBe(false);
  });
});
