// The heavy parts of the runtime (core-js's URL: ~6 ms to initialise; the crypto module and its
// DRBG seeding: ~4 ms) load on first use, so that an isolate made on a cold call's path is ready in
// ~5 ms instead of ~17. Isolates made ahead for the pre-warm reserve load them at once (preload),
// in the background. esbuild turns require() of an ES module into an init that runs on first call.

declare const require: (id: string) => unknown;

type UrlModule = typeof import('./url.js');
type CryptoModule = typeof import('./crypto.js');

let url: UrlModule | null = null;
let cryptoModule: CryptoModule | null = null;

export function urlModule(): UrlModule {
  if (url === null) {
    url = require('./url.js') as UrlModule;
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
  return (cryptoModule ??= require('./crypto.js') as CryptoModule);
}

/**
 * A global that is made on first access, then becomes a plain data property (writable,
 * configurable, non-enumerable, like the others). Assigning it first replaces it without loading.
 */
export function defineLazyGlobal(name: string, make: () => unknown): void {
  const define = (value: unknown) => Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(globalThis, name, {
    configurable: true,
    enumerable: false,
    get() { const v = make(); define(v); return v; },
    set(v: unknown) { define(v); },
  });
}
