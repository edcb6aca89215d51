#!/usr/bin/env node
// npm's postinstall: applies patches/ to the installed packages (patch-package), then compiles
// isolated-vm again when its binary predates its patch. The patches to core-js-pure,
// event-target-shim and web-streams-polyfill bring them to the URL, DOM and Streams standards where
// they missed (their "Hearth:" comments say where; tests in runtime/isolate/web/). The patch to
// isolated-vm 5.0.4:
// - `Isolate#lowMemoryNotification()` (V8's Isolate::LowMemoryNotification), which the isolate
//   pool calls on idle isolates to give their unused heap pages back (bench/README, "Density");
// - `isolate.cpuTime` is the isolate's CPU time, as its documentation says: a duplicate key in
//   binding.gyp dropped the define that selects the thread CPU clock, so it counted wall-clock
//   time in the isolate, preemption included (the sync crossing's budget accounting relies on it);
// - Atomics.wait throws in isolates (V8's SetAllowAtomicsWait(false)), as on a browser's main
//   thread: a wait could only sleep the thread that runs the isolate, without using CPU time.
//
// isolated-vm's own install script compiled it before this runs (or, with network access to
// GitHub, downloaded a prebuilt binary, which is unpatched too), so a binary without the patched
// method is rebuilt from the patched source here, with the node-gyp npm runs scripts with.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ivm = join(root, 'node_modules', 'isolated-vm');

execFileSync(process.execPath, [createRequire(import.meta.url).resolve('patch-package/index.js')], { cwd: root, stdio: 'inherit' });

/**
 * Whether the isolated-vm binary that loads was built from the patch (in a child: it needs
 * --no-node-snapshot): it has the added method, and refuses Atomics.wait (the patch's last change).
 */
function patchedBinary() {
  const probe = `const ivm = require(${JSON.stringify(ivm)});
    if (typeof ivm.Isolate.prototype.lowMemoryNotification !== 'function') process.exit(3);
    const iso = new ivm.Isolate({ memoryLimit: 16 });
    try { iso.createContextSync().evalSync('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 0)'); } catch { process.exit(0); }
    process.exit(4);`;
  const r = spawnSync(process.execPath, ['--no-node-snapshot', '-e', probe], { stdio: 'ignore' });
  return r.status === 0;
}

if (!existsSync(ivm)) process.exit(0);
if (patchedBinary()) process.exit(0);

// npm sets npm_config_node_gyp to its own node-gyp for lifecycle scripts; outside npm, npm's copy.
let gyp = process.env.npm_config_node_gyp;
if (!gyp || !existsSync(gyp)) {
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  gyp = join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}
console.error('hearth: compiling the patched isolated-vm (about two minutes)');
// As isolated-vm's own install script: rebuild, then clean (its build/ tree is ~100 MB; the
// binary is copied to out/). The compiler's warnings are shown only if it fails.
for (const args of [['rebuild', '--release', '-j', 'max'], ['clean']]) {
  const r = spawnSync(process.execPath, [gyp, ...args], { cwd: ivm, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    console.error(`${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').slice(-60).join('\n'));
    console.error(`hearth: node-gyp ${args[0]} failed for the patched isolated-vm (status ${r.status})`);
    process.exit(1);
  }
}
if (!patchedBinary()) {
  console.error('hearth: isolated-vm was rebuilt but still lacks its patch (lowMemoryNotification, Atomics.wait refused): see patches/');
  process.exit(1);
}
