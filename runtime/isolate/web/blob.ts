// Blob and File (W3C File API §3 and §4) for the isolate. A Blob holds its bytes once, copied from
// its parts when it is made; they are never written after, so a slice, a File made from it by
// FormData and a body made from it share them. Loaded on first use with FormData (forms-registry.ts).

import { ReadableStream } from 'web-streams-polyfill';
import { encodeUtf8 } from '../utf8.js';
import { decodeText } from './body.js';

const toWellFormed = (String.prototype as unknown as { toWellFormed(this: string): string }).toWellFormed;
/** WebIDL USVString: ToString, then every lone surrogate replaced by U+FFFD. */
export const usvString = (v: unknown): string => toWellFormed.call(String(v));

export const illegal = (): never => { throw new TypeError('Illegal invocation'); };
const isObject = (v: unknown): v is object => (typeof v === 'object' && v !== null) || typeof v === 'function';

/** File API §3.1 step "type": lower-cased, or "" when any code point is outside U+0020 to U+007E. */
function normalizeType(t: string): string {
  return /^[\x20-\x7e]*$/.test(t) ? t.toLowerCase() : '';
}

/** A BlobPropertyBag or FilePropertyBag dictionary: undefined and null are {}, other non-objects a TypeError. */
function dictionary(v: unknown, what: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' && typeof v !== 'function') throw new TypeError(`Failed to construct '${what}': The provided value is not of type '${what === 'File' ? 'FilePropertyBag' : 'BlobPropertyBag'}'.`);
  return v as Record<string, unknown>;
}

function endingsOf(options: Record<string, unknown>, what: string): boolean {
  const e = options.endings;
  if (e === undefined) return false;
  const s = String(e);
  if (s !== 'transparent' && s !== 'native') throw new TypeError(`Failed to construct '${what}': The provided value '${s}' is not a valid enum value of type EndingType.`);
  return s === 'native';
}

/** File API §3.1.1 "process blob parts": the bytes of a sequence<BlobPart>. */
function processParts(parts: unknown, native: boolean, what: string): Uint8Array {
  if (parts === undefined) return new Uint8Array(0);
  const iter = parts === null || (typeof parts !== 'object' && typeof parts !== 'function') ? undefined : (parts as Record<PropertyKey, unknown>)[Symbol.iterator];
  if (typeof iter !== 'function') throw new TypeError(`Failed to construct '${what}': The provided value cannot be converted to a sequence.`);
  // WebIDL converts the whole sequence first, then the parts are read.
  const chunks: Uint8Array[] = [];
  for (const part of { [Symbol.iterator]: () => (iter as () => Iterator<unknown>).call(parts) }) {
    if (isBlob(part)) chunks.push(bytesOf(part));
    else if (part instanceof ArrayBuffer) chunks.push(new Uint8Array(part));
    else if (ArrayBuffer.isView(part)) chunks.push(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
    else {
      let s = usvString(part);
      // §3.1.1 "convert line endings to native": native is LF here, as in workerd's Linux.
      if (native) s = s.replace(/\r\n?/g, '\n');
      chunks.push(new Uint8Array(encodeUtf8(s)));
    }
  }
  return concat(chunks);
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const c of chunks) total += c.byteLength;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  return out;
}

/** WebIDL [Clamp] long long: NaN is 0, clamped, rounded half to even. */
function clampLongLong(v: unknown): number {
  const x = Number(v);
  if (Number.isNaN(x)) return 0;
  const c = Math.min(Math.max(x, -(2 ** 63)), 2 ** 63 - 1);
  let r = Math.round(c);
  if (r - c === 0.5 && r % 2 !== 0) r -= 1;
  return r;
}

// Internal helpers, set in the classes' static blocks (the private state is the brand: instanceof can be faked).
/** Whether v is a Blob (a File too). */
export let isBlob: (v: unknown) => v is Blob;
/** A Blob's bytes (never to be written). */
export let bytesOf: (b: Blob) => Uint8Array;
export let isFile: (v: unknown) => v is File;
/** A File over bytes the runtime owns (a multipart part, FormData's File for a Blob), its type taken as it is. */
export let makeFile: (bytes: Uint8Array, type: string, name: string, lastModified: number) => File;

/** A Blob over bytes the runtime owns (a body, a slice), its type taken as it is. */
export function blobFromBytes(bytes: Uint8Array, type: string): Blob {
  made = { bytes, type };
  return new Blob();
}

