// The reserve of a running Hearth (blank isolates, stem cells: instances made ahead of need), as
// GET /readyz tells it. `hearth bench` spaces its cold calls with it, so each meets the reserve as
// a real first call would: full (or, with --no-reserve, not used at all: X-Hearth-Force-Cold:
// scratch). No Node imports: the console's bundle may take this file as it is.

import type { ReserveCount, ReserveState } from './types.js';

export interface ReserveTokens {
  adminToken?: string;
  invokeToken?: string;
}

/** Hearth could not be asked (unreachable, or an answer that is not /readyz's). */
export class ReserveStateError extends Error {
  override readonly name = 'ReserveStateError';
}

/**
 * The reserve now. null while Hearth cannot say: not ready yet or draining (503), or a Hearth that
 * predates `reserve` in /readyz. /readyz is public; a token is sent when there is one (a proxy in
 * front may want it).
 */
export async function reserveState(url: string, tokens: ReserveTokens = {}, signal?: AbortSignal): Promise<ReserveState | null> {
  const token = tokens.adminToken ?? tokens.invokeToken;
  let res: Response;
  try {
    res = await fetch(new URL('/readyz', url), {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ReserveStateError(`cannot reach Hearth at ${url} (${cause?.code ?? cause?.message ?? (err as Error).message})`);
  }
  const text = await res.text();
  if (res.status === 503) return null;
  if (res.status !== 200) throw new ReserveStateError(`GET /readyz answered ${res.status}: ${text.slice(0, 200)}`);
  let body: { reserve?: unknown };
  try {
    body = JSON.parse(text) as { reserve?: unknown };
  } catch {
    throw new ReserveStateError(`GET /readyz answered something that is not JSON: ${text.slice(0, 200)}`);
  }
  return isReserveState(body.reserve) ? body.reserve : null;
}

function isCount(v: unknown): v is ReserveCount {
  return typeof v === 'object' && v !== null && typeof (v as ReserveCount).ready === 'number' && typeof (v as ReserveCount).target === 'number';
}

function isReserveState(v: unknown): v is ReserveState {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<ReserveState>;
  return isCount(r.isolates) && typeof r.containers === 'object' && r.containers !== null;
}

/**
 * The part of the reserve a cold start of this runtime (spec.ts Runtimes) draws on: blank isolates (js, web
 * functions), a runtime's stem cells (python3, java17); null for a runtime the reserve has nothing
 * for (custom images: always from scratch).
 */
export function reserveFor(state: ReserveState, runtime: string, memoryMb?: number): ReserveCount | null {
  if (runtime === 'js') {
    if (memoryMb !== undefined) {
      // Only the kinds of this size; none kept yet: the sum (Hearth starts keeping one once asked).
      let ready = 0, target = 0, any = false;
      for (const k of Object.values(state.isolates.kinds)) {
        if (k.memoryMb === memoryMb) { ready += k.ready; target += k.target; any = true; }
      }
      if (any) return { ready, target, memoryMb };
    }
    return state.isolates;
  }
  const c = state.containers[runtime];
  // Stem cells are made at one size: a function of another size never takes one.
  if (c === undefined || (memoryMb !== undefined && c.memoryMb !== undefined && c.memoryMb !== memoryMb)) return null;
  return c;
}

/**
 * Whether a cold start of this runtime would meet a full reserve now (true when there is none to
 * wait for); runtime null (not known): whether every part of it is full.
 */
export function reserveFull(state: ReserveState, runtime: string | null, memoryMb?: number): boolean {
  if (runtime === null) return [state.isolates, ...Object.values(state.containers)].every((r) => r.ready >= r.target);
  const r = reserveFor(state, runtime, memoryMb);
  return r === null || r.ready >= r.target;
}
