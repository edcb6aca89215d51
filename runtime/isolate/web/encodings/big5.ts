// The Big5 decoder (WHATWG Encoding §12.1.1) on index big5, HKSCS part included. Part of the
// `encodings` extra; the index is unpacked on the first big5 decoder made.

import { BIG5 } from './multi-byte-indexes.js';
import { unpackIndex } from './packed-index.js';
import { CONTINUE, EOQ, ERROR, FINISHED, QueueDecoder } from './queue-decoder.js';

let big5: Int32Array | null = null;
const indexBig5 = () => (big5 ??= unpackIndex(BIG5));

/** §12.1.1 step 3.3: the pointers that decode to two code points (none of them is in the index). */
const TWO_CODE_POINTS: Readonly<Record<number, readonly [number, number]>> = {
  1133: [0x00ca, 0x0304], 1135: [0x00ca, 0x030c], 1164: [0x00ea, 0x0304], 1166: [0x00ea, 0x030c],
};

/** §12.1.1 */
export class Big5Decoder extends QueueDecoder {
  #lead = 0;
  readonly #index = indexBig5();

  constructor(fatal: boolean) { super('big5', fatal); }

  protected handle(b: number): number {
    if (b === EOQ) {
      if (this.#lead !== 0) { this.#lead = 0; return ERROR; }
      return FINISHED;
    }
    if (this.#lead !== 0) {
      const lead = this.#lead;
      this.#lead = 0;
      let pointer = -1;
      const offset = b < 0x7f ? 0x40 : 0x62;
      if ((b >= 0x40 && b <= 0x7e) || (b >= 0xa1 && b <= 0xfe)) pointer = (lead - 0x81) * 157 + (b - offset);
      const pair = TWO_CODE_POINTS[pointer];
      if (pair !== undefined) { this.second = pair[1]; return pair[0]; }
      const cp = pointer >= 0 && pointer < this.#index.length ? this.#index[pointer]! : -1;
      if (cp >= 0) return cp;
      if (b < 0x80) this.back.unshift(b);
      return ERROR;
    }
    if (b < 0x80) return b;
    if (b >= 0x81 && b <= 0xfe) { this.#lead = b; return CONTINUE; }
    return ERROR;
  }
}
