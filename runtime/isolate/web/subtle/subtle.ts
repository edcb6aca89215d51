// The 'subtle' extra's SubtleCrypto operations (WebCrypto §14.3): algorithm normalization, the
// checks each method makes on keys and usages, deriveKey / wrapKey / unwrapKey built from the
// algorithms' own operations, and CryptoKey objects made through the main runtime's class (deps).
// Everything here is synchronous; the main runtime's SubtleCrypto settles a promise with it.

import { decodeUtf8, encodeUtf8 } from '../../utf8.js';
import type { Algorithm, KeyPair } from './algorithm.js';
import { Ctx, type KeyParts, type KeyUsage, type Params, type SubtleDeps } from './context.js';
import { EXTRA_ALGORITHMS } from './names.js';

/**
 * The algorithm modules, each loaded on first use: their libraries' set-up is most of the extra's
 * first-call cost (in a bare isolate: AES tables ~10 ms, the NIST curves ~5 ms, Ed25519 ~6 ms,
 * RSA ~2 ms), so a function using AES does not pay for the curves. The extra's entry passes
 * esbuild's lazy require()s; Node tests pass the modules themselves.
 */
export interface AlgorithmModules {
  aes(): typeof import('./aes.js');
  ec(): typeof import('./ec.js');
  rsa(): typeof import('./rsa.js');
  kdf(): typeof import('./hmac-kdf.js');
}

const FAMILIES: Record<string, [keyof AlgorithmModules, string]> = {
  'AES-GCM': ['aes', 'AES_GCM'], 'AES-CBC': ['aes', 'AES_CBC'], 'AES-CTR': ['aes', 'AES_CTR'], 'AES-KW': ['aes', 'AES_KW'],
  HMAC: ['kdf', 'HMAC'], PBKDF2: ['kdf', 'PBKDF2'], HKDF: ['kdf', 'HKDF'],
  ECDSA: ['ec', 'ECDSA'], ECDH: ['ec', 'ECDH'], Ed25519: ['ec', 'Ed25519'], X25519: ['ec', 'X25519'],
  'RSASSA-PKCS1-v1_5': ['rsa', 'RSASSA_PKCS1_V1_5'], 'RSA-PSS': ['rsa', 'RSA_PSS'], 'RSA-OAEP': ['rsa', 'RSA_OAEP'],
};

type Op = keyof Algorithm;
const FORMATS = ['raw', 'spki', 'pkcs8', 'jwk'];

export interface Subtle {
  encrypt(algorithm: unknown, key: unknown, data: unknown): ArrayBuffer;
  decrypt(algorithm: unknown, key: unknown, data: unknown): ArrayBuffer;
  sign(algorithm: unknown, key: unknown, data: unknown): ArrayBuffer;
  verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): boolean;
  generateKey(algorithm: unknown, extractable: unknown, keyUsages: unknown): object;
  importKey(format: unknown, keyData: unknown, algorithm: unknown, extractable: unknown, keyUsages: unknown): object;
  exportKey(format: unknown, key: unknown): ArrayBuffer | object;
  deriveBits(algorithm: unknown, baseKey: unknown, length: unknown): ArrayBuffer;
  deriveKey(algorithm: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: unknown, keyUsages: unknown): object;
  wrapKey(format: unknown, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): ArrayBuffer;
  unwrapKey(format: unknown, wrappedKey: unknown, unwrappingKey: unknown, unwrapAlgorithm: unknown,
    unwrappedKeyAlgorithm: unknown, extractable: unknown, keyUsages: unknown): object;
}

function buffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer as ArrayBuffer : bytes.slice().buffer as ArrayBuffer;
}

