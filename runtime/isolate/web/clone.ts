// structuredClone (HTML §2.7 StructuredSerializeInternal + StructuredDeserialize, in one pass)
// for bare V8 isolates, which have none. It copies primitives (BigInt included), plain objects
// and arrays (holes and extra properties kept), Boolean/Number/String/BigInt wrappers, Date,
// RegExp, Map, Set, ArrayBuffer (a resizable one stays resizable), typed arrays and DataView
// (sharing cloned buffers as the originals did), Blob and File, Error and its standard
// subclasses (name, message, and as V8 does stack and cause) and DOMException; shared and cyclic references are kept. It throws a DOMException
// 'DataCloneError' for functions, symbols, Symbol wrappers, promises, weak collections, weak refs,
// generators, iterators, arguments objects and web platform objects (by Symbol.toStringTag, and
// any class given to markUncloneable).
// Not built on @ungap/structured-clone 1.4.0, which loses the sharing of ArrayBuffers and the
// offsets of views, spreads binary data into JS arrays (1 s for 10 MB), detects types by
// Symbol.toStringTag (so it can be fooled, and it calls `new globalThis[error.name](message)`),
// turns promises and WeakMaps into {}, and uses the native structuredClone where there is one.
// Transfer: the transferred ArrayBuffers' contents are copied into the clone, then the originals are
// detached (HTML's StructuredSerializeWithTransfer), by the detacher the runtime sets (Node 20's V8
// has no ArrayBuffer.prototype.transfer; isolated-vm's ExternalCopy with transferOut detaches).
// Deviations: built-ins re-parented with Object.setPrototypeOf are cloned as ordinary objects,
// and CryptoKey is not cloneable.

import { DOMException } from './dom-exception.js';
import { formsLoaded } from './forms-registry.js';

const { getPrototypeOf, keys, defineProperty, getOwnPropertyDescriptor, hasOwn } = Object;
const objectToString = Object.prototype.toString;
const getter = (proto: object, key: PropertyKey) => getOwnPropertyDescriptor(proto, key)!.get! as (this: unknown) => unknown;

const TypedArrayProto = getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayName = getter(TypedArrayProto, Symbol.toStringTag) as (this: unknown) => string | undefined;
const typedArrayBuffer = getter(TypedArrayProto, 'buffer');
const typedArrayOffset = getter(TypedArrayProto, 'byteOffset') as (this: unknown) => number;
const typedArrayLength = getter(TypedArrayProto, 'length') as (this: unknown) => number;
const dataViewBuffer = getter(DataView.prototype, 'buffer');
const dataViewOffset = getter(DataView.prototype, 'byteOffset') as (this: unknown) => number;
const dataViewLength = getter(DataView.prototype, 'byteLength') as (this: unknown) => number;
const abByteLength = getter(ArrayBuffer.prototype, 'byteLength');
const abSlice = ArrayBuffer.prototype.slice;
const abResizable = getOwnPropertyDescriptor(ArrayBuffer.prototype, 'resizable')?.get as ((this: unknown) => boolean) | undefined;
const abMaxByteLength = getOwnPropertyDescriptor(ArrayBuffer.prototype, 'maxByteLength')?.get as ((this: unknown) => number) | undefined;
const abTransfer = (ArrayBuffer.prototype as { transfer?: (this: ArrayBuffer) => ArrayBuffer }).transfer;
let detach: ((buffer: ArrayBuffer) => void) | null = abTransfer ? (b) => { abTransfer.call(b); } : null;

/** How to detach an ArrayBuffer here (the runtime's, from isolated-vm; tests give Node's). */
export function setDetacher(fn: (buffer: ArrayBuffer) => void): void {
  detach = fn;
}

const isDetached = (buffer: ArrayBuffer): boolean => {
  try { new Uint8Array(buffer); return false; } catch { return true; }
};
const SAB = typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : null;
const sabByteLength = SAB && getter(SAB.prototype, 'byteLength');
const mapSize = getter(Map.prototype, 'size');
const mapForEach = Map.prototype.forEach;
const mapSet = Map.prototype.set;
const setSize = getter(Set.prototype, 'size');
const setForEach = Set.prototype.forEach;
const setAdd = Set.prototype.add;
const dateGetTime = Date.prototype.getTime;
const regExpSource = getter(RegExp.prototype, 'source');
const booleanValueOf = Boolean.prototype.valueOf;
const numberValueOf = Number.prototype.valueOf;
const stringValueOf = String.prototype.valueOf;
const bigIntValueOf = BigInt.prototype.valueOf;
const RegExpCtor = RegExp;
const DateCtor = Date;
const MapCtor = Map;
const SetCtor = Set;
const DataViewCtor = DataView;

