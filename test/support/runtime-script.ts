// The in-isolate runtime for tests that boot isolates themselves: bundled from source as
// scripts/build-runtime.mjs bundles it (so a test sees the runtime it sits next to, built or not),
// once per test file.

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import type { RuntimeScript } from '../../pool/isolate/boot.js';

let runtime: RuntimeScript | null = null;

export async function runtimeScript(): Promise<RuntimeScript> {
  if (runtime !== null) return runtime;
  const out = await build({
    entryPoints: [fileURLToPath(new URL('../../runtime/isolate/index.ts', import.meta.url))], bundle: true, write: false, format: 'iife',
    platform: 'browser', target: 'es2022', minify: true, keepNames: true, legalComments: 'none', logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  return (runtime = { source: out.outputFiles[0]!.text, cachedData: null });
}
