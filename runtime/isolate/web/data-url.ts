// fetch() of a data: URL (WHATWG Fetch, "data: URL processor" and the scheme fetch for "data"):
// answered inside the isolate, without the host, as no network is involved (so egress rules do
// not apply, as in browsers and workerd).

import { atob, TextEncoder } from './encoding.js';

const HEX = /^[0-9A-Fa-f]{2}$/;
/** HTTP token code points (MIME type and parameter names). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const encoder = new TextEncoder();

/** `url` (a parsed data: URL's href); null when it is not a valid data: URL (a network error). */
export function processDataUrl(url: string): { mimeType: string; body: Uint8Array } | null {
  // The URL without its fragment, then without "data:".
  const hash = url.indexOf('#');
  const input = (hash >= 0 ? url.slice(0, hash) : url).slice('data:'.length);
  const comma = input.indexOf(',');
  if (comma < 0) return null;
  let mimeType = input.slice(0, comma).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '');
  let body = percentDecode(input.slice(comma + 1));
  const base64 = /;[ ]*base64$/i.exec(mimeType);
  if (base64 !== null) {
    let binary: string;
    try {
      binary = atob(isomorphicDecode(body));
    } catch {
      return null;
    }
    body = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    mimeType = mimeType.slice(0, base64.index);
  }
  if (mimeType.startsWith(';')) mimeType = `text/plain${mimeType}`;
  return { mimeType: parseMimeType(mimeType) ?? 'text/plain;charset=US-ASCII', body };
}

/** Percent-decoding of a string's UTF-8 bytes: %XX (hex) is that byte, anything else as it is. */
function percentDecode(s: string): Uint8Array {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < bytes.length && HEX.test(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!))) {
      out[n++] = parseInt(String.fromCharCode(bytes[i + 1]!, bytes[i + 2]!), 16);
      i += 2;
    } else out[n++] = b;
  }
  return out.subarray(0, n);
}

function isomorphicDecode(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/**
 * A MIME type parsed and serialized (WHATWG MIME Sniffing, simplified where data: URLs never
 * reach): type/subtype lower-cased, parameters name=value with lower-cased names, the first of a
 * name kept, quoted values unquoted and quoted again when they need it. Null when not one.
 */
function parseMimeType(s: string): string | null {
  const parts = s.split(';');
  const essence = parts[0]!.trim();
  const slash = essence.indexOf('/');
  if (slash <= 0) return null;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return null;
  const params = new Map<string, string>();
  for (const raw of parts.slice(1)) {
    const eq = raw.indexOf('=');
    if (eq < 0) continue;
    const name = raw.slice(0, eq).trim().toLowerCase();
    let value = raw.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!TOKEN.test(name) || value === '' || params.has(name)) continue;
    params.set(name, value);
  }
  let out = `${type.toLowerCase()}/${subtype.toLowerCase()}`;
  for (const [k, v] of params) out += `;${k}=${TOKEN.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`}`;
  return out;
}
