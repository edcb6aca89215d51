// Records → what calls run: the frozen FunctionVersion objects of a function's $LATEST and
// published versions, its alias routes (one CatalogEntry), and the lifecycle flag each live digest
// shares. Pure apart from the lifecycles; telling the tiers is the registry's job.

import type { FunctionVersion } from '../backend.js';
import { aliasReservations, AliasRoute } from './aliases.js';
import { LATEST, type CatalogEntry } from './catalog.js';
import type { StoredCode, StoredRecord, StoredVersion } from './records.js';

export type Lifecycle = { retired: boolean };

/**
 * One flag per live digest, shared by every FunctionVersion object of it (an alias move rebuilds
 * the objects, the flag stays). Keyed by digest alone: a digest covers the function's name, so two
 * functions never share one.
 */
export class Lifecycles {
  private readonly byDigest = new Map<string, Lifecycle>();

  for(digest: string): Lifecycle {
    let l = this.byDigest.get(digest);
    if (!l) this.byDigest.set(digest, (l = { retired: false }));
    return l;
  }

  /** Calls that resolved this digest before now see it retired; a later deploy of it gets a new flag. */
  retire(digest: string): void {
    const l = this.byDigest.get(digest);
    if (l) l.retired = true;
    this.byDigest.delete(digest);
  }
}

/** For versions that never take calls: the deploy-time check. */
export const PREPARING: Lifecycle = Object.freeze({ retired: false });

/**
 * The function's versions and aliases as resolve() uses them, from its record; each version's
 * reserved instances are the most its own minInstances or its aliases ask for. `all`: every version
 * (not the aliases), for the tiers to reserve.
 */
export function catalogEntry(rec: StoredRecord, lifecycles: Lifecycles): { entry: CatalogEntry; all: FunctionVersion[] } {
  const reserved = reservations(rec);
  const latest = toVersion(rec, reserved.get(LATEST) ?? 0, lifecycles.for(rec.digest));
  const targets = new Map<string, FunctionVersion | AliasRoute>();
  const all = [latest];
  for (const v of rec.versions ?? []) {
    const fv = publishedVersion(rec, v, reserved.get(v.version) ?? 0, lifecycles.for(v.digest));
    targets.set(v.version, fv);
    all.push(fv);
  }
  for (const a of rec.aliases ?? []) {
    const primary = a.version === LATEST ? latest : (targets.get(a.version) as FunctionVersion);
    const [extra, weight] = Object.entries(a.additionalVersionWeights)[0] ?? [null, 0];
    targets.set(a.name, new AliasRoute(a.name, primary, extra === null ? null : (targets.get(extra) as FunctionVersion), weight));
  }
  return { entry: { latest, targets }, all };
}

/** Instances the aliases reserve of each version (by qualifier): their minInstances split by weight, summed. */
export function reservations(rec: StoredRecord): Map<string, number> {
  const reserved = new Map<string, number>();
  for (const a of rec.aliases ?? []) {
    for (const [v, n] of aliasReservations(a)) reserved.set(v, (reserved.get(v) ?? 0) + n);
  }
  return reserved;
}

/** $LATEST as calls run it; `reserved`: instances aliases keep for it (its spec's minInstances at least). */
export function toVersion(rec: StoredRecord, reserved: number, lifecycle: Lifecycle): FunctionVersion {
  return frozenVersion(rec.name, LATEST, rec, rec.updatedAt, reserved, lifecycle);
}

function publishedVersion(rec: StoredRecord, v: StoredVersion, reserved: number, lifecycle: Lifecycle): FunctionVersion {
  return frozenVersion(rec.name, v.version, v, v.createdAt, reserved, lifecycle);
}

function frozenVersion(
  name: string, version: string,
  v: StoredCode,
  createdAt: string, reserved: number, lifecycle: Lifecycle,
): FunctionVersion {
  return Object.freeze({
    name,
    version,
    digest: v.digest,
    codeDigest: v.codeDigest,
    runtime: v.spec.runtime,
    handler: v.spec.handler ?? '',
    exportName: v.exportName,
    imageId: v.imageId ?? null,
    // Records written before a field existed get its default.
    spec: Object.freeze({
      ...v.spec, egress: v.spec.egress ?? { allow: [] }, schedules: v.spec.schedules ?? [],
      // Never above maxInstances: deploys and alias changes refuse more (checkReservations), and a
      // record stored before that check reserves at most what the version may run.
      minInstances: Math.min(Math.max(v.spec.minInstances, reserved), v.spec.maxInstances),
    }),
    createdAt,
    lifecycle,
  });
}
