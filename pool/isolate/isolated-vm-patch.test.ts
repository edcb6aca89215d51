// The isolated-vm Hearth runs is built from patches/isolated-vm+5.0.4.patch (scripts/patch-native.mjs,
// npm's postinstall): these are the patch's three changes, against the real binary.

import { spawn } from 'node:child_process';
import ivm from 'isolated-vm';
import { describe, expect, it } from 'vitest';

describe('the patched isolated-vm', () => {
  it('has lowMemoryNotification (the idle release)', async () => {
    const iso = new ivm.Isolate({ memoryLimit: 16 });
    try {
      await iso.lowMemoryNotification();
      iso.lowMemoryNotificationSync();
    } finally {
      iso.dispose();
    }
  });

  it('refuses Atomics.wait, in JavaScript and in WebAssembly, instead of sleeping the thread', () => {
    const iso = new ivm.Isolate({ memoryLimit: 16 });
    try {
      const ctx = iso.createContextSync();
      expect(() => ctx.evalSync('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)')).toThrow(/Atomics.wait cannot be called/);
      // (module (memory 1 1 shared) (func (export "w") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 1000000000))))
      const wasm = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 7, 5, 1, 1, 119, 0, 0, 10, 18, 1, 16, 0, 65, 0, 65, 0, 66, 128, 148, 235, 220, 3, 254, 1, 2, 0, 11];
      const t0 = Date.now();
      expect(() => ctx.evalSync(`new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(wasm)}))).exports.w()`)).toThrow();
      expect(Date.now() - t0).toBeLessThan(900); // it did not wait its second
    } finally {
      iso.dispose();
    }
  });

  it('counts CPU time in cpuTime, not wall-clock time: a process stopped mid-call does not add to it', async () => {
    // A child runs a 700 ms busy loop (by the wall clock) in an isolate; it is stopped (SIGSTOP)
    // for 300 ms of it, so its thread ran ~400 ms. Unpatched, cpuTime said ~700.
    const child = spawn(process.execPath, ['--no-node-snapshot', '--input-type=module', '-e', `
      import ivm from 'isolated-vm';
      const iso = new ivm.Isolate({ memoryLimit: 16 });
      const ctx = iso.createContextSync();
      process.stdout.write('go\\n');
      const t0 = Date.now(), c0 = iso.cpuTime;
      ctx.evalSync('const e = Date.now() + 700; let x = 0; while (Date.now() < e) x++;');
      process.stdout.write(JSON.stringify({ wall: Date.now() - t0, cpu: Number(iso.cpuTime - c0) / 1e6 }) + '\\n');
    `], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const done = new Promise<{ wall: number; cpu: number }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        if (out.startsWith('go\n') && !out.includes('{') && !(child as { stopped?: boolean }).stopped) {
          (child as { stopped?: boolean }).stopped = true;
          setTimeout(() => {
            child.kill('SIGSTOP');
            setTimeout(() => child.kill('SIGCONT'), 300);
          }, 100);
        }
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line) as { wall: number; cpu: number });
      });
      child.once('exit', (code) => reject(new Error(`the child exited (${code}) before answering: ${out}`)));
    });
    const r = await done;
    expect(r.wall).toBeGreaterThanOrEqual(700);
    expect(r.cpu).toBeLessThan(r.wall - 200);
  });
});
