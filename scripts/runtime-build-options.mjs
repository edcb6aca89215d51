// The esbuild options of the in-isolate runtime and its extras, shared by scripts/build-runtime.mjs
// and the tests that bundle the runtime from source (test/support/runtime-script.ts).
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const RUNTIME_OPTIONS = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  // Class and function names stay as written (Headers.name, stack traces of the runtime).
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

const root = fileURLToPath(new URL('..', import.meta.url));

export const RUNTIME_ENTRY = `${root}runtime/isolate/index.ts`;

/** Each extra's name and entry: runtime/isolate/extras/<name>.ts, but register.ts and tests. */
export function extraEntries() {
  return readdirSync(`${root}runtime/isolate/extras`)
    .filter((f) => f.endsWith('.ts') && f !== 'register.ts' && !f.endsWith('.test.ts'))
    .map((f) => ({ name: f.slice(0, -'.ts'.length), entry: `${root}runtime/isolate/extras/${f}` }));
}
