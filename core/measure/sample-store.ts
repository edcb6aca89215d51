// Where a run's calls go: exact counts of every call (calls, ok, errors by type, how many were
// cold) per target and phase, and the calls themselves up to MAX_KEPT per target and phase. Past
// that, a uniform random sample of them is kept (reservoir sampling, Algorithm R), so a long run's
// memory stays bounded (a CallSample is ~150 bytes: 100,000 of them ~15 MB) while its
// percentiles, picture and --json stay representative of all its calls. The summaries say so.

import type { CallSample } from './types.js';

/** Calls kept per target and phase; past it, a uniform sample of this many. */
export const MAX_KEPT = 100_000;

/** What is counted of every call of one target and phase, kept or not. */
export interface ExactCounts {
  calls: number;
  ok: number;
  errors: Record<string, number>;
  cold: number;
}

interface Group extends ExactCounts {
  kept: CallSample[];
}

export class SampleStore {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly maxKept = MAX_KEPT, private readonly random: () => number = Math.random) {}

  /** One call (the load generator's and the cold phase's sink). */
  push(s: CallSample): void {
    const key = `${s.phase}\0${s.target}`;
    let g = this.groups.get(key);
    if (g === undefined) this.groups.set(key, (g = { calls: 0, ok: 0, errors: {}, cold: 0, kept: [] }));
    g.calls++;
    if (s.error === null) g.ok++;
    else g.errors[s.error] = (g.errors[s.error] ?? 0) + 1;
    if (s.cold === true) g.cold++;
    if (g.kept.length < this.maxKept) {
      g.kept.push(s);
    } else {
      // Algorithm R: the n-th call replaces a kept one with probability maxKept / n.
      const j = Math.floor(this.random() * g.calls);
      if (j < this.maxKept) g.kept[j] = s;
    }
  }

  /** The exact counts of one target and phase (zeros when it had no call). */
  counts(phase: 'cold' | 'warm', target: string): ExactCounts {
    const g = this.groups.get(`${phase}\0${target}`);
    return g === undefined ? { calls: 0, ok: 0, errors: {}, cold: 0 } : { calls: g.calls, ok: g.ok, errors: { ...g.errors }, cold: g.cold };
  }

  /** Every kept call, in the order they were sent (`at`). */
  kept(): CallSample[] {
    return [...this.groups.values()].flatMap((g) => g.kept).sort((a, b) => a.at - b.at);
  }

  /** Groups whose calls outnumbered what was kept: "warm hello: 100,000 of 3,200,000". */
  sampled(): { phase: 'cold' | 'warm'; target: string; kept: number; calls: number }[] {
    return [...this.groups].filter(([, g]) => g.calls > g.kept.length).map(([key, g]) => {
      const [phase, target] = key.split('\0') as ['cold' | 'warm', string];
      return { phase, target, kept: g.kept.length, calls: g.calls };
    });
  }
}
