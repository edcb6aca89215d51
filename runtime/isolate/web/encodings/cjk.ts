// The `encodings-cjk` extra's factory (see runtime/isolate/extras/encodings-cjk.ts): the multi-byte
// decoders (Encoding §10–§13) and their indexes. Imports nothing that user code can observe.

import { Big5Decoder } from './big5.js';
import type { StreamDecoder } from './decoder.js';
import { EucKrDecoder } from './euc-kr.js';
import { Gb18030Decoder } from './gb18030.js';
import { EucJpDecoder, Iso2022JpDecoder, ShiftJisDecoder } from './japanese.js';

/** A fresh decoder for the multi-byte encoding `name`, or null. */
export function makeCjkDecoder(name: string, fatal: boolean): StreamDecoder | null {
  switch (name) {
    case 'gbk': case 'gb18030': return new Gb18030Decoder(name, fatal);
    case 'shift_jis': return new ShiftJisDecoder(fatal);
    case 'euc-jp': return new EucJpDecoder(fatal);
    case 'iso-2022-jp': return new Iso2022JpDecoder(fatal);
    case 'big5': return new Big5Decoder(fatal);
    case 'euc-kr': return new EucKrDecoder(fatal);
  }
  return null;
}

export interface CjkExtra { makeCjkDecoder: typeof makeCjkDecoder }
