// UTF-8 <-> string inside the isolate. A bare V8 isolate has no TextEncoder/TextDecoder, and this
// runs on every invocation, so it has an ASCII fast path and no per-call allocation beyond the
// result. Invalid input throws (the caller turns that into a 400).

const fromCharCode = String.fromCharCode;
const CHUNK = 4096;

export function decodeUtf8(bytes: Uint8Array): string {
  const n = bytes.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    if (bytes[i]! > 0x7f) { ascii = false; break; }
  }
  if (ascii) {
    if (n <= CHUNK) return fromCharCode.apply(null, bytes as unknown as number[]);
    let out = '';
    for (let i = 0; i < n; i += CHUNK) {
      out += fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
    }
    return out;
  }
  return decodeSlow(bytes);
}

function decodeSlow(bytes: Uint8Array): string {
  const n = bytes.length;
  const units: number[] = [];
  let out = '';
  let i = 0;
  while (i < n) {
    const b0 = bytes[i++]!;
    let cp: number;
    if (b0 < 0x80) cp = b0;
    else if (b0 >= 0xc2 && b0 < 0xe0) {
      cp = ((b0 & 0x1f) << 6) | cont(bytes, i++);
    } else if (b0 >= 0xe0 && b0 < 0xf0) {
      cp = ((b0 & 0x0f) << 12) | (cont(bytes, i) << 6) | cont(bytes, i + 1);
      i += 2;
      if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) throw new TypeError('invalid UTF-8');
    } else if (b0 >= 0xf0 && b0 < 0xf5) {
      cp = ((b0 & 0x07) << 18) | (cont(bytes, i) << 12) | (cont(bytes, i + 1) << 6) | cont(bytes, i + 2);
      i += 3;
      if (cp < 0x10000 || cp > 0x10ffff) throw new TypeError('invalid UTF-8');
    } else throw new TypeError('invalid UTF-8');
    if (cp > 0xffff) {
      cp -= 0x10000;
      units.push(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
    } else units.push(cp);
    if (units.length >= CHUNK) { out += fromCharCode.apply(null, units); units.length = 0; }
  }
  return out + fromCharCode.apply(null, units);
}

function cont(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b === undefined || (b & 0xc0) !== 0x80) throw new TypeError('invalid UTF-8');
  return b & 0x3f;
}

/** Encodes to a fresh, exactly sized ArrayBuffer (it is transferred out whole). */
export function encodeUtf8(s: string): ArrayBuffer {
  const n = s.length;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { size += 4; i++; }
    else size += 3;
  }
  const buf = new ArrayBuffer(size);
  const out = new Uint8Array(buf);
  if (size === n) {
    for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
    return buf;
  }
  let p = 0;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[p++] = c;
    else if (c < 0x800) { out[p++] = 0xc0 | (c >> 6); out[p++] = 0x80 | (c & 0x3f); }
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[p++] = 0xf0 | (c >> 18); out[p++] = 0x80 | ((c >> 12) & 0x3f);
      out[p++] = 0x80 | ((c >> 6) & 0x3f); out[p++] = 0x80 | (c & 0x3f);
    } else {
      // Lone surrogates become U+FFFD, as TextEncoder does.
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      out[p++] = 0xe0 | (c >> 12); out[p++] = 0x80 | ((c >> 6) & 0x3f); out[p++] = 0x80 | (c & 0x3f);
    }
  }
  return buf;
}
