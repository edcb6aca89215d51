// TextEncoder, TextDecoder (WHATWG Encoding), atob and btoa (HTML §8.3) for bare V8 isolates,
// which have none of them.
// TextDecoder knows every label of the Encoding Standard: those of the encodings it decodes here,
// and the whole table (encodings/labels.ts) in the `encodings` extra for any other. It follows the
// spec's UTF-8 decoder byte by byte, so invalid input becomes U+FFFD exactly as in browsers and
// Node ("maximal subpart" replacement), and a partial sequence is kept across
// decode(…, {stream: true}) calls; valid input takes utf8.ts's fast path instead. UTF-16LE/BE and
// x-user-defined are decoded here too (encodings/utf16.ts); the legacy single-byte encodings, gbk,
// gb18030, big5, shift_jis, euc-jp, iso-2022-jp and euc-kr by the `encodings` extra, loaded on the
// first TextDecoder made for one of them.
// A fatal error while streaming leaves the rest of the input (with the bytes the spec restores to
// the I/O queue) for the next decode() call, as §7.2 says; workerd and Node (ICU) drop it (for
// UTF-16 they keep just the bad unit's last byte).

import { decodeUtf8, encodeUtf8 } from '../utf8.js';
import { loadExtra } from '../extras.js';
import { DOMException } from './dom-exception.js';
import type { StreamDecoder } from './encodings/decoder.js';
import type { EncodingsExtra } from './encodings/legacy.js';
import type { CjkExtra } from './encodings/cjk.js';
import { Utf16Decoder, XUserDefinedDecoder } from './encodings/utf16.js';
import { bufferSourceBytes } from './buffer-source.js';

export { bufferSourceBytes };

const fromCharCode = String.fromCharCode;
const CHUNK = 4096;

function defineTag(cls: { prototype: object }, name: string): void {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  // Minifiers rename classes; keep the name user code sees.
  Object.defineProperty(cls, 'name', { value: name, configurable: true });
}

export interface TextEncoderEncodeIntoResult { read: number; written: number }

export class TextEncoder {
  get encoding(): string { return 'utf-8'; }

  /** UTF-8 bytes of String(input); lone surrogates become U+FFFD (EF BF BD). */
  encode(input: unknown = ''): Uint8Array {
    return new Uint8Array(encodeUtf8(String(input)));
  }

  /**
   * Writes as many whole code points of String(source) as fit into destination. `read` counts
   * UTF-16 code units consumed (2 for a surrogate pair), `written` bytes.
   */
  encodeInto(source: unknown, destination: Uint8Array): TextEncoderEncodeIntoResult {
    if (!(destination instanceof Uint8Array)) {
      throw new TypeError("Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'.");
    }
    const s = String(source);
    const n = s.length;
    const cap = destination.length;
    let read = 0;
    let written = 0;
    while (read < n) {
      let c = s.charCodeAt(read);
      if (c < 0x80) {
        if (written >= cap) break;
        destination[written++] = c;
        read++;
        continue;
      }
      if (c < 0x800) {
        if (written + 2 > cap) break;
        destination[written++] = 0xc0 | (c >> 6);
        destination[written++] = 0x80 | (c & 0x3f);
        read++;
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff && read + 1 < n && (s.charCodeAt(read + 1) & 0xfc00) === 0xdc00) {
        if (written + 4 > cap) break;
        c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(read + 1) - 0xdc00);
        destination[written++] = 0xf0 | (c >> 18);
        destination[written++] = 0x80 | ((c >> 12) & 0x3f);
        destination[written++] = 0x80 | ((c >> 6) & 0x3f);
        destination[written++] = 0x80 | (c & 0x3f);
        read += 2;
        continue;
      }
      if (written + 3 > cap) break;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
      destination[written++] = 0xe0 | (c >> 12);
      destination[written++] = 0x80 | ((c >> 6) & 0x3f);
      destination[written++] = 0x80 | (c & 0x3f);
      read++;
    }
    return { read, written };
  }
}
defineTag(TextEncoder, 'TextEncoder');

/**
 * §4.2 "get an encoding" for the labels of the encodings decoded here (the whole table is in the
 * `encodings` extra, asked about any other label): the name, or null.
 */
function localEncoding(key: string): string | null {
  switch (key) {
    case 'unicode-1-1-utf-8': case 'unicode11utf8': case 'unicode20utf8': case 'utf-8': case 'utf8': case 'x-unicode20utf8':
      return 'utf-8';
    case 'csunicode': case 'iso-10646-ucs-2': case 'ucs-2': case 'unicode': case 'unicodefeff': case 'utf-16': case 'utf-16le':
      return 'utf-16le';
    case 'unicodefffe': case 'utf-16be':
      return 'utf-16be';
    case 'x-user-defined':
      return 'x-user-defined';
  }
  return null;
}

/**
 * A TextDecoder's encoding and the maker of its fresh decoders (null for UTF-8, whose decoder
 * TextDecoder runs itself); a RangeError for a label that names no encoding, "replacement" (§7.2
 * constructor), or an encoding Hearth does not decode.
 */
