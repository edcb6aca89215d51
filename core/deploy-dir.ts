// Functions from folders: each subfolder with a function.json (the spec without code) and its
// code files is deployed as a zip of the folder. Used by `hearth serve --functions DIR` and
// `hearth deploy FOLDER`.

import { zipSync } from 'fflate';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import type { Registry } from './registry/index.js';

export interface FolderFunction {
  name: string;
  spec: Record<string, unknown>;
}

/** The function in `dir` (a folder with function.json), its code zipped in. */
export function readFunctionFolder(dir: string): FolderFunction {
  const specPath = join(dir, 'function.json');
  let spec: Record<string, unknown>;
  try {
    spec = JSON.parse(readFileSync(specPath, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${specPath}: ${err instanceof SyntaxError ? 'not valid JSON: ' : ''}${(err as Error).message}`);
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new Error(`${specPath}: must hold one JSON object (a function spec without its code)`);
  const name = typeof spec.name === 'string' ? spec.name : basename(dir);
  delete spec.name;
  if (spec.code === undefined && spec.runtime !== 'image') spec.code = { zip: zipFolder(dir) };
  return { name, spec };
}

/** The files under `dir` (function.json left out) as one zip, base64. */
export function zipFolder(dir: string): string {
  const files: Record<string, Uint8Array> = {};
  for (const path of walk(dir)) {
    const rel = relative(dir, path).split('\\').join('/');
    if (rel === 'function.json') continue;
    files[rel] = readFileSync(path);
  }
  return Buffer.from(zipSync(files, { level: 6 })).toString('base64');
}

/** Every function folder directly under `root` (or `root` itself if it is one). */
export function functionFolders(root: string): string[] {
  if (existsSync(join(root, 'function.json'))) return [root];
  return readdirSync(root)
    .map((d) => join(root, d))
    .filter((d) => statSync(d).isDirectory() && existsSync(join(d, 'function.json')))
    .sort();
}

/**
 * The files under `dir`, symbolic links followed (as zip does). A Kubernetes ConfigMap or Secret
 * volume is a tree of links: each key is a link to `..data/<key>`, `..data` a link to a
 * timestamped folder (`..2026_12_05_06_40_20.123`) that the kubelet swaps atomically. Names that
 * begin with `..` are that machinery and are left out, so a ConfigMap mounted as a function's
 * folder zips as its keys. A link to a folder already being walked (a cycle) is left out; a
 * dangling link is an error naming it.
 */
function* walk(dir: string, within: ReadonlySet<string> = new Set([realpathSync(dir)])): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name.startsWith('..')) continue;
    const p = join(dir, e.name);
    let kind: 'dir' | 'file' | 'other' = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
    if (e.isSymbolicLink()) {
      let st;
      try {
        st = statSync(p);
      } catch (err) {
        throw new Error(`${p}: a symbolic link to nothing (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    }
    if (kind === 'dir') {
      const real = realpathSync(p);
      if (within.has(real)) continue;
      yield* walk(p, new Set([...within, real]));
    } else if (kind === 'file') {
      yield p;
    }
  }
}

/**
 * `--functions DIR...`: makes the functions from these folders what the registry holds for them.
 * Each function folder is deployed (a no-op when unchanged); a function an earlier start loaded
 * from one of these folders and that is gone from it now is deleted. Any failure throws, naming
 * every folder that failed: a replica must not serve a partial set.
 */
export async function loadFunctionFolders(
  registry: Pick<Registry, 'deploy' | 'delete' | 'namesFrom'>,
  dirs: readonly string[],
  onDeployed: (name: string, folder: string, changed: boolean) => void = () => undefined,
): Promise<{ deployed: string[]; deleted: string[] }> {
  const failures: string[] = [];
  const seen = new Map<string, string>();
  const deployed: string[] = [];
  for (const dir of dirs.map((d) => resolve(d))) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      failures.push(`${dir}: no such folder`);
      continue;
    }
    for (const folder of functionFolders(dir)) {
      try {
        const { name, spec } = readFunctionFolder(folder);
        const other = seen.get(name);
        if (other !== undefined) throw new Error(`function "${name}" is also in ${other}`);
        seen.set(name, folder);
        const r = await registry.deploy(name, spec, dir);
        deployed.push(name);
        onDeployed(name, folder, r.changed);
      } catch (err) {
        const e = err as Error & { type?: string };
        failures.push(`${folder}: ${e.type ? `${e.type}: ` : ''}${e.message}`);
      }
    }
  }
  if (failures.length > 0) throw new Error(`could not load the functions folders: ${failures.join('; ')}`);
  const deleted: string[] = [];
  for (const dir of dirs.map((d) => resolve(d))) {
    for (const name of registry.namesFrom(dir)) {
      if (seen.has(name)) continue;
      await registry.delete(name);
      deleted.push(name);
    }
  }
  return { deployed, deleted };
}
