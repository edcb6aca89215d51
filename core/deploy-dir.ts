// Functions from folders: each subfolder with a function.json (the spec without code) and its
// code files is deployed as a zip of the folder. Used by `hearth serve --deploy DIR`.

import { zipSync } from 'fflate';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';

export interface FolderFunction {
  name: string;
  spec: Record<string, unknown>;
}

/** The function in `dir` (a folder with function.json), its code zipped in. */
export function readFunctionFolder(dir: string): FolderFunction {
  const specPath = join(dir, 'function.json');
  const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  const name = typeof spec.name === 'string' ? spec.name : basename(dir);
  delete spec.name;
  if (spec.code === undefined && spec.runtime !== 'image') {
    const files: Record<string, Uint8Array> = {};
    for (const path of walk(dir)) {
      const rel = relative(dir, path).split('\\').join('/');
      if (rel === 'function.json') continue;
      files[rel] = readFileSync(path);
    }
    spec.code = { zip: Buffer.from(zipSync(files, { level: 6 })).toString('base64') };
  }
  return { name, spec };
}

/** Every function folder directly under `root` (or `root` itself if it is one). */
export function functionFolders(root: string): string[] {
  if (existsSync(join(root, 'function.json'))) return [root];
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'function.json')))
    .sort();
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
