// The Body mixin of WHATWG Fetch (§6.3) shared by Request and Response. A body is held as bytes
// when it came from bytes (the common case: no stream is made unless `.body` is read) or as a
// ReadableStream (web-streams-polyfill) when the script gave one or asked for one.

import { ReadableStream, TransformStream } from 'web-streams-polyfill';
import { decodeUtf8 } from '../utf8.js';
import { Headers } from './headers.js';
import { TextDecoder, TextEncoder } from './encoding.js';
import type { Blob } from './blob.js';
import type { FormData } from './form-data.js';
import { formsLoaded, loadForms } from './forms-registry.js';
import { urlLoaded, urlModule } from './lazy.js';
import { readChunk, type Chunk } from './stream-read.js';
import { extractMimeType, serializeMimeType } from './mime-type.js';
import type { URLSearchParams } from './url.js';

export type BodyInit = ReadableStream<Uint8Array> | Blob | ArrayBuffer | ArrayBufferView | FormData | string | URLSearchParams | null | undefined;

type Source = { bytes: Uint8Array } | { stream: ReadableStream<Uint8Array> } | null;

const encoder = new TextEncoder();

/** What a BodyInit becomes, and the Content-Type it implies (Fetch's "extract a body"). */
export function extractBody(init: BodyInit | unknown): { source: Source; type: string | null } {
  if (init === null || init === undefined) return { source: null, type: null };
  if (typeof init === 'string') return { source: { bytes: encoder.encode(init) }, type: 'text/plain;charset=UTF-8' };
  if (init instanceof ArrayBuffer) return { source: { bytes: new Uint8Array(init.slice(0)) }, type: null };
  if (ArrayBuffer.isView(init)) {
    const v = init as ArrayBufferView;
    return { source: { bytes: new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength)) }, type: null };
  }
  // Nothing is a Blob or a FormData before their module is loaded (forms-registry.ts).
  const forms = formsLoaded();
  if (forms !== null) {
    // A Blob's bytes are never written, so the body shares them; its type, when it has one, is the Content-Type.
    if (forms.isBlob(init)) return { source: { bytes: forms.bytesOf(init) }, type: init.type === '' ? null : init.type };
    if (forms.isFormData(init)) {
      const { bytes, type } = forms.encodeMultipart(init);
      return { source: { bytes }, type };
    }
  }
  if (init instanceof ReadableStream) {
    // Fetch's "extract a body": a stream already read from, or locked to a reader, is no body.
    if (init.locked || isDisturbed(init)) throw new TypeError('The body stream is locked or has been read from already');
    return { source: { stream: init as ReadableStream<Uint8Array> }, type: null };
  }
  if (urlLoaded() && init instanceof urlModule().URLSearchParams) {
    return { source: { bytes: encoder.encode(String(init)) }, type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  // Anything else is stringified, as WebIDL's union conversion does for a USVString fallback.
  return { source: { bytes: encoder.encode(String(init)) }, type: 'text/plain;charset=UTF-8' };
}

export abstract class Body {
  #source: Source = null;
  #stream: ReadableStream<Uint8Array> | null = null;
  #used = false;

  abstract get headers(): Headers;

  protected setBody(source: Source): void {
    this.#source = source;
    this.#stream = null;
  }

  get body(): ReadableStream<Uint8Array> | null {
    const s = this.#source;
    if (s === null) return null;
    if ('stream' in s) return s.stream;
    if (this.#stream === null) {
      const bytes = s.bytes;
      this.#stream = new ReadableStream<Uint8Array>({
        type: 'bytes',
        start(c: { enqueue(b: Uint8Array): void; close(): void }) {
          if (bytes.byteLength > 0) c.enqueue(bytes.slice());
          c.close();
        },
      } as any);
      if (this.#used) {
        // Read already (from the bytes, without a stream): the stream is as consuming leaves one,
        // locked to the reader that read it and disturbed, so getReader() throws as it must.
        void this.#stream.getReader().read();
      }
      this.#source = { stream: this.#stream };
    }
    return this.#stream;
  }

  /** Fetch: a body that is non-null and disturbed (a null body is never used). */
  get bodyUsed(): boolean {
    const s = this.#source;
    if (s === null) return false;
    if (this.#used) return true;
    return 'stream' in s && isDisturbed(s.stream);
  }

  // The bytes may be shared with a clone's body: what the script gets is always its own copy.
  // Every promise on the way resolves with undefined, the bytes pass in a Held (see #consume).
  async arrayBuffer(): Promise<ArrayBuffer> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    return h.bytes.slice().buffer as ArrayBuffer;
  }

  async bytes(): Promise<Uint8Array> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    return h.bytes.slice();
  }

  async text(): Promise<string> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    return decodeText(h.bytes);
  }

  async json(): Promise<unknown> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    return JSON.parse(decodeText(h.bytes));
  }

  /** Fetch §6.3: multipart/form-data or application/x-www-form-urlencoded, else a TypeError (the body is used either way). */
  async formData(): Promise<FormData> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    return loadForms().parseFormData(h.bytes, this.headers.get('content-type'));
  }

  /** Fetch §6.3: a Blob of the bytes whose type is the body's MIME type, serialized ("" when there is none). */
  async blob(): Promise<Blob> {
    const h: Held = { bytes: EMPTY };
    await this.#consume(h);
    const bytes = h.bytes.slice();
    const mime = extractMimeType(this.headers.get('content-type'));
    return loadForms().blobFromBytes(bytes, mime === null ? '' : serializeMimeType(mime));
  }

  /** The source to give a clone (a tee of a stream; bytes are shared, they are never written). */
  protected cloneSource(): Source {
    if (this.bodyUsed) throw new TypeError('Body has already been used. It can only be used once. Use tee() first if you need to read it twice.');
    const s = this.#source;
    if (s === null || 'bytes' in s) return s;
    const [a, b] = s.stream.tee();
    this.#source = { stream: a };
    this.#stream = a;
    return { stream: b };
  }

  /**
   * Reads the whole body once (the host's way out too) into `into`. Fetch's "fully read body" is
   * not observable: no promise here resolves with an object (resolving with one looks up its
   * `then`, which a function may have put on Object.prototype to swap the bytes), and streams are
   * read with the runtime's own read requests (stream-read.ts).
   */
  async #consume(into: Held): Promise<void> {
    if (this.bodyUsed) throw new TypeError('Body has already been used. It can only be used once. Use tee() first if you need to read it twice.');
    const s = this.#source;
    // A null body is read as empty, as often as asked, and is never "used".
    if (s === null) { into.bytes = new Uint8Array(0); return; }
    this.#used = true;
    if ('bytes' in s) { into.bytes = s.bytes; return; }
    await readAll(s.stream, into);
  }

  /** Internal: the body's bytes for the host, in `into` once the promise resolves (marks it used). */
  static readBytes(b: Body, into: Held): Promise<void> {
    return b.#consume(into);
  }

  /**
   * Internal: a new Request made from `b` takes its body (Fetch: "creating a proxy" of the input's
   * body), which leaves `b`'s body used: bodyUsed true, reading it a TypeError.
   */
  static moveSource(b: Body): Source {
    const s = b.#source;
    if (s === null) return null;
    b.#used = true;
    if ('bytes' in s) return s;
    // A stream is piped into an identity transform whose readable side is the new body: the old
    // stream ends locked to the pipe and disturbed by it.
    const proxy = new TransformStream<Uint8Array, Uint8Array>();
    s.stream.pipeTo(proxy.writable).catch(() => undefined);
    return { stream: proxy.readable };
  }

  /** Internal: the bytes without a stream in between, when the body is still bytes. */
  static peekBytes(b: Body): Uint8Array | null | undefined {
    const s = b.#source;
    if (s === null) return null;
    return 'bytes' in s ? s.bytes : undefined;
  }
}

