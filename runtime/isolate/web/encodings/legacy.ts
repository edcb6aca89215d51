// The `encodings` extra's factory (see runtime/isolate/extras/encodings.ts): decoders for the
// legacy encodings whose tables are too big for every isolate to carry. Imports nothing that user
// code can observe (the decoders throw plain TypeErrors), so its second copy in the extra's bundle
// is harmless.

import type { StreamDecoder } from './decoder.js';
import { encodingOfLabel, isInEncodingsExtra } from './labels.js';
import { makeSingleByteDecoder } from './single-byte.js';

/**
 * A fresh decoder for the single-byte encoding `name` (WHATWG Encoding name), or null: the
 * multi-byte (CJK) ones are in the `encodings-cjk` extra (cjk.ts), whose ~140 KB of indexes a
 * function decoding windows-1252 need not carry.
 */
export function makeLegacyDecoder(name: string, fatal: boolean): StreamDecoder | null {
  return makeSingleByteDecoder(name, fatal);
}

export { encodingOfLabel, isInEncodingsExtra };

export interface EncodingsExtra {
  encodingOfLabel: typeof encodingOfLabel;
  isInEncodingsExtra: typeof isInEncodingsExtra;
  makeLegacyDecoder: typeof makeLegacyDecoder;
}
