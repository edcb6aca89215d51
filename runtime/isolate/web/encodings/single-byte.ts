// The legacy single-byte decoders (WHATWG Encoding §9.1): ASCII bytes as themselves, the others
// through the encoding's index; a byte the index leaves unmapped is an error. Stateless but for
// what a fatal error leaves unread. Part of the `encodings` extra (the indexes are ~21 KB of source).

import { decodeError, unitsToString, withPending, type StreamDecoder } from './decoder.js';
import { SINGLE_BYTE_INDEXES } from './single-byte-indexes.js';

const tables = new Map<string, Uint16Array>();

/** All 256 bytes' code units (U+FFFD for unmapped ones), built once per encoding. */
function table(name: string): Uint16Array | null {
  let t = tables.get(name);
  if (t === undefined) {
    // §9: ISO-8859-8-I has ISO-8859-8's index (they differ only in how HTML lays text out).
    const index = SINGLE_BYTE_INDEXES[name === 'iso-8859-8-i' ? 'iso-8859-8' : name];
    if (index === undefined) return null;
    t = new Uint16Array(256);
    for (let i = 0; i < 128; i++) { t[i] = i; t[128 + i] = index.charCodeAt(i); }
    tables.set(name, t);
  }
  return t;
}

export class SingleByteDecoder implements StreamDecoder {
  readonly #table: Uint16Array;
  readonly #name: string;
  readonly #fatal: boolean;
  // Bytes after a fatal error, still in the spec's I/O queue for the next call.
  #pending: Uint8Array | null = null;

  constructor(table: Uint16Array, name: string, fatal: boolean) {
    this.#table = table;
    this.#name = name;
    this.#fatal = fatal;
  }

  decode(bytes: Uint8Array): string {
    if (this.#pending !== null) { bytes = withPending(this.#pending, bytes); this.#pending = null; }
    const n = bytes.length;
    const t = this.#table;
    const units = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const u = t[bytes[i]!]!;
      if (u === 0xfffd && this.#fatal) {
        if (i + 1 < n) this.#pending = bytes.slice(i + 1);
        throw decodeError(this.#name);
      }
      units[i] = u;
    }
    return unitsToString(units, n);
  }
}

/** A single-byte decoder for the encoding `name`, or null if it is not a single-byte one. */
export function makeSingleByteDecoder(name: string, fatal: boolean): StreamDecoder | null {
  const t = table(name);
  return t === null ? null : new SingleByteDecoder(t, name, fatal);
}
