// RSASSA-PKCS1-v1_5, RSA-PSS and RSA-OAEP (WebCrypto §20–22) over micro-rsa-dsa-dh's rsa.js
// (paulmillr's, on @noble/hashes). Its private operations use n and d (no CRT): slower, same
// results. It draws randomness (primes, OAEP seeds, PSS salts) from @noble/hashes' randomBytes,
// which reads globalThis.crypto: every such call runs inside ctx.withRandom (the isolate's DRBG).
// Keys: spki and pkcs8 with the rsaEncryption OID and NULL parameters (as BoringSSL writes them
// for all three algorithms, as WebCrypto §20.8 says), and jwk.

import { OAEP, PSS, IFCPrimes, mgf1, PKCS1_SHA1, PKCS1_SHA256, PKCS1_SHA384, PKCS1_SHA512 } from 'micro-rsa-dsa-dh/rsa.js';
import { gcd, invert } from 'micro-rsa-dsa-dh/utils.js';
import { type Algorithm, type KeyPair, unsupportedFormat } from './algorithm.js';
import { base64url, bigintToBytes, bytesToBigint, type Ctx, type HashInfo, type Jwk, type KeyParts, type KeyType, type KeyUsage, type Params } from './context.js';
import { DerError, DerReader, NULL, OID, TAG, integer, oid, pkcs8, readPkcs8, readSpki, seq, spki } from './der.js';

interface RsaMaterial { n: bigint; e: bigint; d?: bigint; p?: bigint; q?: bigint; dp?: bigint; dq?: bigint; qi?: bigint }

const PKCS1 = { 'SHA-1': PKCS1_SHA1, 'SHA-256': PKCS1_SHA256, 'SHA-384': PKCS1_SHA384, 'SHA-512': PKCS1_SHA512 };
const HASH_SUFFIX: Record<string, string> = { 'SHA-1': '1', 'SHA-256': '256', 'SHA-384': '384', 'SHA-512': '512' };
const ALGORITHM_ID = seq(oid(OID.rsaEncryption), NULL);
/** Bounds on the modulus: below 2048 bits micro-rsa-dsa-dh will not make primes; above 8192 is CPU for nothing. */
const MIN_IMPORT_BITS = 512;
const MAX_BITS = 16384;

interface Family { name: string; publicUsages: readonly KeyUsage[]; privateUsages: readonly KeyUsage[]; use: 'sig' | 'enc'; jwkAlg: (hash: string) => string }

const SSA: Family = { name: 'RSASSA-PKCS1-v1_5', publicUsages: ['verify'], privateUsages: ['sign'], use: 'sig', jwkAlg: (h) => `RS${HASH_SUFFIX[h]}` };
const PSS_FAMILY: Family = { name: 'RSA-PSS', publicUsages: ['verify'], privateUsages: ['sign'], use: 'sig', jwkAlg: (h) => `PS${HASH_SUFFIX[h]}` };
const OAEP_FAMILY: Family = {
  name: 'RSA-OAEP', publicUsages: ['encrypt', 'wrapKey'], privateUsages: ['decrypt', 'unwrapKey'], use: 'enc',
  jwkAlg: (h) => (h === 'SHA-1' ? 'RSA-OAEP' : `RSA-OAEP-${HASH_SUFFIX[h]}`),
};

function bitLength(n: bigint): number { return n.toString(2).length; }

function parts(f: Family, type: KeyType, m: RsaMaterial, hash: HashInfo, extractable: boolean, usages: KeyUsage[]): KeyParts {
  return {
    type, extractable, usages, material: m,
    algorithm: { name: f.name, modulusLength: bitLength(m.n), publicExponent: bigintToBytes(m.e), hash: { name: hash.name } },
  };
}

