// UTF-16BE and UTF-16LE (WHATWG Encoding §14.2, the shared UTF-16 decoder) and x-user-defined
// (§14.5): small enough to live in the main runtime.

import { decodeError, unitsToString, withPending, type StreamDecoder } from './decoder.js';

/** §14.2.1: pairs of bytes are code units; a lone surrogate, or an odd byte at the end, is an error. */
export class Utf16Decoder implements StreamDecoder {
  #leadByte = -1;
  #leadSurrogate = -1;
  // Bytes a fatal error left in the spec's I/O queue, read first by the next call.
  #pending: Uint8Array | null = null;
  readonly #be: boolean;
  readonly #fatal: boolean;

  constructor(be: boolean, fatal: boolean) {
    this.#be = be;
    this.#fatal = fatal;
  }

  decode(bytes: Uint8Array, flush: boolean): string {
    if (this.#pending !== null) { bytes = withPending(this.#pending, bytes); this.#pending = null; }
    const n = bytes.length;
    // At most one unit per byte pair plus what was pending, plus one error at the end.
    const units = new Uint16Array(((n + 1) >> 1) + 2);
    let len = 0;
    let leadByte = this.#leadByte;
    let leadSurrogate = this.#leadSurrogate;
    const be = this.#be;
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      if (leadByte < 0) { leadByte = b; continue; }
      const unit = be ? (leadByte << 8) | b : (b << 8) | leadByte;
      leadByte = -1;
      if (leadSurrogate >= 0) {
        const lead = leadSurrogate;
        leadSurrogate = -1;
        if (unit >= 0xdc00 && unit <= 0xdfff) { units[len++] = lead; units[len++] = unit; continue; }
        // The lead surrogate alone is an error; the unit is then processed afresh (the spec
        // restores its two bytes to the queue).
        if (this.#fatal) this.#fail(withPending(new Uint8Array([be ? unit >> 8 : unit & 0xff, be ? unit & 0xff : unit >> 8]), bytes.subarray(i + 1)));
        units[len++] = 0xfffd;
      }
      if (unit >= 0xd800 && unit <= 0xdbff) { leadSurrogate = unit; continue; }
      if (unit >= 0xdc00 && unit <= 0xdfff) {
        if (this.#fatal) this.#fail(bytes.slice(i + 1));
        units[len++] = 0xfffd;
        continue;
      }
      units[len++] = unit;
    }
    if (flush && (leadByte >= 0 || leadSurrogate >= 0)) {
      // End of the queue with a byte or a lead surrogate pending: one error for both.
      if (this.#fatal) this.#fail(null);
      leadByte = leadSurrogate = -1;
      units[len++] = 0xfffd;
    }
    this.#leadByte = leadByte;
    this.#leadSurrogate = leadSurrogate;
    return unitsToString(units, len);
  }

  /** A fatal error: the TypeError, with the decoder's state reset and `rest` left for the next call. */
  #fail(rest: Uint8Array | null): never {
    this.#leadByte = this.#leadSurrogate = -1;
    this.#pending = rest !== null && rest.length > 0 ? rest : null;
    throw decodeError(this.#be ? 'utf-16be' : 'utf-16le');
  }
}

/** §14.5.1: ASCII bytes as themselves, 0x80–0xFF as U+F780–U+F7FF. Never an error. */
export class XUserDefinedDecoder implements StreamDecoder {
  decode(bytes: Uint8Array): string {
    const n = bytes.length;
    const units = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const b = bytes[i]!;
      units[i] = b < 0x80 ? b : 0xf700 + b;
    }
    return unitsToString(units, n);
  }
}
