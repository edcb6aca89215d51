// Piscina worker for bench/placement.ts, and the shared "hello isolate" set-up.
//
// Each worker thread owns ONE isolate (created lazily on its first task) and calls it
// with async `reference.apply`. The pool must be created with `atomics: 'disabled'`:
// with the default 'sync' mode piscina blocks the worker thread on Atomics.wait between
// tasks, which stalls the isolate promises that resolve back onto this thread.
//
// This module must stay free of top-level side effects: bench/placement.ts imports
// createHelloIsolate() from here, and piscina imports it in every worker.

import ivm from 'isolated-vm';
import { move } from 'piscina';

/** The handler under test plus the in-isolate byte codec (a bare isolate has no TextDecoder/TextEncoder). */
export const HELLO_ISOLATE_SOURCE = `
const handler = async (event) => ({ hello: event.name });
globalThis.__invoke = async function (buf) {
  // ASCII-only decode: fine for the benchmark's payload; a real runtime ships a UTF-8 codec.
  const text = String.fromCharCode.apply(null, new Uint8Array(buf));
  const out = JSON.stringify(await handler(JSON.parse(text)));
  const u8 = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) u8[i] = out.charCodeAt(i);
  return u8.buffer;
};
`;

const APPLY_OPTS = { arguments: { copy: true }, result: { promise: true, copy: true } } as const;

export interface HelloIsolate {
  /** Async apply: runs on isolated-vm's thread pool, does not block the calling thread. */
  call(req: ArrayBuffer): Promise<ArrayBuffer>;
  /**
   * applySync: blocks the calling thread for the whole call. The handler's promise is settled by the
   * microtask checkpoint that ends the sync call, so the returned host promise is already resolved.
   */
  callSync(req: ArrayBuffer): Promise<ArrayBuffer>;
  dispose(): void;
}

export async function createHelloIsolate(memoryLimitMb = 32): Promise<HelloIsolate> {
  const isolate = new ivm.Isolate({ memoryLimit: memoryLimitMb });
  const context = await isolate.createContext();
  const script = await isolate.compileScript(HELLO_ISOLATE_SOURCE, { filename: 'file:///hello.js' });
  await script.run(context);
  script.release();
  const ref: ivm.Reference<(buf: ArrayBuffer) => Promise<ArrayBuffer>> = await context.global.get('__invoke', {
    reference: true,
  });
  return {
    call: (req) => ref.apply(undefined, [req], APPLY_OPTS) as unknown as Promise<ArrayBuffer>,
    callSync: (req) => ref.applySync(undefined, [req], APPLY_OPTS) as unknown as Promise<ArrayBuffer>,
    dispose() {
      ref.release();
      context.release();
      if (!isolate.isDisposed) isolate.dispose();
    },
  };
}

let mine: Promise<HelloIsolate> | undefined;

/** Piscina task: request bytes arrive as a transferred ArrayBuffer; response bytes are transferred back. */
export default async function invoke(req: ArrayBuffer): Promise<ArrayBuffer> {
  mine ??= createHelloIsolate();
  const h = await mine;
  const out = await h.call(req);
  return move(out) as ArrayBuffer;
}

/**
 * Variant (piscina `name: 'invokeSync'`): applySync inside the worker. It blocks only this worker
 * thread, not the server's event loop; the isolate's `timeout` still bounds a spinning handler.
 */
export async function invokeSync(req: ArrayBuffer): Promise<ArrayBuffer> {
  mine ??= createHelloIsolate();
  const h = await mine;
  const out = await h.callSync(req);
  return move(out) as ArrayBuffer;
}

/** Empty task: measures piscina's own round-trip cost. */
export function noop(req: ArrayBuffer): ArrayBuffer {
  return move(req) as ArrayBuffer;
}
