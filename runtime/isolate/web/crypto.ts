// Web Crypto for bare V8 isolates (which have no crypto): crypto.getRandomValues, randomUUID, and a
// SubtleCrypto with digest (SHA-1, SHA-256, SHA-384, SHA-512) and HMAC keys (generateKey,
// importKey 'raw', exportKey 'raw', sign, verify). Hashes come from @noble/hashes.
// Randomness: HMAC_DRBG (NIST SP 800-90A §10.1.2, HMAC-SHA-256, no prediction resistance, no
// personalization string) instantiated from a secret seed the host draws from its CSPRNG for each
// isolate; output is generated 256 bytes at a time and handed out from that buffer (a 1 KiB block
// made the first use cost 34 HMACs in cold code: 13–17 ms and 1 MiB of heap; 256: 10, ~8 ms).
// Deviations: no reseeding (there is no entropy source inside the isolate; SP 800-90A allows 2^48
// generate calls between reseeds, far beyond an isolate's life); SubtleCrypto has only the
// methods above, and only the 'raw' key format; the work is synchronous, the promises only
// report it (as the spec allows: results are the same).

import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { DOMException } from './dom-exception.js';
import { loadExtra } from '../extras.js';
import { bufferSourceBytes } from './buffer-source.js';
import { EXTRA_ALGORITHMS } from './subtle/names.js';

type HashFn = typeof sha1 | typeof sha256 | typeof sha384 | typeof sha512;

// ---- HMAC_DRBG ---------------------------------------------------------------------------------

const BLOCK = 256;

/** HMAC_DRBG with HMAC-SHA-256 (SP 800-90A §10.1.2). */
class HmacDrbg {
  #k = new Uint8Array(32);
  #v = new Uint8Array(32).fill(1);
  #buf = new Uint8Array(BLOCK);
  #pos = BLOCK;

  constructor(seed: Uint8Array) {
    if (!(seed instanceof Uint8Array) || seed.length < 32) throw new TypeError('makeCrypto: seed must be at least 32 bytes');
    this.#update(seed);
  }

  /** HMAC_DRBG_Update. */
  #update(data: Uint8Array | null): void {
    for (const sep of data ? [0, 1] : [0]) {
      const h = hmac.create(sha256, this.#k).update(this.#v).update(Uint8Array.of(sep));
      if (data) h.update(data);
      this.#k = h.digest();
      this.#v = hmac(sha256, this.#k, this.#v);
    }
  }

  /** HMAC_DRBG_Generate of BLOCK bytes into the buffer. */
  #refill(): void {
    const keyed = hmac.create(sha256, this.#k);
    for (let off = 0; off < BLOCK; off += 32) {
      this.#v = keyed.clone().update(this.#v).digest();
      this.#buf.set(this.#v, off);
    }
    this.#update(null);
    this.#pos = 0;
  }

