// Bundles the in-isolate runtime (runtime/isolate) into one script, once, at build time.
// The host loads dist/runtime/isolate-runtime.js and compiles it with V8 cached data.
import { build } from 'esbuild';

await build({
  entryPoints: ['runtime/isolate/index.ts'],
  outfile: 'dist/runtime/isolate-runtime.js',
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
});
