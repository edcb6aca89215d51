// The source a function was deployed from, when it came as text (`code: {source}`): kept so the
// console's editor can open what is deployed and change it. $LATEST only, one JSON file a function
// in the data dir, written after the deploy succeeds and tagged with the digest it produced: a
// later deploy by any other way (a zip, a folder, an image) makes it stale, and it is then not
// offered. Gone with the function.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionVersion } from './backend.js';
import type { FunctionListener } from './registry/index.js';
import { atomicWrite } from './store.js';

interface Kept {
  digest: string;
  filename?: string;
  source: string;
}

export class FunctionSources implements FunctionListener {
  private readonly dir: string;

  constructor(dataRoot: string) {
    this.dir = join(dataRoot, 'sources');
    mkdirSync(this.dir, { recursive: true });
  }

  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) rmSync(this.file(name), { force: true });
  }

  /** After a deploy of `spec` (the request's body) made $LATEST `digest`. */
  deployed(name: string, spec: unknown, digest: string): void {
    const code = (spec as { code?: { source?: unknown; filename?: unknown } } | null)?.code;
    if (code && typeof code.source === 'string') {
      const kept: Kept = { digest, source: code.source, ...(typeof code.filename === 'string' ? { filename: code.filename } : {}) };
      atomicWrite(this.file(name), JSON.stringify(kept));
    } else rmSync(this.file(name), { force: true });
  }

  /** A new configuration of the same code made $LATEST `to` from `from`: the source kept for `from` is `to`'s. */
  carried(name: string, from: string, to: string): void {
    const f = this.file(name);
    if (!existsSync(f)) return;
    try {
      const k = JSON.parse(readFileSync(f, 'utf8')) as Kept;
      if (k.digest === from) atomicWrite(f, JSON.stringify({ ...k, digest: to }));
    } catch { /* unreadable: get() answers null for it */ }
  }

  /** The source $LATEST (`digest`) was deployed from, or null when it did not come as text. */
  get(name: string, digest: string): { filename?: string; source: string } | null {
    const f = this.file(name);
    if (!existsSync(f)) return null;
    try {
      const k = JSON.parse(readFileSync(f, 'utf8')) as Kept;
      if (k.digest !== digest || typeof k.source !== 'string') return null;
      return { source: k.source, ...(k.filename !== undefined ? { filename: k.filename } : {}) };
    } catch {
      return null;
    }
  }

  private file(name: string): string {
    return join(this.dir, `${name}.json`);
  }
}