  /** Fills `out` with fresh output; no byte is ever handed out twice. */
  fill(out: Uint8Array): void {
    let done = 0;
    while (done < out.length) {
      if (this.#pos === BLOCK) this.#refill();
      const take = Math.min(out.length - done, BLOCK - this.#pos);
      out.set(this.#buf.subarray(this.#pos, this.#pos + take), done);
      this.#buf.fill(0, this.#pos, this.#pos + take);
      this.#pos += take;
      done += take;
    }
  }
}

// ---- helpers -----------------------------------------------------------------------------------

/** Brand check and name of a typed array (undefined for anything else, including DataView). */
const typedArrayName = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object, Symbol.toStringTag,
)!.get! as (this: unknown) => string | undefined;
const INTEGER_ARRAYS = new Set([
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array',
  'Uint32Array', 'BigInt64Array', 'BigUint64Array',
]);

const HASHES: { readonly [name: string]: { name: string; fn: HashFn; blockBits: number } } = {
  __proto__: null as never,
  'sha-1': { name: 'SHA-1', fn: sha1, blockBits: 512 },
  'sha-256': { name: 'SHA-256', fn: sha256, blockBits: 512 },
  'sha-384': { name: 'SHA-384', fn: sha384, blockBits: 1024 },
  'sha-512': { name: 'SHA-512', fn: sha512, blockBits: 1024 },
};

function notSupported(): DOMException {
  return new DOMException('Unrecognized algorithm name', 'NotSupportedError');
}

/** WebCrypto "normalize an algorithm": the registered name (upper case) and the dictionary. */
function normalize(algorithm: unknown): { name: string; params: Record<string, unknown> } {
  if (typeof algorithm === 'object' && algorithm !== null) {
    const raw = (algorithm as { name?: unknown }).name;
    if (raw === undefined) throw new TypeError("Algorithm: name: Missing or not a string");
    return { name: String(raw).toUpperCase(), params: algorithm as Record<string, unknown> };
  }
  return { name: String(algorithm).toUpperCase(), params: {} };
}

function hashOf(algorithm: unknown): { name: string; fn: HashFn; blockBits: number } {
  const hash = HASHES[normalize(algorithm).name.toLowerCase()];
  if (!hash) throw notSupported();
  return hash;
}

/** A copy of the bytes of a BufferSource (the spec copies them before doing anything else). */
function copyBytes(data: unknown, what: string): Uint8Array {
  const bytes = bufferSourceBytes(data, false);
  if (!bytes) throw new TypeError(`${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
  return bytes.slice();
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes.buffer as ArrayBuffer : bytes.slice().buffer;
}

/** Runs `work` now; its result or exception settles the returned promise (as WebCrypto does). */
function settle<T>(work: () => T): Promise<T> {
  try { return Promise.resolve(work()); } catch (err) { return Promise.reject(err); }
}

const KEY = Symbol('internal');
function illegal(token: unknown): void {
  if (token !== KEY) throw new TypeError('Illegal constructor');
}

function defineTag(cls: { prototype: object }, name: string): void {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  // Minifiers rename classes; keep the name user code sees.
  Object.defineProperty(cls, 'name', { value: name, configurable: true });
}

// ---- CryptoKey ---------------------------------------------------------------------------------

export interface HmacKeyAlgorithm { name: 'HMAC'; hash: { name: string }; length: number }
type KeyUsage = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'deriveKey' | 'deriveBits' | 'wrapKey' | 'unwrapKey';

/** A key's internal slots (WebCrypto §13.3): what the 'subtle' extra builds keys from and reads. */
export interface KeyParts {
  type: 'secret' | 'public' | 'private';
  algorithm: Record<string, unknown> & { name: string };
  extractable: boolean;
  usages: KeyUsage[];
  /** The key itself (bytes, or the extra's structure); kept in a private field, never reachable. */
  material: unknown;
}

/** A copy of a KeyAlgorithm dictionary as user code sees it (its Uint8Array and hash copied too). */
function algorithmView(a: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) {
    out[k] = v instanceof Uint8Array ? v.slice() : typeof v === 'object' && v !== null ? { ...v } : v;
  }
  return out;
}

/** A key's slots, for SubtleCrypto and the extra only (a module variable, so user code cannot reach it). */
let keyParts: (key: unknown) => KeyParts | undefined;

export class CryptoKey {
  #parts: KeyParts;
  // §13.3: algorithm and usages are cached objects, the same each time they are read.
  #algorithm: object | undefined;
  #usages: KeyUsage[] | undefined;

  /** Not for user code (TypeError "Illegal constructor"), as in browsers. */
  constructor(token: unknown, parts: KeyParts) {
    illegal(token);
    this.#parts = parts;
  }

  get type(): KeyParts['type'] { return brand(this).type; }
  get extractable(): boolean { return brand(this).extractable; }
  get algorithm(): object {
    brand(this);
    return (this.#algorithm ??= algorithmView(this.#parts.algorithm));
  }
  get usages(): KeyUsage[] {
    brand(this);
    return (this.#usages ??= this.#parts.usages.slice());
  }

  static {
    keyParts = (key) => (typeof key === 'object' && key !== null && #parts in key ? key.#parts : undefined);
  }
}
defineTag(CryptoKey, 'CryptoKey');

function brand(key: unknown): KeyParts {
  const parts = keyParts(key);
  if (!parts) throw new TypeError('Illegal invocation');
  return parts;
}

/** An HMAC key's secret and hash, checked for the algorithm and `usage` (null: for export). */
function secretFor(key: unknown, usage: KeyUsage | null): { secret: Uint8Array; hash: HashFn } {
  const parts = keyParts(key);
  if (!parts) throw new TypeError("parameter 'key' is not of type 'CryptoKey'.");
  if (parts.algorithm.name !== 'HMAC' || (usage === null ? !parts.extractable : !parts.usages.includes(usage))) {
    throw new DOMException('The requested operation is not valid for the provided key', 'InvalidAccessError');
  }
  return { secret: parts.material as Uint8Array, hash: hashOf((parts.algorithm.hash as { name: string }).name).fn };
}

function hmacUsages(keyUsages: unknown): KeyUsage[] {
  const usages = [...(keyUsages as Iterable<unknown>)].map(String);
  for (const u of usages) {
    if (u !== 'sign' && u !== 'verify') throw new DOMException(`Unsupported key usage for an HMAC key: ${u}`, 'SyntaxError');
  }
  if (usages.length === 0) throw new DOMException('Usages cannot be empty when creating a key.', 'SyntaxError');
  return [...new Set(usages as KeyUsage[])];
}

function hmacKey(params: Record<string, unknown>, secret: Uint8Array | null, extractable: unknown, keyUsages: unknown, random: HmacDrbg): CryptoKey {
  if (params.hash === undefined) throw new TypeError('HmacKeyParams: hash: Missing');
  const hash = hashOf(params.hash);
  const usages = hmacUsages(keyUsages);
  let length: number;
  if (params.length !== undefined) {
    length = Number(params.length);
    if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) throw new TypeError('HmacKeyParams: length: not an unsigned long');
  } else length = secret ? secret.length * 8 : hash.blockBits;
  if (secret) {
    // importKey: the length may only drop bits of the last byte.
    if (length === 0 || length > secret.length * 8 || length <= (secret.length - 1) * 8) {
      throw new DOMException('The key length is invalid for the given key data', 'DataError');
    }
  } else {
    if (length === 0) throw new DOMException('HMAC key length must not be 0', 'OperationError');
    secret = new Uint8Array(Math.ceil(length / 8));
    random.fill(secret);
    if (length % 8) secret[secret.length - 1]! &= 0xff << (8 - (length % 8)); // keep `length` bits
  }
  return new CryptoKey(KEY, {
    type: 'secret', algorithm: { name: 'HMAC', hash: { name: hash.name }, length }, extractable: Boolean(extractable), usages, material: secret,
  });
}

// ---- SubtleCrypto ------------------------------------------------------------------------------

/** The 'subtle' extra's factory (runtime/isolate/web/subtle/subtle.ts), as loadExtra returns it. */
export type SubtleFactory = (deps: {
  DOMException: typeof DOMException;
  makeKey(parts: KeyParts): CryptoKey;
  keyParts(key: unknown): KeyParts | undefined;
  randomFill(bytes: Uint8Array): void;
  bufferSourceBytes(value: unknown): Uint8Array | undefined;
}) => ExtraSubtle;

/** The extra's operations: synchronous; SubtleCrypto settles its promises with them. */
type ExtraSubtle = { [K in Exclude<keyof SubtleCrypto, 'digest'>]: (...args: Parameters<SubtleCrypto[K]>) => unknown };

const defaultLoader = (): SubtleFactory => loadExtra<{ makeSubtle: SubtleFactory }>('subtle').makeSubtle;

/** The registered name of an algorithm the extra implements; NotSupportedError (without loading it) otherwise. */
function extraName(algorithm: unknown): string {
  const name = EXTRA_ALGORITHMS[normalize(algorithm).name];
  if (name === undefined) throw notSupported();
  return name;
}

/** SubtleCrypto's brand check (TypeError "Illegal invocation", as a rejection). */
let check: (value: unknown) => void;

export class SubtleCrypto {
  #random: HmacDrbg;
  #load: () => SubtleFactory;
  #extra: ExtraSubtle | undefined;

  /** Not for user code (TypeError "Illegal constructor"), as in browsers. */
  constructor(token: unknown, random: HmacDrbg, load: () => SubtleFactory) {
    illegal(token);
    this.#random = random;
    this.#load = load;
  }

  /** The extra, loaded on first use (once per isolate); also the brand check. */
  #subtle(): ExtraSubtle {
    if (this.#extra) return this.#extra;
    const random = this.#random;
    // The extra's libraries draw randomness through globalThis.crypto (which user code may have
    // replaced), also while they initialise: that runs with the global pointing at the DRBG.
    const g = globalThis as Record<string, unknown>;
    const saved = Object.getOwnPropertyDescriptor(g, 'crypto');
    const getRandomValues = (a: Uint8Array) => { random.fill(a); return a; };
    Object.defineProperty(g, 'crypto', { value: { getRandomValues }, configurable: true, writable: true });
    try {
      this.#extra = this.#load()({
        DOMException,
        makeKey: (parts) => new CryptoKey(KEY, parts),
        keyParts: (key) => keyParts(key),
        randomFill: (bytes) => random.fill(bytes),
        bufferSourceBytes: (value) => bufferSourceBytes(value, false),
      });
    } finally {
      if (saved) Object.defineProperty(g, 'crypto', saved); else delete g.crypto;
    }
    return this.#extra;
  }

  /** The digest of a copy of `data`, as a fresh ArrayBuffer. */
  digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    return settle(() => {
      check(this);
      const bytes = copyBytes(data, "Failed to execute 'digest' on 'SubtleCrypto': parameter 2");
      return toArrayBuffer(hashOf(algorithm).fn(bytes));
    });
  }

  /** HMAC here; every other algorithm in the extra. */
  generateKey(algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey | { publicKey: CryptoKey; privateKey: CryptoKey }> {
    return settle(() => {
      check(this);
      const { name, params } = normalize(algorithm);
      if (name === 'HMAC') return hmacKey(params, null, extractable, keyUsages, this.#random);
      extraName(algorithm);
      return this.#subtle().generateKey(algorithm, extractable, keyUsages) as CryptoKey | { publicKey: CryptoKey; privateKey: CryptoKey };
    });
  }

  /** 'raw' HMAC keys here; every other format and algorithm in the extra. */
  importKey(format: unknown, keyData: unknown, algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey> {
    return settle(() => {
      check(this);
      const { name, params } = normalize(algorithm);
      if (name === 'HMAC' && format === 'raw') {
        const secret = copyBytes(keyData, "Failed to execute 'importKey' on 'SubtleCrypto': parameter 2");
        return hmacKey(params, secret, extractable, keyUsages, this.#random);
      }
      extraName(algorithm);
      return this.#subtle().importKey(format, keyData, algorithm, extractable, keyUsages) as CryptoKey;
    });
  }

  /** 'raw' HMAC keys here; everything else in the extra. */
  exportKey(format: unknown, key: unknown): Promise<ArrayBuffer | object> {
    return settle(() => {
      check(this);
      const parts = keyParts(key);
      if (!parts) throw new TypeError("parameter 'key' is not of type 'CryptoKey'.");
      if (format === 'raw' && parts.algorithm.name === 'HMAC') return toArrayBuffer(secretFor(key, null).secret.slice());
      return this.#subtle().exportKey(format, key) as ArrayBuffer | object;
    });
  }

  sign(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return settle(() => {
      check(this);
      const name = normalize(algorithm).name;
      if (name !== 'HMAC') { extraName(algorithm); return this.#subtle().sign(algorithm, key, data) as ArrayBuffer; }
      const bytes = copyBytes(data, "Failed to execute 'sign' on 'SubtleCrypto': parameter 3");
      const { secret, hash } = secretFor(key, 'sign');
      return toArrayBuffer(hmac(hash, secret, bytes));
    });
  }

  verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): Promise<boolean> {
    return settle(() => {
      check(this);
      const name = normalize(algorithm).name;
      if (name !== 'HMAC') { extraName(algorithm); return this.#subtle().verify(algorithm, key, signature, data) as boolean; }
      const sig = copyBytes(signature, "Failed to execute 'verify' on 'SubtleCrypto': parameter 3");
      const bytes = copyBytes(data, "Failed to execute 'verify' on 'SubtleCrypto': parameter 4");
      const { secret, hash } = secretFor(key, 'verify');
      const mac = hmac(hash, secret, bytes);
      if (mac.length !== sig.length) return false;
      let diff = 0; // constant time in the contents
      for (let i = 0; i < mac.length; i++) diff |= mac[i]! ^ sig[i]!;
      return diff === 0;
    });
  }

  encrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return settle(() => { check(this); extraName(algorithm); return this.#subtle().encrypt(algorithm, key, data) as ArrayBuffer; });
  }

  decrypt(algorithm: unknown, key: unknown, data: unknown): Promise<ArrayBuffer> {
    return settle(() => { check(this); extraName(algorithm); return this.#subtle().decrypt(algorithm, key, data) as ArrayBuffer; });
  }

  deriveBits(algorithm: unknown, baseKey: unknown, length: unknown): Promise<ArrayBuffer> {
    return settle(() => { check(this); extraName(algorithm); return this.#subtle().deriveBits(algorithm, baseKey, length) as ArrayBuffer; });
  }

  deriveKey(algorithm: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey> {
    return settle(() => {
      check(this);
      extraName(algorithm);
      extraName(derivedKeyType);
      return this.#subtle().deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) as CryptoKey;
    });
  }

  wrapKey(format: unknown, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): Promise<ArrayBuffer> {
    return settle(() => { check(this); extraName(wrapAlgorithm); return this.#subtle().wrapKey(format, key, wrappingKey, wrapAlgorithm) as ArrayBuffer; });
  }

  unwrapKey(format: unknown, wrappedKey: unknown, unwrappingKey: unknown, unwrapAlgorithm: unknown,
    unwrappedKeyAlgorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<CryptoKey> {
    return settle(() => {
      check(this);
      extraName(unwrapAlgorithm);
      extraName(unwrappedKeyAlgorithm);
      return this.#subtle().unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) as CryptoKey;
    });
  }

  static {
    check = (value) => { if (!(typeof value === 'object' && value !== null && #random in value)) throw new TypeError('Illegal invocation'); };
  }
}
defineTag(SubtleCrypto, 'SubtleCrypto');

// ---- Crypto ------------------------------------------------------------------------------------

const HEX = Array.from({ length: 256 }, (_, i) => (i + 0x100).toString(16).slice(1));

export class Crypto {
  #random: HmacDrbg;
  #subtle: SubtleCrypto;

  /** Not for user code (TypeError "Illegal constructor"), as in browsers. */
  constructor(token: unknown, random: HmacDrbg, load: () => SubtleFactory) {
    illegal(token);
    this.#random = random;
    this.#subtle = new SubtleCrypto(KEY, random, load);
  }

  get subtle(): SubtleCrypto {
    if (!(#subtle in this)) throw new TypeError('Illegal invocation');
    return this.#subtle;
  }

  /** Fills an integer typed array with random values (at most 65536 bytes) and returns it. */
  getRandomValues<T extends ArrayBufferView | null>(array: T): T {
    if (!(#random in this)) throw new TypeError('Illegal invocation');
    if (!ArrayBuffer.isView(array)) {
      throw new TypeError("Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'.");
    }
    const name = typedArrayName.call(array);
    if (name === undefined || !INTEGER_ARRAYS.has(name)) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type '${name ?? 'DataView'}', which is not an integer array type.`,
        'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw new DOMException(
        `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536).`,
        'QuotaExceededError');
    }
    this.#random.fill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
    return array;
  }

