// FormData (XHR §4.3), the multipart/form-data encoding algorithm (HTML §4.10.21.8) a FormData
// body is serialized with, and the two parsers of body.formData() (Fetch §6.3): multipart/form-data
// (RFC 7578 over RFC 2046's multipart syntax) and application/x-www-form-urlencoded (URL §5.1).
// Both parsers are linear in the body: the delimiter is found with Knuth-Morris-Pratt, and every
// byte is looked at a bounded number of times. Bounds: the entries parsed are bounded only by the
// body's size, which the host caps (--max-body-bytes, 6 MiB, for a request or a fetched response);
// a body the function makes itself is bounded by the isolate's memory (memoryMb).

import { decodeUtf8, encodeUtf8 } from '../utf8.js';
import { Blob, blobFromBytes, bytesOf, concat, File, illegal, isBlob, isFile, makeFile, usvString } from './blob.js';
import { TextDecoder } from './encoding.js';
import { registerForms } from './forms-registry.js';
import { essence, extractMimeType, TOKEN } from './mime-type.js';

export type FormDataEntryValue = string | File;
type Entry = [string, FormDataEntryValue];

/** XHR §4.3 "create an entry": a Blob becomes a File named "blob"; a filename makes a new File. */
function makeEntry(method: string, args: IArguments, name: unknown, value: unknown, filename: unknown): Entry {
  if (args.length < 2) throw new TypeError(`Failed to execute '${method}' on 'FormData': 2 arguments required, but only ${args.length} present.`);
  const n = usvString(name);
  if (!isBlob(value)) {
    // Overload resolution: with a third argument only the (name, Blob, filename) overload fits.
    if (filename !== undefined) throw new TypeError(`Failed to execute '${method}' on 'FormData': parameter 2 is not of type 'Blob'.`);
    return [n, usvString(value)];
  }
  let v: File;
  if (!isFile(value)) v = makeFile(bytesOf(value), value.type, filename === undefined ? 'blob' : usvString(filename), Date.now());
  else if (filename !== undefined) v = makeFile(bytesOf(value), value.type, usvString(filename), value.lastModified);
  else v = value;
  return [n, v];
}

/** In place: live iterators read the same list. */
function replace(list: Entry[], kept: Entry[]): void {
  list.length = 0;
  for (const e of kept) list.push(e);
}

let entriesOf: (f: FormData) => Entry[];
let isFormData: (v: unknown) => v is FormData;

export class FormData {
  #entries: Entry[] = [];

  constructor(form: unknown = undefined) {
    // There is no HTMLFormElement here: any form argument fails WebIDL's conversion.
    if (form !== undefined) throw new TypeError("Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement'.");
  }

  append(name: string, value: unknown, filename: unknown = undefined): void {
    const list = entriesOf(this);
    list.push(makeEntry('append', arguments, name, value, filename));
  }

  delete(name: string): void {
    const list = entriesOf(this);
    const n = usvString(name);
    replace(list, list.filter((e) => e[0] !== n));
  }

  get(name: string): FormDataEntryValue | null {
    const list = entriesOf(this);
    const n = usvString(name);
    for (const e of list) if (e[0] === n) return e[1];
    return null;
  }

  getAll(name: string): FormDataEntryValue[] {
    const list = entriesOf(this);
    const n = usvString(name);
    return list.filter((e) => e[0] === n).map((e) => e[1]);
  }

  has(name: string): boolean {
    const list = entriesOf(this);
    const n = usvString(name);
    return list.some((e) => e[0] === n);
  }

  /** XHR: replaces the first entry of that name and removes the others, or appends. */
  set(name: string, value: unknown, filename: unknown = undefined): void {
    const list = entriesOf(this);
    const entry = makeEntry('set', arguments, name, value, filename);
    const first = list.findIndex((e) => e[0] === entry[0]);
    if (first < 0) { list.push(entry); return; }
    const kept = list.filter((e, i) => i <= first || e[0] !== entry[0]);
    kept[first] = entry;
    replace(list, kept);
  }

