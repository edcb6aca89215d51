// `hearth bench`'s engine: resolve the function, measure the load generator's floor (baseline),
// then the cold phase, then the warm phase (after warm-up calls that are not counted), for one
// target or, with --compare, two qualifiers of one function in alternating rounds.

import os from 'node:os';
import { BenchClient, type CallTarget } from './client.js';
import { coldPhase } from './cold.js';
import { overhead } from './overhead.js';
import { SampleStore } from './sample-store.js';
import { summarize } from './stats.js';
import type { BenchResult, BenchSettings, Overhead, Progress, RunOptions, TargetResult } from './types.js';
import { warmLoop } from './warm.js';

/** Why a run could not start: Hearth unreachable, or no such function (the command's exit 1). */
export class BenchTargetError extends Error {}

/**
 * Warm rounds with --compare: A,B,A,B,A,B, each target getting a third of its calls or time per
 * round. With --compare, --warm N and --duration S are each target's: N calls and S seconds each.
 */
export const COMPARE_ROUNDS = 6;
/** Warm-up calls per target and concurrency slot before the warm phase (not counted). */
export const WARMUP_PER_WORKER = 2;

export function splitTarget(s: string): { name: string; qualifier: string | null } {
  const i = s.indexOf(':');
  return i < 0 ? { name: s, qualifier: null } : { name: s.slice(0, i), qualifier: s.slice(i + 1) || null };
}

/** The other qualifier of --compare as a target string (NAME:QUALIFIER). */
export function compareTarget(settings: BenchSettings): string | null {
  if (settings.compare === null) return null;
  return `${splitTarget(settings.target).name}:${settings.compare}`;
}

interface FunctionInfo {
  runtime: string | null;
}

