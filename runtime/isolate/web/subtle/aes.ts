// AES-GCM, AES-CBC, AES-CTR and AES-KW (WebCrypto §27–30) over @noble/ciphers' aes.

import { aeskw, cbc, ctr, gcm } from '@noble/ciphers/aes.js';
import { type Algorithm, unsupportedFormat } from './algorithm.js';
import { base64url, bigintToBytes, bytesToBigint, type Ctx, equalBytes, type KeyParts, type KeyUsage, type Params } from './context.js';

const SUFFIX: Record<string, string> = { 'AES-GCM': 'GCM', 'AES-CBC': 'CBC', 'AES-CTR': 'CTR', 'AES-KW': 'KW' };
const CIPHER_USAGES: readonly KeyUsage[] = ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey'];
const KW_USAGES: readonly KeyUsage[] = ['wrapKey', 'unwrapKey'];

function aesKey(ctx: Ctx, name: string, secret: Uint8Array, extractable: boolean, usages: unknown): KeyParts {
  const allowed = name === 'AES-KW' ? KW_USAGES : CIPHER_USAGES;
  return { type: 'secret', algorithm: { name, length: secret.length * 8 }, extractable, usages: ctx.usages(usages, allowed), material: secret };
}

function lengthParam(ctx: Ctx, p: Params): number {
  const length = ctx.member(p, 'length', ctx.unsigned(16), true);
  if (length !== 128 && length !== 192 && length !== 256) throw ctx.error('OperationError', 'AES key length must be 128, 192 or 256 bits');
  return length;
}

/** Runs a @noble/ciphers call; its errors (bad padding, tag mismatch, lengths) are OperationErrors. */
function run(ctx: Ctx, what: string, fn: () => Uint8Array): Uint8Array {
  try { return fn(); } catch { throw ctx.error('OperationError', `${what} failed`); }
}

/** The key's bytes (SubtleCrypto has checked its algorithm and usages). */
function keyOf(key: KeyParts): Uint8Array { return key.material as Uint8Array; }

function aes(name: string): Algorithm {
  return {
    generateKey(ctx, p, extractable, usages) {
      const length = lengthParam(ctx, p);
      const key = aesKey(ctx, name, ctx.random(length / 8), extractable, usages);
      ctx.nonEmpty(key.usages);
      return key;
    },
    importKey(ctx, format, data, _p, extractable, usages) {
      let secret: Uint8Array;
      if (format === 'raw') secret = ctx.bytes(data, 'keyData');
      else if (format === 'jwk') {
        const wanted = ctx.usages(usages, name === 'AES-KW' ? KW_USAGES : CIPHER_USAGES);
        const jwk = ctx.jwk(data, 'oct', wanted, extractable, 'enc');
        secret = ctx.b64(jwk, 'k');
        if (jwk.alg !== undefined && jwk.alg !== `A${secret.length * 8}${SUFFIX[name]}`) {
          throw ctx.error('DataError', 'The JWK "alg" member does not match the key');
        }
      } else throw unsupportedFormat(ctx, format);
      if (secret.length !== 16 && secret.length !== 24 && secret.length !== 32) {
        throw ctx.error('DataError', 'AES key data must be 128, 192 or 256 bits');
      }
      return aesKey(ctx, name, secret, extractable, usages);
    },
    exportKey(ctx, format, key) {
      const secret = key.material as Uint8Array;
      if (format === 'raw') return secret.slice();
      if (format === 'jwk') return ctx.jwkOut(key, { kty: 'oct', k: base64url(secret), alg: `A${secret.length * 8}${SUFFIX[name]}` });
      throw unsupportedFormat(ctx, format);
    },
    keyLength(ctx, p) { return lengthParam(ctx, p); },
  };
}

/** AES-GCM's tagLength (§27.3, default 128). @noble/ciphers makes 128-bit tags; shorter ones are their prefixes (SP 800-38D §5.2.1.2). */
function tagBytes(ctx: Ctx, p: Params): number {
  const t = ctx.member(p, 'tagLength', ctx.unsigned(8), false) ?? 128;
  if (![32, 64, 96, 104, 112, 120, 128].includes(t)) throw ctx.error('OperationError', 'Invalid AES-GCM tag length');
  return t / 8;
}

function gcmParams(ctx: Ctx, p: Params): { iv: Uint8Array; aad: Uint8Array | undefined; tag: number } {
  const iv = ctx.member(p, 'iv', (v) => ctx.bytes(v, 'AesGcmParams.iv'), true);
  const aad = ctx.member(p, 'additionalData', (v) => ctx.bytes(v, 'AesGcmParams.additionalData'), false);
  const tag = tagBytes(ctx, p);
  if (iv.length === 0) throw ctx.error('OperationError', 'AES-GCM iv must not be empty');
  return { iv, aad, tag };
}

