// X-Hearth-Force-Cold (admin token): the call runs on a fresh instance, for measuring cold starts.
// `true`: a fresh instance as any cold start makes it (from the tier's reserve when it has one);
// `scratch`: made from nothing, as a first call meets it when the reserve is empty. The invoke and
// web routes read it the same way; the answer says which it was (X-Hearth-Cold-Start).

import type { ForceCold } from '../call.js';
import { HearthError } from '../errors.js';

/** The header's value; null: not one Hearth knows (answered 400, never guessed). */
export function parseForceCold(value: string): ForceCold | null {
  switch (value) {
    case '': case 'false': return 'no';
    case 'true': return 'fresh';
    case 'scratch': return 'scratch';
    default: return null;
  }
}

export function badForceCold(value: string): HearthError {
  return new HearthError('InvalidRequestContent', `X-Hearth-Force-Cold "${value.slice(0, 40)}" is not one of true, scratch`);
}
