// `hearth deploy PATH`: a file or a folder → a function name and spec (what PUT /v1/functions/{name}
// takes). A folder with a function.json is taken as `--functions` takes it; other paths get their
// runtime and handler from what they hold, and flags override any of it.

import { unzipSync, zipSync } from 'fflate';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { readFunctionFolder, zipFolder } from './deploy-dir.js';

export interface DeployOverrides {
  name?: string;
  runtime?: string;
  handler?: string;
  memoryMb?: number;
  timeoutMs?: number;
  concurrency?: number;
  env?: Record<string, string>;
}

export interface DeployPlan {
  name: string;
  spec: Record<string, unknown>;
}

const JS = new Set(['.js', '.mjs', '.cjs', '.ts']);

/** Throws an Error a person can act on (what was found, which flag to add). */
export function planDeploy(path: string, o: DeployOverrides = {}): DeployPlan {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  const plan = statSync(path).isDirectory() ? fromFolder(path) : fromFile(path);
  const spec = plan.spec;
  if (o.runtime !== undefined) spec.runtime = o.runtime;
  if (o.handler !== undefined) spec.handler = o.handler;
  if (o.memoryMb !== undefined) spec.memoryMb = o.memoryMb;
  if (o.timeoutMs !== undefined) spec.timeoutMs = o.timeoutMs;
  if (o.concurrency !== undefined) spec.concurrency = o.concurrency;
  if (o.env !== undefined) spec.env = { ...(spec.env as Record<string, string> | undefined), ...o.env };
  if (spec.runtime === undefined) throw new Error(`${path}: cannot tell the runtime from what it holds; add --runtime (js, python3, java17)`);
  if (spec.handler === undefined && spec.runtime !== 'image') {
    throw new Error(`${path}: cannot tell the handler; add --handler (${spec.runtime === 'java17' ? '"pkg.Class::method"' : '"file.export", e.g. index.handler'})`);
  }
  return { name: o.name ?? plan.name, spec };
}

function fromFolder(dir: string): DeployPlan {
  if (existsSync(join(dir, 'function.json'))) return readFunctionFolder(dir);
  const names = readdirSync(dir);
  const spec: Record<string, unknown> = { code: { zip: zipFolder(dir) } };
  const runtime = runtimeOf(names);
  if (runtime !== undefined) spec.runtime = runtime;
  const handler = runtime === undefined ? undefined : defaultHandler(runtime, names, (f) => readFileSync(join(dir, f), 'utf8'));
  if (handler !== undefined) spec.handler = handler;
  return { name: basename(dir.replace(/\/+$/, '')), spec };
}

function fromFile(file: string): DeployPlan {
  const ext = extname(file).toLowerCase();
  const stem = basename(file, extname(file));
  const bytes = readFileSync(file);
  if (ext === '.json') {
    // A whole spec, code included.
    let spec: Record<string, unknown>;
    try {
      spec = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${file}: not valid JSON: ${(err as Error).message}`);
    }
    const name = typeof spec.name === 'string' ? spec.name : stem;
    delete spec.name;
    return { name, spec };
  }
  if (ext === '.jar') return { name: stem, spec: { runtime: 'java17', code: { jar: bytes.toString('base64') } } };
  if (ext === '.zip') {
    const listed = zipEntries(bytes, file);
    const runtime = runtimeOf(listed);
    const spec: Record<string, unknown> = { code: { zip: bytes.toString('base64') } };
    if (runtime !== undefined) spec.runtime = runtime;
    if (runtime !== undefined) {
      const handler = defaultHandler(runtime, listed, (f) => Buffer.from(unzipSync(bytes, { filter: (e) => e.name === f })[f] ?? []).toString('utf8'));
      if (handler !== undefined) spec.handler = handler;
    }
    return { name: stem, spec };
  }
  if (JS.has(ext) || ext === '.py') {
    // One file: zipped under its own name, so the handler is `stem.export` and ESM stays ESM.
    const runtime = ext === '.py' ? 'python3' : 'js';
    const zip = Buffer.from(zipSync({ [basename(file)]: bytes }, { level: 6 })).toString('base64');
    const handler = defaultHandler(runtime, [basename(file)], () => bytes.toString('utf8'));
    return { name: stem, spec: { runtime, code: { zip }, ...(handler ? { handler } : {}) } };
  }
  throw new Error(`${file}: not a file hearth deploy takes (.js .mjs .cjs .ts .py .jar .zip, a spec .json, or a folder)`);
}

/** The names of a zip's entries (no data is inflated). */
function zipEntries(bytes: Buffer, file: string): string[] {
  const out: string[] = [];
  try {
    unzipSync(bytes, { filter: (e) => { out.push(e.name); return false; } });
  } catch (err) {
    throw new Error(`${file}: not a readable zip archive (${(err as Error).message})`);
  }
  return out;
}

/** python3 when there is Python at the top, java17 for a jar, js for JavaScript or a package.json. */
function runtimeOf(names: string[]): string | undefined {
  const top = names.filter((n) => !n.includes('/') || n.indexOf('/') === n.length - 1);
  if (top.some((n) => n.endsWith('.py'))) return 'python3';
  if (top.some((n) => n.endsWith('.jar'))) return 'java17';
  if (top.some((n) => JS.has(extname(n)) || n === 'package.json')) return 'js';
  return undefined;
}

/**
 * The handler when none is given. python3: `index.main_handler` (SCF's), or the one .py file's.
 * js: the entry file (index.*, else the only script) and its export: `main_handler` if the source
 * defines one, `handler` if it does, else `default` for a default export.
 */
function defaultHandler(runtime: string, names: string[], read: (name: string) => string): string | undefined {
  if (runtime === 'java17') return undefined;
  const ext = runtime === 'python3' ? new Set(['.py']) : JS;
  const files = names.filter((n) => !n.includes('/') && ext.has(extname(n)));
  const entry = files.find((n) => basename(n, extname(n)) === 'index') ?? (files.length === 1 ? files[0] : undefined);
  if (entry === undefined) return undefined;
  const stem = basename(entry, extname(entry));
  if (runtime === 'python3') return `${stem}.main_handler`;
  const src = read(entry);
  if (/\bmain_handler\b/.test(src)) return `${stem}.main_handler`;
  if (/\bhandler\b/.test(src)) return `${stem}.handler`;
  if (/export\s+default\b/.test(src)) return `${stem}.default`;
  return undefined;
}
