// The in-isolate runtime for tests that boot isolates themselves: bundled from source as
// scripts/build-runtime.mjs bundles it, with the same options (so a test sees the runtime it sits
// next to, built or not), its extras too, once per test file.

import { build } from 'esbuild';
import type { RuntimeScript } from '../../pool/isolate/boot.js';
import { ExtraScripts } from '../../pool/isolate/extras.js';
// @ts-ignore -- a plain .mjs module shared with the build script
import { extraEntries, RUNTIME_ENTRY, RUNTIME_OPTIONS } from '../../scripts/runtime-build-options.mjs';

let runtime: RuntimeScript | null = null;

async function bundle(entry: string): Promise<string> {
  const out = await build({ ...RUNTIME_OPTIONS, entryPoints: [entry], write: false, logLevel: 'silent' });
  return out.outputFiles![0]!.text;
}

export async function runtimeScript(): Promise<RuntimeScript> {
  if (runtime !== null) return runtime;
  const extras = await Promise.all((extraEntries() as { name: string; entry: string }[])
    .map(async ({ name, entry }) => [name, await bundle(entry)] as const));
  return (runtime = {
    source: await bundle(RUNTIME_ENTRY as string),
    cachedData: null,
    extras: new ExtraScripts(extras.map(([name, source]) => [name, () => source] as const)),
  });
}
