// structuredClone's transfer in a real isolate, where the runtime detaches with isolated-vm's
// ExternalCopy (Node 20's V8 has no ArrayBuffer.prototype.transfer), and nothing of isolated-vm is
// left where function code can reach it.

import { afterEach, expect, test } from 'vitest';
import { runtimeScript } from '../../../test/support/runtime-script.js';
import { bootIsolate, disposeIsolate, type BootedIsolate } from '../../../pool/isolate/boot.js';

const noHost = { log() {}, result() {}, host() {} };
let booted: BootedIsolate | null = null;
afterEach(() => { if (booted) disposeIsolate(booted); booted = null; });

test('a transferred ArrayBuffer is detached, its clone has the bytes; a WebAssembly memory is not transferable', async () => {
  const b = (booted = await bootIsolate(64, await runtimeScript(), noHost, 'bare'));
  const got = await b.context.eval(`
    const buf = new Uint8Array([1, 2, 3, 4]).buffer;
    const out = structuredClone({ buf, view: new Uint8Array(buf, 2) }, { transfer: [buf] });
    let again, wasm;
    try { structuredClone(buf, { transfer: [buf] }); } catch (e) { again = e.name; }
    const mem = new WebAssembly.Memory({ initial: 1 });
    try { structuredClone(null, { transfer: [mem.buffer] }); } catch (e) { wasm = e.name + ':' + mem.buffer.byteLength; }
    JSON.stringify([buf.byteLength, [...new Uint8Array(out.buf)], [...out.view], out.view.buffer === out.buf, again, wasm,
      Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith('__hearth'))])
  `, { copy: true });
  expect(JSON.parse(got as string)).toEqual([0, [1, 2, 3, 4], [3, 4], true, 'DataCloneError', 'DataCloneError:65536', []]);
});

test("isolated-vm's module never passes through the global object: a setter a function put there catches nothing", async () => {
  const b = (booted = await bootIsolate(64, await runtimeScript(), noHost, 'bare'));
  const got = JSON.parse(await b.context.eval(`
    const caught = [];
    for (const name of ['__hearth_ivm', '__hearth_extra', '__hearth_extra_hook', 'ivm']) {
      Object.defineProperty(globalThis, name, { configurable: true, get() { return undefined; }, set(v) { caught.push(name); } });
    }
    const buf = new Uint8Array([5]).buffer;
    const out = structuredClone(buf, { transfer: [buf] });
    JSON.stringify({ caught, detached: buf.byteLength === 0, copy: [...new Uint8Array(out)] })
  `, { copy: true }) as string);
  expect(got).toEqual({ caught: [], detached: true, copy: [5] });
});
