// The `encodings` extra's factory (see runtime/isolate/extras/encodings.ts): decoders for the
// legacy encodings whose tables are too big for every isolate to carry. Imports nothing that user
// code can observe (the decoders throw plain TypeErrors), so its second copy in the extra's bundle
// is harmless.

import type { StreamDecoder } from './decoder.js';
import { Gb18030Decoder } from './gb18030.js';
import { makeSingleByteDecoder } from './single-byte.js';

/** A fresh decoder for the encoding `name` (WHATWG Encoding name), or null if this extra has none. */
export function makeLegacyDecoder(name: string, fatal: boolean): StreamDecoder | null {
  if (name === 'gbk' || name === 'gb18030') return new Gb18030Decoder(name, fatal);
  return makeSingleByteDecoder(name, fatal);
}

export interface EncodingsExtra {
  makeLegacyDecoder: typeof makeLegacyDecoder;
}
