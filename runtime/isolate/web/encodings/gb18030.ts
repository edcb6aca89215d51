// The gb18030 decoder (WHATWG Encoding §10.2.1), also GBK's (§10.1.1: "GBK's decoder is gb18030's
// decoder"). Part of the `encodings` extra; the indexes are unpacked on first use.

import { decodeError, unitsToString, withPending, type StreamDecoder } from './decoder.js';
import { GB18030, GB18030_RANGES } from './multi-byte-indexes.js';
import { unpackIndex, unpackNumbers } from './packed-index.js';

let index: Int32Array | null = null;
let rangeStarts: Int32Array | null = null;
let rangeCodePoints: Int32Array | null = null;

function gbIndex(): Int32Array {
  if (index === null) {
    index = unpackIndex(GB18030);
    const ranges = unpackNumbers(GB18030_RANGES);
    rangeStarts = new Int32Array(ranges.length / 2);
    rangeCodePoints = new Int32Array(ranges.length / 2);
    for (let r = 0; r < rangeStarts.length; r++) { rangeStarts[r] = ranges[2 * r]!; rangeCodePoints[r] = ranges[2 * r + 1]!; }
  }
  return index;
}

/** §10.2 "index gb18030 ranges code point": -1 for null. */
function rangesCodePoint(pointer: number): number {
  if ((pointer > 39419 && pointer < 189000) || pointer > 1237575) return -1;
  if (pointer >= 189000) return 0x10000 + pointer - 189000;
  // The last range starting at or before the pointer (binary search).
  const starts = rangeStarts!;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pointer) lo = mid; else hi = mid - 1;
  }
  return rangeCodePoints![lo]! + pointer - starts[lo]!;
}

export class Gb18030Decoder implements StreamDecoder {
  #first = 0;
  #second = 0;
  #third = 0;
  #pending: Uint8Array | null = null;
  readonly #index: Int32Array;
  readonly #name: string;
  readonly #fatal: boolean;

  constructor(name: string, fatal: boolean) {
    this.#index = gbIndex();
    this.#name = name;
    this.#fatal = fatal;
  }

  decode(bytes: Uint8Array, flush: boolean): string {
    if (this.#pending !== null) { bytes = withPending(this.#pending, bytes); this.#pending = null; }
    const n = bytes.length;
    // Each byte gives at most one code point (two units); an error's restored bytes at most 3 more.
    const units = new Uint16Array(2 * n + 8);
    let len = 0;
    // Bytes the spec "restores" to the I/O queue: read before the input goes on.
    const back: number[] = [];
    let first = this.#first, second = this.#second, third = this.#third;
    let i = 0;
    const idx = this.#index;
    for (;;) {
      let b: number;
      if (back.length > 0) b = back.shift()!;
      else if (i < n) b = bytes[i++]!;
      else break;
      let cp = -1; // -1: continue, -2: error, else a code point
      if (third !== 0) {
        if (b < 0x30 || b > 0x39) {
          back.unshift(second, third, b);
          first = second = third = 0;
          cp = -2;
        } else {
          cp = rangesCodePoint(((first - 0x81) * 10 * 126 * 10) + (second - 0x30) * 10 * 126 + (third - 0x81) * 10 + b - 0x30);
          first = second = third = 0;
          if (cp < 0) cp = -2;
        }
      } else if (second !== 0) {
        if (b >= 0x81 && b <= 0xfe) third = b;
        else { back.unshift(second, b); first = second = 0; cp = -2; }
      } else if (first !== 0) {
        if (b >= 0x30 && b <= 0x39) second = b;
        else {
          const lead = first;
          first = 0;
          const offset = b < 0x7f ? 0x40 : 0x41;
          if ((b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfe)) cp = idx[(lead - 0x81) * 190 + (b - offset)]!;
          if (cp < 0) {
            if (b < 0x80) back.unshift(b);
            cp = -2;
          }
        }
      } else if (b < 0x80) cp = b;
      else if (b === 0x80) cp = 0x20ac;
      else if (b <= 0xfe) first = b;
      else cp = -2;

      if (cp === -2) {
        if (this.#fatal) this.#fail(back, bytes.subarray(i));
        units[len++] = 0xfffd;
      } else if (cp >= 0x10000) {
        cp -= 0x10000;
        units[len++] = 0xd800 | (cp >> 10);
        units[len++] = 0xdc00 | (cp & 0x3ff);
      } else if (cp >= 0) units[len++] = cp;
    }
    if (flush && (first !== 0 || second !== 0 || third !== 0)) {
      first = second = third = 0;
      if (this.#fatal) this.#fail([], bytes.subarray(n));
      units[len++] = 0xfffd;
    }
    this.#first = first; this.#second = second; this.#third = third;
    return unitsToString(units, len);
  }

  /** A fatal error: state reset, the restored bytes and the rest of the input left for the next call. */
  #fail(back: number[], rest: Uint8Array): never {
    this.#first = this.#second = this.#third = 0;
    const left = withPending(Uint8Array.from(back), rest);
    this.#pending = left.length > 0 ? left : null;
    throw decodeError(this.#name);
  }
}
