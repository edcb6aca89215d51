// Bundles the in-isolate runtime (runtime/isolate) into one script, once, at build time.
// The host loads dist/runtime/isolate-runtime.js and compiles it with V8 cached data.
// Each runtime/isolate/extras/<name>.ts (but register.ts) becomes dist/runtime/extra-<name>.js: a
// script the host runs into an isolate only when its code first needs it (runtime/isolate/extras.ts).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { extraEntries, RUNTIME_ENTRY, RUNTIME_OPTIONS } from './runtime-build-options.mjs';

await build({ ...RUNTIME_OPTIONS, entryPoints: [RUNTIME_ENTRY], outfile: 'dist/runtime/isolate-runtime.js' });

for (const f of readdirSync('dist/runtime')) if (/^extra-.*\.js$/.test(f)) rmSync(`dist/runtime/${f}`);
await Promise.all(extraEntries().map(({ name, entry }) => build({
  ...RUNTIME_OPTIONS, entryPoints: [entry], outfile: `dist/runtime/extra-${name}.js`,
})));