function generate(ctx: Ctx, f: Family, p: Params, extractable: boolean, usages: unknown): KeyPair {
  const modulusLength = ctx.member(p, 'modulusLength', ctx.unsigned(32), true);
  const exponent = ctx.member(p, 'publicExponent', (v) => {
    if (!(v instanceof Uint8Array)) throw new TypeError('RsaHashedKeyGenParams.publicExponent is not a Uint8Array');
    return bytesToBigint(v);
  }, true);
  const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
  const all = ctx.usages(usages, [...f.publicUsages, ...f.privateUsages]);
  const priv = ctx.nonEmpty(all.filter((u) => f.privateUsages.includes(u)));
  if (modulusLength < 2048 || modulusLength > 8192 || modulusLength % 8) {
    throw ctx.error('OperationError', 'RSA modulusLength must be a multiple of 8 from 2048 to 8192');
  }
  if (exponent <= 0x10000n || exponent % 2n === 0n || exponent >= 1n << 256n) {
    throw ctx.error('OperationError', 'RSA publicExponent must be odd and above 65536 (use 65537)');
  }
  const e = exponent;
  // FIPS 186-5 A.1.3 primes from micro-rsa-dsa-dh; d = e⁻¹ mod λ(n) (FIPS 186-5 §A.1.1) and the CRT values, for pkcs8/jwk.
  const { p: P, q: Q } = ctx.withRandom(() => IFCPrimes(modulusLength, e, undefined, undefined, (n: number) => ctx.random(n)));
  const lambda = ((P - 1n) * (Q - 1n)) / gcd(P - 1n, Q - 1n);
  const d = invert(e, lambda);
  const m: RsaMaterial = { n: P * Q, e, d, p: P, q: Q, dp: d % (P - 1n), dq: d % (Q - 1n), qi: invert(Q, P) };
  return {
    publicKey: parts(f, 'public', { n: m.n, e }, hash, true, all.filter((u) => f.publicUsages.includes(u))),
    privateKey: parts(f, 'private', m, hash, extractable, priv),
  };
}

function checkModulus(ctx: Ctx, m: RsaMaterial): RsaMaterial {
  const b = bitLength(m.n);
  if (b < MIN_IMPORT_BITS || b > MAX_BITS || m.e < 3n || m.e % 2n === 0n || m.e >= m.n) throw ctx.error('DataError', 'Unsupported RSA key size or exponent');
  return m;
}

function importRsa(ctx: Ctx, f: Family, format: string, data: unknown, p: Params, extractable: boolean, usages: unknown): KeyParts {
  const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
  const make = (type: KeyType, m: RsaMaterial) => parts(f, type, checkModulus(ctx, m), hash, extractable, ctx.usages(usages, type === 'private' ? f.privateUsages : f.publicUsages));
  try {
    if (format === 'spki') {
      const info = readSpki(ctx.bytes(data, 'keyData'));
      if (info.oid !== OID.rsaEncryption || !info.params || info.params.length !== 2 || info.params[0] !== TAG.NULL) throw ctx.error('DataError', 'Not an RSA key');
      const r = new DerReader(info.key);
      const k = r.sequence();
      r.end();
      const m = { n: k.bigint(), e: k.bigint() };
      k.end();
      return make('public', m);
    }
    if (format === 'pkcs8') {
      const info = readPkcs8(ctx.bytes(data, 'keyData'));
      if (info.oid !== OID.rsaEncryption || !info.params || info.params.length !== 2 || info.params[0] !== TAG.NULL) throw ctx.error('DataError', 'Not an RSA key');
      // RSAPrivateKey (RFC 8017 §A.1.2), two-prime (version 0) only.
      const r = new DerReader(info.key);
      const k = r.sequence();
      r.end();
      if (k.small() !== 0) throw new DerError('multi-prime RSA keys are not supported');
      const m: RsaMaterial = { n: k.bigint(), e: k.bigint(), d: k.bigint(), p: k.bigint(), q: k.bigint(), dp: k.bigint(), dq: k.bigint(), qi: k.bigint() };
      k.end();
      if (m.p! * m.q! !== m.n) throw ctx.error('DataError', 'Inconsistent RSA private key');
      return make('private', m);
    }
    if (format === 'jwk') {
      const type: KeyType = (data as Jwk | null)?.d !== undefined ? 'private' : 'public';
      const jwk = ctx.jwk(data, 'RSA', ctx.usages(usages, type === 'private' ? f.privateUsages : f.publicUsages), extractable, f.use);
      if (jwk.alg !== undefined && jwk.alg !== f.jwkAlg(hash.name)) throw ctx.error('DataError', 'The JWK "alg" member does not match the algorithm and hash');
      const int = (k: keyof Jwk) => bytesToBigint(ctx.b64(jwk, k));
      const m: RsaMaterial = { n: int('n'), e: int('e') };
      if (type === 'public') return make('public', m);
      if (jwk.oth !== undefined) throw ctx.error('NotSupportedError', 'Multi-prime RSA keys are not supported');
      Object.assign(m, { d: int('d'), p: int('p'), q: int('q'), dp: int('dp'), dq: int('dq'), qi: int('qi') });
      if (m.p! * m.q! !== m.n) throw ctx.error('DataError', 'Inconsistent RSA private key');
      return make('private', m);
    }
  } catch (err) {
    if (err instanceof DerError) throw ctx.error('DataError', `Invalid key data: ${err.message}`);
    throw err;
  }
  throw unsupportedFormat(ctx, format);
}