type TypedArrayCtor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;
const TYPED_ARRAYS: { readonly [name: string]: TypedArrayCtor } = { __proto__: null as never };
for (const name of ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'Float16Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array']) {
  const ctor = (globalThis as Record<string, unknown>)[name];
  if (typeof ctor === 'function') (TYPED_ARRAYS as Record<string, TypedArrayCtor>)[name] = ctor as TypedArrayCtor;
}

type ErrorCtor = new (message?: string) => Error;
const ERRORS: { readonly [name: string]: ErrorCtor } = {
  __proto__: null as never, Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError,
};

// Objects with internal state that cannot be cloned: ECMAScript ones, then web platform ones.
const UNCLONEABLE_TAGS = new Set([
  'Arguments', 'Promise', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Symbol', 'Generator',
  'AsyncGenerator', 'Map Iterator', 'Set Iterator', 'Array Iterator', 'String Iterator',
  'RegExp String Iterator', 'Iterator Helper', 'Module',
  'AbortController', 'AbortSignal', 'Crypto', 'CryptoKey', 'SubtleCrypto', 'Event', 'EventTarget', 'Headers',
  'ReadableStream', 'Request', 'Response', 'TextDecoder', 'TextEncoder', 'TransformStream', 'URL',
  'URLSearchParams', 'WritableStream',
].map((tag) => `[object ${tag}]`));
const uncloneableClasses: (abstract new (...args: never[]) => unknown)[] = [];

/** Makes instances of these classes (platform objects without a Symbol.toStringTag) throw DataCloneError. */
export function markUncloneable(...classes: (abstract new (...args: never[]) => unknown)[]): void {
  uncloneableClasses.push(...classes);
}

function dataCloneError(what: string): DOMException {
  return new DOMException(`${what} could not be cloned.`, 'DataCloneError');
}

/** Calls an intrinsic getter or method as a brand check: true if `v` has the internal slot. */
function has(fn: (this: unknown) => unknown, v: unknown): boolean {
  try { fn.call(v); return true; } catch { return false; }
}

type Memory = Map<object, unknown>;

/** Copies the own enumerable string-keyed properties, as CreateDataProperty would. */
function copyProperties(from: object, to: Record<string, unknown>, memory: Memory): void {
  for (const key of keys(from)) {
    if (!hasOwn(from, key)) continue; // deleted by an earlier getter
    const value = clone((from as Record<string, unknown>)[key], memory);
    if (key === '__proto__') defineProperty(to, key, { value, writable: true, enumerable: true, configurable: true });
    else to[key] = value;
  }
}

function cloneArrayBuffer(v: object, memory: Memory): ArrayBuffer {
  let out: ArrayBuffer;
  try { out = abSlice.call(v, 0); } catch { throw dataCloneError('A detached ArrayBuffer'); }
  // A resizable buffer stays resizable, with its maximum (HTML: [[ArrayBufferMaxByteLength]]).
  if (abResizable !== undefined && abResizable.call(v) === true) {
    const resizable = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer)(out.byteLength, { maxByteLength: abMaxByteLength!.call(v) });
    new Uint8Array(resizable).set(new Uint8Array(out));
    out = resizable;
  }
  memory.set(v, out);
  return out;
}

function cloneBuffer(buffer: unknown, memory: Memory): ArrayBuffer {
  const seen = memory.get(buffer as object);
  if (seen !== undefined) return seen as ArrayBuffer;
  if (sabByteLength && has(sabByteLength, buffer)) return buffer as ArrayBuffer; // shared memory stays shared
  return cloneArrayBuffer(buffer as object, memory);
}

function cloneError(v: Error, memory: Memory): Error {
  let out: Error;
  const stack = v.stack;
  if (v instanceof DOMException) {
    out = new DOMException(v.message, v.name);
  } else {
    const name: unknown = v.name;
    const Ctor = (typeof name === 'string' && ERRORS[name]) || Error;
    const desc = getOwnPropertyDescriptor(v, 'message');
    out = desc && 'value' in desc ? new Ctor(String(desc.value)) : new Ctor();
  }
  if (typeof stack === 'string') defineProperty(out, 'stack', { value: stack, writable: true, configurable: true });
  memory.set(v, out);
  if (hasOwn(v, 'cause')) {
    defineProperty(out, 'cause', { value: clone((v as { cause?: unknown }).cause, memory), writable: true, configurable: true });
  }
  return out;
}

