// The `encodings` extra's factory (see runtime/isolate/extras/encodings.ts): decoders for the
// legacy encodings whose tables are too big for every isolate to carry. Imports nothing that user
// code can observe (the decoders throw plain TypeErrors), so its second copy in the extra's bundle
// is harmless.

import { Big5Decoder } from './big5.js';
import type { StreamDecoder } from './decoder.js';
import { EucKrDecoder } from './euc-kr.js';
import { Gb18030Decoder } from './gb18030.js';
import { EucJpDecoder, Iso2022JpDecoder, ShiftJisDecoder } from './japanese.js';
import { encodingOfLabel, isInEncodingsExtra } from './labels.js';
import { makeSingleByteDecoder } from './single-byte.js';

/** A fresh decoder for the encoding `name` (WHATWG Encoding name), or null if this extra has none. */
export function makeLegacyDecoder(name: string, fatal: boolean): StreamDecoder | null {
  switch (name) {
    case 'gbk': case 'gb18030': return new Gb18030Decoder(name, fatal);
    case 'shift_jis': return new ShiftJisDecoder(fatal);
    case 'euc-jp': return new EucJpDecoder(fatal);
    case 'iso-2022-jp': return new Iso2022JpDecoder(fatal);
    case 'big5': return new Big5Decoder(fatal);
    case 'euc-kr': return new EucKrDecoder(fatal);
  }
  return makeSingleByteDecoder(name, fatal);
}

export { encodingOfLabel, isInEncodingsExtra };

export interface EncodingsExtra {
  encodingOfLabel: typeof encodingOfLabel;
  isInEncodingsExtra: typeof isInEncodingsExtra;
  makeLegacyDecoder: typeof makeLegacyDecoder;
}
