// Aliases: a name for a function's version, optionally splitting calls with one more version by
// weight (Lambda's routing config), and holding reserved instances for what it points to. Owns the
// alias spec (parse, name rule), the hot-path route (AliasRoute) and what an alias reserves.

import { z } from 'zod';
import type { FunctionVersion } from '../backend.js';
import { HearthError } from '../errors.js';

/** Not a number (those are versions), not $LATEST. Lambda's rule. */
export const ALIAS_NAME = /^(?!\d+$)[A-Za-z0-9_-]{1,128}$/;

export const AliasSpecSchema = z.strictObject({
  /** A published version number, or "$LATEST". */
  version: z.string().min(1),
  /** At most one more published version and the share of calls it gets (0..1). */
  additionalVersionWeights: z.record(z.string().regex(/^\d+$/, 'keys must be published version numbers'), z.number().min(0).max(1))
    .refine((w) => Object.keys(w).length <= 1, 'at most one additional version')
    .default({}),
  /** Reserved instances kept warm for this alias (split between its versions by weight). */
  minInstances: z.number().int().min(0).max(1_000).default(0),
  description: z.string().max(256).default(''),
});

export type AliasSpec = z.output<typeof AliasSpecSchema>;

export function parseAliasSpec(body: unknown): AliasSpec {
  const r = AliasSpecSchema.safeParse(body);
  if (!r.success) {
    throw new HearthError('InvalidSpec', r.error.issues.map((i) => `${i.path.join('.') || 'alias'}: ${i.message}`).join('; '));
  }
  return r.data;
}

export function checkAliasName(alias: string): void {
  if (!ALIAS_NAME.test(alias)) {
    throw new HearthError('InvalidSpec', `alias: "${alias}" must be 1-128 of [A-Za-z0-9_-] and not only digits (numbers are versions)`);
  }
}

/**
 * What an alias resolves to on the hot path: the primary version, or the additional one with
 * probability `weight` (one Math.random per call, no allocation).
 */
export class AliasRoute {
  constructor(
    readonly alias: string,
    readonly primary: FunctionVersion,
    readonly extra: FunctionVersion | null,
    readonly weight: number,
  ) {}

  pick(): FunctionVersion {
    return this.extra !== null && Math.random() < this.weight ? this.extra : this.primary;
  }
}

/**
 * Reserved instances an alias asks of each version it points to: its minInstances split by weight,
 * rounded up (an alias with min 2 and 10% to a new version keeps 2 of the old one and 1 of the new).
 */
export function aliasReservations(spec: AliasSpec): Map<string, number> {
  const out = new Map<string, number>();
  if (spec.minInstances === 0) return out;
  const [extra, w] = Object.entries(spec.additionalVersionWeights)[0] ?? [null, 0];
  out.set(spec.version, Math.ceil(spec.minInstances * (1 - w)));
  if (extra !== null && w > 0) out.set(extra, (out.get(extra) ?? 0) + Math.ceil(spec.minInstances * w));
  return out;
}
