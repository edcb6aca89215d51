// What every algorithm module of the 'subtle' extra shares: the dependencies the main runtime hands
// in (its DOMException and CryptoKey, so user code sees one of each — see brief of the extras
// mechanism), WebCrypto's dictionary members read as WebIDL converts them, usages, and JWK checks.

import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';

export type KeyType = 'secret' | 'public' | 'private';
export type KeyUsage = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'deriveKey' | 'deriveBits' | 'wrapKey' | 'unwrapKey';
/** The KeyUsage enum in its order (WebCrypto §13), which is the order usages are kept in. */
export const USAGES: readonly KeyUsage[] = ['encrypt', 'decrypt', 'sign', 'verify', 'deriveKey', 'deriveBits', 'wrapKey', 'unwrapKey'];

/** A key's internal slots as the extra sees them; `material` never leaves the isolate's runtime. */
export interface KeyParts {
  type: KeyType;
  algorithm: Record<string, unknown> & { name: string };
  extractable: boolean;
  usages: KeyUsage[];
  material: unknown;
}

export interface SubtleDeps {
  DOMException: new (message?: string, name?: string) => Error;
  /** A new CryptoKey (the main runtime's class) with these slots. */
  makeKey(parts: KeyParts): object;
  /** The slots of a CryptoKey, or undefined for anything else. */
  keyParts(key: unknown): KeyParts | undefined;
  /** Fresh bytes from the isolate's HMAC_DRBG (never from globalThis.crypto, which user code may replace). */
  randomFill(bytes: Uint8Array): void;
  /** A copy of a BufferSource's bytes, or undefined when it is not one. */
  bufferSourceBytes(value: unknown): Uint8Array | undefined;
}

export type Hash = typeof sha1 | typeof sha256 | typeof sha384 | typeof sha512;
export interface HashInfo { name: 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512'; fn: Hash; bits: number; blockBits: number }
export const HASHES: { readonly [upper: string]: HashInfo } = {
  __proto__: null as never,
  'SHA-1': { name: 'SHA-1', fn: sha1, bits: 160, blockBits: 512 },
  'SHA-256': { name: 'SHA-256', fn: sha256, bits: 256, blockBits: 512 },
  'SHA-384': { name: 'SHA-384', fn: sha384, bits: 384, blockBits: 1024 },
  'SHA-512': { name: 'SHA-512', fn: sha512, bits: 512, blockBits: 1024 },
};

export type Params = Record<string, unknown> & { name: string };

export class Ctx {
  readonly deps: SubtleDeps;
  constructor(deps: SubtleDeps) { this.deps = deps; }

  error(name: 'NotSupportedError' | 'SyntaxError' | 'InvalidAccessError' | 'DataError' | 'OperationError', message: string): Error {
    return new this.deps.DOMException(message, name);
  }

  random(n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.deps.randomFill(out);
    return out;
  }

  /**
   * Runs `fn` with globalThis.crypto set to a getRandomValues over the DRBG: @noble/hashes'
   * randomBytes (which micro-rsa-dsa-dh calls for RSA primes, OAEP seeds and PSS salts, with no
   * way to pass another source) reads that global, and user code may have replaced it. The swap
   * is synchronous (no user code runs in between) and the global's own descriptor is restored.
   */
  withRandom<T>(fn: () => T): T {
    const g = globalThis as Record<string, unknown>;
    const saved = Object.getOwnPropertyDescriptor(g, 'crypto');
    const getRandomValues = <A extends Uint8Array>(a: A): A => { this.deps.randomFill(a); return a; };
    try {
      Object.defineProperty(g, 'crypto', { value: { getRandomValues }, configurable: true, writable: true });
    } catch {
      throw this.error('OperationError', 'globalThis.crypto has been made non-configurable: no random source for this operation');
    }
    try { return fn(); } finally {
      if (saved) Object.defineProperty(g, 'crypto', saved); else delete g.crypto;
    }
  }