export const AES_GCM: Algorithm = {
  ...aes('AES-GCM'),
  encrypt(ctx, p, key, data) {
    const { iv, aad, tag } = gcmParams(ctx, p);
    const out = run(ctx, 'AES-GCM encryption', () => gcm(keyOf(key), iv, aad).encrypt(data));
    return tag === 16 ? out : out.subarray(0, out.length - 16 + tag).slice();
  },
  decrypt(ctx, p, key, data) {
    const { iv, aad, tag } = gcmParams(ctx, p);
    const secret = keyOf(key);
    if (data.length < tag) throw ctx.error('OperationError', 'The AES-GCM ciphertext is shorter than its tag');
    if (tag === 16) return run(ctx, 'AES-GCM decryption', () => gcm(secret, iv, aad).decrypt(data));
    // A truncated tag: GCM's encryption is CTR, so encrypting the ciphertext gives the plaintext,
    // and encrypting that gives the full tag to compare the prefix with (in constant time).
    const body = data.subarray(0, data.length - tag);
    const plain = run(ctx, 'AES-GCM decryption', () => gcm(secret, iv, aad).encrypt(body)).subarray(0, body.length);
    const full = run(ctx, 'AES-GCM decryption', () => gcm(secret, iv, aad).encrypt(plain));
    if (!equalBytes(full.subarray(body.length, body.length + tag), data.subarray(body.length))) {
      throw ctx.error('OperationError', 'The AES-GCM tag does not match');
    }
    return plain.slice();
  },
};

function cbcIv(ctx: Ctx, p: Params): Uint8Array {
  const iv = ctx.member(p, 'iv', (v) => ctx.bytes(v, 'AesCbcParams.iv'), true);
  if (iv.length !== 16) throw ctx.error('OperationError', 'AES-CBC iv must be 16 bytes');
  return iv;
}

export const AES_CBC: Algorithm = {
  ...aes('AES-CBC'),
  encrypt(ctx, p, key, data) {
    const iv = cbcIv(ctx, p);
    return run(ctx, 'AES-CBC encryption', () => cbc(keyOf(key), iv).encrypt(data));
  },
  decrypt(ctx, p, key, data) {
    const iv = cbcIv(ctx, p);
    return run(ctx, 'AES-CBC decryption', () => cbc(keyOf(key), iv).decrypt(data));
  },
};

/**
 * AES-CTR (§28.4): the rightmost `length` bits of the counter block are the counter and wrap
 * around; the rest stays fixed. @noble/ciphers counts over all 128 bits, so the data is cut where
 * the counter wraps and the second part starts from the block with those bits zero.
 */
function ctrCrypt(ctx: Ctx, p: Params, key: KeyParts, data: Uint8Array): Uint8Array {
  const counter = ctx.member(p, 'counter', (v) => ctx.bytes(v, 'AesCtrParams.counter'), true);
  const length = ctx.member(p, 'length', ctx.unsigned(8), true);
  if (counter.length !== 16) throw ctx.error('OperationError', 'AES-CTR counter must be 16 bytes');
  if (length === 0 || length > 128) throw ctx.error('OperationError', 'AES-CTR length must be between 1 and 128');
  const secret = keyOf(key);
  const blocks = BigInt(Math.ceil(data.length / 16));
  const space = 1n << BigInt(length);
  if (blocks > space) throw ctx.error('OperationError', 'The AES-CTR counter would repeat');
  const value = bytesToBigint(counter);
  const mask = space - 1n;
  const untilWrap = space - (value & mask);
  if (blocks <= untilWrap) return run(ctx, 'AES-CTR', () => ctr(secret, counter).encrypt(data));
  const cut = Number(untilWrap) * 16;
  const out = new Uint8Array(data.length);
  out.set(run(ctx, 'AES-CTR', () => ctr(secret, counter).encrypt(data.subarray(0, cut))));
  out.set(run(ctx, 'AES-CTR', () => ctr(secret, bigintToBytes(value & ~mask, 16)).encrypt(data.subarray(cut))), cut);
  return out;
}

export const AES_CTR: Algorithm = {
  ...aes('AES-CTR'),
  encrypt: (ctx, p, key, data) => ctrCrypt(ctx, p, key, data),
  decrypt: (ctx, p, key, data) => ctrCrypt(ctx, p, key, data),
};

/** AES-KW (§30, RFC 3394): only wrapKey/unwrapKey; a wrong integrity check is an OperationError. */
export const AES_KW: Algorithm = {
  ...aes('AES-KW'),
  wrapKey(ctx, _p, key, data) {
    if (data.length % 8 || data.length < 16) throw ctx.error('OperationError', 'AES-KW wraps multiples of 8 bytes, at least 16');
    return run(ctx, 'AES-KW wrapping', () => aeskw(keyOf(key)).encrypt(data));
  },
  unwrapKey(ctx, _p, key, data) {
    return run(ctx, 'AES-KW unwrapping', () => aeskw(keyOf(key)).decrypt(data));
  },
};