/** Where a body's bytes are handed over (see Body.#consume). */
export interface Held { bytes: Uint8Array }

const EMPTY = new Uint8Array(0);

/** Reads a whole stream into `into.bytes`, unobservably (stream-read.ts). */
export async function readAll(stream: ReadableStream<Uint8Array>, into: Held): Promise<void> {
  if (stream.locked) throw new TypeError('The body stream is locked to a reader');
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const chunk: Chunk = { done: false, value: undefined };
  for (;;) {
    await readChunk(reader as never, chunk);
    const { done, value } = chunk;
    if (done) break;
    if (!(value instanceof Uint8Array)) {
      const tag = Object.prototype.toString.call(value);
      if (ArrayBuffer.isView(value)) {
        const v = value as ArrayBufferView;
        chunks.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
        total += v.byteLength;
        continue;
      }
      if (value instanceof ArrayBuffer) { chunks.push(new Uint8Array(value)); total += value.byteLength; continue; }
      throw new TypeError(`This body stream gave a chunk that is not bytes (${tag}); enqueue Uint8Array chunks`);
    }
    chunks.push(value);
    total += value.byteLength;
  }
  if (chunks.length === 1) { into.bytes = chunks[0]!; return; }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) { out.set(c, at); at += c.byteLength; }
  into.bytes = out;
}

function isDisturbed(s: ReadableStream<unknown>): boolean {
  // web-streams-polyfill keeps the spec's [[disturbed]] slot as _disturbed.
  return (s as unknown as { _disturbed?: boolean })._disturbed === true;
}

/** UTF-8 decode with replacement (text() never throws on bad bytes) and the BOM dropped. */
export function decodeText(b: Uint8Array): string {
  let bytes = b;
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  try {
    return decodeUtf8(bytes);
  } catch {
    return lenientDecoder().decode(bytes);
  }
}

let lenient: TextDecoder | null = null;
function lenientDecoder(): TextDecoder {
  return (lenient ??= new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }));
}