  /** A random (version 4) UUID, lower case. */
  randomUUID(): string {
    if (!(#random in this)) throw new TypeError('Illegal invocation');
    const b = new Uint8Array(16);
    this.#random.fill(b);
    b[6] = (b[6]! & 0x0f) | 0x40;
    b[8] = (b[8]! & 0x3f) | 0x80;
    const h = (i: number) => HEX[b[i]!]!;
    return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
  }
}
defineTag(Crypto, 'Crypto');

/**
 * The isolate's `crypto`, seeded with a fresh secret of at least 32 bytes from the host's CSPRNG
 * (never reuse a seed: two isolates with one seed produce the same "random" values).
 * `randomFill` draws from the same generator, for runtime code that needs random bytes.
 */
export function makeCrypto(seed: Uint8Array, load: () => SubtleFactory = defaultLoader): {
  crypto: Crypto; Crypto: typeof Crypto; SubtleCrypto: typeof SubtleCrypto; CryptoKey: typeof CryptoKey;
  randomFill: (bytes: Uint8Array) => void;
} {
  const random = new HmacDrbg(seed);
  return {
    crypto: new Crypto(KEY, random, load), Crypto, SubtleCrypto, CryptoKey,
    randomFill: (bytes) => random.fill(bytes),
  };
}
