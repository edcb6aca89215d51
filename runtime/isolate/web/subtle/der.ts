// A small, strict DER (ITU-T X.690 §10) reader and writer, only as much as WebCrypto's 'spki'
// (RFC 5280 §4.1.2.7) and 'pkcs8' (RFC 5208 §5) key formats need: SEQUENCE, INTEGER, BIT STRING,
// OCTET STRING, NULL, OBJECT IDENTIFIER and context-specific constructed tags. It is an encoding,
// not a cryptographic primitive. Strict: definite minimal lengths only, no trailing bytes, minimal
// INTEGERs; anything else throws DerError (the caller turns it into a DataError).

export class DerError extends Error {}

export const TAG = { INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06, SEQUENCE: 0x30 } as const;

/** One TLV read from `bytes`. */
export class DerReader {
  #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) { this.#bytes = bytes; }

  get done(): boolean { return this.#pos === this.#bytes.length; }

  /** The next element's tag, or -1 at the end. */
  peek(): number { return this.done ? -1 : this.#bytes[this.#pos]!; }

  /** The contents of the next element, which must have tag `tag`. */
  read(tag: number): Uint8Array {
    const b = this.#bytes;
    if (this.#pos + 2 > b.length || b[this.#pos] !== tag) throw new DerError('unexpected tag');
    let pos = this.#pos + 1;
    let len = b[pos++]!;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 3 || pos + n > b.length) throw new DerError('bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[pos++]!;
      if (len < 0x80 || (n > 1 && len < 1 << (8 * (n - 1)))) throw new DerError('length not minimal');
    }
    if (pos + len > b.length) throw new DerError('truncated');
    this.#pos = pos + len;
    return b.subarray(pos, pos + len);
  }

  /** A reader over the contents of the next SEQUENCE (or other constructed tag). */
  sequence(tag: number = TAG.SEQUENCE): DerReader { return new DerReader(this.read(tag)); }

  /** A non-negative INTEGER as a bigint (minimal encoding required). */
  bigint(): bigint {
    const c = this.read(TAG.INTEGER);
    if (c.length === 0 || (c.length > 1 && c[0] === 0 && !(c[1]! & 0x80)) || (c.length > 1 && c[0] === 0xff && c[1]! & 0x80)) {
      throw new DerError('integer not minimal');
    }
    if (c[0]! & 0x80) throw new DerError('negative integer');
    let n = 0n;
    for (const byte of c) n = (n << 8n) | BigInt(byte);
    return n;
  }

  /** A small non-negative INTEGER (a version number). */
  small(): number {
    const n = this.bigint();
    if (n > 255n) throw new DerError('version out of range');
    return Number(n);
  }

  /** The bytes of a BIT STRING with no unused bits. */
  bitString(): Uint8Array {
    const c = this.read(TAG.BIT_STRING);
    if (c.length === 0 || c[0] !== 0) throw new DerError('bit string with unused bits');
    return c.subarray(1);
  }

  /** An OBJECT IDENTIFIER's encoded contents as hex (compared with the constants below). */
  oid(): string { return hex(this.read(TAG.OID)); }

  end(): void { if (!this.done) throw new DerError('trailing bytes'); }
}

function hex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += (b + 0x100).toString(16).slice(1);
  return s;
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

// ---- writer ----------------------------------------------------------------------------------

export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const p of parts) len += p.length;
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : len < 0x10000 ? [tag, 0x82, len >> 8, len & 0xff]
    : [tag, 0x83, len >> 16, (len >> 8) & 0xff, len & 0xff];
  const out = new Uint8Array(head.length + len);
  out.set(head);
  let off = head.length;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(TAG.SEQUENCE, ...parts);
export const octets = (bytes: Uint8Array): Uint8Array => tlv(TAG.OCTET_STRING, bytes);
export const bits = (bytes: Uint8Array): Uint8Array => tlv(TAG.BIT_STRING, Uint8Array.of(0), bytes);
export const oid = (hexContents: string): Uint8Array => tlv(TAG.OID, fromHex(hexContents));
export const NULL = Uint8Array.of(TAG.NULL, 0);

/** A non-negative INTEGER, minimally encoded. */
export function integer(n: bigint): Uint8Array {
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  if (parseInt(h.slice(0, 2), 16) & 0x80) h = '00' + h;
  return tlv(TAG.INTEGER, fromHex(h));
}

// ---- the OIDs WebCrypto's key formats use (encoded contents, hex) ------------------------------

export const OID = {
  rsaEncryption: '2a864886f70d010101', // 1.2.840.113549.1.1.1
  ecPublicKey: '2a8648ce3d0201', // 1.2.840.10045.2.1
  'P-256': '2a8648ce3d030107', // 1.2.840.10045.3.1.7 (secp256r1)
  'P-384': '2b81040022', // 1.3.132.0.34 (secp384r1)
  Ed25519: '2b6570', // 1.3.101.112 (RFC 8410)
  X25519: '2b656e', // 1.3.101.110 (RFC 8410)
} as const;

/** SubjectPublicKeyInfo: { algorithm OID, its parameters (or none), the key bits }. */
export function readSpki(der: Uint8Array): { oid: string; params: Uint8Array | null; key: Uint8Array } {
  const r = new DerReader(der);
  const spki = r.sequence();
  r.end();
  const alg = spki.sequence();
  const algOid = alg.oid();
  const params = alg.done ? null : readAny(alg);
  alg.end();
  const key = spki.bitString();
  spki.end();
  return { oid: algOid, params, key };
}

/** PrivateKeyInfo (version 0; a OneAsymmetricKey v1 with attributes or v2 is refused). */
export function readPkcs8(der: Uint8Array): { oid: string; params: Uint8Array | null; key: Uint8Array } {
  const r = new DerReader(der);
  const info = r.sequence();
  r.end();
  if (info.small() !== 0) throw new DerError('unsupported PrivateKeyInfo version');
  const alg = info.sequence();
  const algOid = alg.oid();
  const params = alg.done ? null : readAny(alg);
  alg.end();
  const key = info.read(TAG.OCTET_STRING);
  info.end();
  return { oid: algOid, params, key };
}

/** The whole encoding (tag, length, contents) of the next element. */
function readAny(r: DerReader): Uint8Array {
  const tag = r.peek();
  return tlv(tag, r.read(tag));
}

export const spki = (algorithm: Uint8Array, key: Uint8Array): Uint8Array => seq(algorithm, bits(key));
export const pkcs8 = (algorithm: Uint8Array, key: Uint8Array): Uint8Array => seq(integer(0n), algorithm, octets(key));
