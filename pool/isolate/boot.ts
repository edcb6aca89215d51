// Making an isolate: a blank one with the in-isolate runtime loaded (prewarmed), then one version's
// code compiled into it (from V8 cached data when there is some) and its handler bound. What the
// isolate then does is the instance's (instance.ts), its calls the crossing's (crossing.ts).

import ivm from 'isolated-vm';
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import type { FunctionVersion } from '../../core/backend.js';
import { HearthError } from '../../core/errors.js';
import { Encoding, HOST_IVM, HostGlobal, ModuleKind, Outcome, WebField, type BatchCalls, type WebCall } from '../../runtime/protocol.js';
import type { CodeCache } from './code-cache.js';
import { crossingOptions } from './crossing.js';
import type { ExtraScripts } from './extras.js';

// Isolates' contexts get V8's `gc()`: the runtime takes it before any function code runs (and
// deletes the global) to free unreachable WebAssembly memories before it refuses a new one
// (runtime/isolate/wasm-memory.ts). Read by V8 when a context is made, so set before any is.
setFlagsFromString('--expose-gc');

/** The runtime script, compiled once per process and then from V8 cached data. */
export interface RuntimeScript {
  source: string;
  cachedData: ivm.ExternalCopy<ArrayBuffer> | null;
  /** The extras the runtime loads on first use (extras.ts). */
  extras?: ExtraScripts;
}

/** The runtime's entry points, as references the host calls (released with the isolate). */
export interface RuntimeRefs {
  readonly invoke: ivm.Reference<Function>;
  readonly invokeBatch: ivm.Reference<Function>;
  /** The synchronous batch (crossing.ts, the sync mode): answers in its return value. */
  readonly invokeNow: ivm.Reference<Function>;
  readonly invokeWeb: ivm.Reference<Function>;
  readonly invokeScheduled: ivm.Reference<Function>;
  readonly deliver: ivm.Reference<Function>;
  readonly recover: ivm.Reference<Function>;
  /** Bytes the isolate's live WebAssembly memories hold (runtime/isolate/wasm-memory.ts): read when the pool measures the instance. */
  readonly wasmBytes: ivm.Reference<Function>;
  /** Binds the function's handler; released once the code is loaded. */
  load: ivm.Reference<Function> | null;
}

/**
 * What the runtime calls on the host. The arguments come from user-reachable code paths (a
 * function can call the runtime's channels too): the receiver checks them all.
 */
export interface HostCallbacks {
  /** A batch of console lines (runtime/protocol.ts LOG_ENTRY). */
  log(batch: unknown): void;
  /** A batched call that outlived its batch has finished. */
  result(rid: unknown, r: unknown): void;
  /** A HostOp request (timers, fetch, waitUntil). */
  host(args: unknown[]): void;
}

export interface BootedIsolate {
  readonly isolate: ivm.Isolate;
  readonly context: ivm.Context;
  readonly refs: RuntimeRefs;
}

/**
 * What a blank isolate has done before it gets its function. `bare`: only the runtime loaded (made
 * on demand, for a deploy's check or a cold start that found the reserve empty). Made ahead of
 * need, it rehearses a cold call (rehearse()): `event` an event call; `apis` the same with the web
 * APIs the runtime otherwise loads on first use loaded too (URL, URLSearchParams, crypto), for code
 * that names them (core-js's URL: ~0.22 MiB of every idle instance, measured with the density bench;
 * a first touch of URL costs ~4.3 ms of the isolate's CPU, of crypto ~4 ms); `web` those and a
 * Workers module's web call, for modules with a fetch handler (what it compiles stays in the
 * isolate: ~0.3 MiB more an idle instance, which event functions need not carry).
 */
export type BlankKind = 'bare' | 'event' | 'apis' | 'web';

/** What a blank made ahead of need has loaded and rehearsed. */
export type ReadyKind = Exclude<BlankKind, 'bare'>;

