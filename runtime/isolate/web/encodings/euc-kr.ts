// The EUC-KR decoder (WHATWG Encoding §13.1.1) on index euc-kr, which is Windows' UHC (cp949):
// KS X 1001 plus the rest of the modern Hangul syllables. Part of the `encodings` extra; the index
// is unpacked on the first euc-kr decoder made.

import { EUC_KR } from './multi-byte-indexes.js';
import { unpackIndex } from './packed-index.js';
import { CONTINUE, EOQ, ERROR, FINISHED, QueueDecoder } from './queue-decoder.js';

let eucKr: Int32Array | null = null;
const indexEucKr = () => (eucKr ??= unpackIndex(EUC_KR));

/** §13.1.1 */
export class EucKrDecoder extends QueueDecoder {
  #lead = 0;
  readonly #index = indexEucKr();

  constructor(fatal: boolean) { super('euc-kr', fatal); }

  protected handle(b: number): number {
    if (b === EOQ) {
      if (this.#lead !== 0) { this.#lead = 0; return ERROR; }
      return FINISHED;
    }
    if (this.#lead !== 0) {
      const lead = this.#lead;
      this.#lead = 0;
      let cp = -1;
      if (b >= 0x41 && b <= 0xfe) {
        const pointer = (lead - 0x81) * 190 + (b - 0x41);
        if (pointer < this.#index.length) cp = this.#index[pointer]!;
      }
      if (cp >= 0) return cp;
      if (b < 0x80) this.back.unshift(b);
      return ERROR;
    }
    if (b < 0x80) return b;
    if (b >= 0x81 && b <= 0xfe) { this.#lead = b; return CONTINUE; }
    return ERROR;
  }
}
