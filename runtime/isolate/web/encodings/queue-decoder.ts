// A driver for the multi-byte decoders written as the WHATWG Encoding Standard writes them: a
// handler run on one byte (or end-of-queue) at a time that returns a code point, "continue",
// "error" or "finished", and may "restore" bytes to the front of the I/O queue (§4.1). The driver
// owns the queue: restored bytes are read before the input goes on; in fatal mode an error throws
// and leaves the restored bytes and the rest of the input for the next call (§7.2).

import { CHUNK, decodeError, fromCharCode, withPending, type StreamDecoder } from './decoder.js';

export const EOQ = -1;
export const CONTINUE = -1;
export const ERROR = -2;
export const FINISHED = -3;

export abstract class QueueDecoder implements StreamDecoder {
  /** Bytes restored to the front of the I/O queue by the handler. */
  protected readonly back: number[] = [];
  /** A second code point that follows the handler's result (big5's four two-code-point pointers, §12.1.1), or -1. */
  protected second = -1;
  #pending: Uint8Array | null = null;
  readonly #name: string;
  readonly #fatal: boolean;

  constructor(name: string, fatal: boolean) {
    this.#name = name;
    this.#fatal = fatal;
  }

  /** The spec's handler for one byte, or EOQ: a code point, CONTINUE, ERROR or FINISHED. */
  protected abstract handle(byte: number): number;

  decode(bytes: Uint8Array, flush: boolean): string {
    if (this.#pending !== null) { bytes = withPending(this.#pending, bytes); this.#pending = null; }
    const back = this.back;
    const n = bytes.length;
    const units: number[] = [];
    let out = '';
    let i = 0;
    for (;;) {
      let b: number;
      if (back.length > 0) b = back.shift()!;
      else if (i < n) b = bytes[i++]!;
      else if (flush) b = EOQ;
      else break;
      const r = this.handle(b);
      if (r === CONTINUE) continue;
      if (r === FINISHED) break;
      if (r === ERROR) {
        if (this.#fatal) {
          const left = withPending(Uint8Array.from(back), bytes.subarray(i));
          back.length = 0;
          this.#pending = left.length > 0 ? left : null;
          throw decodeError(this.#name);
        }
        units.push(0xfffd);
      } else if (r > 0xffff) {
        units.push(0xd800 | ((r - 0x10000) >> 10), 0xdc00 | ((r - 0x10000) & 0x3ff));
      } else units.push(r);
      // Both of big5's second code points are in the BMP (U+0304, U+030C).
      if (this.second >= 0) { units.push(this.second); this.second = -1; }
      if (units.length >= CHUNK) { out += fromCharCode.apply(null, units); units.length = 0; }
    }
    return out + fromCharCode.apply(null, units);
  }
}

/**
 * The handler shape Shift_JIS (§11.3.1), Big5 (§12.1.1) and EUC-KR (§13.1.1) share: a lead byte is
 * kept; at end of queue a kept lead is an error; the next byte makes a pointer with it, whose code
 * point is the result, and when there is none an ASCII byte is restored to the queue and it is an
 * error. Subclasses give the pair's code point and what a byte without a lead is.
 */
export abstract class LeadTrailDecoder extends QueueDecoder {
  #lead = 0;

  /** The code point of lead and trail (from the index), or -1. */
  protected abstract pair(lead: number, trail: number): number;

  /** A byte with no lead kept: a code point, `this.keepLead(b)`, or ERROR. */
  protected abstract single(b: number): number;

  /** Keeps `b` as the lead (the handler's "set lead to byte, return continue"). */
  protected keepLead(b: number): number {
    this.#lead = b;
    return CONTINUE;
  }

  protected handle(b: number): number {
    if (b === EOQ) {
      if (this.#lead !== 0) { this.#lead = 0; return ERROR; }
      return FINISHED;
    }
    if (this.#lead === 0) return this.single(b);
    const lead = this.#lead;
    this.#lead = 0;
    const cp = this.pair(lead, b);
    if (cp >= 0) return cp;
    if (b < 0x80) this.back.unshift(b);
    return ERROR;
  }
}