  /** WebIDL's forEach of a pair iterable: the list is read again at each step. */
  forEach(callback: (value: FormDataEntryValue, name: string, parent: FormData) => void, thisArg: unknown = undefined): void {
    const list = entriesOf(this);
    if (typeof callback !== 'function') throw new TypeError("Failed to execute 'forEach' on 'FormData': parameter 1 is not of type 'Function'.");
    for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i]![1], list[i]![0], this);
  }

  entries(): IterableIterator<[string, FormDataEntryValue]> {
    return iterator(this, 'key+value') as IterableIterator<[string, FormDataEntryValue]>;
  }

  keys(): IterableIterator<string> {
    return iterator(this, 'key') as IterableIterator<string>;
  }

  values(): IterableIterator<FormDataEntryValue> {
    return iterator(this, 'value') as IterableIterator<FormDataEntryValue>;
  }

  declare [Symbol.iterator]: () => IterableIterator<[string, FormDataEntryValue]>;

  static {
    isFormData = (v): v is FormData => ((typeof v === 'object' && v !== null) || typeof v === 'function') && #entries in v;
    entriesOf = (f) => (isFormData(f) ? f.#entries : illegal());
  }
}

// WebIDL: @@iterator is the same function object as entries; the class string is a data property.
Object.defineProperty(FormData.prototype, Symbol.iterator, { value: FormData.prototype.entries, writable: true, enumerable: false, configurable: true });
Object.defineProperty(FormData.prototype, Symbol.toStringTag, { value: 'FormData', writable: false, enumerable: false, configurable: true });

type IterationKind = 'key' | 'value' | 'key+value';
const iterators = new WeakMap<object, { list: Entry[]; kind: IterationKind; index: number }>();
const IteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object;

/** The "FormData Iterator" prototype (WebIDL's default iterator objects, as for Headers). */
const FormDataIteratorPrototype = Object.create(IteratorPrototype, {
  next: {
    value: function next(this: unknown): IteratorResult<unknown> {
      const st = typeof this === 'object' && this !== null ? iterators.get(this) : undefined;
      if (st === undefined) throw new TypeError("Failed to execute 'next' on 'FormData Iterator': Illegal invocation");
      if (st.index >= st.list.length) return { value: undefined, done: true };
      const [k, v] = st.list[st.index++]!;
      return { value: st.kind === 'key' ? k : st.kind === 'value' ? v : [k, v], done: false };
    },
    writable: true, enumerable: true, configurable: true,
  },
  [Symbol.toStringTag]: { value: 'FormData Iterator', writable: false, enumerable: false, configurable: true },
}) as object;

function iterator(f: FormData, kind: IterationKind): object {
  const list = entriesOf(f);
  const it = Object.create(FormDataIteratorPrototype) as object;
  iterators.set(it, { list, kind, index: 0 });
  return it;
}

// ---- Bytes helpers ----

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;

const utf8 = (s: string) => new Uint8Array(encodeUtf8(s));

let lenient: TextDecoder | null = null;
/** Encoding's "UTF-8 decode without BOM": bad bytes become U+FFFD, a BOM is kept. */
function decodeWithoutBom(b: Uint8Array): string {
  try {
    return decodeUtf8(b);
  } catch {
    return (lenient ??= new TextDecoder('utf-8', { fatal: false, ignoreBOM: true })).decode(b);
  }
}

/** Isomorphic decode (each byte one code point), in chunks so a long line cannot overflow the stack. */
function latin1(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/** Knuth-Morris-Pratt: finds needle in haystack from `from` in O(haystack + needle) steps. */
function searcher(needle: Uint8Array): (hay: Uint8Array, from: number) => number {
  const m = needle.length;
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = fail[k - 1]!;
    if (needle[i] === needle[k]) k++;
    fail[i] = k;
  }
  return (hay, from) => {
    for (let i = from, k = 0; i < hay.length; i++) {
      while (k > 0 && hay[i] !== needle[k]) k = fail[k - 1]!;
      if (hay[i] === needle[k]) k++;
      if (k === m) return i - m + 1;
    }
    return -1;
  };
}

// ---- multipart/form-data encoding (HTML §4.10.21.8) ----

