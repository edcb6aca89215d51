// WebAssembly memory counted against the function's memoryMb (issue 15, point 3).
//
// V8 allocates a WebAssembly.Memory outside the JS heap, and isolated-vm's memoryLimit (which
// bounds the heap and ArrayBuffers) does not see it, nor do the isolate's heap statistics: a
// `memoryMb: 64` function could keep a 1 GiB memory. The host cannot measure it, so the bound is
// here, installed before any function code runs, with every original WebAssembly entry point kept
// in this closure (the prototypes' `constructor` point at the wrappers, so user code cannot reach
// an original):
//
// - every memory has a maximum: `new WebAssembly.Memory` without one gets what is left of the
//   budget, a larger one is cut to it; a module's own memories are rewritten in its bytes at
//   compile time to a maximum of at most the budget (memory.grow fails past it, as wasm says);
// - the maxima of the memories alive (made by Memory, or by instantiating a module that defines
//   its memory) add up to memoryMb at most. One that would pass it is refused (a RangeError, as V8
//   throws when it cannot allocate), after a full GC has had the chance to free what is no longer
//   reachable; the instance is then over its limit: every call on it fails with OutOfMemory and the
//   host replaces it (runtime/isolate/index.ts, pool/isolate/crossing.ts);
// - a memory is alive while its Memory object, the instance that defines it, or any buffer taken
//   from it is: `memory.buffer` is wrapped to tie every buffer it hands out to the memory's
//   reservation, so dropping the Memory and keeping `new Uint8Array(memory.buffer)` frees nothing
//   from the budget (V8 11 happens to keep the Memory alive through its buffer too; this does not
//   rely on it);
// - the bytes the live memories hold now (what V8 has committed for them) are what the returned
//   `wasmBytes()` answers: the host adds it to the instance's measured memory (the pool's memory
//   budget), at the cadence it reads heap statistics, never per call.
//
// Every write to an array here is to an own property or a typed array: a setter the function puts
// on Array.prototype must not be able to swallow a reservation or a rewritten module byte.

const PAGE = 65_536;

type AnyFn = (...a: unknown[]) => unknown;
type Ctor = new (...a: unknown[]) => object;

/** One memory (or one instance's own memories): alive while any of `refs` is. */
interface Reservation {
  refs: WeakRef<object>[];
  /** Its maximum, counted against memoryMb. */
  pages: number;
  /** The Memory object whose buffer tells the size now; null when it is not reachable (a module's unexported memory). */
  memory: WeakRef<object> | null;
}

/**
 * Replaces WebAssembly's Memory, Module, Instance, compile and instantiate with bounded ones.
 * `memoryMb`: the function's limit; `gc`: V8's full GC (--expose-gc), captured by the runtime;
 * `over`: called once when a memory is refused.
 */