function exportRsa(ctx: Ctx, f: Family, format: string, key: KeyParts): Uint8Array | Jwk {
  const m = key.material as RsaMaterial;
  if (format === 'spki') {
    if (key.type !== 'public') throw ctx.error('InvalidAccessError', 'Only public keys can be exported as spki');
    return spki(ALGORITHM_ID, seq(integer(m.n), integer(m.e)));
  }
  if (format === 'pkcs8') {
    if (key.type !== 'private') throw ctx.error('InvalidAccessError', 'Only private keys can be exported as pkcs8');
    return pkcs8(ALGORITHM_ID, seq(integer(0n), ...[m.n, m.e, m.d!, m.p!, m.q!, m.dp!, m.dq!, m.qi!].map(integer)));
  }
  if (format === 'jwk') {
    const b = (n: bigint) => base64url(bigintToBytes(n));
    const jwk: Jwk = { kty: 'RSA', alg: f.jwkAlg((key.algorithm.hash as { name: string }).name), n: b(m.n), e: b(m.e) };
    if (key.type === 'private') Object.assign(jwk, { d: b(m.d!), p: b(m.p!), q: b(m.q!), dp: b(m.dp!), dq: b(m.dq!), qi: b(m.qi!) });
    return ctx.jwkOut(key, jwk);
  }
  throw unsupportedFormat(ctx, format);
}

function base(f: Family): Algorithm {
  return {
    generateKey: (ctx, p, e, u) => generate(ctx, f, p, e, u),
    importKey: (ctx, format, data, p, e, u) => importRsa(ctx, f, format, data, p, e, u),
    exportKey: (ctx, format, key) => exportRsa(ctx, f, format, key),
  };
}

const hashOf = (ctx: Ctx, key: KeyParts) => ctx.hash((key.algorithm.hash as { name: string }).name);
const privateKey = (key: KeyParts) => { const m = key.material as RsaMaterial; return { n: m.n, d: m.d! }; };
const publicKey = (key: KeyParts) => { const m = key.material as RsaMaterial; return { n: m.n, e: m.e }; };
type Mgf = Parameters<typeof mgf1>[0];

function operation<T>(ctx: Ctx, what: string, fn: () => T): T {
  try { return fn(); } catch (err) {
    if (err instanceof Error && err.name !== 'Error') throw err;
    throw ctx.error('OperationError', `${what} failed`);
  }
}

export const RSASSA_PKCS1_V1_5: Algorithm = {
  ...base(SSA),
  sign(ctx, _p, key, data) {
    const signer = PKCS1[hashOf(ctx, key).name];
    return operation(ctx, 'RSASSA-PKCS1-v1_5 signing', () => signer.sign(privateKey(key), data));
  },
  verify(ctx, _p, key, signature, data) {
    try { return PKCS1[hashOf(ctx, key).name].verify(publicKey(key), data, signature); } catch { return false; }
  },
};

function pssSigner(ctx: Ctx, p: Params, key: KeyParts) {
  const saltLength = ctx.member(p, 'saltLength', ctx.unsigned(32), true);
  const hash = hashOf(ctx, key).fn;
  return PSS(hash, mgf1(hash as unknown as Mgf), saltLength);
}

export const RSA_PSS: Algorithm = {
  ...base(PSS_FAMILY),
  sign(ctx, p, key, data) {
    const signer = pssSigner(ctx, p, key);
    return operation(ctx, 'RSA-PSS signing', () => ctx.withRandom(() => signer.sign(privateKey(key), data)));
  },
  verify(ctx, p, key, signature, data) {
    const signer = pssSigner(ctx, p, key);
    try { return signer.verify(publicKey(key), data, signature); } catch { return false; }
  },
};

function oaep(ctx: Ctx, p: Params, key: KeyParts) {
  const label = ctx.member(p, 'label', (v) => ctx.bytes(v, 'RsaOaepParams.label'), false);
  const hash = hashOf(ctx, key).fn;
  return OAEP(hash, mgf1(hash as unknown as Mgf), label);
}

export const RSA_OAEP: Algorithm = {
  ...base(OAEP_FAMILY),
  encrypt(ctx, p, key, data) {
    const kem = oaep(ctx, p, key);
    return operation(ctx, 'RSA-OAEP encryption', () => ctx.withRandom(() => kem.encrypt(publicKey(key), data)));
  },
  decrypt(ctx, p, key, data) {
    const kem = oaep(ctx, p, key);
    return operation(ctx, 'RSA-OAEP decryption', () => kem.decrypt(privateKey(key), data)).slice();
  },
};
