// What a function may put in a web response's headers: names that are HTTP tokens, values without
// NUL, CR or LF (they could split the response), and not too many. Both tiers check with this.

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE_BAD = /[\0\r\n]/;

/** A response's flat header list, or null when a name or value could split or break the response. */
export function checkedHeaders(flat: unknown[]): string[] | null {
  if (flat.length % 2 !== 0 || flat.length > 2000) return null;
  for (let i = 0; i < flat.length; i += 2) {
    const k = flat[i], v = flat[i + 1];
    if (typeof k !== 'string' || typeof v !== 'string' || !HEADER_NAME.test(k) || HEADER_VALUE_BAD.test(v)) return null;
  }
  return flat as string[];
}
