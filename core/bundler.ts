// Turns a js function's code (one source, or a zip) into one script, once, at deploy. The script
// evaluates to the module's exports, so nothing is left on the isolate's global object.

import { build, type Message, type Plugin } from 'esbuild';
import { unzipSync } from 'fflate';
import { isBuiltin } from 'node:module';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { HearthError } from './errors.js';

export interface BundleInput {
  /** "index.main_handler" → file "index", export "main_handler". */
  handler: string;
  code: { source: string; filename?: string } | { zip: string };
  maxBytes: number;
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
      extractZip(input.code.zip, dir, input.maxBytes);
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

async function runEsbuild(entry: string, dir: string): Promise<string> {
  let out;
  try {
    out = await build({
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
    if (errors?.length) throw new HearthError('CompileError', errors.map((e) => formatMessage(e, dir)).join('\n'));
    throw new HearthError('CompileError', (err as Error).message);
  }
  const text = out.outputFiles[0]!.text;
  // One function scope around the CommonJS output; the script's completion value is the exports.
  // Keep "use strict" first so strict code (every ES module) stays strict.
  const strict = /^\s*(['"])use strict\1;?/.exec(text);
  const body = strict ? text.slice(strict[0].length) : text;
  return `((module)=>(function(exports){${strict ? '"use strict";' : ''}${body}\nreturn module.exports;}).call(module.exports,module.exports))({exports:{}})`;
}

function formatMessage(m: Message, dir: string): string {
  const loc = m.location;
  if (!loc) return m.text;
  const file = loc.file.startsWith(dir) ? loc.file.slice(dir.length + 1) : loc.file;
  return `${file}:${loc.line}:${loc.column}: ${m.text}\n    ${loc.lineText}`;
}

function safeJoin(root: string, rel: string): string {
  const p = resolve(root, rel);
  if (p !== root && !p.startsWith(root + sep)) throw new HearthError('InvalidSpec', `code: path "${rel}" leaves the code folder`);
  return p;
}

function extractZip(b64: string, dir: string, maxBytes: number): void {
  let files: Record<string, Uint8Array>;
  let total = 0;
  try {
    files = unzipSync(Buffer.from(b64, 'base64'), {
      filter: (f) => {
        total += f.originalSize;
        if (total > maxBytes) throw new HearthError('CodeTooLarge', `the zip unpacks to more than ${maxBytes} bytes`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof HearthError) throw err;
    throw new HearthError('InvalidSpec', `code.zip: not a readable zip archive (${(err as Error).message})`);
  }
  for (const [name, data] of Object.entries(files)) {
    if (name.endsWith('/')) continue;
    const p = safeJoin(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
  }
}
