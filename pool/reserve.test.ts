import { describe, expect, it } from 'vitest';
import { Reserve } from './reserve.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function source(target: Record<string, number>, opts: { failFirst?: number } = {}) {
  let made = 0, inFlight = 0, maxInFlight = 0, fails = opts.failFirst ?? 0;
  const disposed: number[] = [];
  return {
    stats: () => ({ made, maxInFlight, disposed }),
    src: {
      next: (have: (k: string) => number) => Object.keys(target).find((k) => have(k) < target[k]!) ?? null,
      make: async () => {
        inFlight++; maxInFlight = Math.max(maxInFlight, inFlight);
        await sleep(2);
        inFlight--;
        if (fails > 0) { fails--; throw new Error('no'); }
        return ++made;
      },
      dispose: (n: number) => { disposed.push(n); },
      failed: () => 5,
    },
  };
}

describe('Reserve', () => {
  it('fills every key to its target, one make at a time', async () => {
    const s = source({ a: 2, b: 1 });
    const r = new Reserve(s.src, 5);
    const full = r.full();
    r.fill();
    await full;
    expect(r.size).toBe(3);
    expect(s.stats().maxInFlight).toBe(1);
  });

  it('a take refills later; what accept refuses stays', async () => {
    const s = source({ a: 2 });
    const r = new Reserve(s.src, 5);
    r.fill();
    await r.full();
    expect(r.take('a', () => false)).toBeUndefined();
    const got = r.take('a');
    expect(got).toBeTypeOf('number');
    expect(r.size).toBe(1);
    await sleep(40);
    expect(r.size).toBe(2);
  });

  it('is full once what failed is not retried and the rest is made (a missing image does not hold readiness)', async () => {
    const missing = new Set<string>();
    const r = new Reserve<number>({
      next: (have) => ['gone', 'here'].find((k) => !missing.has(k) && have(k) < 1) ?? null,
      make: async (k) => {
        await sleep(1);
        if (k === 'gone') { missing.add(k); throw new Error('no such image'); }
        return 1;
      },
      dispose: () => undefined,
      failed: (k) => (missing.has(k) ? null : 5),
    }, 5);
    const full = r.full();
    r.fill();
    await full; // hung before: after a failure not retried, nothing went on to the other keys
    expect(r.size).toBe(1);
    expect(r.take('here')).toBe(1);
  });

  it('retries after a failed make, and close disposes what is ready and what was being made', async () => {
    const s = source({ a: 1 }, { failFirst: 2 });
    const r = new Reserve(s.src, 5);
    r.fill();
    await r.full();
    expect(r.size).toBe(1);
    r.take('a');
    await sleep(6); // a make is running now
    await r.close();
    expect(r.size).toBe(0);
    expect(s.stats().disposed.length).toBe(s.stats().made - 1);
  });
});