function clone(v: unknown, memory: Memory): unknown {
  if (typeof v === 'function') throw dataCloneError(`function ${v.name || '(anonymous)'}`);
  if (typeof v === 'symbol') throw dataCloneError(String(v));
  if (typeof v !== 'object' || v === null) return v;
  const seen = memory.get(v);
  if (seen !== undefined) return seen;

  if (Array.isArray(v)) {
    const out: unknown[] = new Array(v.length);
    memory.set(v, out);
    copyProperties(v, out as unknown as Record<string, unknown>, memory);
    return out;
  }
  const proto = getPrototypeOf(v);
  const tag = objectToString.call(v);
  if ((proto === Object.prototype || proto === null) && tag === '[object Object]') {
    const out: Record<string, unknown> = {};
    memory.set(v, out);
    copyProperties(v, out, memory);
    return out;
  }

  let out: unknown;
  const forms = formsLoaded();
  if (ArrayBuffer.isView(v)) {
    const name = typedArrayName.call(v);
    if (name === undefined) { // a DataView
      out = new DataViewCtor(cloneBuffer(dataViewBuffer.call(v), memory), dataViewOffset.call(v), dataViewLength.call(v));
    } else {
      const Ctor = TYPED_ARRAYS[name];
      if (!Ctor) throw dataCloneError(tag);
      out = new Ctor(cloneBuffer(typedArrayBuffer.call(v), memory), typedArrayOffset.call(v), typedArrayLength.call(v));
    }
  } else if (v instanceof ArrayBuffer && has(abByteLength, v)) {
    return cloneArrayBuffer(v, memory);
  } else if (sabByteLength && has(sabByteLength, v)) {
    out = v;
  } else if (v instanceof Map && has(mapSize, v)) {
    const map = new MapCtor();
    memory.set(v, map);
    const entries: unknown[] = []; // snapshot first, as the spec does
    mapForEach.call(v, (value, key) => { entries.push(key, value); });
    for (let i = 0; i < entries.length; i += 2) mapSet.call(map, clone(entries[i], memory), clone(entries[i + 1], memory));
    return map;
  } else if (v instanceof Set && has(setSize, v)) {
    const set = new SetCtor();
    memory.set(v, set);
    const values: unknown[] = [];
    setForEach.call(v, (value) => { values.push(value); });
    for (const value of values) setAdd.call(set, clone(value, memory));
    return set;
  } else if (v instanceof Date && has(dateGetTime, v)) {
    out = new DateCtor(dateGetTime.call(v));
  } else if (v instanceof RegExp && has(regExpSource, v)) {
    out = new RegExpCtor(v); // takes the original source and flags; lastIndex is not kept
  } else if (v instanceof Error) {
    return cloneError(v, memory);
  } else if (v instanceof Boolean && has(booleanValueOf, v)) {
    out = Object(booleanValueOf.call(v));
  } else if (v instanceof Number && has(numberValueOf, v)) {
    out = Object(numberValueOf.call(v));
  } else if (v instanceof String && has(stringValueOf, v)) {
    out = Object(stringValueOf.call(v));
  } else if (v instanceof BigInt && has(bigIntValueOf, v)) {
    out = Object(bigIntValueOf.call(v));
  } else if (forms !== null && forms.isBlob(v)) {
    // Blob and File are serializable (File API §4, §5): the same bytes (never written: shared),
    // type, and a File's name and lastModified.
    const bytes = forms.bytesOf(v);
    const b = v as { type: string; name?: string; lastModified?: number };
    out = forms.isFile(v) ? forms.makeFile(bytes, b.type, b.name!, b.lastModified!) : forms.blobFromBytes(bytes, b.type);
  } else if (UNCLONEABLE_TAGS.has(tag) || uncloneableClasses.some((c) => v instanceof c) || (forms !== null && forms.isFormData(v))) {
    throw dataCloneError(tag);
  } else {
    // An ordinary object (a class instance…): its own enumerable properties, on Object.prototype.
    const obj: Record<string, unknown> = {};
    memory.set(v, obj);
    copyProperties(v, obj, memory);
    return obj;
  }
  memory.set(v, out);
  return out;
}

export interface StructuredSerializeOptions { transfer?: Iterable<unknown> }

/** A deep copy of `value` (HTML structuredClone). */
export function structuredClone<T>(value: T, options?: StructuredSerializeOptions | null): T {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'structuredClone': 1 argument required, but only 0 present.");
  const transfer: object[] = [];
  if (options != null) {
    if (typeof options !== 'object') throw new TypeError("Failed to execute 'structuredClone': The provided value is not of type 'StructuredSerializeOptions'.");
    for (const item of options.transfer ?? []) {
      if (typeof item !== 'object' || item === null || !has(abByteLength, item)) {
        throw new DOMException('Value not transferable', 'DataCloneError');
      }
      if (transfer.includes(item)) throw new DOMException('An ArrayBuffer is listed twice in transfer', 'DataCloneError');
      if (isDetached(item as ArrayBuffer)) throw new DOMException('An ArrayBuffer in transfer is detached', 'DataCloneError');
      transfer.push(item);
    }
  }
  const out = clone(value, new Map()) as T;
  if (transfer.length !== 0) {
    if (detach === null) throw new DOMException('ArrayBuffers cannot be transferred here', 'DataCloneError');
    for (const buffer of transfer) {
      try { detach(buffer as ArrayBuffer); } catch { throw new DOMException('An ArrayBuffer in transfer cannot be detached', 'DataCloneError'); }
    }
  }
  return out;
}
