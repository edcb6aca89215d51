// The host's half of the runtime's extras (runtime/isolate/extras.ts): scripts kept out of the
// runtime script that every isolate holds, compiled into an isolate only when its code first needs
// one. Each is read from disk once per process; V8's cached data made by its first compile serves
// every later isolate.
//
// The load happens inside a synchronous host callback, re-entrantly: the extra's script runs on the
// host's event loop while the isolate's own thread waits. Its top level only defines things (the
// heavy initialisation runs later, on the isolate's thread); a script that a tenant's own global
// changes make slow is cut at LOAD_TIMEOUT_MS, and each extra is tried once per isolate.

import ivm from 'isolated-vm';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXTRA_NAME } from '../../runtime/protocol.js';

/** The longest an extra's script may run on the host's event loop (its top level takes ~0.1 ms). */
export const LOAD_TIMEOUT_MS = 50;

interface Extra {
  readonly read: () => string;
  source: string | null;
  cachedData: ivm.ExternalCopy<ArrayBuffer> | null;
  /** Isolates it was run into, and runs refused (its script threw or passed LOAD_TIMEOUT_MS). */
  loaded: number;
  refused: number;
}

export class ExtraScripts {
  private readonly extras = new Map<string, Extra>();

  /** Each extra's name and how to read its script (read on the first load that needs it). */
  constructor(sources: Iterable<readonly [string, () => string]>) {
    for (const [name, read] of sources) {
      if (EXTRA_NAME.test(name)) this.extras.set(name, { read, source: null, cachedData: null, loaded: 0, refused: 0 });
    }
  }

  /** The extras built next to the runtime script (dist/runtime/extra-<name>.js). */
  static fromDir(dir: string): ExtraScripts {
    const files = existsSync(dir) ? readdirSync(dir) : [];
    return new ExtraScripts(files.flatMap((f) => {
      const m = /^extra-(.+)\.js$/.exec(f);
      return m ? [[m[1]!, () => readFileSync(join(dir, f), 'utf8')] as const] : [];
    }));
  }

  get names(): string[] {
    return [...this.extras.keys()];
  }

  /** Per extra: isolates it was loaded into, and loads refused (hearth_runtime_extra_loads_total). */
  counts(): { extra: string; loaded: number; refused: number }[] {
    return [...this.extras].map(([extra, e]) => ({ extra, loaded: e.loaded, refused: e.refused }));
  }

  /**
   * A loader for one isolate: the synchronous callback the runtime calls with an extra's name.
   * Answers whether the script ran; an unknown name, a second try or a failed run answer false.
   */
  loader(isolate: ivm.Isolate, context: ivm.Context): (name: unknown) => boolean {
    const tried = new Set<string>();
    return (name: unknown) => {
      if (typeof name !== 'string' || tried.has(name)) return false;
      const extra = this.extras.get(name);
      if (extra === undefined) return false;
      tried.add(name);
      let script: (ivm.Script & ivm.CachedDataResult) | null = null;
      try {
        extra.source ??= extra.read();
        script = isolate.compileScriptSync(extra.source, {
          filename: `hearth:extra-${name}`,
          ...(extra.cachedData ? { cachedData: extra.cachedData } : { produceCachedData: true }),
        });
        if (!extra.cachedData && script.cachedData) extra.cachedData = script.cachedData;
        script.runSync(context, { timeout: LOAD_TIMEOUT_MS });
        extra.loaded++;
        return true;
      } catch {
        extra.refused++;
        return false;
      } finally {
        script?.release();
      }
    };
  }
}
