// Persistence: one record per function (its $LATEST, published versions and aliases) in the data
// dir, mirrored in memory, and the collection of code no record names any more. The record format
// is what old data dirs hold: change it only in ways those still load.

import type { FunctionSpec } from '../spec.js';
import type { DataDir } from '../store.js';
import type { AliasSpec } from './aliases.js';

/** What instances are made from: $LATEST's record and each published version carry it. */
export interface StoredCode {
  spec: Omit<FunctionSpec, 'code'>;
  codeDigest: string;
  codeSize: number;
  digest: string;
  exportName: string;
  /** runtime "image": the image's id when it was deployed (instances are made from it). */
  imageId?: string;
}

export interface StoredRecord extends StoredCode {
  name: string;
  /** Loaded from this functions folder (`--functions`): deleted at start once the folder no longer has it. */
  origin?: string;
  /** Published versions, oldest first, and the last number given (numbers are never reused). */
  versions?: StoredVersion[];
  lastVersion?: number;
  aliases?: StoredAlias[];
  createdAt: string;
  updatedAt: string;
}

/** A published version: $LATEST as it was, frozen. */
export interface StoredVersion extends StoredCode {
  version: string;
  description: string;
  createdAt: string;
}

export interface StoredAlias extends AliasSpec {
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** The functions' records, on disk and in memory (the registry's views and GC read the memory copy). */
export class FunctionRecords {
  private readonly byName = new Map<string, StoredRecord>();

  constructor(private readonly data: DataDir) {}

  /** Reads every stored record (at start). */
  load(): StoredRecord[] {
    const out = this.data.records() as StoredRecord[];
    for (const rec of out) this.byName.set(rec.name, rec);
    return out;
  }

  get(name: string): StoredRecord | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<StoredRecord> {
    return this.byName.values();
  }

  /** Writes the record, then makes it the one in memory (a failed write changes nothing). */
  put(record: StoredRecord): void {
    this.data.putRecord(record.name, record);
    this.byName.set(record.name, record);
  }

  delete(name: string): void {
    this.byName.delete(name);
    this.data.deleteRecord(name);
  }

  putCode(code: Buffer): void {
    this.data.putCode(code);
  }

  /** What a crash between writes, or an older V8's cached data, left behind (at start). */
  collectGarbage(): void {
    this.data.collectGarbage(this.liveCode());
  }

  private liveCode(): Set<string> {
    const live = new Set<string>();
    for (const rec of this.byName.values()) {
      live.add(rec.codeDigest);
      for (const v of rec.versions ?? []) live.add(v.codeDigest);
    }
    return live;
  }

  /**
   * A function let go of this code: its file and cached data go unless another function has the
   * same code. One pass over the records in memory, no directory listing (with 10,000 functions
   * a listing per delete cost 17 ms of a blocked event loop).
   */
  dropIfUnused(codeDigest: string): void {
    for (const rec of this.byName.values()) {
      if (rec.codeDigest === codeDigest) return;
      for (const v of rec.versions ?? []) if (v.codeDigest === codeDigest) return;
    }
    this.data.dropCode(codeDigest);
  }
}
