// The synchronous crossing (issue 16, point 3; pool/isolate/sync-mode.ts) against functions that
// change their ways once they are trusted with it, on a real Hearth over HTTP: a JS function whose
// calls are short crosses into its isolate on the main thread, under a CPU budget
// (--sync-budget-ms). A call that then runs past the budget is stopped there and sent again on the
// async path: it answers as if nothing happened (its stopped attempt leaves no log line), and the
// main thread was held no longer than the budget, so a neighbour's calls answer all the while.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployNeighbour, startNeighbour } from '../support/neighbour.js';
import { deployOk, functionMetric, jsSource, startHearth, type Hearth } from '../support/hearth.js';
import { waitFor } from '../support/until.js';

let h: Hearth;
beforeAll(async () => {
  h = await startHearth({ args: ['--sync-budget-ms', '5'] });
  await deployNeighbour(h);
});
afterAll(async () => { await h?.stop(); });

const metric = (name: string, fn: string) => functionMetric(h, name, fn);

/** How the function's live instances cross now ('sync', 'async', 'never'). */
async function crossings(name: string): Promise<string[]> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`);
  const body = (await r.json()) as { instances: { state: string; detail?: { crossing?: string } }[] };
  return body.instances.map((i) => String(i.detail?.crossing));
}

/** Calls `name` with `event` until its instance crosses synchronously (short calls earn it). */
async function untilSync(name: string, event: unknown): Promise<void> {
  await waitFor(async () => {
    // A burst at a time: the promotion counts calls, not time.
    const rs = await Promise.all(Array.from({ length: 64 }, () => h.invoke(name, event)));
    for (const r of rs) expect(r.status).toBe(200);
    return (await crossings(name)).includes('sync');
  }, 60_000, async () => `${name} crosses synchronously (now: ${(await crossings(name)).join(', ')})`, 0);
}

const SPINNER = `exports.handler = async (e) => {
  console.log('run ' + e.n);
  await null;
  const end = Date.now() + (e.spinMs || 0);
  while (Date.now() < end);
  return { n: e.n };
};`;

describe('the synchronous crossing under its CPU budget (issue 16, point 3)', () => {
  it('a short function crosses synchronously; a call that then runs 50 ms is stopped at the budget and answered from a run on the async path, its stopped attempt leaving no log line', async () => {
    await deployOk(h, 'spinner', jsSource(SPINNER, { timeoutMs: 10_000, maxInstances: 1 }));
    await untilSync('spinner', { n: 0 });
    const r = await h.invoke('spinner', { n: 7, spinMs: 50 });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ n: 7 });
    // The call ran twice, once stopped: the record has the line of the run that answered, once.
    const rec = (await (await fetch(`${h.url}/v1/invocations/${r.headers.get('x-hearth-request-id')}`)).json()) as { logs: { message: string }[] };
    expect(rec.logs.map((l) => l.message)).toEqual(['run 7']);
    // (More than 1 when the machine also stretched a short crossing past the budget: counted too.)
    expect(await metric('hearth_sync_budget_overruns_total', 'spinner')).toBeGreaterThanOrEqual(1);
    // The stopped instance was replaced; the new one starts over on the async path (and, with a
    // strike, needs 4× the short calls to cross synchronously again: sync-mode.test.ts).
    expect(await crossings('spinner')).not.toContain('sync');
  }, 120_000);

  it('a function that loops forever once trusted holds the main thread no longer than the budget: the neighbour answers all through the loop, and the call ends at its own timeout', async () => {
    await deployOk(h, 'trap', jsSource(`exports.handler = async (e) => { await null; if (e.trap) for (;;); return { n: e.n }; };`, { timeoutMs: 2_000, maxInstances: 1 }));
    await untilSync('trap', { n: 0 });
    const neighbour = startNeighbour(h, { ratePerSec: 50 });
    let during = 0;
    let trapDone = false;
    const counting = (async () => {
      // Neighbour calls answered while the trap call is in flight (not timed: counted).
      while (!trapDone) {
        const r = await h.invoke('neighbour', { n: -1 });
        if (!trapDone && r.status === 200) during++;
      }
    })();
    const trap = await h.invoke('trap', { n: 1, trap: true });
    trapDone = true;
    await counting;
    const report = await neighbour.stop();
    // Stopped at the budget, sent again asynchronously, where it loops to its own timeout.
    expect(trap.status).toBe(504);
    expect(((await trap.json()) as { errorType: string }).errorType).toBe('Timeout');
    expect(report.failures).toEqual([]);
    // Had the loop held the main thread, no HTTP answer could have been written during it.
    expect(during).toBeGreaterThan(0);
    expect(await metric('hearth_sync_budget_overruns_total', 'trap')).toBeGreaterThanOrEqual(1);
    // Its next instance starts over on the async path. (Strikes, and the function staying async
    // after 3: sync-mode.test.ts, where the calls it takes are not a minute of load.)
    expect((await h.invoke('trap', { n: 2 })).status).toBe(200);
    expect(await crossings('trap')).not.toContain('sync');
  }, 180_000);

  it('a function whose calls start waiting for a timer answers them all, and does not stay synchronous', async () => {
    await deployOk(h, 'waiter', jsSource(`exports.handler = async (e) => { if (e.wait) await new Promise((r) => setTimeout(r, 1)); return { n: e.n }; };`, { maxInstances: 1 }));
    await untilSync('waiter', { n: 0 });
    // From here on every call waits for a timer: each answers (late, through the result channel).
    const later = await Promise.all(Array.from({ length: 300 }, (_, i) => h.invoke('waiter', { n: i, wait: true })));
    for (const [i, r] of later.entries()) {
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ n: i });
    }
    expect(await crossings('waiter')).not.toContain('sync');
  }, 120_000);

  it('a function that would sleep in Atomics.wait once trusted cannot: it throws (no thread sleeps, the main thread least of all)', async () => {
    await deployOk(h, 'sleeper', jsSource(`
const cell = new Int32Array(new SharedArrayBuffer(4));
exports.handler = async (e) => {
  if (!e.sleep) return { n: e.n };
  try { return { slept: Atomics.wait(cell, 0, 0, 50) }; } catch (err) { return { refused: String(err) }; }
};`, { maxInstances: 1 }));
    await untilSync('sleeper', { n: 0 });
    const r = await h.invoke('sleeper', { sleep: true });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ refused: 'TypeError: Atomics.wait cannot be called in this context' });
  }, 120_000);
});
