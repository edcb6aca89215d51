// The heavy parts of the runtime (core-js's URL: ~4.3 ms to initialise and ~0.22 MiB of every idle
// instance; the crypto module and its DRBG seeding: ~4 ms) load on first use, so that an isolate
// made on a cold call's path is ready in ~5 ms instead of ~17, and code that never touches them does
// not carry them. URL is an extra (../extras.ts): its ~52 KB of script is not even in the runtime
// script every isolate holds. Blanks made ahead for code that names them load them at once (preload, boot.ts
// BlankKind 'apis' and 'web'), in the background. esbuild turns require() of an ES module into an
// init that runs on first call.

import { loadExtra } from '../extras.js';

declare const require: (id: string) => unknown;

type UrlModule = typeof import('./url.js');
type CryptoModule = typeof import('./crypto.js');

let url: UrlModule | null = null;
let cryptoModule: CryptoModule | null = null;

/** A lazy module is initialising: reads of the lazy globals meanwhile define nothing (see below). */
let loading = 0;

function loadOnce<T>(load: () => T): T {
  loading++;
  try { return load(); } finally { loading--; }
}

export function urlModule(): UrlModule {
  if (url === null) {
    url = loadOnce(() => loadExtra<UrlModule>('url'));
    // core-js keeps its shared store on the global object; its modules hold it already.
    delete (globalThis as Record<string, unknown>)['__core-js_shared__'];
  }
  return url;
}

/** Whether URL has been loaded (nothing can be a URLSearchParams before it is). */
export function urlLoaded(): boolean {
  return url !== null;
}

export function loadCrypto(): CryptoModule {
  return (cryptoModule ??= loadOnce(() => require('./crypto.js') as CryptoModule));
}

/**
 * Globals that are made together on first access of any of them, then become plain data properties
 * (writable, configurable, non-enumerable, like the others). Assigning one first replaces it
 * without loading.
 *
 * Why a group, and why a re-entrant read answers undefined: loading core-js's URL reads
 * `globalThis.URL` (to find a native one). Read through a lazy getter while the module is still
 * initialising, that read used to define URL as the module's not-yet-assigned export, undefined,
 * for the isolate's whole life: a function that touched URLSearchParams first in an isolate that
 * was not preloaded had no URL (issue 15, point 17). Now a read during the load defines nothing
 * and answers undefined (what a bare isolate has), and the load defines every global of its group.
 */
export function defineLazyGlobals(make: () => Record<string, unknown>, names: readonly string[]): void {
  const accessors = new Map<string, () => unknown>();
  const define = (name: string, value: unknown) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const load = (): Record<string, unknown> | undefined => {
    if (loading > 0) return undefined;
    const values = loadOnce(make);
    for (const n of names) {
      // Only globals still lazy: one the function assigned meanwhile stays as it assigned it.
      if (Object.getOwnPropertyDescriptor(globalThis, n)?.get === accessors.get(n)) define(n, values[n]);
    }
    return values;
  };
  for (const name of names) {
    const get = () => load()?.[name];
    accessors.set(name, get);
    Object.defineProperty(globalThis, name, {
      configurable: true,
      enumerable: false,
      get,
      set(v: unknown) { define(name, v); },
    });
  }
}