/** CR not followed by LF, and LF not preceded by CR, become CRLF (HTML's newline normalization). */
const normalizeNewlines = (s: string) => s.replace(/\r\n|\r|\n/g, '\r\n');
/** Field names and filenames: LF → %0A, CR → %0D, " → %22, and no other escapes. */
const escapeName = (s: string) => s.replace(/[\n\r"]/g, (c) => (c === '\n' ? '%0A' : c === '\r' ? '%0D' : '%22'));

const random = Math.random;
const BOUNDARY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The body of a FormData and its Content-Type (Fetch §6.3 "extract a body"). */
function encodeMultipart(f: FormData): { bytes: Uint8Array; type: string } {
  const parts: { head: string; body: Uint8Array }[] = [];
  for (const [name, value] of entriesOf(f)) {
    const n = escapeName(normalizeNewlines(name));
    if (typeof value === 'string') {
      parts.push({ head: `Content-Disposition: form-data; name="${n}"\r\n\r\n`, body: utf8(normalizeNewlines(value)) });
    } else {
      parts.push({
        head: `Content-Disposition: form-data; name="${n}"; filename="${escapeName(value.name)}"\r\nContent-Type: ${value.type || 'application/octet-stream'}\r\n\r\n`,
        body: bytesOf(value),
      });
    }
  }
  // A random boundary, made again in the (unlikely) case a part holds its delimiter: whatever
  // Math.random gives, the body parses back to the same entries.
  let boundary: string;
  for (;;) {
    boundary = '----HearthFormBoundary';
    for (let i = 0; i < 16; i++) boundary += BOUNDARY_CHARS[Math.floor(random() * BOUNDARY_CHARS.length)];
    const find = searcher(utf8(`\r\n--${boundary}`));
    if (parts.every((p) => find(p.body, 0) < 0)) break;
  }
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    chunks.push(utf8(`--${boundary}\r\n${p.head}`), p.body, utf8('\r\n'));
  }
  chunks.push(utf8(`--${boundary}--\r\n`));
  return { bytes: concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

// ---- multipart/form-data parsing ----

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

function fail(what: string): never {
  throw new TypeError(`Failed to parse the body as multipart/form-data: ${what}`);
}

/** Content-Disposition: form-data; name="…"[; filename="…"] (RFC 7578 §4.2), from its isomorphic string. */
function parseDisposition(v: string): { name: string | null; filename: string | null } {
  let pos = 0;
  const token = () => {
    const start = pos;
    while (pos < v.length && TOKEN_CHAR.test(v[pos]!)) pos++;
    return v.slice(start, pos);
  };
  const ws = () => { while (v[pos] === ' ' || v[pos] === '\t') pos++; };
  const bad = () => fail(`bad Content-Disposition: ${JSON.stringify(v)}`);
  if (token().toLowerCase() !== 'form-data') fail(`a part's Content-Disposition is not form-data: ${JSON.stringify(v)}`);
  const params = new Map<string, string>();
  for (;;) {
    ws();
    if (pos >= v.length) break;
    if (v[pos] !== ';') bad();
    pos++;
    ws();
    if (pos >= v.length) break;
    const key = token().toLowerCase();
    ws();
    if (key === '' || v[pos] !== '=') bad();
    pos++;
    ws();
    let value: string;
    if (v[pos] === '"') {
      // A quoted string as HTML writes one: no backslash escapes, but %0A, %0D and %22 for LF, CR and ".
      const close = v.indexOf('"', pos + 1);
      if (close < 0) bad();
      value = v.slice(pos + 1, close).replace(/%0A|%0D|%22/g, (e) => (e === '%0A' ? '\n' : e === '%0D' ? '\r' : '"'));
      pos = close + 1;
    } else {
      value = token();
    }
    if (!params.has(key)) params.set(key, value);
  }
  // The header's bytes are UTF-8 (HTML encodes names in the form's encoding, UTF-8 for FormData).
  const text = (s: string | undefined) => (s === undefined ? null : decodeWithoutBom(Uint8Array.from(s, (c) => c.charCodeAt(0))));
  return { name: text(params.get('name')), filename: text(params.get('filename')) };
}

function parseMultipart(body: Uint8Array, boundary: string): Entry[] {
  const delimiter = utf8(`\r\n--${boundary}`);
  const find = searcher(delimiter);
  const entries: Entry[] = [];
  // RFC 2046 §5.1.1: the first delimiter starts the body or follows a preamble (and its CRLF).
  let pos: number;
  const first = delimiter.subarray(2);
  if (body.length >= first.length && first.every((b, i) => body[i] === b)) pos = first.length;
  else {
    const at = find(body, 0);
    if (at < 0) fail('no initial boundary');
    pos = at + delimiter.length;
  }
  for (;;) {
    if (body[pos] === DASH && body[pos + 1] === DASH) return entries; // the close delimiter; an epilogue is ignored
    while (body[pos] === 0x20 || body[pos] === 0x09) pos++; // transport padding
    if (body[pos] !== CR || body[pos + 1] !== LF) fail('a boundary is not followed by CRLF or "--"');
    pos += 2;
    let disposition: { name: string | null; filename: string | null } | null = null;
    let contentType: string | null = null;
    for (;;) {
      let eol = pos;
      while (eol < body.length && !(body[eol] === CR && body[eol + 1] === LF)) eol++;
      if (eol >= body.length) fail("a part's headers do not end");
      if (eol === pos) { pos += 2; break; }
      const line = latin1(body.subarray(pos, eol));
      pos = eol + 2;
      const colon = line.indexOf(':');
      const name = colon < 0 ? '' : line.slice(0, colon);
      if (!TOKEN.test(name)) fail(`a part has an invalid header line: ${JSON.stringify(line.slice(0, 100))}`);
      const value = line.slice(colon + 1).replace(/^[\t ]+|[\t ]+$/g, '');
      const lower = name.toLowerCase();
      if (lower === 'content-disposition') disposition = parseDisposition(value);
      else if (lower === 'content-type') contentType = value;
    }
    if (disposition === null) fail('a part has no Content-Disposition header');
    if (disposition.name === null) fail("a part's Content-Disposition has no name");
    const end = find(body, pos);
    if (end < 0) fail('no boundary after a part');
    const content = body.subarray(pos, end);
    pos = end + delimiter.length;
    if (disposition.filename === null) {
      entries.push([disposition.name, decodeWithoutBom(content)]);
    } else {
      // Fetch: the File's type is the part's Content-Type, or text/plain (RFC 7578 §4.4) without one.
      const type = contentType === null ? 'text/plain' : /^[\0-\x7f]*$/.test(contentType) ? contentType : '';
      entries.push([disposition.name, makeFile(content.slice(), type, disposition.filename, Date.now())]);
    }
  }
}

// ---- application/x-www-form-urlencoded parsing (URL §5.1) ----

const hex = (b: number) => (b >= 0x30 && b <= 0x39 ? b - 0x30 : b >= 0x41 && b <= 0x46 ? b - 0x37 : b >= 0x61 && b <= 0x66 ? b - 0x57 : -1);

/** "+" → space, then URL §1.3 percent-decode: "%" and two hex digits is a byte, anything else stays. */
function decodeComponent(b: Uint8Array): string {
  const out = new Uint8Array(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x2b) { out[n++] = 0x20; continue; }
    if (c === 0x25 && i + 2 < b.length && hex(b[i + 1]!) >= 0 && hex(b[i + 2]!) >= 0) {
      out[n++] = hex(b[i + 1]!) * 16 + hex(b[i + 2]!);
      i += 2;
      continue;
    }
    out[n++] = c;
  }
  return decodeWithoutBom(out.subarray(0, n));
}

export function parseUrlencoded(body: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  for (let start = 0; start < body.length;) {
    let end = body.indexOf(0x26, start);
    if (end < 0) end = body.length;
    if (end > start) {
      const seq = body.subarray(start, end);
      const eq = seq.indexOf(0x3d);
      out.push(eq < 0 ? [decodeComponent(seq), ''] : [decodeComponent(seq.subarray(0, eq)), decodeComponent(seq.subarray(eq + 1))]);
    }
    start = end + 1;
  }
  return out;
}

/** Fetch §6.3 formData(): the parser the body's MIME type names, else a TypeError. */
function parseFormData(bytes: Uint8Array, contentType: string | null): FormData {
  const mime = extractMimeType(contentType);
  const kind = mime === null ? null : essence(mime);
  if (kind === 'multipart/form-data') {
    const boundary = mime!.parameters.get('boundary');
    if (boundary === undefined || boundary === '') throw new TypeError('Failed to parse the body as multipart/form-data: the Content-Type has no boundary parameter');
    return fromEntries(parseMultipart(bytes, boundary));
  } else if (kind === 'application/x-www-form-urlencoded') {
    return fromEntries(parseUrlencoded(bytes));
  } else {
    throw new TypeError(`Failed to parse the body as FormData: its Content-Type (${contentType === null ? 'none' : JSON.stringify(contentType)}) is neither multipart/form-data nor application/x-www-form-urlencoded`);
  }
}

function fromEntries(entries: Entry[]): FormData {
  const f = new FormData();
  replace(entriesOf(f), entries);
  return f;
}

/** What the body code and the globals take from this module (forms-registry.ts). */
export const forms = { Blob, File, FormData, isBlob, isFile: (v: unknown): v is File => isFile(v), makeFile: (bytes: Uint8Array, type: string, name: string, lastModified: number): File => makeFile(bytes, type, name, lastModified), isFormData: (v: unknown): v is FormData => isFormData(v), bytesOf, blobFromBytes, encodeMultipart, parseFormData };

registerForms(forms);
