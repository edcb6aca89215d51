// The `encodings` extra: the legacy single-byte decoders and their indexes, loaded into an isolate
// on the first TextDecoder made for such an encoding (web/encoding.ts).

import { makeLegacyDecoder } from '../web/encodings/legacy.js';
import { registerExtra } from './register.js';

registerExtra(() => ({ makeLegacyDecoder }));
