// The cold phase: each call on a fresh instance (X-Hearth-Force-Cold), spaced so that the reserve
// of pre-made blank isolates (or stem cells) is back where a real first call would find it: a cold
// call right after another would otherwise meet a reserve still refilling and measure that instead.

import { BenchClient, type CallTarget, type ForceCold } from './client.js';
import { reserveFull, reserveState, type ReserveTokens } from './reserve-state.js';
import type { CallSample, ReserveState } from './types.js';

/** Cold calls refused for want of the admin token (Hearth has one; none or a wrong one was given). */
export class NeedsAdminToken extends Error {
  constructor(given: boolean) {
    super(given
      ? 'cold calls (X-Hearth-Force-Cold) were refused: HEARTH_ADMIN_TOKEN is not the token Hearth was started with'
      : 'cold calls (X-Hearth-Force-Cold) need the admin token: set HEARTH_ADMIN_TOKEN, or pass --cold 0');
  }
}

export interface ReserveWait {
  waitedMs: number;
  /** false: the bound passed before the reserve was full (the call went on anyway). */
  reached: boolean;
}

const RESERVE_BOUND_MS = 10_000;
const RESERVE_POLL_MS = 25;
const SETTLE_MS = 50;

/**
 * Waits until the reserve a cold start of `runtime` draws on (blank isolates, its stem cells; every
 * part when the runtime is unknown) is full, as GET /readyz's `reserve` tells (reserve-state.ts), at
 * most RESERVE_BOUND_MS, then a short settle so the refill's own work is off the CPU. A Hearth that
 * cannot say (not ready, older) is not waited for. The one place that decides when a cold call may go.
 */
export async function waitForReserve(baseUrl: string, runtime: string | null, tokens: ReserveTokens, signal?: AbortSignal): Promise<ReserveWait> {
  const start = performance.now();
  let reached = false;
  while (!signal?.aborted && performance.now() - start < RESERVE_BOUND_MS) {
    let state: ReserveState | null;
    try {
      state = await reserveState(baseUrl, tokens, signal);
    } catch {
      state = null; // unreachable now: the call itself will say so
    }
    if (state === null || reserveFull(state, runtime)) { reached = true; break; }
    await sleep(RESERVE_POLL_MS);
  }
  await sleep(SETTLE_MS);
  return { waitedMs: performance.now() - start, reached };
}

export interface ColdPhaseOptions {
  client: BenchClient;
  baseUrl: string;
  /** In the order the calls go round (A, B, A, B… with --compare). */
  targets: CallTarget[];
  /** Calls per target. */
  n: number;
  /** false: X-Hearth-Force-Cold: scratch (a fresh instance made from nothing, not taken from the reserve). */
  reserve: boolean;
  adminToken: string | undefined;
  /** The function's runtime (spec.ts Runtimes): which part of the reserve to wait for; null: all of it. */
  runtime: string | null;
  samples: { push(s: CallSample): unknown };
  signal?: AbortSignal;
  onCall?: (target: CallTarget, done: number) => void;
}

export interface ColdPhaseResult {
  /** Wall time per target label: the sum of its calls' latencies (the waits between them are ours, not its). */
  wallMs: Map<string, number>;
  /** Calls whose wait for the reserve hit the bound. */
  unsettled: number;
}

export async function coldPhase(o: ColdPhaseOptions): Promise<ColdPhaseResult> {
  const force: ForceCold = o.reserve ? 'true' : 'scratch';
  const tokens = o.adminToken === undefined ? {} : { adminToken: o.adminToken };
  const wallMs = new Map<string, number>(o.targets.map((t) => [t.label, 0]));
  const done = new Map<string, number>(o.targets.map((t) => [t.label, 0]));
  let unsettled = 0;
  for (let i = 0; i < o.n; i++) {
    for (const t of o.targets) {
      if (o.signal?.aborted) return { wallMs, unsettled };
      const wait = await waitForReserve(o.baseUrl, o.runtime, tokens, o.signal);
      if (!wait.reached) unsettled++;
      const s = await o.client.call(t, 'cold', force, o.adminToken);
      if (o.signal?.aborted) return { wallMs, unsettled }; // cut by the stop: not a measurement
      if (s.status === 401) throw new NeedsAdminToken(o.adminToken !== undefined);
      o.samples.push(s);
      wallMs.set(t.label, wallMs.get(t.label)! + s.latencyMs);
      done.set(t.label, done.get(t.label)! + 1);
      o.onCall?.(t, done.get(t.label)!);
    }
  }
  return { wallMs, unsettled };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
