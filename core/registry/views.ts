// The management API's JSON views of a function ($LATEST), a published version and an alias, made
// from the stored records. Their field order is what clients have seen: keep it.

import { LATEST } from './catalog.js';
import type { StoredAlias, StoredRecord, StoredVersion } from './records.js';

export function view(rec: StoredRecord): Record<string, unknown> {
  return {
    name: rec.name,
    version: LATEST,
    digest: rec.digest,
    codeDigest: rec.codeDigest,
    codeSize: rec.codeSize,
    ...rec.spec,
    ...(rec.imageId ? { imageId: rec.imageId } : {}),
    ...(rec.origin ? { origin: rec.origin } : {}),
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
  };
}

export function versionView(rec: StoredRecord, v: StoredVersion): Record<string, unknown> {
  return {
    name: rec.name,
    version: v.version,
    digest: v.digest,
    codeDigest: v.codeDigest,
    codeSize: v.codeSize,
    description: v.description,
    ...v.spec,
    ...(v.imageId ? { imageId: v.imageId } : {}),
    createdAt: v.createdAt,
  };
}

export function aliasView(functionName: string, a: StoredAlias): Record<string, unknown> {
  return {
    functionName, name: a.name, version: a.version, additionalVersionWeights: a.additionalVersionWeights,
    minInstances: a.minInstances, description: a.description, createdAt: a.createdAt, updatedAt: a.updatedAt,
  };
}
