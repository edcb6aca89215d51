// A steady load of single calls at a fixed rate, each call timed and checked, for the sections that
// need per-call records rather than wrk's summary: `hostile` (a neighbour's latency in a window
// with no attack against one during an attack) and `soak` (several functions for minutes, faults
// among them). The calls are made from the bench process with fetch, one per tick; a tick that
// finds `maxInFlight` calls outstanding is counted as not sent (the target fell that far behind).

import { dist, type Dist } from './section.js';

export interface CallRecord {
  /** When the call was sent, ms on performance.now()'s clock. */
  at: number;
  ms: number;
  ok: boolean;
  /** What was wrong, when not ok (status and a snippet, or the client's error). */
  detail?: string;
}

export interface Steady {
  readonly records: CallRecord[];
  /** Ticks at which maxInFlight calls were still outstanding, so no call was sent. */
  readonly notSent: number;
  /** Stops sending; resolves once every call sent has answered. */
  stop(): Promise<CallRecord[]>;
}

/**
 * Calls `call(i)` `ratePerSec` times a second until stopped. The schedule catches up after a late
 * timer (calls due are sent together), so a stalled bench event loop does not lower the rate.
 */
export function steadyCalls(ratePerSec: number, call: (i: number) => Promise<{ ok: boolean; detail?: string }>, { maxInFlight = 256 } = {}): Steady {
  const records: CallRecord[] = [];
  const pending = new Set<Promise<void>>();
  const t0 = performance.now();
  let sent = 0;
  let notSent = 0;
  const one = (i: number) => {
    const at = performance.now();
    const p = call(i).then(
      (o) => { records.push({ at, ms: performance.now() - at, ok: o.ok, ...(o.detail === undefined ? {} : { detail: o.detail }) }); },
      (err: unknown) => { records.push({ at, ms: performance.now() - at, ok: false, detail: `client error: ${(err as Error).message}` }); },
    ).finally(() => pending.delete(p));
    pending.add(p);
  };
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * ratePerSec);
    while (sent < due) {
      if (pending.size >= maxInFlight) notSent++;
      else one(sent);
      sent++;
    }
  }, Math.max(1, Math.floor(1000 / ratePerSec / 2)));
  return {
    records,
    get notSent() { return notSent; },
    async stop() {
      clearInterval(timer);
      while (pending.size > 0) await Promise.all([...pending]);
      return records;
    },
  };
}

/** One HTTP call with a deadline; ok when `check` accepts the status and body. */
export async function checkedFetch(url: string, init: RequestInit, check: (status: number, text: string) => boolean, timeoutMs = 60_000): Promise<{ ok: boolean; detail?: string; status: number; text: string }> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  const ok = check(r.status, text);
  return ok ? { ok, status: r.status, text } : { ok, detail: `${r.status} ${text.slice(0, 200)}`, status: r.status, text };
}

export interface WindowStats {
  latency: Dist;
  calls: number;
  errors: number;
  /** Up to 5 distinct error details. */
  errorSamples: string[];
}

/** The calls sent in [from, to): their latencies and errors. */
export function windowStats(records: CallRecord[], from: number, to: number): WindowStats {
  const inside = records.filter((r) => r.at >= from && r.at < to);
  const bad = inside.filter((r) => !r.ok);
  return {
    latency: dist(inside.map((r) => r.ms)),
    calls: inside.length,
    errors: bad.length,
    errorSamples: [...new Set(bad.map((r) => r.detail ?? '?'))].slice(0, 5),
  };
}
