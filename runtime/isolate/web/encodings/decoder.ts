// What TextDecoder asks of every decoder but UTF-8's (which it runs itself): WHATWG Encoding §4.1's
// "decoder" run over one decode() call's bytes. A decoder keeps its state between calls (a byte
// or surrogate left over while streaming) and is replaced by a fresh one when a stream ends.

export interface StreamDecoder {
  /**
   * The code units of `bytes`, after what was left over from the previous call; with `flush`, the
   * end of the stream follows (what is still pending is an error). An error is U+FFFD, or in fatal
   * mode a TypeError thrown; then the bytes after the error (and any the spec restores to the I/O
   * queue) are the start of the next call's input, as §7.2 reads on from the same queue.
   */
  decode(bytes: Uint8Array, flush: boolean): string;
}

export const fromCharCode = String.fromCharCode;
export const CHUNK = 4096;

/** "The encoded data was not valid" (§4.1 error mode "fatal"): a TypeError, as in browsers and workerd. */
export function decodeError(encoding: string): TypeError {
  return new TypeError(`The encoded data was not valid for encoding ${encoding}`);
}

/** Code units to a string, in chunks (fromCharCode.apply has an argument-count limit). */
export function unitsToString(units: Uint16Array, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += CHUNK) {
    out += fromCharCode.apply(null, units.subarray(i, Math.min(length, i + CHUNK)) as unknown as number[]);
  }
  return out;
}

/** A copy of `pending` followed by `bytes` (the I/O queue's leftover, then the new input). */
export function withPending(pending: Uint8Array, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(pending.length + bytes.length);
  out.set(pending);
  out.set(bytes, pending.length);
  return out;
}
