// The Big5 decoder (WHATWG Encoding §12.1.1) on index big5, HKSCS part included. Part of the
// `encodings` extra; the index is unpacked on the first big5 decoder made.

import { BIG5 } from './multi-byte-indexes.js';
import { unpackIndex } from './packed-index.js';
import { ERROR, LeadTrailDecoder } from './queue-decoder.js';

let big5: Int32Array | null = null;
const indexBig5 = () => (big5 ??= unpackIndex(BIG5));

/** §12.1.1 step 3.3: the pointers that decode to two code points (none of them is in the index). */
const TWO_CODE_POINTS: Readonly<Record<number, readonly [number, number]>> = {
  1133: [0x00ca, 0x0304], 1135: [0x00ca, 0x030c], 1164: [0x00ea, 0x0304], 1166: [0x00ea, 0x030c],
};

/** §12.1.1 */
export class Big5Decoder extends LeadTrailDecoder {
  readonly #index = indexBig5();

  constructor(fatal: boolean) { super('big5', fatal); }

  protected pair(lead: number, b: number): number {
    if (!((b >= 0x40 && b <= 0x7e) || (b >= 0xa1 && b <= 0xfe))) return -1;
    const pointer = (lead - 0x81) * 157 + (b - (b < 0x7f ? 0x40 : 0x62));
    const two = TWO_CODE_POINTS[pointer];
    if (two !== undefined) { this.second = two[1]; return two[0]; }
    return pointer < this.#index.length ? this.#index[pointer]! : -1;
  }

  protected single(b: number): number {
    if (b < 0x80) return b;
    if (b >= 0x81 && b <= 0xfe) return this.keepLead(b);
    return ERROR;
  }
}