/** GET /v1/functions/{name}: its runtime; 404 means no such function; 401 (no token) tells nothing. */
async function resolveFunction(url: string, name: string, adminToken: string | undefined): Promise<FunctionInfo> {
  let r: Response;
  try {
    r = await fetch(new URL(`/v1/functions/${encodeURIComponent(name)}`, url), {
      headers: adminToken ? { authorization: `Bearer ${adminToken}` } : {},
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new BenchTargetError(`cannot reach Hearth at ${url} (${cause?.code ?? cause?.message ?? (err as Error).message}): is \`hearth serve\` running there? Point --url or HEARTH_URL at it`);
  }
  if (r.status === 404) throw new BenchTargetError(`function "${name}" does not exist (hearth ls lists them)`);
  if (r.status !== 200) {
    await r.arrayBuffer();
    return { runtime: null };
  }
  const body = (await r.json()) as { runtime?: unknown };
  return { runtime: typeof body.runtime === 'string' ? body.runtime : null };
}

const tierOf = (runtime: string | null): TargetResult['tier'] => (runtime === null ? null : runtime === 'js' ? 'isolate' : 'container');

/** Equal shares of `total` over `parts` (the first ones get the remainder). */
function shares(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

export async function runBench(settings: BenchSettings, opts: RunOptions = {}): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const { signal } = opts;
  const progress = (p: Progress) => opts.onProgress?.(p);
  const labels = [settings.target, ...(compareTarget(settings) ? [compareTarget(settings)!] : [])];
  const { name } = splitTarget(settings.target);
  const info = await resolveFunction(settings.url, name, opts.adminToken);
  const callToken = opts.invokeToken ?? opts.adminToken;
  const payload = Buffer.from(settings.payload);
  const targets: CallTarget[] = labels.map((label) => ({ label, ...splitTarget(label), web: settings.web, payload, token: callToken }));
  const samples = new SampleStore();
  const notes: string[] = [];
  const t0 = performance.now();
  // Fewer sockets than workers would make calls queue for one inside the agent, not in Hearth.
  const client = new BenchClient(settings.url, Math.max(1, settings.concurrency), t0, undefined, signal);
  const coldWall = new Map<string, number>(labels.map((l) => [l, 0]));
  const warmWall = new Map<string, number>(labels.map((l) => [l, 0]));
  let baseline: Overhead | null = null;
  try {
    // 0. Is the function (and each qualifier) there? One plain call each tells, and warms nothing
    // that matters: the cold calls each take a fresh instance anyway.
    for (const t of targets) {
      const probe = await client.call(t, 'warm');
      if (signal?.aborted) break;
      if (probe.status === 0 && probe.error !== 'ClientTimeout') throw new BenchTargetError(`cannot reach Hearth at ${settings.url} (${probe.error})`);
      if (probe.error === 'FunctionNotFound' || probe.error === 'VersionNotFound') {
        throw new BenchTargetError(`${t.label}: ${probe.error === 'FunctionNotFound' ? 'no such function' : 'no such version or alias'} (hearth ls lists the functions)`);
      }
    }

    // 1. The load generator's own floor.
    if (opts.baseline !== false && !signal?.aborted) {
      progress({ phase: 'baseline', target: 'uws-echo', done: 0, total: null, elapsedMs: 0 });
      baseline = await overhead(settings.concurrency, 1_500, settings.payload === '' ? '{}' : settings.payload, signal);
    }

    // 2. Cold: A, B, A, B… each spaced for the reserve.
    if (settings.cold > 0 && !signal?.aborted) {
      const start = performance.now();
      const cold = await coldPhase({
        client, baseUrl: settings.url, targets, n: settings.cold, reserve: settings.reserve, adminToken: opts.adminToken, runtime: info.runtime, samples,
        ...(signal ? { signal } : {}),
        onCall: (t, done) => progress({ phase: 'cold', target: t.label, done, total: settings.cold, elapsedMs: performance.now() - start }),
      });
      for (const [l, ms] of cold.wallMs) coldWall.set(l, ms);
      if (cold.unsettled > 0) notes.push(`${cold.unsettled} cold call(s) went before the reserve of pre-made instances was full again (waited 10 s)`);
    }

    // 3. Warm: warm-up calls first (not counted), then the load, in rounds with --compare.
    const warmBudget = settings.durationS === null ? settings.warm : null;
    if ((warmBudget === null || warmBudget > 0) && !signal?.aborted) {
      for (const t of targets) {
        await warmLoop({ call: () => client.call(t, 'warm'), concurrency: settings.concurrency, calls: settings.concurrency * WARMUP_PER_WORKER, durationMs: null, samples: null, ...(signal ? { signal } : {}) });
      }
      notes.push(`warm phase: ${settings.concurrency * WARMUP_PER_WORKER} warm-up calls per target first, not counted`);
      const rounds = targets.length === 1 ? 1 : COMPARE_ROUNDS;
      const perTarget = rounds / targets.length;
      const callShares = warmBudget === null ? null : shares(warmBudget, perTarget);
      // Each target's S seconds, over its rounds (rounds / targets of them).
      const timeShare = settings.durationS === null ? null : (settings.durationS * 1000) / perTarget;
      const done = new Map<string, number>(labels.map((l) => [l, 0]));
      const total = warmBudget;
      for (let r = 0; r < rounds && !signal?.aborted; r++) {
        const t = targets[r % targets.length]!;
        const before = done.get(t.label)!;
        const res = await warmLoop({
          call: () => client.call(t, 'warm'),
          concurrency: settings.concurrency,
          calls: callShares === null ? null : callShares[Math.floor(r / targets.length)]!,
          durationMs: timeShare,
          samples,
          ...(signal ? { signal } : {}),
          onProgress: (n, ms) => {
            done.set(t.label, before + n);
            progress({ phase: 'warm', target: t.label, done: before + n, total, elapsedMs: warmWall.get(t.label)! + ms });
          },
        });
        warmWall.set(t.label, warmWall.get(t.label)! + res.wallMs);
      }
    }
  } finally {
    client.close();
  }

  const kept = samples.kept();
  const results: TargetResult[] = labels.map((label) => ({
    target: label,
    runtime: info.runtime,
    tier: tierOf(info.runtime),
    version: client.versions.get(label) ?? null,
    cold: summarize(kept, 'cold', label, coldWall.get(label)!, samples.counts('cold', label)),
    warm: summarize(kept, 'warm', label, warmWall.get(label)!, samples.counts('warm', label)),
  }));
  for (const t of results) {
    const answered = kept.filter((s) => s.phase === 'cold' && s.target === t.target && s.cold !== null);
    const notCold = answered.filter((s) => s.cold === false).length;
    if (notCold > 0) {
      notes.push(`${t.target}: ${notCold} of ${answered.length} cold call(s) ran on a warm instance (Hearth did not honor X-Hearth-Force-Cold: ${settings.reserve ? 'true' : 'scratch'}${settings.web !== null ? ' on the web route' : ''})`);
    }
  }
  for (const g of samples.sampled()) {
    notes.push(`${g.phase} ${g.target}: latency percentiles, the picture and the samples are of a uniform sample of ${g.kept.toLocaleString('en-US')} of its ${g.calls.toLocaleString('en-US')} calls; counts, errors and calls/s are of all`);
  }
  if (signal?.aborted) notes.push('stopped before the end: the figures are of the calls made until then');
  return {
    settings,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    overhead: baseline,
    targets: results,
    ratios: results.length === 2 ? ratios(results[0]!, results[1]!) : null,
    samples: kept,
    notes,
  };
}

/** compare ÷ target for the figures a comparison is read by (null when either side has none). */
export function ratios(a: TargetResult, b: TargetResult): Record<string, number | null> {
  const div = (x: number | null, y: number | null): number | null => (x === null || y === null || y === 0 ? null : x / y);
  return {
    coldP50: div(b.cold.latency.p50, a.cold.latency.p50),
    coldP99: div(b.cold.latency.p99, a.cold.latency.p99),
    warmP50: div(b.warm.latency.p50, a.warm.latency.p50),
    warmP99: div(b.warm.latency.p99, a.warm.latency.p99),
    throughput: div(b.warm.throughput, a.warm.throughput),
    initP50: div(b.cold.init.p50, a.cold.init.p50),
    runP50: div(b.warm.run.p50, a.warm.run.p50),
  };
}