export function installWasmMemoryLimit(memoryMb: number, gc: (() => void) | undefined, over: (message: string) => void): () => number {
  const W = (globalThis as Record<string, unknown>).WebAssembly as Record<string, unknown> | undefined;
  if (typeof W !== 'object' || W === null) return () => 0;
  const OrigMemory = W.Memory as Ctor, OrigModule = W.Module as Ctor, OrigInstance = W.Instance as Ctor;
  const origCompile = W.compile as AnyFn;
  const { apply, construct, defineProperty } = Reflect;
  const promiseThen = Promise.prototype.then;
  const promiseResolve = Promise.resolve.bind(Promise);
  const promiseReject = Promise.reject.bind(Promise);
  const WeakRefCtor = WeakRef;
  const deref = WeakRef.prototype.deref;
  const weakMapGet = WeakMap.prototype.get, weakMapSet = WeakMap.prototype.set;
  const isView = ArrayBuffer.isView;
  const U8 = Uint8Array;
  const u8Set = Uint8Array.prototype.set;
  const RangeErrorCtor = RangeError, TypeErrorCtor = TypeError;
  const mathFloor = Math.floor;
  const getDescriptor = Object.getOwnPropertyDescriptor;
  const bufferGet = getDescriptor(OrigMemory.prototype, 'buffer')!.get as AnyFn;
  const abByteLength = getDescriptor(ArrayBuffer.prototype, 'byteLength')!.get as AnyFn;
  const sabByteLength = typeof SharedArrayBuffer === 'function' ? getDescriptor(SharedArrayBuffer.prototype, 'byteLength')?.get as AnyFn | undefined : undefined;
  /** Appends as an own property (never through a setter on Array.prototype). */
  const append = <T>(a: T[], v: T): void => { defineProperty(a, a.length, { value: v, writable: true, enumerable: true, configurable: true }); };

  const cap = mathFloor((memoryMb * 1024 * 1024) / PAGE);
  let used = 0;
  let refused = false;
  const live: Reservation[] = [];
  /** Pages a compiled module's own memories may take (their maxima, as rewritten). */
  const modulePages = new WeakMap<object, number>();
  /** Memory object → the reservation its buffers keep alive. */
  const reservationOf = new WeakMap<object, Reservation>();
  /** Buffers already tied to their reservation. */
  const tied = new WeakMap<object, true>();

  /** Whether `v` is a WebAssembly.Memory (a brand check, not instanceof, which prototypes can fool). */
  function isMemory(v: unknown): boolean {
    if (typeof v !== 'object' || v === null) return false;
    try { apply(bufferGet, v, []); return true; } catch { return false; }
  }

  /** Bytes of a buffer (ArrayBuffer or, for a shared memory, SharedArrayBuffer), by the original getters. */
  function byteLengthOf(b: unknown): number {
    try { return apply(abByteLength, b, []) as number; } catch { /* a SharedArrayBuffer */ }
    try { return sabByteLength === undefined ? 0 : apply(sabByteLength, b, []) as number; } catch { return 0; }
  }

  /** Drops what no longer holds memory (after a GC), and recounts. */
  function recount(): void {
    let j = 0;
    used = 0;
    for (let i = 0; i < live.length; i++) {
      const r = live[i]!;
      // Refs to what was collected (buffers detached by grow, mostly) go; the reservation lives on while one is left.
      let n = 0;
      for (let k = 0; k < r.refs.length; k++) if (apply(deref, r.refs[k]!, []) !== undefined) r.refs[n++] = r.refs[k]!;
      r.refs.length = n;
      if (n > 0) { live[j++] = r; used += r.pages; }
    }
    live.length = j;
  }

  /** What the live memories hold now, bytes: the current size where the Memory is reachable, else the maximum. */
  function wasmBytes(): number {
    recount();
    let bytes = 0;
    for (let i = 0; i < live.length; i++) {
      const r = live[i]!;
      const m = r.memory === null ? undefined : apply(deref, r.memory, []);
      bytes += m === undefined ? r.pages * PAGE : byteLengthOf(apply(bufferGet, m, []));
    }
    return bytes;
  }

  /** Throws unless `pages` more fit in the budget. */
  function ensureRoom(pages: number): void {
    if (pages === 0) return;
    if (!refused && used + pages > cap && gc !== undefined) { gc(); recount(); }
    if (refused || used + pages > cap) {
      const message = `WebAssembly memory: ${pages} pages (${(pages * PAGE) / 1048576} MiB) more would pass the function's memoryMb (${memoryMb} MiB; ${Math.max(0, cap - used)} pages left)`;
      if (!refused) { refused = true; over(message); }
      throw new RangeErrorCtor(message);
    }
  }

  /** Counts `pages` as alive while any of `owners` (or a buffer of `memory`) is. */
  function record(pages: number, owners: object[], memory: object | null): void {
    if (pages === 0) return;
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < owners.length; i++) append(refs, new WeakRefCtor(owners[i]!));
    const r: Reservation = { refs, pages, memory: memory === null ? null : new WeakRefCtor(memory) };
    append(live, r);
    used += pages;
    for (let i = 0; i < owners.length; i++) {
      if (isMemory(owners[i]) && apply(weakMapGet, reservationOf, [owners[i]]) === undefined) apply(weakMapSet, reservationOf, [owners[i], r]);
    }
  }

  /** `memory.buffer`, with every buffer handed out keeping the memory's reservation alive. */
  function buffer(this: unknown): unknown {
    const b = apply(bufferGet, this, []) as object;
    const r = apply(weakMapGet, reservationOf, [this]) as Reservation | undefined;
    if (r !== undefined && apply(weakMapGet, tied, [b]) === undefined) {
      apply(weakMapSet, tied, [b, true]);
      append(r.refs, new WeakRefCtor(b));
    }
    return b;
  }

  function bytesOf(source: unknown): Uint8Array {
    if (source instanceof ArrayBuffer) return new U8(source.slice(0));
    if (isView(source)) {
      const v = source as ArrayBufferView;
      const out = new U8(v.byteLength);
      apply(u8Set, out, [new U8(v.buffer, v.byteOffset, v.byteLength)]);
      return out;
    }
    throw new TypeErrorCtor('WebAssembly: argument must be a buffer source');
  }

  /** The module's bytes with each memory it defines given a maximum within the budget. */
  function capModule(src: Uint8Array): { bytes: Uint8Array; pages: number } {
    if (src.length < 8 || src[0] !== 0 || src[1] !== 0x61 || src[2] !== 0x73 || src[3] !== 0x6d) return { bytes: src, pages: 0 };
    let pos = 8;
    const leb = (): number => {
      let result = 0, shift = 0, b: number;
      do {
        if (pos >= src.length) throw new RangeErrorCtor('WebAssembly module: unexpected end');
        b = src[pos++]!;
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
      } while (b & 0x80);
      return result;
    };
    while (pos < src.length) {
      const idAt = pos;
      const id = src[pos++]!;
      const size = leb();
      const start = pos;
      if (id !== 5) { pos = start + size; continue; }
      // The memory section: a vector of limits (flags, min[, max]).
      const count = leb();
      if (count > size) return { bytes: src, pages: 0 }; // cannot hold them: V8 refuses it
      // Each limit is at most a flags byte and two 5-byte LEB128s; written into a typed array.
      const out = new U8(5 + 11 * count);
      let len = 0;
      const put = (v: number) => { do { let b = v % 128; v = mathFloor(v / 128); if (v > 0) b |= 0x80; out[len++] = b; } while (v > 0); };
      put(count);
      let pages = 0;
      for (let i = 0; i < count; i++) {
        const flags = leb();
        if (flags & 4) throw new RangeErrorCtor('WebAssembly module: 64-bit memories are not supported');
        const min = leb();
        const max = flags & 1 ? leb() : cap;
        const capped = max < cap ? max : cap;
        if (min > capped) ensureRoom(cap + 1); // can never fit: refused, with the message
        put(flags | 1); put(min); put(capped);
        pages += capped;
      }
      const end = start + size;
      if (pos !== end) return { bytes: src, pages: 0 }; // malformed: V8 says so when it compiles
      const content = new U8(out.buffer, 0, len);
      const head = new U8(5);
      let headLen = 0;
      let n = len;
      do { let b = n % 128; n = mathFloor(n / 128); if (n > 0) b |= 0x80; head[headLen++] = b; } while (n > 0);
      const bytes = new U8(idAt + 1 + headLen + len + (src.length - end));
      apply(u8Set, bytes, [new U8(src.buffer, src.byteOffset, idAt + 1), 0]);
      apply(u8Set, bytes, [new U8(head.buffer, 0, headLen), idAt + 1]);
      apply(u8Set, bytes, [content, idAt + 1 + headLen]);
      apply(u8Set, bytes, [new U8(src.buffer, src.byteOffset + end, src.length - end), idAt + 1 + headLen + len]);
      return { bytes, pages };
    }
    return { bytes: src, pages: 0 };
  }

  function pagesOf(module: unknown): number {
    const p = apply(weakMapGet, modulePages, [module]) as number | undefined;
    return p === undefined ? cap : p; // a module this code did not compile (none should exist): the whole budget
  }

  function instanceOf(module: unknown, imports: unknown, newTarget: unknown): object {
    const pages = pagesOf(module);
    ensureRoom(pages);
    const inst = construct(OrigInstance, [module, imports], newTarget as Ctor);
    // The memory lives while the instance or an exported Memory object does.
    // (A memory it imports is the Memory's own reservation; one it defines and exports tells its size.)
    const owners: object[] = [inst];
    let memory: object | null = null;
    const exports = (inst as { exports?: Record<string, unknown> }).exports;
    if (exports) {
      for (const k in exports) {
        const v = exports[k];
        if (isMemory(v) && apply(weakMapGet, reservationOf, [v]) === undefined) { append(owners, v as object); if (memory === null) memory = v as object; }
      }
    }
    record(pages, owners, memory);
    return inst;
  }

  function compiled(pages: number, module: object): object {
    apply(weakMapSet, modulePages, [module, pages]);
    return module;
  }

  function Memory(this: unknown, descriptor: unknown): object {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Memory must be invoked with 'new'");
    const d = (typeof descriptor === 'object' && descriptor !== null ? descriptor : {}) as Record<string, unknown>;
    const initial = Number(d.initial ?? d.minimum);
    const shared = Boolean(d.shared);
    const left = cap - used;
    const asked = d.maximum === undefined ? undefined : Number(d.maximum);
    // No maximum: what is left of the budget (at least the initial size, which must fit).
    const max = asked === undefined ? (left > initial ? left : initial) : asked < cap ? asked : cap;
    ensureRoom(max > initial ? max : initial);
    const m = construct(OrigMemory, [{ initial, maximum: max, shared }], (new.target === Memory ? OrigMemory : new.target) as Ctor);
    record(max, [m], m);
    return m;
  }

  function Module(this: unknown, source: unknown): object {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Module must be invoked with 'new'");
    const { bytes, pages } = capModule(bytesOf(source));
    return compiled(pages, construct(OrigModule, [bytes], (new.target === Module ? OrigModule : new.target) as Ctor));
  }

  function Instance(this: unknown, module: unknown, imports?: unknown): object {
    if (new.target === undefined) throw new TypeErrorCtor("WebAssembly.Instance must be invoked with 'new'");
    return instanceOf(module, imports, new.target === Instance ? OrigInstance : new.target);
  }

  // Compiled synchronously: isolated-vm does not pump V8's asynchronous wasm compilation, whose
  // promise then never settles (seen with isolated-vm 5.0.4: the second await of
  // WebAssembly.compile hangs). The isolate's own thread does the work either way.
  function compile(source: unknown): Promise<object> {
    try {
      const { bytes, pages } = capModule(bytesOf(source));
      return promiseResolve(compiled(pages, construct(OrigModule, [bytes], OrigModule)));
    } catch (err) {
      return promiseReject(err);
    }
  }

  function instantiate(source: unknown, imports?: unknown): Promise<unknown> {
    if (source instanceof OrigModule) {
      return apply(promiseThen, promiseResolve(undefined), [() => instanceOf(source, imports, OrigInstance)]) as Promise<unknown>;
    }
    return apply(promiseThen, compile(source), [(module: object) => ({ module, instance: instanceOf(module, imports, OrigInstance) })]) as Promise<unknown>;
  }

  const wrap = (fn: AnyFn | Ctor, orig: AnyFn | Ctor, name: string, length: number) => {
    defineProperty(fn, 'name', { value: name, configurable: true });
    defineProperty(fn, 'length', { value: length, configurable: true });
    if ('prototype' in orig) {
      defineProperty(fn, 'prototype', { value: (orig as Ctor).prototype, writable: false, enumerable: false, configurable: false });
      defineProperty((orig as Ctor).prototype, 'constructor', { value: fn, writable: true, enumerable: false, configurable: true });
    }
    defineProperty(W, name, { value: fn, writable: true, enumerable: false, configurable: true });
  };
  wrap(Memory as unknown as Ctor, OrigMemory, 'Memory', 1);
  wrap(Module as unknown as Ctor, OrigModule, 'Module', 1);
  wrap(Instance as unknown as Ctor, OrigInstance, 'Instance', 1);
  wrap(compile as AnyFn, origCompile, 'compile', 1);
  wrap(instantiate as AnyFn, W.instantiate as AnyFn, 'instantiate', 1);
  defineProperty(buffer, 'name', { value: 'get buffer', configurable: true });
  defineProperty(OrigMemory.prototype, 'buffer', { get: buffer, enumerable: getDescriptor(OrigMemory.prototype, 'buffer')!.enumerable === true, configurable: true });
  // Static helpers of Module (exports, imports, customSections) stay the originals'.
  for (const k of ['exports', 'imports', 'customSections']) {
    const v = (OrigModule as unknown as Record<string, unknown>)[k];
    if (v !== undefined) defineProperty(Module, k, { value: v, writable: true, enumerable: false, configurable: true });
  }
  return wasmBytes;
}
