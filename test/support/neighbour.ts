// The hostile-tenant tests' two instruments: a neighbour (a well-behaved function called at a
// steady rate while an attack runs, whose every call must succeed) and Hearth's resident memory
// (read from /proc, so "RSS back down after the attack" is checked on the real process).

import { readFileSync, readdirSync } from 'node:fs';
import type { Hearth } from './hearth.js';
import { deployOk, jsSource } from './hearth.js';

/** Hearth's resident set in MiB, from /proc/PID/status. */
export function rssMiB(h: Hearth): number {
  const status = readFileSync(`/proc/${h.proc.pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${h.proc.pid}`);
  return Number(m[1]) / 1024;
}

/** Open file descriptors of Hearth's process. */
export function openFds(h: Hearth): number {
  return readdirSync(`/proc/${h.proc.pid}/fd`).length;
}

/**
 * Hearth's RSS once it has settled: polls until two readings `settleMs` apart differ by less
 * than 8 MiB or `maxMs` passes, and returns the last reading. RSS is not asserted on the way
 * down (V8 gives pages back lazily); only where it settles.
 */
export async function settledRssMiB(h: Hearth, { settleMs = 500, maxMs = 20_000 } = {}): Promise<number> {
  const end = Date.now() + maxMs;
  let last = rssMiB(h);
  for (;;) {
    await new Promise((r) => setTimeout(r, settleMs));
    const now = rssMiB(h);
    if (Math.abs(now - last) < 8 || Date.now() > end) return now;
    last = now;
  }
}

export interface NeighbourReport {
  calls: number;
  /** Calls that did not answer 200 with the expected body: status and a snippet of the body. */
  failures: string[];
  /** Latencies in ms, in call order. Reported, never asserted by tests (the bench asserts ratios). */
  latencies: number[];
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
  const report: NeighbourReport = { calls: 0, failures: [], latencies: [] };
  const pending = new Set<Promise<void>>();
  let n = 0;
  const one = async (): Promise<void> => {
    const i = n++;
    const t0 = performance.now();
    try {
      const r = await fetch(`${h.url}/v1/functions/${name}/invoke`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ n: i }),
        signal: AbortSignal.timeout(60_000),
      });
      const text = await r.text();
      report.latencies.push(performance.now() - t0);
      if (r.status !== 200 || text !== JSON.stringify({ ok: true, n: i })) report.failures.push(`${r.status} ${text.slice(0, 200)}`);
    } catch (err) {
      report.failures.push(`error ${(err as Error).message}`);
    } finally {
      report.calls++;
    }
  };
  const timer = setInterval(() => {
    if (pending.size >= maxInFlight) return;
    const p = one().finally(() => pending.delete(p));
    pending.add(p);
  }, 1000 / ratePerSec);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...pending]);
      return report;
    },
  };
}

/** The p-th percentile (0–100) of `xs` (nearest rank). */
export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
