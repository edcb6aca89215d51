// Turns a js function's code (one source, or a zip) into one script, once, at deploy. The script
// evaluates to the module's exports, so nothing is left on the isolate's global object.

import { build, type Message, type Metafile, type Plugin } from 'esbuild';
import { isBuiltin } from 'node:module';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { HearthError, type Problem } from './errors.js';
import { DEFAULT_ARCHIVE_LIMITS, unpackZip, type ArchiveLimits } from './registry/archive.js';

export interface BundleInput {
  /** "index.main_handler" → file "index", export "main_handler". */
  handler: string;
  code: { source: string; filename?: string } | { zip: string };
  maxBytes: number;
  /** A zip's limits, measured while inflating. */
  archive?: ArchiveLimits;
}

export interface Bundle {
  script: string;
  exportName: string;
}

const ENTRY_EXTENSIONS = ['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'];

export function splitHandler(handler: string): { file: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  return { file: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** Imports resolve inside the function's own code folder only: never to files of the host. */
function confinedTo(dir: string): Plugin {
  return {
    name: 'confined',
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (args) => {
        if ((args.pluginData as { confined?: boolean } | undefined)?.confined) return undefined;
        const r = await b.resolve(args.path, {
          kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { confined: true },
        });
        if (r.errors.length > 0) return { errors: r.errors };
        if (r.path && !r.external && r.path !== dir && !r.path.startsWith(dir + sep)) {
          return { errors: [{ text: `cannot import "${args.path}": it is outside the function's code` }] };
        }
        return r;
      });
    },
  };
}

const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (isBuiltin(args.path)) {
        return {
          errors: [{ text: `cannot import the Node built-in "${args.path}": functions run in V8 isolates without Node APIs` }],
        };
      }
      return undefined;
    });
  },
};

export async function bundleFunction(input: BundleInput): Promise<Bundle> {
  const { file, exportName } = splitHandler(input.handler);
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bundle-'));
  try {
    let entry: string;
    if ('source' in input.code) {
      const name = input.code.filename ?? `${file}.js`;
      entry = safeJoin(dir, name);
      mkdirSync(dirname(entry), { recursive: true });
      writeFileSync(entry, input.code.source);
    } else {
      extractZip(input.code.zip, dir, input.archive ?? DEFAULT_ARCHIVE_LIMITS);
      const found = ENTRY_EXTENSIONS.map((ext) => safeJoin(dir, file + ext)).find((p) => existsSync(p));
      if (!found) {
        throw new HearthError('CompileError', `handler "${input.handler}": the zip has no ${file}.js (or .mjs, .cjs, .ts) at its root`);
      }
      entry = found;
    }
    const script = await runEsbuild(entry, dir);
    if (Buffer.byteLength(script) > input.maxBytes) {
      throw new HearthError('CodeTooLarge', `the bundled code is ${Buffer.byteLength(script)} bytes, over the ${input.maxBytes}-byte limit`);
    }
    return { script, exportName };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The tsconfig esbuild is given, always (so it reads none itself): the code's own root
 * tsconfig.json, without "extends". Left to itself esbuild follows "extends" to any path (a zip's
 * tsconfig extending /etc/passwd made it read the file and quote its first line in the error) and
 * looks for tsconfig.json in every folder above the code. A base config inside the zip is refused
 * with a clear error too: the whole of a function's settings are in its own tsconfig.json.
 */
function ownTsconfig(dir: string): string {
  const file = join(dir, 'tsconfig.json');
  if (!existsSync(file)) return '{}';
  const text = readFileSync(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripJsonComments(text));
  } catch {
    throw new HearthError('CompileError', 'tsconfig.json: not readable JSON (comments and trailing commas are allowed)');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new HearthError('CompileError', 'tsconfig.json: must be a JSON object');
  if ('extends' in parsed) {
    throw new HearthError('CompileError', 'tsconfig.json: "extends" is not supported: a function is bundled from its own code only (put the options in its tsconfig.json)');
  }
  return JSON.stringify(parsed);
}

/** JSONC to JSON: drops line and block comments and trailing commas, leaving strings alone. */
function stripJsonComments(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      const start = i;
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
      out += text.slice(start, i + 1);
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += c;
    }
  }
  return out.replace(/,(\s*[}\]])/g, '$1');
}

