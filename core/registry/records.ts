// Persistence: one record per function (its $LATEST, published versions and aliases) in the data
// dir, mirrored in memory, and the collection of code no record names any more. The record format
// is what old data dirs hold: change it only in ways those still load.

import { Runtimes, type FunctionSpec } from '../spec.js';
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

/** A stored record that could not be loaded: kept on disk untouched, reported, never served. */
export interface BrokenRecord {
  name: string;
  reason: string;
  /** Its code, when the record could be read: kept by the start's garbage collection. */
  codeDigests: string[];
  /** Its file could not even be parsed: what code it names is unknown. */
  unreadable?: boolean;
}

/** The functions' records, on disk and in memory (the registry's views and GC read the memory copy). */
export class FunctionRecords {
  private readonly byName = new Map<string, StoredRecord>();
  private readonly brokenByName = new Map<string, BrokenRecord>();
  /** A broken record file could not even be parsed: what code it names is unknown, so no code is collected while it stays. */
  private get unreadable(): boolean {
    for (const b of this.brokenByName.values()) if (b.unreadable === true) return true;
    return false;
  }

  constructor(private readonly data: DataDir) {}

  /**
   * Reads every stored record (at start). A record that cannot be read or fails `check` is
   * broken: left on disk as it is (a redeploy or a delete replaces it), not loaded.
   */
  load(check: (rec: StoredRecord) => string | null): { loaded: StoredRecord[]; broken: BrokenRecord[] } {
    const loaded: StoredRecord[] = [];
    for (const f of this.data.recordFiles()) {
      if ('error' in f) {
        this.markBroken({ name: f.name, reason: f.error, codeDigests: [], unreadable: true });
        continue;
      }
      const rec = f.record as StoredRecord;
      const problem = recordShapeProblem(rec, f.name) ?? check(rec);
      if (problem !== null) {
        this.markBroken({ name: f.name, reason: problem, codeDigests: codeDigestsOf(rec) });
        continue;
      }
      this.byName.set(rec.name, rec);
      loaded.push(rec);
    }
    return { loaded, broken: [...this.brokenByName.values()] };
  }

  /** A record that failed while being loaded (e.g. a listener refused it): it is served no more. */
  markBroken(b: BrokenRecord): void {
    const rec = this.byName.get(b.name);
    this.byName.delete(b.name);
    this.brokenByName.set(b.name, rec ? { ...b, codeDigests: codeDigestsOf(rec) } : b);
  }

  broken(name: string): BrokenRecord | undefined {
    return this.brokenByName.get(name);
  }

  allBroken(): BrokenRecord[] {
    return [...this.brokenByName.values()];
  }

  /** A broken record's file goes (DELETE of a broken function). */
  deleteBroken(name: string): void {
    this.forgetBroken(name);
    this.data.deleteRecord(name);
  }

  /** A broken record is gone (deleted or replaced): the code only it named goes too. */
  private forgetBroken(name: string): void {
    const b = this.brokenByName.get(name);
    if (b === undefined) return;
    this.brokenByName.delete(name);
    for (const d of b.codeDigests) this.dropIfUnused(d);
  }

  get(name: string): StoredRecord | undefined {
    return this.byName.get(name);
  }

  all(): IterableIterator<StoredRecord> {
    return this.byName.values();
  }

  /** Writes the record, then makes it the one in memory (a failed write changes nothing); it replaces a broken one. */
  put(record: StoredRecord): void {
    this.data.putRecord(record.name, record);
    this.byName.set(record.name, record);
    this.forgetBroken(record.name);
  }

  delete(name: string): void {
    this.byName.delete(name);
    this.data.deleteRecord(name);
  }

  putCode(code: Buffer): void {
    this.data.putCode(code);
  }

  /** What a crash between writes, or an older V8's cached data, left behind (at start). */
  collectGarbage(): boolean {
    if (this.unreadable) return false;
    this.data.collectGarbage(this.liveCode());
    return true;
  }

  private liveCode(): Set<string> {
    const live = new Set<string>();
    for (const b of this.brokenByName.values()) for (const d of b.codeDigests) live.add(d);
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
    if (this.unreadable) return;
    for (const b of this.brokenByName.values()) if (b.codeDigests.includes(codeDigest)) return;
    for (const rec of this.byName.values()) {
      if (rec.codeDigest === codeDigest) return;
      for (const v of rec.versions ?? []) if (v.codeDigest === codeDigest) return;
    }
    this.data.dropCode(codeDigest);
  }
}

function codeDigestsOf(rec: Partial<StoredRecord> | null): string[] {
  if (rec === null || typeof rec !== 'object') return [];
  const out: string[] = [];
  if (typeof rec.codeDigest === 'string') out.push(rec.codeDigest);
  if (Array.isArray(rec.versions)) for (const v of rec.versions) if (typeof v?.codeDigest === 'string') out.push(v.codeDigest);
  return out;
}

/**
 * What makes a record impossible to load, in the fields everything after it reads (null: none).
 * Deliberately not today's deploy-time spec rules: a record an older Hearth accepted still loads.
 */
function recordShapeProblem(rec: unknown, fileName: string): string | null {
  if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return 'the record is not a JSON object';
  const r = rec as Partial<StoredRecord>;
  if (r.name !== fileName) return `its name ${JSON.stringify(r.name)} is not its file's name "${fileName}"`;
  const code = (c: Partial<StoredCode> | undefined, what: string): string | null => {
    if (c === null || typeof c !== 'object') return `${what}: missing`;
    if (c.spec === null || typeof c.spec !== 'object') return `${what}: spec missing`;
    if (!(Runtimes as readonly string[]).includes(c.spec.runtime as string)) return `${what}: spec.runtime ${JSON.stringify(c.spec.runtime)} is not a runtime`;
    for (const k of ['digest', 'codeDigest', 'exportName'] as const) if (typeof c[k] !== 'string') return `${what}: ${k} missing`;
    if (c.spec.schedules !== undefined && !Array.isArray(c.spec.schedules)) return `${what}: spec.schedules is not a list`;
    if (c.spec.env !== undefined && (c.spec.env === null || typeof c.spec.env !== 'object')) return `${what}: spec.env is not an object`;
    return null;
  };
  const own = code(r, '$LATEST');
  if (own !== null) return own;
  if (r.versions !== undefined && !Array.isArray(r.versions)) return 'versions is not a list';
  for (const v of r.versions ?? []) {
    const p = code(v, `version ${JSON.stringify(v?.version)}`);
    if (p !== null) return p;
  }
  if (r.aliases !== undefined && !Array.isArray(r.aliases)) return 'aliases is not a list';
  const targets = new Set(['$LATEST', ...(r.versions ?? []).map((v) => v.version)]);
  for (const a of r.aliases ?? []) {
    if (a === null || typeof a !== 'object' || typeof a.name !== 'string') return 'an alias has no name';
    if (!targets.has(a.version)) return `alias "${a.name}": version ${JSON.stringify(a.version)} is not one of the function's`;
    for (const extra of Object.keys(a.additionalVersionWeights ?? {})) if (!targets.has(extra)) return `alias "${a.name}": additional version "${extra}" is not one of the function's`;
  }
  return null;
}
