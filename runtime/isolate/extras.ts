// Extras: heavy parts of the runtime that few functions use (crypto.subtle's algorithms, the legacy
// text encodings) live outside the runtime script, because every isolate holds that script's source
// (~2.15 MiB of RSS an idle instance; each KiB added to it is a KiB of every isolate). An extra is
// its own script, dist/runtime/extra-<name>.js, built from runtime/isolate/extras/<name>.ts; the host
// compiles it with V8 cached data shared across isolates and runs it into an isolate the first time
// that isolate asks, synchronously, from inside its own call (pool/isolate/extras.ts).
//
// An extra is a separate bundle: what it imports is a second copy. It must not import a module whose
// classes or objects user code can see (DOMException, CryptoKey, ReadableStream…); it exports
// factories that take them.

import { HOST_IVM, HostGlobal } from '../protocol.js';

type HostLoader = (name: string) => unknown;

let host: HostLoader | null = null;
const loaded = new Map<string, unknown>();

/** The host's loader (index.ts takes it from its global before any function code runs). */
export function setExtraLoader(loader: unknown): void {
  host = typeof loader === 'function' ? loader as HostLoader : null;
}

/**
 * What the extra `name` registered, loading it into this isolate on first use (once: later calls
 * answer the same object). Throws an Error when the host cannot load it.
 */
export function loadExtra<T>(name: string): T {
  if (loaded.has(name)) return loaded.get(name) as T;
  if (host === null) throw new Error(`the runtime's extra "${name}" cannot be loaded here`);
  const g = globalThis as Record<string, unknown>;
  let registered: unknown;
  let got = false;
  Object.defineProperty(g, HostGlobal.extraHook, {
    value: (exports: unknown) => { if (!got) { got = true; registered = exports; } },
    configurable: true, writable: false, enumerable: false,
  });
  let ok: unknown;
  try {
    ok = host(name);
  } finally {
    delete g[HostGlobal.extraHook];
  }
  if (ok !== true || !got) throw new Error(`the runtime's extra "${name}" could not be loaded`);
  const value = typeof registered === 'function' ? (registered as () => unknown)() : registered;
  loaded.set(name, value);
  return value as T;
}

/**
 * isolated-vm's module, asked of the host on first need (structuredClone's transfer), or null. The
 * host's callback returns it (isolated-vm transfers it); it never passes through the global object.
 */
export function hostIvm(): unknown {
  if (host === null) return null;
  const m: unknown = host(HOST_IVM);
  return typeof m === 'object' && m !== null ? m : null;
}
