// Isolation, against a real Hearth server: a function cannot reach the host (Node, isolated-vm
// handles, the runtime's privileged functions), and functions cannot see each other.
//
// Every escape attempt is a deployed function that RETURNS what it found; the test asserts on
// the JSON result.

import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;

beforeAll(async () => {
  h = await startHearth();
});

afterAll(async () => {
  await h?.stop();
});

interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

async function call<T = any>(name: string, event: unknown = {}, headers: Record<string, string> = {}): Promise<Reply<T>> {
  const r = await h.invoke(name, event, headers);
  const raw = await r.text();
  let body: any;
  try { body = JSON.parse(raw); } catch { body = raw; }
  return { status: r.status, body, headers: r.headers };
}

/** Calls and expects a 200, with the body in the error message otherwise. */
async function ok<T = any>(name: string, event: unknown = {}): Promise<T> {
  const r = await call<T>(name, event);
  if (r.status !== 200) throw new Error(`${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

let seq = 0;
/** Deploys a one-file function under a fresh name and returns the name. */
async function deployFn(prefix: string, source: string, extra: Record<string, unknown> = {}): Promise<string> {
  const name = `${prefix}-${++seq}`;
  await deployOk(h, name, jsSource(source, extra));
  return name;
}

// ---- in-function helpers (JavaScript source, prepended to probe functions) ---------------------

/**
 * hostRefs(roots): walks the object graph reachable from `roots` (own properties, accessors and
 * prototypes) and reports every object that carries an isolated-vm Reference / ExternalCopy /
 * Context / Isolate method. Inside an isolate those only exist if the host handed one in.
 */
const HOST_REFS = String.raw`
const __MARKERS = ['applySync', 'applyIgnored', 'applySyncPromise', 'derefInto', 'copyInto', 'copySync',
  'getSync', 'setSync', 'setIgnored', 'deleteSync', 'deleteIgnored', 'evalSync', 'evalIgnored',
  'evalClosureSync', 'compileScriptSync', 'createContextSync', 'getHeapStatisticsSync'];
function hostRefs(roots) {
  const found = [];
  const seen = new Set();
  const queue = roots.slice();
  for (let qi = 0; qi < queue.length && seen.size < 50000; qi++) {
    const [path, v] = queue[qi];
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) continue;
    seen.add(v);
    for (const m of __MARKERS) if (Object.prototype.hasOwnProperty.call(v, m)) found.push(path + '.' + m);
    // A Reference also has a string "typeof" property.
    try { if (Object.prototype.hasOwnProperty.call(v, 'typeof') && typeof v.typeof === 'string') found.push(path + '.typeof'); } catch {}
    let keys = [];
    try { keys = Reflect.ownKeys(v); } catch {}
    for (const k of keys) {
      let d;
      try { d = Object.getOwnPropertyDescriptor(v, k); } catch { continue; }
      if (!d) continue;
      const kp = path + '.' + String(k);
      if ('value' in d) queue.push([kp, d.value]);
      else { queue.push([kp + '<get>', d.get]); queue.push([kp + '<set>', d.set]); }
    }
    let proto = null;
    try { proto = Object.getPrototypeOf(v); } catch {}
    queue.push([path + '.[[Prototype]]', proto]);
  }
  return { found, visited: seen.size };
}
`;

/** frames(where): the CallSites of a fresh Error, as plain data, plus a host-ref scan of what getThis/getFunction return. */
const FRAMES = String.raw`
function sitesOf(where, capture) {
  const saved = Error.prepareStackTrace;
  const savedLimit = Error.stackTraceLimit;
  let sites;
  Error.stackTraceLimit = 100;
  Error.prepareStackTrace = (_e, cs) => cs;
  try { sites = capture(); } finally { Error.prepareStackTrace = saved; Error.stackTraceLimit = savedLimit; }
  if (!Array.isArray(sites)) return [{ where, error: 'no CallSites: ' + typeof sites }];
  return sites.map((c) => {
    const th = c.getThis();
    const fn = c.getFunction();
    return {
      where,
      file: String(c.getFileName()),
      fn: String(c.getFunctionName()),
      thisType: typeof th,
      fnType: typeof fn,
      isGlobalThis: th === globalThis,
      fnSource: typeof fn === 'function' ? Function.prototype.toString.call(fn).slice(0, 80) : null,
      refs: hostRefs([[where + '.this', th], [where + '.fn', fn]]).found,
    };
  });
}
const frames = (where) => sitesOf(where, () => new Error('probe').stack);
const capturedFrames = (where) => sitesOf(where, () => { const o = {}; Error.captureStackTrace(o); return o.stack; });
`;

// ECMAScript globals plus what V8 adds in a bare context (Intl, WebAssembly, SharedArrayBuffer,
// Atomics, escape/unescape) and the runtime's console. Newer V8s may add the last few.
const STANDARD_GLOBALS = new Set([
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined',
  'Boolean', 'String', 'Symbol', 'Date', 'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError',
  'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'globalThis', 'JSON', 'Math',
  'Intl', 'ArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array',
  'Int32Array', 'Float32Array', 'Float64Array', 'Uint8ClampedArray', 'BigUint64Array', 'BigInt64Array',
  'DataView', 'Map', 'BigInt', 'Set', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect', 'FinalizationRegistry',
  'WeakRef', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape',
  'eval', 'isFinite', 'isNaN', 'console', 'SharedArrayBuffer', 'Atomics', 'WebAssembly',
  'Iterator', 'Float16Array', 'SuppressedError', 'DisposableStack', 'AsyncDisposableStack',
  // The web platform APIs every isolate gets (issue 3), as browsers and workerd name them.
  'Headers', 'Request', 'Response', 'fetch', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder',
  'atob', 'btoa', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask',
  'structuredClone', 'performance', 'crypto', 'Crypto', 'SubtleCrypto', 'CryptoKey', 'Event',
  'EventTarget', 'CustomEvent', 'AbortController', 'AbortSignal', 'DOMException', 'ReadableStream', 'WritableStream',
  'TransformStream', 'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest',
  'ReadableByteStreamController', 'ReadableStreamDefaultController', 'TransformStreamDefaultController',
  'WritableStreamDefaultController', 'WritableStreamDefaultWriter', 'ByteLengthQueuingStrategy',
  'CountQueuingStrategy', 'self', 'navigator', 'Blob', 'File', 'FormData',
  // V8's --expose-gc (set by pool/isolate/boot.ts for the WebAssembly memory bound) leaves a
  // non-configurable global; the runtime takes the function before any code runs and leaves it
  // undefined (the polluter test below checks that typeof gc is 'undefined' to the function).
  'gc',
]);

const HOST_PATH = /\/work\/|node:internal|node_modules|\/dist\/|isolated-vm|hearth-bundle-|\/tmp\//;

describe('a function cannot see the host', () => {
  test('no Node globals and no module system (CommonJS source)', async () => {
    const name = await deployFn('nodeglobals', String.raw`
      exports.handler = async () => ({
        process: typeof process, require: typeof require, Buffer: typeof Buffer, global: typeof global,
        setImmediate: typeof setImmediate, __dirname: typeof __dirname, __filename: typeof __filename,
        gProcess: typeof globalThis.process, gRequire: typeof globalThis.require,
        gModule: typeof globalThis.module, gExports: typeof globalThis.exports, gBuffer: typeof globalThis.Buffer,
        // "module" is the bundle's own local CommonJS wrapper object: just {exports}, nothing of Node's.
        module: typeof module,
        moduleKeys: Object.getOwnPropertyNames(module),
        moduleRequire: typeof module.require, moduleParent: typeof module.parent, moduleFilename: typeof module.filename,
        moduleIsExportsHolder: module.exports === exports,
        requireCall: (() => { try { require('fs'.slice(0)); return 'no error'; } catch (e) { return e.name; } })(),
      });
    `);
    expect(await ok(name)).toEqual({
      process: 'undefined', require: 'undefined', Buffer: 'undefined', global: 'undefined',
      setImmediate: 'undefined', __dirname: 'undefined', __filename: 'undefined',
      gProcess: 'undefined', gRequire: 'undefined', gModule: 'undefined', gExports: 'undefined', gBuffer: 'undefined',
      module: 'object', moduleKeys: ['exports'],
      moduleRequire: 'undefined', moduleParent: 'undefined', moduleFilename: 'undefined',
      moduleIsExportsHolder: true,
      requireCall: 'ReferenceError',
    });
  });

  test('no Node globals (ES module source)', async () => {
    const name = await deployFn('esmglobals', String.raw`
      export const handler = async () => ({
        process: typeof process, require: typeof require, Buffer: typeof Buffer,
        gProcess: typeof globalThis.process, gRequire: typeof globalThis.require,
      });
    `);
    expect(await ok(name)).toEqual({
      process: 'undefined', require: 'undefined', Buffer: 'undefined', gProcess: 'undefined', gRequire: 'undefined',
    });
  });

  test('constructor and eval tricks reach only the isolate\'s own global', async () => {
    const name = await deployFn('ctors', String.raw`
      const topThis = this;
      function attempt(f) {
        try {
          const v = f();
          return { ok: typeof v, value: typeof v === 'string' || typeof v === 'boolean' ? v : undefined };
        } catch (e) { return { threw: e && e.name }; }
      }
      async function attemptAsync(f) {
        try { const v = await f(); return { ok: typeof v, value: typeof v === 'string' ? v : undefined }; }
        catch (e) { return { threw: e && e.name }; }
      }
      function nodeBits(g) {
        return { isGlobal: g === globalThis, process: typeof g.process, require: typeof g.require, Buffer: typeof g.Buffer,
          module: typeof g.module, global: typeof g.global, hearth: Object.getOwnPropertyNames(g).filter((k) => /hearth/i.test(k)) };
      }
      exports.handler = async (event, context) => {
        const AsyncFunction = (async () => {}).constructor;
        const GeneratorFunction = (function* () {}).constructor;
        const AsyncGeneratorFunction = (async function* () {}).constructor;
        return {
          thisCtorProcess: attempt(() => topThis.constructor.constructor('return process')()),
          thisCtorTypeof: attempt(() => topThis.constructor.constructor('return typeof process')()),
          objCtorGlobal: nodeBits(({}).constructor.constructor('return this')()),
          functionThis: nodeBits(Function('return this')()),
          newFunctionRequire: attempt(() => new Function('return require')()),
          reflectConstruct: attempt(() => Reflect.construct(Function, ['return typeof process'])()),
          asyncCtorProcess: await attemptAsync(() => AsyncFunction('return process')()),
          asyncCtorTypeof: await attemptAsync(() => AsyncFunction('return typeof process + typeof require')()),
          generatorCtor: attempt(() => GeneratorFunction('yield typeof process')().next().value),
          asyncGeneratorCtor: await attemptAsync(async () => (await AsyncGeneratorFunction('yield typeof Buffer')().next()).value),
          evalTypeof: attempt(() => eval('typeof process + typeof require + typeof Buffer')),
          evalProcess: attempt(() => eval('process')),
          indirectEvalThis: nodeBits((0, eval)('this')),
          indirectEvalRequire: attempt(() => (0, eval)('require')),
          consoleCtor: attempt(() => console.log.constructor('return typeof process')()),
          contextCtor: attempt(() => context.getRemainingTimeInMillis.constructor('return typeof process')()),
          eventCtor: attempt(() => event.constructor.constructor('return typeof process')()),
          errorCtor: attempt(() => new Error().constructor.constructor('return typeof process')()),
          promiseCtor: attempt(() => Promise.resolve().then.constructor('return typeof process')()),
          protoChainTop: attempt(() => String(Object.getPrototypeOf(Object.getPrototypeOf(topThis)))),
        };
      };
    `);
    const r = await ok(name, { some: 'event' });
    const clean = { isGlobal: true, process: 'undefined', require: 'undefined', Buffer: 'undefined', module: 'undefined', global: 'undefined', hearth: [] };
    expect(r).toEqual({
      thisCtorProcess: { threw: 'ReferenceError' },
      thisCtorTypeof: { ok: 'string', value: 'undefined' },
      objCtorGlobal: clean,
      functionThis: clean,
      newFunctionRequire: { threw: 'ReferenceError' },
      reflectConstruct: { ok: 'string', value: 'undefined' },
      asyncCtorProcess: { threw: 'ReferenceError' },
      asyncCtorTypeof: { ok: 'string', value: 'undefinedundefined' },
      generatorCtor: { ok: 'string', value: 'undefined' },
      asyncGeneratorCtor: { ok: 'string', value: 'undefined' },
      evalTypeof: { ok: 'string', value: 'undefinedundefinedundefined' },
      evalProcess: { threw: 'ReferenceError' },
      indirectEvalThis: clean,
      indirectEvalRequire: { threw: 'ReferenceError' },
      consoleCtor: { ok: 'string', value: 'undefined' },
      contextCtor: { ok: 'string', value: 'undefined' },
      eventCtor: { ok: 'string', value: 'undefined' },
      errorCtor: { ok: 'string', value: 'undefined' },
      promiseCtor: { ok: 'string', value: 'undefined' },
      protoChainTop: { ok: 'string', value: 'null' },
    });
  });

  test('Error.prepareStackTrace / CallSites expose no runtime function, receiver or host handle', async () => {
    const name = await deployFn('callsites', HOST_REFS + FRAMES + String.raw`
      const atInit = frames('init');
      let fromResultToJSON = null;
      exports.handler = function (event, context) {
        const out = [];
        out.push(...frames('handler'));
        out.push(...capturedFrames('captureStackTrace'));
        // Runtime frames on the stack: console.log's formatter calls toJSON.
        console.log({ toJSON() { out.push(...frames('console.log toJSON')); return 'x'; } });
        // A getter read by console's formatter (JSON.stringify over own properties).
        console.log({ get g() { out.push(...frames('console.log getter')); return 1; } });
        // context.getRemainingTimeInMillis is a runtime closure.
        const saved = Math.max;
        Math.max = function (...a) { out.push(...frames('Math.max inside getRemainingTimeInMillis')); return saved.apply(Math, a); };
        try { context.getRemainingTimeInMillis(); } finally { Math.max = saved; }
        const previous = fromResultToJSON;
        // encodeResult's JSON.stringify calls toJSON on the result: frames of the runtime's encode path,
        // reported by the next call.
        return {
          frames: atInit.concat(out),
          previousEncodeFrames: previous,
          toJSONProbe: { toJSON() { fromResultToJSON = frames('encodeResult toJSON'); return 'probe'; } },
        };
      };
    `);
    await ok(name);
    const r = await ok<{ frames: any[]; previousEncodeFrames: any[] }>(name);
    const all = [...r.frames, ...r.previousEncodeFrames];
    expect(all.filter((f) => f.error)).toEqual([]);
    // The probes did capture the runtime's own frames...
    const runtime = all.filter((f) => f.file === 'hearth:runtime');
    expect(runtime.length).toBeGreaterThan(0);
    expect(new Set(runtime.map((f) => f.where))).toEqual(new Set([
      'handler', 'captureStackTrace', 'console.log toJSON', 'console.log getter',
      'Math.max inside getRemainingTimeInMillis', 'encodeResult toJSON',
    ]));
    // ...but the runtime is strict code: no CallSite hands out its functions or receivers.
    for (const f of runtime) {
      expect({ where: f.where, fn: f.fn, thisType: f.thisType, fnType: f.fnType }).toEqual({ where: f.where, fn: f.fn, thisType: 'undefined', fnType: 'undefined' });
    }
    // Whatever any frame does hand out carries no host handle.
    expect(all.flatMap((f) => f.refs)).toEqual([]);
    // Only the function's own file, the runtime and V8 built-ins appear: no host path, no Node frames.
    const files = new Set(all.map((f) => f.file));
    for (const file of files) expect(['hearth:runtime', `file:///${name}/index.js`, 'undefined', 'null']).toContain(file);
    // Every non-runtime frame that gives out a function gives out the user's own code.
    for (const f of all.filter((x) => x.fnType === 'function')) expect(f.file).toBe(`file:///${name}/index.js`);
  });

  test('a thrown error\'s stackTrace names no host file', async () => {
    const name = await deployFn('throws', String.raw`
      exports.handler = async () => { [1].map(() => { throw new TypeError('boom'); }); };
    `);
    const r = await call(name);
    expect(r.status).toBe(500);
    expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    expect(r.body.errorType).toBe('TypeError');
    expect(r.body.errorMessage).toBe('boom');
    expect(Array.isArray(r.body.stackTrace)).toBe(true);
    expect(r.body.stackTrace.join('\n')).toContain(`file:///${name}/index.js`);
    for (const line of r.body.stackTrace as string[]) expect(line).not.toMatch(HOST_PATH);
  });

  test('globals: only standard names, none starting with __hearth, and no host handle reachable from any of them', async () => {
    const name = await deployFn('globals', HOST_REFS + String.raw`
      const namesAtInit = Object.getOwnPropertyNames(globalThis);
      exports.handler = (event, context, callback) => {
        console.log('a line first, so the log callback has been used');
        const names = Object.getOwnPropertyNames(globalThis);
        const symbols = Object.getOwnPropertySymbols(globalThis).map(String);
        const scan = hostRefs([['globalThis', globalThis], ['event', event], ['context', context], ['callback', callback]]);
        const consoleInfo = {};
        for (const k of Reflect.ownKeys(console)) {
          const m = console[k];
          const chain = [];
          for (let p = Object.getPrototypeOf(m); p; p = Object.getPrototypeOf(p)) chain.push(p === Function.prototype ? 'Function.prototype' : p === Object.prototype ? 'Object.prototype' : String(p));
          consoleInfo[String(k)] = {
            type: typeof m,
            native: typeof m === 'function' && /\[native code\]/.test(Function.prototype.toString.call(m)),
            ownProps: typeof m === 'function' ? Reflect.ownKeys(m).map(String).filter((p) => p !== 'length' && p !== 'name') : null,
            chain,
            refs: hostRefs([['console.' + String(k), m]]).found,
          };
        }
        // The scanner itself works: a planted look-alike deep in a graph is found.
        const canary = hostRefs([['canary', { nested: { x: Object.create({ derefInto() {} }) } }]]).found;
        callback(null, {
          canary,
          namesAtInit, names, symbols, found: scan.found, visited: scan.visited, consoleInfo,
          direct: {
            log: typeof globalThis.__hearth_log, runtime: typeof globalThis.__hearth_runtime,
            evalLog: eval('typeof __hearth_log'), evalRuntime: eval('typeof __hearth_runtime'),
          },
          consoleProto: Object.getPrototypeOf(console) === Object.prototype,
        });
      };
    `);
    const r = await ok(name);
    for (const list of [r.names, r.namesAtInit] as string[][]) {
      expect(list.filter((n) => n.startsWith('__hearth'))).toEqual([]);
      expect(list.filter((n) => !STANDARD_GLOBALS.has(n))).toEqual([]);
      expect(list).toContain('console');
    }
    expect(r.symbols.filter((s: string) => s !== 'Symbol(Symbol.toStringTag)')).toEqual([]);
    expect(r.direct).toEqual({ log: 'undefined', runtime: 'undefined', evalLog: 'undefined', evalRuntime: 'undefined' });
    // The whole graph of built-ins was walked, and nothing in it is a Reference / ExternalCopy / Isolate.
    expect(r.canary).toEqual(['canary.nested.x.[[Prototype]].derefInto']);
    expect(r.visited).toBeGreaterThan(500);
    expect(r.found).toEqual([]);
    // console.* are plain JavaScript closures over the host callback, never the callback itself.
    expect(r.consoleProto).toBe(true);
    expect(Object.keys(r.consoleInfo)).toEqual(expect.arrayContaining(['log', 'info', 'warn', 'error', 'debug']));
    for (const [k, info] of Object.entries<any>(r.consoleInfo)) {
      expect({ k, ...info }).toEqual({ k, type: 'function', native: false, ownProps: [], chain: ['Function.prototype', 'Object.prototype'], refs: [] });
    }
  });

  test('import of a Node built-in is a deploy error (400), whatever the syntax', async () => {
    const sources: Array<[string, string, string]> = [
      ['dynamic import(\'fs\')', `exports.handler = async () => Object.keys(await import('fs'));`, 'fs'],
      ['dynamic import(\'node:fs\')', `exports.handler = async () => Object.keys(await import('node:fs'));`, 'node:fs'],
      ['static ESM import', `import { readFileSync } from 'fs';\nexport const handler = async () => typeof readFileSync;`, 'fs'],
      ['require(\'child_process\')', `const cp = require('child_process');\nexports.handler = async () => typeof cp;`, 'child_process'],
      ['require(\'node:process\')', `exports.handler = async () => typeof require('node:process');`, 'node:process'],
    ];
    for (const [label, source, mod] of sources) {
      const r = await h.deploy(`nodeimport-${++seq}`, jsSource(source));
      const body = await r.json() as { errorType: string; errorMessage: string };
      expect({ label, status: r.status }).toEqual({ label, status: 400 });
      expect(body.errorType).toBe('CompileError');
      expect(body.errorMessage).toContain(`"${mod}"`);
      expect(body.errorMessage).toMatch(/Node built-in/);
    }
  });

  test('an import() the bundler cannot see fails at call time, for every specifier', async () => {
    const name = await deployFn('dynimport', String.raw`
      exports.handler = async (event) => {
        const out = {};
        for (const spec of event.specs) {
          try { const m = await import(spec); out[spec] = { loaded: Object.keys(m) }; }
          catch (e) { out[spec] = { rejected: e && e.name }; }
        }
        return out;
      };
    `);
    const specs = ['fs', 'node:fs', 'child_process', './index.js', `file:///${name}/index.js`, 'file:///etc/passwd',
      'data:text/javascript,export default globalThis', 'https://example.com/x.js'];
    const r = await ok<Record<string, { loaded?: string[]; rejected?: string }>>(name, { specs });
    expect(Object.keys(r).sort()).toEqual([...specs].sort());
    for (const s of specs) {
      expect(r[s]!.loaded, s).toBeUndefined();
      expect(typeof r[s]!.rejected, s).toBe('string');
    }
    // Not caught, it is an ordinary function error.
    const name2 = await deployFn('dynimport-uncaught', `exports.handler = async (event) => Object.keys(await import(event.spec));`);
    const u = await call(name2, { spec: 'fs' });
    expect(u.status).toBe(500);
    expect(u.headers.get('x-hearth-function-error')).toBe('Unhandled');
    expect(typeof u.body.errorType).toBe('string');
    // And the instance still works afterwards.
    const again = await call(name2, { spec: 'fs' });
    expect(again.status).toBe(500);
  });

  test('WebAssembly is available (and is no way out)', async () => {
    const name = await deployFn('wasm', String.raw`
      // (module (func (export "f") (result i32) i32.const 42))
      const bytes = new Uint8Array([0,97,115,109,1,0,0,0, 1,5,1,96,0,1,127, 3,2,1,0, 7,5,1,1,102,0,0, 10,6,1,4,0,65,42,11]);
      exports.handler = async () => {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        let importsFs;
        try {
          // A module that imports "fs"."readFileSync" gets only what the caller passes in.
          const imp = new Uint8Array([0,97,115,109,1,0,0,0, 1,4,1,96,0,0, 2,19,1,2,102,115,12,114,101,97,100,70,105,108,101,83,121,110,99,0,0]);
          new WebAssembly.Instance(new WebAssembly.Module(imp), {});
          importsFs = 'instantiated';
        } catch (e) { importsFs = e.name; }
        return { wasm: typeof WebAssembly, f: inst.exports.f(), importsFs, process: typeof process };
      };
    `);
    expect(await ok(name)).toEqual({ wasm: 'object', f: 42, importsFs: 'TypeError', process: 'undefined' });
  });
});

