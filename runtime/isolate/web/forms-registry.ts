// Blob, File and FormData: form-data.ts registers itself here when it is evaluated, and the body
// code reaches it through here (form-data.ts imports body.ts, so body.ts cannot import it back).
// It is evaluated with the runtime script: a require() here (loading it on first use) made esbuild
// wrap every module it shares with the rest of the runtime (web-streams-polyfill, body.ts…) in a
// lazy init, which V8 then compiled on every isolate's boot (+1.3 ms a cold start, measured).

import type * as FormsModule from './form-data.js';

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
  if (forms === null) throw new Error('form-data.ts was not evaluated');
  return forms;
}
