import { describe, expect, it } from 'vitest';
import { FIRST_STREAK as S, FORGIVE_AFTER_CALLS as F, MAX_SYNC_BATCH, SyncBudget, SyncMode } from './sync-mode.js';

const mode = (budget: SyncBudget, name = 'f') => {
  const m = new SyncMode(budget, () => name);
  m.reset();
  return m;
};

describe('SyncMode', () => {
  it('starts async and becomes sync after FIRST_STREAK short calls in a row that settled in their crossing', () => {
    const m = mode(new SyncBudget(2));
    for (let i = 0; i < S - 1; i++) m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('async');
    m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('sync');
  });

  it('a call past half the budget in CPU, or one answered late, starts the streak again; a batch counts its calls', () => {
    const m = mode(new SyncBudget(2));
    for (let i = 0; i < S - 1; i++) m.asyncCrossing(0.1, 1, false);
    m.asyncCrossing(1.1, 1, false); // past budget / 2 of CPU
    for (let i = 0; i < S - 1; i++) m.asyncCrossing(0.1, 1, false);
    m.asyncCrossing(0.1, 1, true);
    for (let i = 0; i < S - 1; i++) m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('async');
    m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('sync');
    // A batch adds its calls, judged by its CPU per call.
    const b = mode(new SyncBudget(2));
    b.asyncCrossing(0.6 * S, S / 2, false); // 1.2 ms a call: past budget / 2
    expect(b.state).toBe('async');
    b.asyncCrossing(0.01 * S, S / 2, false);
    b.asyncCrossing(0.01 * S, S / 2 - 1, false);
    expect(b.state).toBe('async');
    b.asyncCrossing(0.01, 1, false);
    expect(b.state).toBe('sync');
  });

  it('a sync crossing with a call left unsettled, or with slow calls, goes back to async, and the next promotion needs twice the streak', () => {
    const m = mode(new SyncBudget(2));
    for (let i = 0; i < S; i++) m.asyncCrossing(0.1, 1, false);
    m.syncCrossing(0.05, 4, true);
    expect(m.state).toBe('async');
    for (let i = 0; i < 2 * S - 1; i++) m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('async');
    m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('sync');
    m.syncCrossing(1.9, 1, false); // one slow crossing (a collection) is not a trend
    expect(m.state).toBe('sync');
    for (let i = 0; i < 30 && m.state === 'sync'; i++) m.syncCrossing(0.6, 1, false); // recent calls past budget / 8 each
    expect(m.state).toBe('async');
    for (let i = 0; i < 4 * S; i++) m.asyncCrossing(0.1, 1, false);
    expect(m.state).toBe('sync');
  });

  it('an overrun that used the budget\'s CPU is a strike: promotions need 4× the streak, and at 3 strikes the function never crosses synchronously, on any instance; others are not touched', () => {
    const overruns: string[] = [];
    const budget = new SyncBudget(2, (f) => overruns.push(f));
    const promote = (m: SyncMode, calls: number) => { for (let i = 0; i < calls; i++) m.asyncCrossing(0.1, 1, false); };
    const a = mode(budget, 'f'), b = mode(budget, 'f'), other = mode(budget, 'g');
    promote(a, S); promote(b, S); promote(other, S);
    a.overran(1.9);
    expect(overruns).toEqual(['f']);
    expect(a.state).toBe('never'); // this instance is being killed
    const second = mode(budget, 'f');
    promote(second, 4 * S - 1);
    expect(second.state).toBe('async');
    promote(second, 1);
    expect(second.state).toBe('sync');
    second.overran(2);
    const third = mode(budget, 'f');
    promote(third, 16 * S);
    expect(third.state).toBe('sync');
    third.overran(5);
    expect(overruns).toEqual(['f', 'f', 'f']);
    const fourth = mode(budget, 'f');
    expect(fourth.state).toBe('never');
    promote(fourth, 100 * S);
    expect(fourth.state).toBe('never');
    // b was sync already: its next crossing goes async, and it is never promoted again.
    expect(b.state).toBe('sync');
    expect(b.crossesNow()).toBe(false);
    promote(b, 100 * S);
    expect(b.state).toBe('never');
    expect(other.crossesNow()).toBe(true);
  });

  it('a strike is forgiven after FORGIVE_AFTER_CALLS calls settled in sync crossings; a function out of strikes is never forgiven', () => {
    const budget = new SyncBudget(2);
    const sync = (name = 'f') => {
      const m = mode(budget, name);
      for (let i = 0; i < budget.streakFor(name); i++) m.asyncCrossing(0.1, 1, false);
      expect(m.state).toBe('sync');
      return m;
    };
    sync().overran(2);
    sync().overran(2);
    expect(budget.streakFor('f')).toBe(16 * S);
    const m = sync();
    // Calls in crossings of 64: the count goes by calls, not crossings.
    for (let i = 0; i < F / 64 - 1; i++) m.syncCrossing(0.3, 64, false);
    expect(budget.streakFor('f')).toBe(16 * S);
    m.syncCrossing(0.3, 64, false);
    expect(budget.streakFor('f')).toBe(4 * S);
    for (let i = 0; i < F / 64; i++) m.syncCrossing(0.3, 64, false);
    expect(budget.streakFor('f')).toBe(S);
    // A new strike starts the count again.
    m.overran(2);
    const n = sync();
    for (let i = 0; i < F / 64 - 1; i++) n.syncCrossing(0.3, 64, false);
    n.overran(2);
    n.overran(2);
    expect(budget.allows('f')).toBe(false);
    // Out of strikes: its instances never cross synchronously, so nothing forgives it.
    budget.settled('f', 10 * F);
    expect(budget.allows('f')).toBe(false);
  });

  it('an overrun the machine caused (the isolate used under ¾ of the budget in CPU) costs the instance, not a strike', () => {
    const budget = new SyncBudget(2);
    for (let i = 0; i < 10; i++) {
      const m = mode(budget, 'f');
      for (let j = 0; j < S; j++) m.asyncCrossing(0.1, 1, false);
      expect(m.state).toBe('sync');
      m.overran(0.4);
    }
    expect(budget.allows('f')).toBe(true);
    expect(budget.streakFor('f')).toBe(S);
  });

  it('a budget of 0 never crosses synchronously', () => {
    const m = mode(new SyncBudget(0));
    expect(m.state).toBe('never');
  });

  it('a sync crossing carries as many calls as fit in an eighth of the budget at the recent time per call, and at most MAX_SYNC_BATCH', () => {
    const m = mode(new SyncBudget(2));
    for (let i = 0; i < S; i++) m.asyncCrossing(0.1, 1, false);
    for (let i = 0; i < 60; i++) m.syncCrossing(0.2, 20, false); // 10 µs a call
    expect(m.maxBatch).toBeGreaterThanOrEqual(23);
    expect(m.maxBatch).toBeLessThanOrEqual(26);
    // Very short calls: the cap, whatever the budget would allow (a collection in a big batch is not
    // in the average).
    const fast = mode(new SyncBudget(50));
    for (let i = 0; i < S; i++) fast.asyncCrossing(0.1, 1, false);
    for (let i = 0; i < 60; i++) fast.syncCrossing(0.02, 20, false); // 1 µs a call
    expect(fast.maxBatch).toBe(MAX_SYNC_BATCH);
  });
});
