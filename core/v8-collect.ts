// V8's full collection, for the host's own heap. Some memory comes back only when V8 collects: the
// ArrayBuffer of a request body that was refused or abandoned is freed when its object is, and
// after an attack the host may allocate too little for V8 to collect on its own for a long time
// (its memory reducer waits for idleness; seconds to never). Used by the body intake only, which
// asks for it at most once a second and only after bodies were dropped (body-intake.ts).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// Contexts made after this flag have `gc`; the host's main context does not, so take one from a
// fresh context (the collection is the whole process heap's, whatever context calls it).
setFlagsFromString('--expose-gc');

/** One full, synchronous collection of the host's heap. */
export const collectGarbage = runInNewContext('gc') as () => void;
