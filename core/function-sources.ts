// The source a function was deployed from, when it came as text (`code: {source}`): kept so the
// console's editor can open what is deployed and change it. $LATEST only, one JSON file a function
// in the data dir, written after the deploy succeeds and tagged with the digest it produced: a
// later deploy by any other way (a zip, a folder, an image) makes it stale, and it is then not
// offered. Gone with the function.

import type { FunctionVersion } from './backend.js';
import type { FunctionListener } from './registry/index.js';
import { FunctionFiles } from './store.js';

/** Sources larger than this are not kept (a GET of one reads it whole, on the event loop). */
export const MAX_KEPT_SOURCE_BYTES = 1024 * 1024;

interface Kept {
  digest: string;
  filename?: string;
  source: string;
}

function kept(v: unknown): Kept | null {
  const k = v as Partial<Kept> | null;
  return k !== null && typeof k === 'object' && typeof k.digest === 'string' && typeof k.source === 'string' ? k as Kept : null;
}

export class FunctionSources implements FunctionListener {
  private readonly files: FunctionFiles;

  constructor(dataRoot: string) {
    this.files = new FunctionFiles(dataRoot, 'sources');
  }

  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) this.files.remove(name);
  }

  /** After a deploy of `spec` (the request's body) made $LATEST `digest`. */
  deployed(name: string, spec: unknown, digest: string): void {
    const code = (spec as { code?: { source?: unknown; filename?: unknown } } | null)?.code;
    if (code && typeof code.source === 'string' && Buffer.byteLength(code.source) <= MAX_KEPT_SOURCE_BYTES) {
      this.files.write(name, { digest, source: code.source, ...(typeof code.filename === 'string' ? { filename: code.filename } : {}) } satisfies Kept);
    } else this.files.remove(name);
  }

  /** A new configuration of the same code made $LATEST `to` from `from`: the source kept for `from` is `to`'s. */
  carried(name: string, from: string, to: string): void {
    const k = kept(this.files.read(name));
    if (k !== null && k.digest === from) this.files.write(name, { ...k, digest: to });
  }

  /** The source $LATEST (`digest`) was deployed from, or null when it did not come as text (or was too large to keep). */
  get(name: string, digest: string): { filename?: string; source: string } | null {
    const k = kept(this.files.read(name));
    if (k === null || k.digest !== digest) return null;
    return { source: k.source, ...(k.filename !== undefined ? { filename: k.filename } : {}) };
  }
}