/** A blank isolate with the runtime loaded: no function code yet (BlankKind says what else). */
export async function bootIsolate(memoryMb: number, runtime: RuntimeScript, host: HostCallbacks, kind: BlankKind, logLimits: number[] = []): Promise<BootedIsolate> {
  const limits = [logLimits[0] ?? 0, logLimits[1] ?? 0, logLimits[2] ?? 0, memoryMb];
  const isolate = new ivm.Isolate({ memoryLimit: memoryMb });
  try {
    const context = await isolate.createContext();
    const g = context.global;
    await g.set(HostGlobal.log, new ivm.Callback((batch: unknown) => host.log(batch), { ignored: true }));
    await g.set(HostGlobal.limits, new ivm.ExternalCopy(limits).copyInto({ release: true }));
    await g.set(HostGlobal.result, new ivm.Callback((rid: unknown, r: unknown) => host.result(rid, r), { ignored: true }));
    await g.set(HostGlobal.host, new ivm.Callback((...a: unknown[]) => host.host(a), { ignored: true }));
    await g.set(HostGlobal.seed, new ivm.ExternalCopy(randomBytes(32).buffer).copyInto({ release: true }));
    // The runtime's synchronous loader: extras (extras.ts), and isolated-vm's module itself, given
    // only when structuredClone first transfers a buffer (the runtime keeps ExternalCopy to detach).
    const loadExtra = runtime.extras?.loader(isolate, context);
    // The module is the callback's return value (isolated-vm transfers it), never put on the global
    // object, where a setter the function defined there could catch it.
    await g.set(HostGlobal.extra, new ivm.Callback((name: unknown) => (name === HOST_IVM ? ivm : loadExtra?.(name) ?? false)));
    const script: ivm.Script & ivm.CachedDataResult = await isolate.compileScript(runtime.source, {
      filename: 'hearth:runtime',
      ...(runtime.cachedData ? { cachedData: runtime.cachedData } : { produceCachedData: true }),
    });
    if (!runtime.cachedData && script.cachedData) runtime.cachedData = script.cachedData;
    await script.run(context);
    script.release();
    const rt = await g.get(HostGlobal.exportsOut, { reference: true });
    const ref = (name: string) => rt.get(name, { reference: true }) as Promise<ivm.Reference<Function>>;
    const refs: RuntimeRefs = {
      load: await ref('load'),
      invoke: await ref('invoke'),
      invokeBatch: await ref('invokeBatch'),
      invokeNow: await ref('invokeNow'),
      invokeWeb: await ref('invokeWeb'),
      invokeScheduled: await ref('invokeScheduled'),
      deliver: await ref('deliver'),
      recover: await ref('recover'),
      wasmBytes: await ref('wasmBytes'),
    };
    if (kind !== 'bare') {
      if (kind !== 'event') {
        const p = await ref('preload');
        await p.apply(undefined, [], { timeout: REHEARSAL_LIMIT.timeout });
        p.release();
      }
      await rehearse(isolate, context, refs, kind === 'web');
      const blank = await ref('blank');
      await blank.apply(undefined, [], { timeout: REHEARSAL_LIMIT.timeout });
      blank.release();
    }
    rt.release();
    await g.delete(HostGlobal.exportsOut);
    return { isolate, context, refs };
  } catch (err) {
    if (!isolate.isDisposed) isolate.dispose();
    throw err;
  }
}

const REHEARSAL_LIMIT = { timeout: 5_000 };
const REHEARSAL_ID = 'hearth-rehearsal';
/** The rehearsal's functions: an event handler that answers its event, and a Workers module. */
const REHEARSAL_EVENT = '(function () { return { main: async (e) => e }; })()';
const REHEARSAL_WEB = `(function () { return { default: { async fetch(request, env, ctx) {
  const url = new URL(request.url);
  const text = await request.text();
  return new Response(JSON.stringify({ q: url.searchParams.get('q'), text, type: request.headers.get('content-type') }), { status: 201, headers: { 'content-type': 'application/json' } });
} } }; })()`;

/** The rehearsal checks every answer: a blank that cannot run a call is never handed out. */
function answered(what: string, r: unknown, ok: (r: unknown) => boolean): void {
  if (!ok(r)) throw new Error(`the rehearsal's ${what} was not answered as expected`);
}
/** A batch whose one call answered within it. */
const isAnswered = (r: unknown) => Array.isArray(r) && r.length === 1 && r[0] !== null;
const isWebResponse = (status: number) => (r: unknown) => Array.isArray(r) && r[0] === Outcome.webResponse && r[WebField.status] === status;

/**
 * A blank made ahead of need goes once through what a cold call does, on throwaway modules, with
 * the options the crossing uses: compile and run a script, bind its handler, an async call, a
 * batch, a synchronous batch from the main thread, the heap measured; a `web` blank then also a
 * web call, on the Lambda URL path and to a Workers module (the first web call otherwise compiles
 * the runtime's Request, Headers, Response and streams). Each of these costs much more the first time
 * in an isolate than after (V8 sets up a thread's state in the isolate on its first entry, and
 * compiles a function on its first run): measured in one process, the first synchronous entry
 * ~220 µs, then ~9 µs; the rehearsal took ~0.6 ms of isolate CPU off a cold event call's load and
 * first call (bench --compare-cold, end to end: p50 3.53 → 2.74 ms), and ~2.6 ms off a Workers
 * module's first web call (its X-Hearth-Duration-Ms 3.1–4.8 → 0.7–1.3 ms). The runtime's blank()
 * then forgets the modules and their calls.
 */
