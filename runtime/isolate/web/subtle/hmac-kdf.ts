// HMAC keys in every format (§31: importKey and exportKey raw and jwk, for jwk, deriveKey and
// unwrapKey; the main runtime generates HMAC keys and signs and verifies with every one itself), PBKDF2 (§33)
// and HKDF (§32) from @noble/hashes.

import { hkdf } from '@noble/hashes/hkdf.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { type Algorithm, unsupportedFormat } from './algorithm.js';
import { base64url, type Ctx, type KeyParts, type KeyUsage, type Params } from './context.js';

const HMAC_USAGES: readonly KeyUsage[] = ['sign', 'verify'];
const JWK_HMAC_ALG: Record<string, string> = { 'SHA-1': 'HS1', 'SHA-256': 'HS256', 'SHA-384': 'HS384', 'SHA-512': 'HS512' };

function hmacLength(ctx: Ctx, p: Params, fallback: number): number {
  return ctx.member(p, 'length', ctx.unsigned(32), false) ?? fallback;
}

export const HMAC: Algorithm = {
  importKey(ctx, format, data, p, extractable, usages) {
    const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
    const wanted = ctx.usages(usages, HMAC_USAGES);
    let secret: Uint8Array;
    if (format === 'raw') secret = ctx.bytes(data, 'keyData');
    else if (format === 'jwk') {
      const jwk = ctx.jwk(data, 'oct', wanted, extractable, 'sig');
      secret = ctx.b64(jwk, 'k');
      if (jwk.alg !== undefined && jwk.alg !== JWK_HMAC_ALG[hash.name]) throw ctx.error('DataError', 'The JWK "alg" member does not match the hash');
    } else throw unsupportedFormat(ctx, format);
    const length = hmacLength(ctx, p, secret.length * 8);
    if (secret.length === 0 || length === 0 || length > secret.length * 8 || length <= (secret.length - 1) * 8) {
      throw ctx.error('DataError', 'The key length is invalid for the given key data');
    }
    return { type: 'secret', algorithm: { name: 'HMAC', hash: { name: hash.name }, length }, extractable, usages: wanted, material: secret };
  },
  exportKey(ctx, format, key) {
    const secret = key.material as Uint8Array;
    if (format === 'raw') return secret.slice();
    if (format === 'jwk') {
      const hash = (key.algorithm.hash as { name: string }).name;
      return ctx.jwkOut(key, { kty: 'oct', k: base64url(secret), alg: JWK_HMAC_ALG[hash]! });
    }
    throw unsupportedFormat(ctx, format);
  },
  keyLength(ctx, p) {
    const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
    const length = hmacLength(ctx, p, hash.blockBits);
    if (length === 0) throw new TypeError('HMAC key length must not be 0');
    return length;
  },
};

/** PBKDF2 and HKDF keys: 'raw' only, never extractable (§32.3, §33.3 importKey). */
function kdf(name: string, derive: (ctx: Ctx, p: Params, secret: Uint8Array, bytes: number) => Uint8Array): Algorithm {
  return {
    importKey(ctx, format, data, _p, extractable, usages): KeyParts {
      if (format !== 'raw') throw unsupportedFormat(ctx, format);
      const wanted = ctx.usages(usages, ['deriveKey', 'deriveBits']);
      if (extractable) throw ctx.error('SyntaxError', `${name} keys cannot be extractable`);
      return { type: 'secret', algorithm: { name }, extractable: false, usages: wanted, material: ctx.bytes(data, 'keyData') };
    },
    deriveBits(ctx, p, key, length) {
      if (length === null) throw ctx.error('OperationError', `${name} needs a length`);
      if (length % 8) throw ctx.error('OperationError', `${name} length must be a multiple of 8`);
      return derive(ctx, p, key.material as Uint8Array, length / 8);
    },
    keyLength: () => null,
  };
}

export const PBKDF2 = kdf('PBKDF2', (ctx, p, secret, bytes) => {
  const salt = ctx.member(p, 'salt', (v) => ctx.bytes(v, 'Pbkdf2Params.salt'), true);
  const iterations = ctx.member(p, 'iterations', ctx.unsigned(32), true);
  const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
  if (iterations === 0) throw ctx.error('OperationError', 'PBKDF2 iterations must not be 0');
  if (bytes === 0) throw ctx.error('OperationError', 'PBKDF2 length must not be 0');
  return pbkdf2(hash.fn, secret, salt, { c: iterations, dkLen: bytes });
});

export const HKDF = kdf('HKDF', (ctx, p, secret, bytes) => {
  const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
  const salt = ctx.member(p, 'salt', (v) => ctx.bytes(v, 'HkdfParams.salt'), true);
  const info = ctx.member(p, 'info', (v) => ctx.bytes(v, 'HkdfParams.info'), true);
  if (bytes > 255 * (hash.bits / 8)) throw ctx.error('OperationError', 'HKDF length is too large for the hash');
  if (bytes === 0) return new Uint8Array(0);
  return hkdf(hash.fn, secret, salt, info, bytes);
});
