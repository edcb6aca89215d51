// MIME types as WHATWG MIME Sniffing §4.4 parses and §4.5 serializes them, and Fetch's "extract a
// MIME type" (§3.1.9, with "get, decode, and split" of §3.1.7), for body.blob()'s type and
// body.formData()'s choice of parser.

export interface MimeType {
  type: string;
  subtype: string;
  parameters: Map<string, string>;
}

export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** HTTP quoted-string token code points: tab, U+0020 to U+007E, U+0080 to U+00FF. */
const QUOTED_OK = /^[\t\x20-\x7e\x80-\xff]*$/;
const HTTP_WS = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const HTTP_WS_END = /[\t\n\r ]+$/;

export const essence = (m: MimeType): string => `${m.type}/${m.subtype}`;

/** MIME Sniffing §4.4 "parse a MIME type": null is failure. */
export function parseMimeType(input: string): MimeType | null {
  const s = input.replace(HTTP_WS, '');
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const type = s.slice(0, slash);
  let pos = s.indexOf(';', slash);
  if (pos < 0) pos = s.length;
  const subtype = s.slice(slash + 1, pos).replace(HTTP_WS_END, '');
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return null;
  const m: MimeType = { type: type.toLowerCase(), subtype: subtype.toLowerCase(), parameters: new Map() };
  while (pos < s.length) {
    pos++; // the ";"
    while (s[pos] === ' ' || s[pos] === '\t' || s[pos] === '\n' || s[pos] === '\r') pos++;
    let end = pos;
    while (end < s.length && s[end] !== ';' && s[end] !== '=') end++;
    const name = s.slice(pos, end).toLowerCase();
    pos = end;
    if (pos < s.length) {
      if (s[pos] === ';') continue;
      pos++; // the "="
    }
    if (pos >= s.length) break;
    let value: string;
    if (s[pos] === '"') {
      [value, pos] = quotedString(s, pos, true);
      while (pos < s.length && s[pos] !== ';') pos++;
    } else {
      end = s.indexOf(';', pos);
      if (end < 0) end = s.length;
      value = s.slice(pos, end).replace(HTTP_WS_END, '');
      pos = end;
      if (value === '') continue;
    }
    if (name !== '' && TOKEN.test(name) && QUOTED_OK.test(value) && !m.parameters.has(name)) m.parameters.set(name, value);
  }
  return m;
}

/** MIME Sniffing §4.5 "serialize a MIME type". */
export function serializeMimeType(m: MimeType): string {
  let out = essence(m);
  for (const [name, value] of m.parameters) {
    out += `;${name}=`;
    out += TOKEN.test(value) ? value : `"${value.replace(/["\\]/g, '\\$&')}"`;
  }
  return out;
}

/** Fetch §5.6 "collect an HTTP quoted string" from s at pos (a '"'): the string and the new position. */
function quotedString(s: string, pos: number, extract: boolean): [string, number] {
  const start = pos;
  let value = '';
  pos++;
  for (;;) {
    let end = pos;
    while (end < s.length && s[end] !== '"' && s[end] !== '\\') end++;
    value += s.slice(pos, end);
    pos = end;
    if (pos >= s.length) break;
    const c = s[pos++];
    if (c === '\\') {
      if (pos >= s.length) { value += '\\'; break; }
      value += s[pos++];
    } else {
      break;
    }
  }
  return [extract ? value : s.slice(start, pos), pos];
}

/** Fetch §3.1.7 "get, decode, and split" a header value (commas inside quoted strings kept). */
function splitValues(input: string): string[] {
  const values: string[] = [];
  let pos = 0;
  let tmp = '';
  for (;;) {
    let end = pos;
    while (end < input.length && input[end] !== '"' && input[end] !== ',') end++;
    tmp += input.slice(pos, end);
    pos = end;
    if (pos < input.length && input[pos] === '"') {
      const [q, next] = quotedString(input, pos, false);
      tmp += q;
      pos = next;
      if (pos < input.length) continue;
    }
    values.push(tmp.replace(/^[\t ]+|[\t ]+$/g, ''));
    tmp = '';
    if (pos >= input.length) return values;
    pos++; // the ","
  }
}

/** Fetch §3.1.9 "extract a MIME type" from a Content-Type value (null: none, or failure). */
export function extractMimeType(contentType: string | null): MimeType | null {
  if (contentType === null) return null;
  let charset: string | null = null;
  let ess: string | null = null;
  let mime: MimeType | null = null;
  for (const value of splitValues(contentType)) {
    const m = parseMimeType(value);
    if (m === null || essence(m) === '*/*') continue;
    mime = m;
    if (essence(m) !== ess) {
      charset = m.parameters.get('charset') ?? null;
      ess = essence(m);
    } else if (!m.parameters.has('charset') && charset !== null) {
      m.parameters.set('charset', charset);
    }
  }
  return mime;
}