// A source that remembers the previous event in module scope (as Lambda keeps module scope warm).
const MEMO = String.raw`
let previous = null;
let calls = 0;
exports.handler = async (event, context) => {
  const out = { previous, calls: ++calls, functionName: context.functionName, global: typeof globalThis.memoSecret === 'undefined' ? null : globalThis.memoSecret };
  previous = event;
  globalThis.memoSecret = event;
  return out;
};
`;

describe('functions are isolated from each other', () => {
  test('globals and prototype pollution in one function are invisible to another', async () => {
    const polluter = await deployFn('polluter', String.raw`
      globalThis.secret = 'A-at-init';
      Object.prototype.pollutedAtInit = 1;
      exports.handler = async () => {
        globalThis.secret = 'A';
        Object.prototype.polluted = 1;
        Array.prototype.push = () => 0;
        Array.prototype.map = () => ['hijacked'];
        String.prototype.toUpperCase = () => 'hijacked';
        JSON.parse = () => ({ hijacked: true });
        Math.random = () => 4;
        Function.prototype.call = function () { return 'hijacked'; };
        return { secret: globalThis.secret, polluted: ({}).polluted, pushed: [].push(1), gc: typeof gc };
      };
    `);
    const clean = await deployFn('clean', String.raw`
      exports.handler = async (event) => {
        const arr = [];
        const n = arr.push(1, 2);
        return {
          secret: typeof globalThis.secret,
          polluted: ({}).polluted === undefined && ({}).pollutedAtInit === undefined,
          protoKeys: Object.keys(Object.prototype),
          push: n === 2 && arr.length === 2,
          map: [1, 2].map((x) => x * 2),
          upper: 'abc'.toUpperCase(),
          parse: JSON.parse('{"a":1}'),
          random: Math.random() < 1,
          call: Math.max.call(null, 1, 2),
          echo: event,
        };
      };
    `);
    const want = (event: unknown) => ({
      secret: 'undefined', polluted: true, protoKeys: [], push: true, map: [2, 4], upper: 'ABC',
      parse: { a: 1 }, random: true, call: 2, echo: event,
    });
    // Non-ASCII so that the clean function's request takes the runtime's multi-byte decode path.
    const event = { text: 'héllo wörld 😀 日本', list: [1, 2, 3], nested: { deep: 'é'.repeat(5000) } };

    expect(await ok(polluter)).toEqual({ secret: 'A', polluted: 1, pushed: 0, gc: 'undefined' });
    expect(await ok(clean, event)).toEqual(want(event));
    // Interleaved, and with the polluter's isolate warm and dirty.
    expect(await ok(polluter)).toEqual({ secret: 'A', polluted: 1, pushed: 0, gc: 'undefined' });
    expect(await ok(clean, event)).toEqual(want(event));

    // msgpack in and out of the clean function, right after the polluter ran.
    await ok(polluter);
    const r = await fetch(`${h.url}/v1/functions/${clean}/invoke`, {
      method: 'POST', headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' }, body: new Uint8Array(pack(event)),
    });
    expect(r.status).toBe(200);
    expect(unpack(new Uint8Array(await r.arrayBuffer()))).toEqual(want(event));
  });

  test('module scope persists between calls of the same function (the previous caller\'s event is visible, by design)', async () => {
    const name = await deployFn('memo', MEMO, { maxInstances: 1 });
    const a = await call(name, { n: 1, caller: 'first' });
    expect(a.status).toBe(200);
    expect(a.headers.get('x-hearth-cold')).toBe('true');
    expect(a.body).toEqual({ previous: null, calls: 1, functionName: name, global: null });
    const b = await call(name, { n: 2, caller: 'second' });
    expect(b.headers.get('x-hearth-cold')).toBe('false');
    expect(b.body).toEqual({ previous: { n: 1, caller: 'first' }, calls: 2, functionName: name, global: { n: 1, caller: 'first' } });
    expect(await ok(name, { n: 3 })).toEqual({ previous: { n: 2, caller: 'second' }, calls: 3, functionName: name, global: { n: 2, caller: 'second' } });
  });

  test('two functions with different code never see each other\'s module scope or globals', async () => {
    const x = await deployFn('memo-x', MEMO + '\n// x\n', { maxInstances: 1 });
    const y = await deployFn('memo-y', MEMO + '\n// y\n', { maxInstances: 1 });
    expect(await ok(x, { who: 'x1' })).toEqual({ previous: null, calls: 1, functionName: x, global: null });
    expect(await ok(y, { who: 'y1' })).toEqual({ previous: null, calls: 1, functionName: y, global: null });
    expect(await ok(x, { who: 'x2' })).toEqual({ previous: { who: 'x1' }, calls: 2, functionName: x, global: { who: 'x1' } });
    expect(await ok(y, { who: 'y2' })).toEqual({ previous: { who: 'y1' }, calls: 2, functionName: y, global: { who: 'y1' } });
  });

  test('two functions with IDENTICAL code and settings never see each other\'s module scope or globals', async () => {
    // Same source, same spec, different names: two tenants deploying the same template.
    const p = await deployFn('memo-same', MEMO, { maxInstances: 1 });
    const q = await deployFn('memo-same', MEMO, { maxInstances: 1 });
    expect(await ok(p, { secret: 'belongs to p' })).toEqual({ previous: null, calls: 1, functionName: p, global: null });
    const r = await call(q, { who: 'q' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ previous: null, calls: 1, functionName: q, global: null });
  });

  test('deleting one function leaves another with identical code serving warm', async () => {
    const p = await deployFn('twin', MEMO, { maxInstances: 1 });
    const q = await deployFn('twin', MEMO, { maxInstances: 1 });
    await ok(q, { q: 1 });
    expect((await ok(q, { q: 2 })).previous).toEqual({ q: 1 });
    const del = await fetch(`${h.url}/v1/functions/${p}`, { method: 'DELETE' });
    expect(del.status).toBeLessThan(300);
    // q's warm instance (and its module scope) must not be torn down by p's deletion.
    const r = await call(q, { q: 3 });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-hearth-cold')).toBe('false');
    expect(r.body.previous).toEqual({ q: 2 });
  });

  test('a function deployed again with new code does not see the old version\'s globals or module scope', async () => {
    const name = `redeploy-${++seq}`;
    const v1 = String.raw`
      globalThis.leakAtInit = 'v1';
      let calls = 0;
      exports.handler = async (event) => {
        const before = typeof globalThis.leakAtCall;
        globalThis.leakAtCall = event.tag;
        Object.prototype.leakProto = 'v1';
        return { version: 1, calls: ++calls, leakAtCallBefore: before };
      };
    `;
    const v2 = String.raw`
      exports.handler = async () => ({
        version: 2,
        leakAtInit: typeof globalThis.leakAtInit,
        leakAtCall: typeof globalThis.leakAtCall,
        leakProto: typeof ({}).leakProto,
        leaks: Object.getOwnPropertyNames(globalThis).filter((k) => k.startsWith('leak')),
      });
    `;
    await deployOk(h, name, jsSource(v1));
    expect(await ok(name, { tag: 't1' })).toEqual({ version: 1, calls: 1, leakAtCallBefore: 'undefined' });
    expect(await ok(name, { tag: 't2' })).toEqual({ version: 1, calls: 2, leakAtCallBefore: 'string' });

    await deployOk(h, name, jsSource(v2));
    const r2 = await call(name);
    expect(r2.status).toBe(200);
    expect(r2.headers.get('x-hearth-cold')).toBe('true');
    expect(r2.body).toEqual({ version: 2, leakAtInit: 'undefined', leakAtCall: 'undefined', leakProto: 'undefined', leaks: [] });

    // Back to the first code (same digest as before): a fresh isolate, not the old one revived.
    await deployOk(h, name, jsSource(v1));
    const r3 = await call(name, { tag: 't3' });
    expect(r3.headers.get('x-hearth-cold')).toBe('true');
    expect(r3.body).toEqual({ version: 1, calls: 1, leakAtCallBefore: 'undefined' });
  });
});