async function runEsbuild(entry: string, dir: string): Promise<string> {
  let out;
  try {
    const tsconfigRaw = ownTsconfig(dir);
    out = await build({
      tsconfigRaw,
      metafile: true,
      entryPoints: [entry],
      absWorkingDir: dir,
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['worker', 'browser', 'import', 'default'],
      target: 'es2022',
      logLevel: 'silent',
      plugins: [noNodeBuiltins, confinedTo(dir)],
      // node_modules are looked up in the code folder only, not in the folders above it.
      nodePaths: [],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors?.length) throw new HearthError('CompileError', errors.map((e) => formatMessage(e, dir)).join('\n'), { problems: errors.map((e) => problemOf(e, dir)) });
    throw new HearthError('CompileError', (err as Error).message);
  }
  const text = out.outputFiles[0]!.text;
  // One function scope around the CommonJS output; the script's completion value is the exports.
  // Keep "use strict" first so strict code stays strict. An ES module entry is strict by spec
  // although the CommonJS output does not say so: the bundle is then strict as a whole, as
  // esbuild's own ESM output would be, and its top-level `this` is undefined.
  const directive = /^\s*(['"])use strict\1;?/.exec(text);
  const body = directive ? text.slice(directive[0].length) : text;
  const esm = entryFormat(out.metafile, entry, dir) === 'esm';
  const strict = directive !== null || esm;
  return `((module)=>(function(exports){${strict ? '"use strict";' : ''}${body}\nreturn module.exports;}).call(${esm ? 'undefined' : 'module.exports'},module.exports))({exports:{}})`;
}

/** What esbuild found the entry to be: "esm" (import/export, .mjs, "type": "module"), "cjs", or undefined. */
function entryFormat(metafile: Metafile | undefined, entry: string, dir: string): string | undefined {
  if (!metafile) return undefined;
  const rel = relative(dir, entry).split(sep).join('/');
  return metafile.inputs[rel]?.format;
}

/** A message about the function's own files, with its line; anything else without a location (never a host file's text). */
function formatMessage(m: Message, dir: string): string {
  const loc = m.location;
  if (!loc) return m.text;
  const abs = resolve(dir, loc.file);
  if (abs !== dir && !abs.startsWith(dir + sep)) return m.text.replaceAll(dir + sep, '');
  // Columns counted from 1, as editors and the problem's `column` count them (esbuild's from 0).
  return `${relative(dir, abs)}:${loc.line}:${loc.column + 1}: ${m.text}\n    ${loc.lineText}`;
}

/** The same message as a Problem: its file, line and column when it is about the function's own files. */
function problemOf(m: Message, dir: string): Problem {
  const loc = m.location;
  if (!loc) return { message: m.text };
  const abs = resolve(dir, loc.file);
  if (abs !== dir && !abs.startsWith(dir + sep)) return { message: m.text.replaceAll(dir + sep, '') };
  return { message: m.text, file: relative(dir, abs), line: loc.line, column: loc.column + 1 };
}

function safeJoin(root: string, rel: string): string {
  const p = resolve(root, rel);
  if (p !== root && !p.startsWith(root + sep)) throw new HearthError('InvalidSpec', `code: path "${rel}" leaves the code folder`);
  return p;
}

function extractZip(b64: string, dir: string, limits: ArchiveLimits): void {
  unpackZip(Buffer.from(b64, 'base64'), limits, 'code.zip', (name, data) => {
    const p = safeJoin(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  });
}