async function rehearse(isolate: ivm.Isolate, context: ivm.Context, refs: RuntimeRefs, web: boolean): Promise<void> {
  const load = async (source: string, exportName: string, kind: number) => {
    const script = await isolate.compileScript(source, { filename: 'hearth:rehearsal' });
    const exportsRef = await script.run(context, { reference: true, ...REHEARSAL_LIMIT });
    script.release();
    const bound = await refs.load!.apply(undefined, [exportsRef.derefInto({ release: true }), exportName, '', '', 0, 0,
      new ivm.ExternalCopy([]).copyInto({ release: true }), 0], { result: { copy: true }, ...REHEARSAL_LIMIT });
    if (bound !== kind) throw new Error(`the rehearsal's module did not load: ${String(bound)}`);
  };
  const event = () => new Uint8Array([0x7b, 0x7d]).buffer; // {}
  const deadline = Date.now() + REHEARSAL_LIMIT.timeout;
  const options = crossingOptions(REHEARSAL_LIMIT.timeout, REHEARSAL_LIMIT.timeout);
  const webArgs = (): unknown[] => ['POST', 'http://rehearsal.invalid/p?q=1', new ivm.ExternalCopy(['content-type', 'text/plain']).copyInto({ release: true }),
    new ivm.ExternalCopy(event()).copyInto({ release: true }), REHEARSAL_ID, deadline, '127.0.0.1'];
  const webCall: WebCall = ['POST', 'http://rehearsal.invalid/p?q=1', ['content-type', 'text/plain'], '127.0.0.1'];

  await load(REHEARSAL_EVENT, 'main', ModuleKind.event);
  const calls: BatchCalls = [[event()], [Encoding.json], [Encoding.json], [REHEARSAL_ID], deadline, [null]];
  answered('an event call', await refs.invoke.apply(undefined, [event(), Encoding.json, Encoding.json, REHEARSAL_ID, deadline], options.applyCopy), (r) => r instanceof ArrayBuffer);
  answered('a batch', await refs.invokeBatch.apply(undefined, [calls], options.applyCopy), isAnswered);
  answered('a synchronous batch', refs.invokeNow.applySync(undefined, [calls], options.sync), isAnswered);
  isolate.getHeapStatisticsSync();
  refs.wasmBytes.applySync(undefined, [], REHEARSAL_LIMIT);

  if (!web) return;
  answered('a Lambda URL call', await refs.invokeWeb.apply(undefined, webArgs(), options.apply), isWebResponse(200));
  await load(REHEARSAL_WEB, 'default', ModuleKind.fetch);
  answered('a web call', await refs.invokeWeb.apply(undefined, webArgs(), options.apply), isWebResponse(201));
  answered('a batched web call', await refs.invokeBatch.apply(undefined, [[[event()], [Encoding.json], [Encoding.json], [REHEARSAL_ID], deadline, [webCall]] satisfies BatchCalls], options.applyCopy), isAnswered);
}

export type CodeCacheUse = 'consumed' | 'produced' | 'rejected' | 'none';

/**
 * Compiles the version's code, from V8 cached data when the cache has some (and keeps the data it
 * produced, or forgets data V8 rejected). Throws what V8 threw (a syntax error).
 */
export async function compileFunction(b: BootedIsolate, fn: FunctionVersion, code: CodeCache): Promise<{ script: ivm.Script; cache: CodeCacheUse }> {
  const compiled = code.get(fn.codeDigest);
  const script: ivm.Script & ivm.CachedDataResult & { cachedDataRejected?: boolean } = await b.isolate.compileScript(compiled.source, {
    filename: `file:///${fn.name}/${fn.handler.slice(0, fn.handler.lastIndexOf('.'))}.js`,
    ...(compiled.cachedData ? { cachedData: compiled.cachedData } : { produceCachedData: true }),
  });
  let cache: CodeCacheUse = 'none';
  if (script.cachedDataRejected) {
    cache = 'rejected';
    code.reject(fn.codeDigest);
  } else if (compiled.cachedData) {
    cache = 'consumed';
  } else if (script.cachedData) {
    cache = 'produced';
    code.setCachedData(fn.codeDigest, script.cachedData);
  }
  return { script, cache };
}

/**
 * Runs the compiled module and binds its handler (the runtime's load). Returns what the module
 * offers (ModuleKind bits). Throws HearthError('FunctionInitError') when it names no handler, and
 * what V8 threw when the module's own code throws.
 */
export async function runFunction(b: BootedIsolate, script: ivm.Script, fn: FunctionVersion, maxResultBytes = 0): Promise<number> {
  const limit = { timeout: fn.spec.timeoutMs };
  const exportsRef = await script.run(b.context, { reference: true, ...limit });
  const problem = await b.refs.load!.apply(
    undefined,
    [exportsRef.derefInto({ release: true }), fn.exportName, fn.name, fn.version, fn.spec.memoryMb, fn.spec.timeoutMs,
      new ivm.ExternalCopy(Object.entries(fn.spec.env).flat()).copyInto({ release: true }), maxResultBytes],
    { result: { copy: true }, ...limit },
  );
  if (typeof problem === 'string') throw new HearthError('FunctionInitError', `handler "${fn.handler}": ${problem}`);
  b.refs.load!.release();
  b.refs.load = null;
  return typeof problem === 'number' ? problem : ModuleKind.event;
}

/** Releases the references and the context, and disposes the isolate (never throws). */
export function disposeIsolate(b: BootedIsolate): void {
  if (b.isolate.isDisposed) return;
  try {
    const r = b.refs;
    r.invoke.release();
    r.invokeBatch.release();
    r.invokeNow.release();
    r.invokeWeb.release();
    r.invokeScheduled.release();
    r.deliver.release();
    r.recover.release();
    r.wasmBytes.release();
    r.load?.release();
    b.context.release();
    b.isolate.dispose();
  } catch {
    // already gone
  }
}
