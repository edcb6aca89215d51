// Bundles the web console (core/console/ui) into dist/console at build time: the page's script and
// stylesheet, and the code editor (CodeMirror: most of the bytes) as a chunk loaded only when an
// editor opens, all named by their content hash, and index.html naming the entry. Hearth reads the
// folder once at start and serves it from memory (core/console/serve.ts). Every library comes from
// node_modules: the page asks no other host for anything.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gzipSync } from 'node:zlib';

const out = 'dist/console';
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const r = await build({
  entryPoints: { app: 'core/console/ui/main.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox110', 'safari16'],
  minify: true,
  legalComments: 'none',
  outdir: out,
  entryNames: '[name].[hash]',
  chunkNames: 'chunk.[hash]',
  loader: { '.css': 'css' },
  metafile: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

let js = '';
let css = '';
for (const [file, o] of Object.entries(r.metafile.outputs)) {
  // The page's own entry (a dynamic import's chunk names its module as entryPoint too).
  if (o.entryPoint !== 'core/console/ui/main.ts' || !file.endsWith('.js')) continue;
  js = basename(file);
  css = o.cssBundle ? basename(o.cssBundle) : css;
}
if (!js || !css) throw new Error('build-console: the entry script or its stylesheet is missing from the output');
const html = readFileSync('core/console/ui/index.html', 'utf8').replace('%CSS%', `assets/${css}`).replace('%JS%', `assets/${js}`);
writeFileSync(`${out}/index.html`, html);

const sizes = readdirSync(out).map((f) => {
  const body = readFileSync(`${out}/${f}`);
  return { f, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length };
});
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const first = sizes.filter((s) => !s.f.startsWith('chunk.'));
const sum = (list, k) => list.reduce((n, s) => n + s[k], 0);
console.log(`console: ${kib(sum(sizes, 'bytes'))} (${kib(sum(sizes, 'gzip'))} gzipped) in dist/console; the page without the editor: ${kib(sum(first, 'bytes'))} (${kib(sum(first, 'gzip'))} gzipped)`);
