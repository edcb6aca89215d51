// The `encodings` extra: the Encoding Standard's label table and the single-byte decoders with their
// indexes, loaded into an isolate on the first TextDecoder made for a label other than those of
// UTF-8, UTF-16 and x-user-defined (web/encoding.ts). The multi-byte ones are `encodings-cjk`.

import { encodingOfLabel, isInEncodingsExtra, makeLegacyDecoder } from '../web/encodings/legacy.js';
import { registerExtra } from './register.js';

registerExtra(() => ({ encodingOfLabel, isInEncodingsExtra, makeLegacyDecoder }));
