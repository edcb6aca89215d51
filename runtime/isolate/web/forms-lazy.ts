// Blob, File and FormData load on first use (globals.ts defines them with defineLazyGlobals), so an
// isolate whose function never names them does not make their classes. The body code asks
// formsLoaded() before any brand check: nothing can be a Blob or a FormData before the module ran.
// form-data.ts registers itself when it is evaluated (by the loader below in the isolate, by an
// import in Node's tests); esbuild turns the require() into an init that runs on first call.

import type * as FormsModule from './form-data.js';

declare const require: (id: string) => unknown;

export type Forms = typeof FormsModule.forms;

let forms: Forms | null = null;

export function registerForms(f: Forms): void {
  forms = f;
}

/** The module if it has been loaded (a value cannot be a Blob or FormData otherwise). */
export function formsLoaded(): Forms | null {
  return forms;
}

export function loadForms(): Forms {
  if (forms === null) require('./form-data.js');
  return forms!;
}
