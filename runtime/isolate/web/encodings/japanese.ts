// The legacy multi-byte Japanese decoders (WHATWG Encoding §11): EUC-JP (§11.1.1), ISO-2022-JP
// (§11.2.1) and Shift_JIS (§11.3.1), on index jis0208 and index jis0212. Part of the `encodings`
// extra; the indexes are unpacked on first use.

import { JIS0208, JIS0212 } from './multi-byte-indexes.js';
import { unpackIndex } from './packed-index.js';
import { CONTINUE, EOQ, ERROR, FINISHED, LeadTrailDecoder, QueueDecoder } from './queue-decoder.js';

let jis0208: Int32Array | null = null;
let jis0212: Int32Array | null = null;
const index0208 = () => (jis0208 ??= unpackIndex(JIS0208));
const index0212 = () => (jis0212 ??= unpackIndex(JIS0212));

/** An index's code point for pointer, or -1 (null). */
const at = (index: Int32Array, pointer: number) => (pointer < index.length ? index[pointer]! : -1);

/** §11.1.1 */
export class EucJpDecoder extends QueueDecoder {
  #jis0212 = false;
  #lead = 0;
  readonly #i0208 = index0208();
  readonly #i0212 = index0212();

  constructor(fatal: boolean) { super('euc-jp', fatal); }

  protected handle(b: number): number {
    if (b === EOQ) {
      if (this.#lead !== 0) { this.#lead = 0; return ERROR; }
      return FINISHED;
    }
    const lead = this.#lead;
    if (lead === 0x8e && b >= 0xa1 && b <= 0xdf) { this.#lead = 0; return 0xff61 - 0xa1 + b; }
    if (lead === 0x8f && b >= 0xa1 && b <= 0xfe) { this.#jis0212 = true; this.#lead = b; return CONTINUE; }
    if (lead !== 0) {
      this.#lead = 0;
      let cp = -1;
      if (lead >= 0xa1 && lead <= 0xfe && b >= 0xa1 && b <= 0xfe) {
        cp = at(this.#jis0212 ? this.#i0212 : this.#i0208, (lead - 0xa1) * 94 + b - 0xa1);
      }
      this.#jis0212 = false;
      if (cp >= 0) return cp;
      if (b < 0x80) this.back.unshift(b);
      return ERROR;
    }
    if (b < 0x80) return b;
    if (b === 0x8e || b === 0x8f || (b >= 0xa1 && b <= 0xfe)) { this.#lead = b; return CONTINUE; }
    return ERROR;
  }
}

/** §11.3.1 */
export class ShiftJisDecoder extends LeadTrailDecoder {
  readonly #i0208 = index0208();

  constructor(fatal: boolean) { super('shift_jis', fatal); }

  protected pair(lead: number, b: number): number {
    if (!((b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfc))) return -1;
    const pointer = (lead - (lead < 0xa0 ? 0x81 : 0xc1)) * 188 + b - (b < 0x7f ? 0x40 : 0x41);
    if (pointer >= 8836 && pointer <= 10715) return 0xe000 - 8836 + pointer;
    return at(this.#i0208, pointer);
  }

  protected single(b: number): number {
    if (b <= 0x80) return b;
    if (b >= 0xa1 && b <= 0xdf) return 0xff61 - 0xa1 + b;
    if ((b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc)) return this.keepLead(b);
    return ERROR;
  }
}

const enum Iso2022JpState { Ascii, Roman, Katakana, LeadByte, TrailByte, EscapeStart, Escape }

/** §11.2.1 */
export class Iso2022JpDecoder extends QueueDecoder {
  #state = Iso2022JpState.Ascii;
  #outputState = Iso2022JpState.Ascii;
  #lead = 0;
  #output = false;
  readonly #i0208 = index0208();

  constructor(fatal: boolean) { super('iso-2022-jp', fatal); }

  protected handle(b: number): number {
    switch (this.#state) {
      case Iso2022JpState.Ascii:
        if (b === 0x1b) { this.#state = Iso2022JpState.EscapeStart; return CONTINUE; }
        if (b === EOQ) return FINISHED;
        this.#output = false;
        if (b <= 0x7f && b !== 0x0e && b !== 0x0f) return b;
        return ERROR;
      case Iso2022JpState.Roman:
        if (b === 0x1b) { this.#state = Iso2022JpState.EscapeStart; return CONTINUE; }
        if (b === EOQ) return FINISHED;
        this.#output = false;
        if (b === 0x5c) return 0xa5;
        if (b === 0x7e) return 0x203e;
        if (b <= 0x7f && b !== 0x0e && b !== 0x0f) return b;
        return ERROR;
      case Iso2022JpState.Katakana:
        if (b === 0x1b) { this.#state = Iso2022JpState.EscapeStart; return CONTINUE; }
        if (b === EOQ) return FINISHED;
        this.#output = false;
        if (b >= 0x21 && b <= 0x5f) return 0xff61 - 0x21 + b;
        return ERROR;
      case Iso2022JpState.LeadByte:
        if (b === 0x1b) { this.#state = Iso2022JpState.EscapeStart; return CONTINUE; }
        if (b === EOQ) return FINISHED;
        this.#output = false;
        if (b >= 0x21 && b <= 0x7e) { this.#lead = b; this.#state = Iso2022JpState.TrailByte; return CONTINUE; }
        return ERROR;
      case Iso2022JpState.TrailByte: {
        if (b === 0x1b) { this.#state = Iso2022JpState.EscapeStart; return ERROR; }
        this.#state = Iso2022JpState.LeadByte;
        if (b >= 0x21 && b <= 0x7e) {
          const cp = at(this.#i0208, (this.#lead - 0x21) * 94 + b - 0x21);
          return cp >= 0 ? cp : ERROR;
        }
        // End-of-queue is "restored" too: it is read again, in the lead byte state (finished).
        return ERROR;
      }
      case Iso2022JpState.EscapeStart:
        if (b === 0x24 || b === 0x28) { this.#lead = b; this.#state = Iso2022JpState.Escape; return CONTINUE; }
        if (b !== EOQ) this.back.unshift(b);
        this.#output = false;
        this.#state = this.#outputState;
        return ERROR;
      case Iso2022JpState.Escape: {
        const lead = this.#lead;
        this.#lead = 0;
        let state = -1;
        if (lead === 0x28 && b === 0x42) state = Iso2022JpState.Ascii;
        else if (lead === 0x28 && b === 0x4a) state = Iso2022JpState.Roman;
        else if (lead === 0x28 && b === 0x49) state = Iso2022JpState.Katakana;
        else if (lead === 0x24 && (b === 0x40 || b === 0x42)) state = Iso2022JpState.LeadByte;
        if (state >= 0) {
          this.#state = this.#outputState = state;
          const output = this.#output;
          this.#output = true;
          return output ? ERROR : CONTINUE;
        }
        if (b === EOQ) this.back.unshift(lead);
        else this.back.unshift(lead, b);
        this.#output = false;
        this.#state = this.#outputState;
        return ERROR;
      }
    }
  }
}