function encodingAndMaker(label: string, fatal: boolean): [string, (() => StreamDecoder) | null] {
  const key = label === 'utf-8' ? label
    : label.replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').replace(/[A-Z]+/g, (m) => m.toLowerCase());
  switch (localEncoding(key)) {
    case 'utf-8': return ['utf-8', null];
    case 'utf-16le': return ['utf-16le', () => new Utf16Decoder(false, fatal)];
    case 'utf-16be': return ['utf-16be', () => new Utf16Decoder(true, fatal)];
    case 'x-user-defined': return ['x-user-defined', () => new XUserDefinedDecoder()];
  }
  const extra = loadExtra<EncodingsExtra>('encodings');
  const encoding = extra.encodingOfLabel(key);
  if (encoding === null || encoding === 'replacement') {
    throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid.`);
  }
  if (!extra.isInEncodingsExtra(encoding)) {
    throw new RangeError(`Failed to construct 'TextDecoder': The encoding '${encoding}' is not supported.`);
  }
  if (CJK.has(encoding)) {
    const cjk = loadExtra<CjkExtra>('encodings-cjk');
    return [encoding, () => cjk.makeCjkDecoder(encoding, fatal)!];
  }
  return [encoding, () => extra.makeLegacyDecoder(encoding, fatal)!];
}

/** The multi-byte encodings, decoded by the `encodings-cjk` extra (encodings/cjk.ts). */
const CJK = new Set(['gbk', 'gb18030', 'shift_jis', 'euc-jp', 'iso-2022-jp', 'big5', 'euc-kr']);

export interface TextDecoderOptions { fatal?: boolean; ignoreBOM?: boolean }
export interface TextDecodeOptions { stream?: boolean }

export class TextDecoder {
  #encoding: string;
  // null for UTF-8; otherwise what makes a new decoder at the start of each stream.
  #makeDecoder: (() => StreamDecoder) | null = null;
  #decoder: StreamDecoder | null = null;
  #fatal: boolean;
  #ignoreBOM: boolean;
  #bomSeen = false;
  #doNotFlush = false;
  // Bytes left in the spec's I/O queue by a fatal error while streaming (UTF-8).
  #pending: Uint8Array | null = null;
  // The spec's UTF-8 decoder state: code point so far, bytes needed/seen, continuation bounds.
  #cp = 0;
  #needed = 0;
  #seen = 0;
  #lower = 0x80;
  #upper = 0xbf;

  constructor(label: unknown = 'utf-8', options?: TextDecoderOptions | null) {
    // WebIDL converts the arguments (the options a TypeError) before §7.2's steps run (the label's
    // encoding a RangeError).
    const name = String(label);
    if (options != null && typeof options !== 'object' && typeof options !== 'function') {
      throw new TypeError("Failed to construct 'TextDecoder': The provided value is not of type 'TextDecoderOptions'.");
    }
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
    const [encoding, make] = encodingAndMaker(name, this.#fatal);
    this.#encoding = encoding;
    this.#makeDecoder = make;
  }

  get encoding(): string { return this.#encoding; }
  get fatal(): boolean { return this.#fatal; }
  get ignoreBOM(): boolean { return this.#ignoreBOM; }

  decode(input?: ArrayBufferLike | ArrayBufferView | null, options?: TextDecodeOptions | null): string {
    let bytes: Uint8Array | undefined;
    // WebIDL: the optional argument may be left out (undefined); null is not a BufferSource.
    if (input === undefined) bytes = new Uint8Array(0);
    else if (input === null || !(bytes = bufferSourceBytes(input))) {
      throw new TypeError("Failed to execute 'decode' on 'TextDecoder': The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
    }
    if (this.#makeDecoder !== null) return this.#decodeOther(this.#makeDecoder, bytes, Boolean(options?.stream));
    if (!this.#doNotFlush) { this.#reset(); this.#bomSeen = false; this.#pending = null; }
    else if (this.#pending !== null) { bytes = concatBytes(this.#pending, bytes); this.#pending = null; }
    const stream = Boolean(options?.stream);
    this.#doNotFlush = stream;

    // Input that is valid as a whole (the usual case) leaves nothing to carry over.
    let out = this.#needed === 0 ? tryFastDecode(bytes) : null;
    if (out === null) out = this.#decodeSlow(bytes, !stream);
    if (!this.#ignoreBOM && !this.#bomSeen && out.length > 0) {
      this.#bomSeen = true;
      if (out.charCodeAt(0) === 0xfeff) out = out.slice(1);
    }
    return out;
  }

  /** §7.2 decode() for an encoding other than UTF-8: its decoder, then the BOM rule for UTF-16. */
  #decodeOther(make: () => StreamDecoder, bytes: Uint8Array, stream: boolean): string {
    if (!this.#doNotFlush || this.#decoder === null) { this.#decoder = make(); this.#bomSeen = false; }
    this.#doNotFlush = stream;
    let out = this.#decoder.decode(bytes, !stream);
    // §7.1 serialize I/O queue: only UTF-8 and UTF-16 drop a leading U+FEFF (their BOM).
    if (!this.#ignoreBOM && !this.#bomSeen && out.length > 0 && this.#encoding.startsWith('utf-16')) {
      this.#bomSeen = true;
      if (out.charCodeAt(0) === 0xfeff) out = out.slice(1);
    }
    return out;
  }

  #reset(): void {
    this.#cp = this.#needed = this.#seen = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  /**
   * An error: U+FFFD, or in fatal mode a TypeError, with bytes[resume…] kept for the next call
   * (§7.2: they are still in the I/O queue, read on if the stream goes on).
   */
  #error(units: number[], bytes: Uint8Array, resume: number): void {
    if (this.#fatal) {
      this.#reset();
      if (resume < bytes.length) this.#pending = bytes.slice(resume);
      throw new TypeError('The encoded data was not valid for encoding utf-8');
    }
    units.push(0xfffd);
  }

  /** The UTF-8 decoder of WHATWG Encoding §9.1.1, run over `bytes`, then flushed if `flush`. */
  #decodeSlow(bytes: Uint8Array, flush: boolean): string {
    const units: number[] = [];
    let out = '';
    const n = bytes.length;
    let cp = this.#cp, needed = this.#needed, seen = this.#seen, lower = this.#lower, upper = this.#upper;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (needed === 0) {
        if (b < 0x80) units.push(b);
        else if (b >= 0xc2 && b <= 0xdf) { needed = 1; cp = b & 0x1f; }
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
          needed = 2; cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
          needed = 3; cp = b & 0x07;
        } else {
          this.#error(units, bytes, i + 1);
        }
      } else if (b < lower || b > upper) {
        // The sequence so far is one error; the byte is then processed afresh.
        cp = needed = seen = 0; lower = 0x80; upper = 0xbf;
        this.#error(units, bytes, i);
        i--;
      } else {
        lower = 0x80; upper = 0xbf;
        cp = (cp << 6) | (b & 0x3f);
        if (++seen === needed) {
          if (cp > 0xffff) {
            cp -= 0x10000;
            units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
          } else units.push(cp);
          cp = needed = seen = 0;
        }
      }
      if (units.length >= CHUNK) { out += fromCharCode.apply(null, units); units.length = 0; }
    }
    this.#cp = cp; this.#needed = needed; this.#seen = seen; this.#lower = lower; this.#upper = upper;
    if (flush && needed !== 0) {
      this.#reset();
      this.#error(units, bytes, n);
    }
    return out + fromCharCode.apply(null, units);
  }
}
defineTag(TextDecoder, 'TextDecoder');

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** utf8.ts's decoder (an ASCII fast path, strict otherwise); null if the input is not valid as a whole. */
function tryFastDecode(bytes: Uint8Array): string | null {
  try { return decodeUtf8(bytes); } catch { return null; }
}

// ---- atob / btoa -------------------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

function invalidCharacter(message: string): DOMException {
  return new DOMException(message, 'InvalidCharacterError');
}

/** Base64 of a "binary string" (every code unit ≤ 0xFF), with padding. */
export function btoa(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'btoa': 1 argument required, but only 0 present.");
  const s = String(data);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0xff) throw invalidCharacter('Invalid character');
  }
  const parts: string[] = [];
  let chunk = '';
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8) | s.charCodeAt(i + 2);
    chunk += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + ALPHABET[v & 63]!;
    if (chunk.length >= CHUNK) { parts.push(chunk); chunk = ''; }
  }
  if (i + 1 === n) {
    const v = s.charCodeAt(i) << 16;
    chunk += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + '==';
  } else if (i + 2 === n) {
    const v = (s.charCodeAt(i) << 16) | (s.charCodeAt(i + 1) << 8);
    chunk += ALPHABET[v >> 18]! + ALPHABET[(v >> 12) & 63]! + ALPHABET[(v >> 6) & 63]! + '=';
  }
  parts.push(chunk);
  return parts.join('');
}

/** Forgiving-base64 decode (Infra §4.6): the result is a "binary string", one char per byte. */
export function atob(data: unknown): string {
  if (arguments.length === 0) throw new TypeError("Failed to execute 'atob': 1 argument required, but only 0 present.");
  let s = String(data).replace(/[\t\n\f\r ]+/g, '');
  if (s.length % 4 === 0) {
    if (s.endsWith('==')) s = s.slice(0, -2);
    else if (s.endsWith('=')) s = s.slice(0, -1);
  }
  const n = s.length;
  if (n % 4 === 1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
  const bytes: number[] = [];
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((acc >> bits) & 0xff);
      acc &= (1 << bits) - 1;
      if (bytes.length >= CHUNK) { out += fromCharCode.apply(null, bytes); bytes.length = 0; }
    }
  }
  // Leftover bits (4 or 2) are discarded, whatever their value.
  return out + fromCharCode.apply(null, bytes);
}
