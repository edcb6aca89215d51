// The EUC-KR decoder (WHATWG Encoding §13.1.1) on index euc-kr, which is Windows' UHC (cp949):
// KS X 1001 plus the rest of the modern Hangul syllables. Part of the `encodings` extra; the index
// is unpacked on the first euc-kr decoder made.

import { EUC_KR } from './multi-byte-indexes.js';
import { unpackIndex } from './packed-index.js';
import { ERROR, LeadTrailDecoder } from './queue-decoder.js';

let eucKr: Int32Array | null = null;
const indexEucKr = () => (eucKr ??= unpackIndex(EUC_KR));

/** §13.1.1 */
export class EucKrDecoder extends LeadTrailDecoder {
  readonly #index = indexEucKr();

  constructor(fatal: boolean) { super('euc-kr', fatal); }

  protected pair(lead: number, b: number): number {
    if (b < 0x41 || b > 0xfe) return -1;
    const pointer = (lead - 0x81) * 190 + (b - 0x41);
    return pointer < this.#index.length ? this.#index[pointer]! : -1;
  }

  protected single(b: number): number {
    if (b < 0x80) return b;
    if (b >= 0x81 && b <= 0xfe) return this.keepLead(b);
    return ERROR;
  }
}