/** The extra's SubtleCrypto operations over the main runtime's DOMException, CryptoKey and DRBG. */
export function makeSubtle(deps: SubtleDeps, modules: AlgorithmModules): Subtle {
  const ctx = new Ctx(deps);
  const algorithmOf = (name: string): Algorithm => {
    const [module, exported] = FAMILIES[name]!;
    return (modules[module]() as unknown as Record<string, Algorithm>)[exported]!;
  };

  /** §18.4 "normalize an algorithm" for `op`: the registered name, the dictionary, its implementation. */
  function normalize(algorithm: unknown, op: Op): { p: Params; alg: Algorithm } {
    let params: Record<string, unknown>;
    let raw: unknown;
    if (typeof algorithm === 'object' && algorithm !== null) {
      raw = (algorithm as { name?: unknown }).name;
      if (raw === undefined) throw new TypeError('Algorithm: name: Missing');
      params = algorithm as Record<string, unknown>;
    } else { raw = algorithm; params = {}; }
    const name = EXTRA_ALGORITHMS[String(raw).toUpperCase()];
    const alg = name === undefined ? undefined : algorithmOf(name);
    if (!alg || !alg[op]) throw ctx.error('NotSupportedError', `Unrecognized algorithm name or operation: ${String(raw)}`);
    // The dictionary with the registered name over it (members, own or inherited, read when used).
    const p = Object.create(params, { name: { value: name } }) as Params;
    return { p, alg };
  }

  /** §14.3 "If the name member of normalizedAlgorithm is not equal to … or [[usages]] does not contain …". */
  function usable(keyValue: unknown, p: Params, usage: KeyUsage, what = 'key'): KeyParts {
    const key = ctx.key(keyValue, what);
    if (key.algorithm.name !== p.name) throw ctx.error('InvalidAccessError', 'The key is not for this algorithm');
    if (!key.usages.includes(usage)) throw ctx.error('InvalidAccessError', `The key does not have the "${usage}" usage`);
    return key;
  }

  function made(parts: KeyParts): object {
    if ((parts.type === 'secret' || parts.type === 'private') && parts.usages.length === 0) {
      throw ctx.error('SyntaxError', 'Usages cannot be empty when creating a key.');
    }
    return deps.makeKey(parts);
  }

  function format(value: unknown): string {
    const f = String(value);
    if (!FORMATS.includes(f)) throw new TypeError(`'${f}' is not a valid KeyFormat`);
    return f;
  }

  function importKey(f: string, keyData: unknown, p: Params, alg: Algorithm, extractable: unknown, keyUsages: unknown): object {
    if (f !== 'jwk') keyData = ctx.bytes(keyData, "parameter 'keyData'");
    else if (typeof keyData !== 'object' || keyData === null || ArrayBuffer.isView(keyData)) throw new TypeError("parameter 'keyData' is not a JsonWebKey");
    return made(alg.importKey!(ctx, f, keyData, p, Boolean(extractable), keyUsages));
  }

  function exportKey(f: string, keyValue: unknown): Uint8Array | object {
    const key = ctx.key(keyValue);
    const alg = algorithmOf(key.algorithm.name);
    if (!key.extractable) throw ctx.error('InvalidAccessError', 'The key is not extractable');
    return alg.exportKey!(ctx, f, key);
  }

  function deriveBits(p: Params, alg: Algorithm, key: KeyParts, length: number | null): Uint8Array {
    return alg.deriveBits!(ctx, p, key, length);
  }

  const operations: Subtle = {
    encrypt(algorithm, key, data) {
      const { p, alg } = normalize(algorithm, 'encrypt');
      const bytes = ctx.bytes(data, "parameter 'data'");
      return buffer(alg.encrypt!(ctx, p, usable(key, p, 'encrypt'), bytes));
    },
    decrypt(algorithm, key, data) {
      const { p, alg } = normalize(algorithm, 'decrypt');
      const bytes = ctx.bytes(data, "parameter 'data'");
      return buffer(alg.decrypt!(ctx, p, usable(key, p, 'decrypt'), bytes));
    },
    sign(algorithm, key, data) {
      const { p, alg } = normalize(algorithm, 'sign');
      const bytes = ctx.bytes(data, "parameter 'data'");
      return buffer(alg.sign!(ctx, p, usable(key, p, 'sign'), bytes));
    },
    verify(algorithm, key, signature, data) {
      const { p, alg } = normalize(algorithm, 'verify');
      const sig = ctx.bytes(signature, "parameter 'signature'");
      const bytes = ctx.bytes(data, "parameter 'data'");
      return alg.verify!(ctx, p, usable(key, p, 'verify'), sig, bytes);
    },
    generateKey(algorithm, extractable, keyUsages) {
      const { p, alg } = normalize(algorithm, 'generateKey');
      const result = alg.generateKey!(ctx, p, Boolean(extractable), keyUsages);
      if ('publicKey' in result) {
        const pair = result as KeyPair;
        return { publicKey: deps.makeKey(pair.publicKey), privateKey: made(pair.privateKey) };
      }
      return made(result as KeyParts);
    },
    importKey(formatValue, keyData, algorithm, extractable, keyUsages) {
      const f = format(formatValue);
      const { p, alg } = normalize(algorithm, 'importKey');
      return importKey(f, keyData, p, alg, extractable, keyUsages);
    },
    exportKey(formatValue, key) {
      const out = exportKey(format(formatValue), key);
      return out instanceof Uint8Array ? buffer(out) : out;
    },
    deriveBits(algorithm, baseKey, length) {
      const { p, alg } = normalize(algorithm, 'deriveBits');
      const bits = length === undefined || length === null ? null : ctx.unsigned(32)(length);
      return buffer(deriveBits(p, alg, usable(baseKey, p, 'deriveBits', 'baseKey'), bits));
    },
    deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      const { p, alg } = normalize(algorithm, 'deriveBits');
      const target = normalize(derivedKeyType, 'importKey');
      const lengthOf = normalize(derivedKeyType, 'keyLength');
      const key = usable(baseKey, p, 'deriveKey', 'baseKey');
      const length = lengthOf.alg.keyLength!(ctx, lengthOf.p);
      const secret = deriveBits(p, alg, key, length);
      return importKey('raw', secret, target.p, target.alg, extractable, keyUsages);
    },
    wrapKey(formatValue, key, wrappingKey, wrapAlgorithm) {
      const f = format(formatValue);
      let wrap: { p: Params; alg: Algorithm };
      try { wrap = normalize(wrapAlgorithm, 'wrapKey'); } catch { wrap = normalize(wrapAlgorithm, 'encrypt'); }
      const wrapper = usable(wrappingKey, wrap.p, 'wrapKey', 'wrappingKey');
      const exported = exportKey(f, key);
      const bytes = exported instanceof Uint8Array ? exported : new Uint8Array(encodeUtf8(JSON.stringify(exported)));
      return buffer(wrap.alg.wrapKey ? wrap.alg.wrapKey(ctx, wrap.p, wrapper, bytes) : wrap.alg.encrypt!(ctx, wrap.p, wrapper, bytes));
    },
    unwrapKey(formatValue, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      const f = format(formatValue);
      let unwrap: { p: Params; alg: Algorithm };
      try { unwrap = normalize(unwrapAlgorithm, 'unwrapKey'); } catch { unwrap = normalize(unwrapAlgorithm, 'decrypt'); }
      const target = normalize(unwrappedKeyAlgorithm, 'importKey');
      const wrapped = ctx.bytes(wrappedKey, "parameter 'wrappedKey'");
      const unwrapper = usable(unwrappingKey, unwrap.p, 'unwrapKey', 'unwrappingKey');
      const bytes = unwrap.alg.unwrapKey ? unwrap.alg.unwrapKey(ctx, unwrap.p, unwrapper, wrapped) : unwrap.alg.decrypt!(ctx, unwrap.p, unwrapper, wrapped);
      let keyData: unknown = bytes;
      if (f === 'jwk') {
        try { keyData = JSON.parse(decodeUtf8(bytes)); } catch { throw ctx.error('DataError', 'The unwrapped key is not a JSON Web Key'); }
      }
      return importKey(f, keyData, target.p, target.alg, extractable, keyUsages);
    },
  };

  // Every operation runs with globalThis.crypto pointing at the DRBG: @noble/curves blinds secret
  // scalars with @noble/hashes' randomBytes, which reads that global (as micro-rsa-dsa-dh does).
  const wrapped = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(operations)) {
    wrapped[name] = (...args: unknown[]) => ctx.withRandom(() => (fn as (...a: unknown[]) => unknown)(...args));
  }
  return wrapped as unknown as Subtle;
}
