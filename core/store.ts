// The data dir: code stored content-addressed (sha256), function records as JSON, V8 cached data.
// Writes go to a temp file and are renamed into place, so a crash never leaves half a file.

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class DataDir {
  readonly root: string;
  private readonly codeDir: string;
  private readonly functionsDir: string;
  private readonly cacheDir: string;

  constructor(root: string) {
    this.root = root;
    this.codeDir = join(root, 'code');
    this.functionsDir = join(root, 'functions');
    this.cacheDir = join(root, 'cache');
    for (const d of [this.codeDir, this.functionsDir, this.cacheDir]) mkdirSync(d, { recursive: true });
  }

  /** Stores code by its sha256 and returns the digest. */
  putCode(code: Buffer): string {
    const digest = sha256(code);
    const path = join(this.codeDir, digest);
    if (!existsSync(path)) atomicWrite(path, code);
    return digest;
  }

  getCode(digest: string): Buffer {
    const code = readFileSync(join(this.codeDir, digest));
    if (sha256(code) !== digest) throw new Error(`code ${digest} is corrupt in ${this.codeDir}`);
    return code;
  }

  putRecord(name: string, record: unknown): void {
    atomicWrite(join(this.functionsDir, `${name}.json`), JSON.stringify(record, null, 2));
  }

  deleteRecord(name: string): void {
    rmSync(join(this.functionsDir, `${name}.json`), { force: true });
  }

  /**
   * Every stored record file, each read on its own: a file that cannot be read or parsed is
   * reported (name from its file name) instead of failing the others.
   */
  recordFiles(): ({ name: string; record: unknown } | { name: string; error: string })[] {
    const out: ({ name: string; record: unknown } | { name: string; error: string })[] = [];
    for (const f of readdirSync(this.functionsDir)) {
      if (!f.endsWith('.json')) continue;
      const name = f.slice(0, -'.json'.length);
      try {
        out.push({ name, record: JSON.parse(readFileSync(join(this.functionsDir, f), 'utf8')) });
      } catch (err) {
        out.push({ name, error: `${f} is not readable JSON (${(err as Error).message})` });
      }
    }
    return out;
  }

  /** V8 cached data is only valid for the V8 that made it, so the key carries V8's version. */
  getCache(key: string): Buffer | null {
    try {
      return readFileSync(join(this.cacheDir, cacheFile(key)));
    } catch {
      return null;
    }
  }

  putCache(key: string, data: Uint8Array): void {
    atomicWrite(join(this.cacheDir, cacheFile(key)), data);
  }

  dropCache(key: string): void {
    rmSync(join(this.cacheDir, cacheFile(key)), { force: true });
  }

  /** Removes one code digest's code and cached data (no record names it any more). */
  dropCode(digest: string): void {
    rmSync(join(this.codeDir, digest), { force: true });
    this.dropCache(digest);
  }

  /**
   * Removes stored code that no record names any more, and cached data that is not for live code
   * or not for this V8 (at start: a whole scan of both folders).
   */
  collectGarbage(live: Set<string>): number {
    let n = 0;
    for (const f of readdirSync(this.codeDir)) {
      if (!live.has(f) && !f.includes('.tmp')) { rmSync(join(this.codeDir, f), { force: true }); n++; }
    }
    const suffix = cacheFile('');
    for (const f of readdirSync(this.cacheDir)) {
      if (f.includes('.tmp')) continue;
      if (!f.endsWith(suffix) || !live.has(f.slice(0, -suffix.length))) { rmSync(join(this.cacheDir, f), { force: true }); n++; }
    }
    return n;
  }
}

function cacheFile(key: string): string {
  return `${key}-v8-${process.versions.v8.replace(/[^0-9A-Za-z.]/g, '_')}.bin`;
}

let tmpCounter = 0;
/**
 * One JSON file a function in a folder of the data dir (the console's saved test payloads, the
 * source a function came from): read and written whole, gone with the function. A file that is
 * missing or does not parse reads as null.
 */
export class FunctionFiles {
  private readonly dir: string;

  constructor(dataRoot: string, folder: string) {
    this.dir = join(dataRoot, folder);
    mkdirSync(this.dir, { recursive: true });
  }

  read(name: string): unknown {
    try {
      return JSON.parse(readFileSync(this.file(name), 'utf8')) as unknown;
    } catch {
      return null;
    }
  }

  write(name: string, value: unknown): void {
    atomicWrite(this.file(name), JSON.stringify(value));
  }

  remove(name: string): void {
    rmSync(this.file(name), { force: true });
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }
}

function atomicWrite(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
