// The hostile-tenant tests' two instruments: a neighbour (a well-behaved function called at a
// steady rate while an attack runs, whose every call must succeed) and Hearth's resident memory
// (read from /proc, so "RSS back down after the attack" is checked on the real process).

import * as bench from '../../bench/processes.js';
import type { Hearth } from './hearth.js';
import { deployOk, jsSource } from './hearth.js';

/** Hearth's resident set in MiB, from /proc/PID/status (the bench's reading). */
export function rssMiB(h: Hearth): number {
  return bench.rssMiB(h.proc.pid!);
}

/** Open file descriptors of Hearth's process. */
export function openFds(h: Hearth): number {
  return bench.openFds(h.proc.pid!);
}

/**
 * Hearth's RSS once it has settled (bench/processes.ts: two readings `settleMs` apart within
 * 8 MiB, or `maxMs`). RSS is not asserted on the way down (V8 gives pages back lazily); only
 * where it settles.
 */
export function settledRssMiB(h: Hearth, { settleMs = 500, maxMs = 20_000 } = {}): Promise<number> {
  return bench.settledRssMiB(h.proc.pid!, { settleMs, maxMs });
}

export interface NeighbourReport {
  calls: number;
  /** Calls that did not answer 200 with the expected body: status and a snippet of the body. */
  failures: string[];
}

export interface Neighbour {
  stop(): Promise<NeighbourReport>;
}

export const NEIGHBOUR_SOURCE = 'exports.handler = async (e) => ({ ok: true, n: e.n })';

/** Deploys the neighbour function (`name`, a plain js echo). */
export async function deployNeighbour(h: Hearth, name = 'neighbour'): Promise<void> {
  await deployOk(h, name, jsSource(NEIGHBOUR_SOURCE));
}

/**
 * Calls `name` at `ratePerSec` (one call at a time per tick, never more than `maxInFlight`
 * outstanding) until stopped. Every call must answer 200 with `{ ok: true, n }`.
 */
export function startNeighbour(h: Hearth, { name = 'neighbour', ratePerSec = 50, maxInFlight = 64, headers = {} as Record<string, string> } = {}): Neighbour {
  const report: NeighbourReport = { calls: 0, failures: [] };
  const pending = new Set<Promise<void>>();
  let n = 0;
  const one = async (): Promise<void> => {
    const i = n++;
    try {
      const r = await fetch(`${h.url}/v1/functions/${name}/invoke`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ n: i }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await r.text();
      if (r.status !== 200 || text !== JSON.stringify({ ok: true, n: i })) report.failures.push(`${r.status} ${text.slice(0, 200)}`);
    } catch (err) {
      report.failures.push(`error ${(err as Error).message}`);
    } finally {
      report.calls++;
    }
  };
  const tick = () => {
    if (pending.size >= maxInFlight) return;
    const p = one().finally(() => pending.delete(p));
    pending.add(p);
  };
  // The first call at once: a short attack (a few requests) still has a neighbour call beside it.
  tick();
  const timer = setInterval(tick, 1000 / ratePerSec);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      return report;
    },
  };
}