/** Set while the runtime makes a Blob or File from bytes it owns (a body, a multipart part, a slice). */
let made: { bytes: Uint8Array; type: string } | null = null;

export class Blob {
  #bytes: Uint8Array;
  #type: string;

  constructor(blobParts: unknown = undefined, options: unknown = undefined) {
    if (made !== null) {
      ({ bytes: this.#bytes, type: this.#type } = made);
      made = null;
      return;
    }
    const bag = dictionary(options, new.target === Blob ? 'Blob' : 'File');
    // Dictionary members are read in lexicographic order: endings, then type.
    const native = endingsOf(bag, 'Blob');
    const type = bag.type === undefined ? '' : String(bag.type);
    this.#bytes = processParts(blobParts, native, 'Blob');
    this.#type = normalizeType(type);
  }

  get size(): number {
    return isBlob(this) ? this.#bytes.byteLength : illegal();
  }

  get type(): string {
    return isBlob(this) ? this.#type : illegal();
  }

  /** File API §3.3.1 slice(): negative positions count from the end; the type is only what is given. */
  slice(start: unknown = undefined, end: unknown = undefined, contentType: unknown = undefined): Blob {
    const bytes = bytesOf(this);
    const size = bytes.byteLength;
    const rel = (v: unknown, dflt: number) => {
      if (v === undefined) return dflt;
      const n = clampLongLong(v);
      return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
    };
    const from = rel(start, 0);
    const to = rel(end, size);
    const type = contentType === undefined ? '' : normalizeType(String(contentType));
    return blobFromBytes(bytes.subarray(from, Math.max(to, from)), type);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    return bytesOf(this).slice().buffer as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    return bytesOf(this).slice();
  }

  /** File API §3.3.4: UTF-8 decode (a BOM dropped, bad bytes U+FFFD). */
  async text(): Promise<string> {
    return decodeText(bytesOf(this));
  }

  stream(): ReadableStream<Uint8Array> {
    const bytes = bytesOf(this);
    return new ReadableStream<Uint8Array>({
      type: 'bytes',
      start(c: { enqueue(b: Uint8Array): void; close(): void }) {
        if (bytes.byteLength > 0) c.enqueue(bytes.slice());
        c.close();
      },
    } as any);
  }

  static {
    isBlob = (v): v is Blob => isObject(v) && #bytes in v;
    bytesOf = (b) => (isBlob(b) ? b.#bytes : illegal());
  }
}

export class File extends Blob {
  #name: string;
  #lastModified: number;

  constructor(fileBits: unknown, fileName: unknown, options: unknown = undefined) {
    if (made !== null) {
      super();
      this.#name = '';
      this.#lastModified = 0;
      return;
    }
    if (arguments.length < 2) throw new TypeError(`Failed to construct 'File': 2 arguments required, but only ${arguments.length} present.`);
    const bag = dictionary(options, 'File');
    // FilePropertyBag members in lexicographic order: endings, lastModified, type.
    const native = endingsOf(bag, 'File');
    const lastModified = bag.lastModified === undefined ? Date.now() : longLong(bag.lastModified);
    const type = bag.type === undefined ? '' : String(bag.type);
    const bytes = processParts(fileBits, native, 'File');
    const name = usvString(fileName);
    made = { bytes, type: normalizeType(type) };
    super();
    this.#name = name;
    this.#lastModified = lastModified;
  }

  get name(): string {
    return isFile(this) ? this.#name : illegal();
  }

  get lastModified(): number {
    return isFile(this) ? this.#lastModified : illegal();
  }

  static {
    isFile = (v): v is File => isObject(v) && #name in v;
    makeFile = (bytes, type, name, lastModified) => {
      made = { bytes, type };
      const f = new File(undefined, undefined);
      f.#name = name;
      f.#lastModified = lastModified;
      return f;
    };
  }
}

/** WebIDL long long (no [Clamp] or [EnforceRange]): non-finite is 0, truncated. */
function longLong(v: unknown): number {
  const x = Number(v);
  return Number.isFinite(x) ? Math.trunc(x) || 0 : 0;
}

// WebIDL: the class string is a data property of the prototype.
Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: 'Blob', writable: false, enumerable: false, configurable: true });
Object.defineProperty(File.prototype, Symbol.toStringTag, { value: 'File', writable: false, enumerable: false, configurable: true });