  /** A BufferSource argument or member, copied (WebCrypto copies before acting). */
  bytes(value: unknown, what: string): Uint8Array {
    const b = this.deps.bufferSourceBytes(value);
    if (!b) throw new TypeError(`${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
    return b.slice();
  }

  /** The slots of a key argument (TypeError for a non-CryptoKey, as WebIDL's conversion does). */
  key(value: unknown, what = 'key'): KeyParts {
    const parts = this.deps.keyParts(value);
    if (!parts) throw new TypeError(`parameter '${what}' is not of type 'CryptoKey'.`);
    return parts;
  }

  member<T>(params: Params, name: string, convert: (v: unknown) => T, required: true): T;
  member<T>(params: Params, name: string, convert: (v: unknown) => T, required: false): T | undefined;
  member<T>(params: Params, name: string, convert: (v: unknown) => T, required: boolean): T | undefined {
    const v = params[name];
    if (v === undefined) {
      if (required) throw new TypeError(`${params.name}Params: member ${name} is required`);
      return undefined;
    }
    return convert(v);
  }

  /** WebIDL [EnforceRange] unsigned long / unsigned short / octet. */
  unsigned(bits: 8 | 16 | 32): (v: unknown) => number {
    return (v) => {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new TypeError('value is not a finite number');
      const t = Math.trunc(n);
      if (t < 0 || t > 2 ** bits - 1) throw new TypeError('value is outside the range of the type');
      return t;
    };
  }

  /** A HashAlgorithmIdentifier member, normalized (NotSupportedError for an unknown hash). */
  hash(v: unknown): HashInfo {
    const name = typeof v === 'object' && v !== null ? (v as { name?: unknown }).name : v;
    if (typeof v === 'object' && v !== null && name === undefined) throw new TypeError('Algorithm: name: Missing');
    const info = HASHES[String(name).toUpperCase()];
    if (!info) throw this.error('NotSupportedError', `Unrecognized hash algorithm: ${String(name)}`);
    return info;
  }

  // ---- usages (WebCrypto §14.3 generateKey/importKey steps, per-algorithm "recognized usages") --

  /** The usages as an ordered set; SyntaxError for any outside `allowed`. */
  usages(keyUsages: unknown, allowed: readonly KeyUsage[]): KeyUsage[] {
    if (typeof keyUsages !== 'object' || keyUsages === null || typeof (keyUsages as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError("parameter 'keyUsages' is not a sequence");
    }
    const given = new Set<string>();
    for (const u of keyUsages as Iterable<unknown>) {
      const s = String(u);
      if (!(USAGES as readonly string[]).includes(s)) throw new TypeError(`'${s}' is not a valid KeyUsage`);
      given.add(s);
    }
    for (const u of given) {
      if (!(allowed as readonly string[]).includes(u)) throw this.error('SyntaxError', `Unsupported key usage for this key: ${u}`);
    }
    return USAGES.filter((u) => given.has(u));
  }

  /** For a secret or private key: an empty usage list is a SyntaxError (§14.3.9 step 9, 14.3.6). */
  nonEmpty(usages: KeyUsage[]): KeyUsage[] {
    if (usages.length === 0) throw this.error('SyntaxError', 'Usages cannot be empty when creating a key.');
    return usages;
  }

  // ---- JWK (RFC 7517; WebCrypto §14.3.9 and each algorithm's "jwk" import steps) --------------

  /** The JsonWebKey dictionary from keyData (TypeError for a non-object), with the common checks. */
  jwk(keyData: unknown, kty: string, usages: KeyUsage[], extractable: boolean, use: 'enc' | 'sig' | null): Jwk {
    if (typeof keyData !== 'object' || keyData === null || ArrayBuffer.isView(keyData)) {
      throw new TypeError("parameter 'keyData' is not a JsonWebKey");
    }
    const src = keyData as Record<string, unknown>;
    const jwk: Jwk = {};
    for (const k of ['kty', 'use', 'alg', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const) {
      if (src[k] !== undefined) jwk[k] = String(src[k]);
    }
    if (src.ext !== undefined) jwk.ext = Boolean(src.ext);
    if (src.key_ops !== undefined) jwk.key_ops = [...(src.key_ops as Iterable<unknown>)].map(String);
    if (src.oth !== undefined) jwk.oth = src.oth;
    if (jwk.kty === undefined) throw new TypeError('JsonWebKey: kty is required');
    if (jwk.kty !== kty) throw this.error('DataError', `The JWK "kty" member was not "${kty}"`);
    if (use && jwk.use !== undefined && jwk.use !== use) throw this.error('DataError', `The JWK "use" member was not "${use}"`);
    if (jwk.key_ops) {
      if (new Set(jwk.key_ops).size !== jwk.key_ops.length) throw this.error('DataError', 'The JWK "key_ops" member has duplicates');
      for (const u of usages) {
        if (!jwk.key_ops.includes(u)) throw this.error('DataError', 'The JWK "key_ops" member does not include the requested usages');
      }
    }
    if (jwk.ext === false && extractable) throw this.error('DataError', 'The JWK "ext" member is false but the key is to be extractable');
    return jwk;
  }

  /** A base64url member of a JWK (RFC 7515 §2, no padding); DataError if missing or malformed. */
  b64(jwk: Jwk, member: keyof Jwk): Uint8Array {
    const s = jwk[member];
    if (typeof s !== 'string') throw this.error('DataError', `The JWK "${member}" member is missing`);
    const out = base64urlDecode(s);
    if (!out) throw this.error('DataError', `The JWK "${member}" member is not base64url`);
    return out;
  }

  /** The JWK common members of an exported key (§14.3.10: key_ops and ext). */
  jwkOut(key: KeyParts, members: Jwk): Jwk {
    return { ...members, key_ops: key.usages.slice(), ext: key.extractable };
  }
}

export interface Jwk {
  kty?: string; use?: string; key_ops?: string[]; alg?: string; ext?: boolean;
  crv?: string; x?: string; y?: string; d?: string;
  n?: string; e?: string; p?: string; q?: string; dp?: string; dq?: string; qi?: string; oth?: unknown;
  k?: string;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function base64url(bytes: Uint8Array): string {
  let s = '';
  let i = 0;
  for (; i + 3 <= bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  if (bytes.length - i === 1) {
    const n = bytes[i]! << 16;
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (bytes.length - i === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    s += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return s;
}

/** Decodes unpadded base64url; undefined for any other character or an impossible length. */
export function base64urlDecode(s: string): Uint8Array | undefined {
  if (s.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 3) / 4));
  let acc = 0;
  let nbits = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const v = B64URL.indexOf(s[i]!);
    if (v < 0) return undefined;
    acc = ((acc << 6) | v) & 0xffffff;
    nbits += 6;
    if (nbits >= 8) { nbits -= 8; out[o++] = (acc >> nbits) & 0xff; }
  }
  return out;
}

export function bigintToBytes(n: bigint, length?: number): Uint8Array {
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  const raw = new Uint8Array(h.length / 2);
  for (let i = 0; i < raw.length; i++) raw[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  if (length === undefined || length <= raw.length) return raw;
  const out = new Uint8Array(length);
  out.set(raw, length - raw.length);
  return out;
}

export function bytesToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (const byte of b) n = (n << 8n) | BigInt(byte);
  return n;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
