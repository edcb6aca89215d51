// ECDSA and ECDH on P-256 and P-384 (WebCrypto §23–24), Ed25519 and X25519 (Secure Curves in
// the Web Cryptography API, WICG draft) over @noble/curves. Signatures are IEEE P1363 r||s
// (ECDSA) and RFC 8032 (Ed25519). Key formats: raw (public), spki, pkcs8, jwk; DER from ./der.ts
// laid out as BoringSSL writes it (ECPrivateKey without parameters, with the public key).

import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { p256, p384 } from '@noble/curves/nist.js';
import { type Algorithm, type KeyPair, unsupportedFormat } from './algorithm.js';
import { base64url, type Ctx, type Jwk, type KeyParts, type KeyType, type KeyUsage, type Params } from './context.js';
import { DerError, DerReader, OID, TAG, bits, integer, octets, oid, pkcs8, readPkcs8, readSpki, seq, spki, tlv } from './der.js';

type Curve = typeof p256;
const CURVES: Record<string, { curve: Curve; size: number; jwsAlg: string }> = {
  'P-256': { curve: p256, size: 32, jwsAlg: 'ES256' },
  'P-384': { curve: p384 as unknown as Curve, size: 48, jwsAlg: 'ES384' },
};

interface EcMaterial { d?: Uint8Array; pub: Uint8Array }

interface Family {
  name: string;
  publicUsages: readonly KeyUsage[];
  privateUsages: readonly KeyUsage[];
  use: 'sig' | 'enc';
}

function dataError(ctx: Ctx, what: string): Error { return ctx.error('DataError', what); }

/** Splits requested usages for a new key pair (§23.7 generateKey steps). */
function pairUsages(ctx: Ctx, f: Family, usages: unknown): { pub: KeyUsage[]; priv: KeyUsage[] } {
  const all = ctx.usages(usages, [...f.publicUsages, ...f.privateUsages]);
  const priv = ctx.nonEmpty(all.filter((u) => f.privateUsages.includes(u)));
  return { pub: all.filter((u) => f.publicUsages.includes(u)), priv };
}

/** The usages given to importKey, for a key of `type`. */
function importUsages(ctx: Ctx, f: Family, type: KeyType, usages: unknown): KeyUsage[] {
  return ctx.usages(usages, type === 'private' ? f.privateUsages : f.publicUsages);
}

// ---- NIST curves -------------------------------------------------------------------------------

function namedCurve(ctx: Ctx, p: Params): string {
  const c = ctx.member(p, 'namedCurve', String, true);
  if (!Object.hasOwn(CURVES, c)) throw ctx.error('NotSupportedError', `Unsupported named curve: ${c}`);
  return c;
}

/** A public point as uncompressed bytes, checked to be on the curve (DataError otherwise). */
function ecPoint(ctx: Ctx, crv: string, bytes: Uint8Array): Uint8Array {
  const { curve, size } = CURVES[crv]!;
  if (bytes.length !== 1 + 2 * size && bytes.length !== 1 + size) throw dataError(ctx, 'Invalid EC public key length');
  try { return curve.Point.fromBytes(bytes).toBytes(false); } catch { throw dataError(ctx, 'Invalid EC public key'); }
}

function ecPrivate(ctx: Ctx, crv: string, d: Uint8Array): Uint8Array {
  const { curve, size } = CURVES[crv]!;
  if (d.length !== size || !curve.utils.isValidSecretKey(d)) throw dataError(ctx, 'Invalid EC private key');
  return curve.getPublicKey(d, false);
}

function ecAlgorithmId(crv: string): Uint8Array { return seq(oid(OID.ecPublicKey), oid(OID[crv as 'P-256'])); }

function ecImport(ctx: Ctx, f: Family, format: string, data: unknown, p: Params, extractable: boolean, usages: unknown): KeyParts {
  const crv = namedCurve(ctx, p);
  const algorithm = { name: f.name, namedCurve: crv };
  const make = (type: KeyType, material: EcMaterial): KeyParts => ({ type, algorithm, extractable, usages: importUsages(ctx, f, type, usages), material });
  try {
    if (format === 'raw') return make('public', { pub: ecPoint(ctx, crv, ctx.bytes(data, 'keyData')) });
    if (format === 'spki') {
      const info = readSpki(ctx.bytes(data, 'keyData'));
      if (info.oid !== OID.ecPublicKey || !info.params || !sameOid(info.params, crv)) throw dataError(ctx, 'Not an EC key on the requested curve');
      return make('public', { pub: ecPoint(ctx, crv, info.key) });
    }
    if (format === 'pkcs8') {
      const info = readPkcs8(ctx.bytes(data, 'keyData'));
      if (info.oid !== OID.ecPublicKey || !info.params || !sameOid(info.params, crv)) throw dataError(ctx, 'Not an EC key on the requested curve');
      // ECPrivateKey (RFC 5915 §3): version 1, the scalar, optional [0] parameters, optional [1] public key.
      const r = new DerReader(info.key);
      const k = r.sequence();
      r.end();
      if (k.small() !== 1) throw new DerError('ECPrivateKey version');
      const d = k.read(TAG.OCTET_STRING).slice();
      if (k.peek() === 0xa0) { const params = k.sequence(0xa0); if (params.oid() !== OID[crv as 'P-256']) throw new DerError('curve'); params.end(); }
      let given: Uint8Array | undefined;
      if (k.peek() === 0xa1) { const pk = k.sequence(0xa1); given = pk.bitString(); pk.end(); }
      k.end();
      const pub = ecPrivate(ctx, crv, d);
      if (given && ecPoint(ctx, crv, given).some((b, i) => b !== pub[i])) throw dataError(ctx, 'The EC public key does not match the private key');
      return make('private', { d, pub });
    }
    if (format === 'jwk') {
      const type: KeyType = typeof (data as Jwk | null)?.d === 'string' || (data as Jwk | null)?.d !== undefined ? 'private' : 'public';
      const jwk = ctx.jwk(data, 'EC', importUsages(ctx, f, type, usages), extractable, f.use);
      if (jwk.crv !== crv) throw dataError(ctx, 'The JWK "crv" member does not match namedCurve');
      if (f.name === 'ECDSA' && jwk.alg !== undefined && jwk.alg !== CURVES[crv]!.jwsAlg) throw dataError(ctx, 'The JWK "alg" member does not match the curve');
      const size = CURVES[crv]!.size;
      const x = ctx.b64(jwk, 'x');
      const y = ctx.b64(jwk, 'y');
      if (x.length !== size || y.length !== size) throw dataError(ctx, 'Invalid EC JWK coordinates');
      const pub = new Uint8Array(1 + 2 * size);
      pub[0] = 4; pub.set(x, 1); pub.set(y, 1 + size);
      ecPoint(ctx, crv, pub);
      if (jwk.d === undefined) return make('public', { pub });
      const d = ctx.b64(jwk, 'd');
      if (ecPrivate(ctx, crv, d).some((b, i) => b !== pub[i])) throw dataError(ctx, 'The EC public key does not match the private key');
      return make('private', { d, pub });
    }
  } catch (err) {
    if (err instanceof DerError) throw dataError(ctx, `Invalid key data: ${err.message}`);
    throw err;
  }
  throw unsupportedFormat(ctx, format);
}

function sameOid(params: Uint8Array, crv: string): boolean {
  try { const r = new DerReader(params); const o = r.oid(); r.end(); return o === OID[crv as 'P-256']; } catch { return false; }
}

function ecExport(ctx: Ctx, format: string, key: KeyParts): Uint8Array | Jwk {
  const crv = key.algorithm.namedCurve as string;
  const { d, pub } = key.material as EcMaterial;
  const size = CURVES[crv]!.size;
  if (format === 'raw' || format === 'spki') {
    if (key.type !== 'public') throw ctx.error('InvalidAccessError', `Only public keys can be exported as ${format}`);
    return format === 'raw' ? pub.slice() : spki(ecAlgorithmId(crv), pub);
  }
  if (format === 'pkcs8') {
    if (key.type !== 'private') throw ctx.error('InvalidAccessError', 'Only private keys can be exported as pkcs8');
    return pkcs8(ecAlgorithmId(crv), seq(integer(1n), octets(d!), tlv(0xa1, bits(pub))));
  }
  if (format === 'jwk') {
    const jwk: Jwk = { kty: 'EC', crv, x: base64url(pub.subarray(1, 1 + size)), y: base64url(pub.subarray(1 + size)) };
    if (d) jwk.d = base64url(d);
    return ctx.jwkOut(key, jwk);
  }
  throw unsupportedFormat(ctx, format);
}

function ecGenerate(ctx: Ctx, f: Family, p: Params, extractable: boolean, usages: unknown): KeyPair {
  const crv = namedCurve(ctx, p);
  const { pub: pubUsages, priv } = pairUsages(ctx, f, usages);
  const { curve } = CURVES[crv]!;
  const d = curve.utils.randomSecretKey(ctx.random(curve.lengths.seed!));
  const pub = curve.getPublicKey(d, false);
  const algorithm = { name: f.name, namedCurve: crv };
  return {
    publicKey: { type: 'public', algorithm, extractable: true, usages: pubUsages, material: { pub } },
    privateKey: { type: 'private', algorithm: { ...algorithm }, extractable, usages: priv, material: { d, pub } },
  };
}

const ECDSA_FAMILY: Family = { name: 'ECDSA', publicUsages: ['verify'], privateUsages: ['sign'], use: 'sig' };
const ECDH_FAMILY: Family = { name: 'ECDH', publicUsages: [], privateUsages: ['deriveKey', 'deriveBits'], use: 'enc' };

export const ECDSA: Algorithm = {
  generateKey: (ctx, p, e, u) => ecGenerate(ctx, ECDSA_FAMILY, p, e, u),
  importKey: (ctx, format, data, p, e, u) => ecImport(ctx, ECDSA_FAMILY, format, data, p, e, u),
  exportKey: ecExport,
  sign(ctx, p, key, data) {
    const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
    if (key.type !== 'private') throw ctx.error('InvalidAccessError', 'ECDSA signs with a private key');
    const { curve } = CURVES[key.algorithm.namedCurve as string]!;
    // RFC 6979 deterministic nonces (no random draw): allowed by FIPS 186-5 §6.3 and by WebCrypto.
    return curve.sign(hash.fn(data), (key.material as EcMaterial).d!, { prehash: false, lowS: false, extraEntropy: false });
  },
  verify(ctx, p, key, signature, data) {
    const hash = ctx.member(p, 'hash', (v) => ctx.hash(v), true);
    if (key.type !== 'public') throw ctx.error('InvalidAccessError', 'ECDSA verifies with a public key');
    const { curve, size } = CURVES[key.algorithm.namedCurve as string]!;
    if (signature.length !== 2 * size) return false;
    try {
      return curve.verify(signature, hash.fn(data), (key.material as EcMaterial).pub, { prehash: false, lowS: false });
    } catch { return false; }
  },
};

/** ECDH / X25519 deriveBits (§24.4.3; Secure Curves §X25519): the shared secret, cut to `length` bits. */
function cut(ctx: Ctx, secret: Uint8Array, length: number | null): Uint8Array {
  if (length === null) return secret;
  if (length > secret.length * 8) throw ctx.error('OperationError', 'The requested length is longer than the shared secret');
  const out = secret.slice(0, Math.ceil(length / 8));
  if (length % 8) out[out.length - 1]! &= 0xff << (8 - (length % 8));
  return out;
}

function peer(ctx: Ctx, p: Params, key: KeyParts, name: string): KeyParts {
  const pub = ctx.member(p, 'public', (v) => ctx.key(v, 'public'), true);
  if (key.type !== 'private' || pub.type !== 'public') throw ctx.error('InvalidAccessError', `${name} needs a private key and a public key`);
  if (pub.algorithm.name !== name || pub.algorithm.namedCurve !== key.algorithm.namedCurve) {
    throw ctx.error('InvalidAccessError', 'The public key is not for the same algorithm and curve');
  }
  return pub;
}

export const ECDH: Algorithm = {
  generateKey: (ctx, p, e, u) => ecGenerate(ctx, ECDH_FAMILY, p, e, u),
  importKey: (ctx, format, data, p, e, u) => ecImport(ctx, ECDH_FAMILY, format, data, p, e, u),
  exportKey: ecExport,
  deriveBits(ctx, p, key, length) {
    const pub = peer(ctx, p, key, 'ECDH');
    const { curve } = CURVES[key.algorithm.namedCurve as string]!;
    const shared = curve.getSharedSecret((key.material as EcMaterial).d!, (pub.material as EcMaterial).pub, true).slice(1);
    return cut(ctx, shared, length);
  },
};

// ---- Ed25519 and X25519 ------------------------------------------------------------------------

interface OkpMaterial { seed?: Uint8Array; pub: Uint8Array }

function okp(f: Family, oidHex: string, publicOf: (seed: Uint8Array) => Uint8Array, checkPublic: (pub: Uint8Array) => boolean): Algorithm {
  const name = f.name;
  const algorithmId = seq(oid(oidHex));
  const algorithm = () => ({ name });
  const pubOf = (ctx: Ctx, bytes: Uint8Array) => {
    if (bytes.length !== 32 || !checkPublic(bytes)) throw dataError(ctx, `Invalid ${name} public key`);
    return bytes;
  };
  const privOf = (ctx: Ctx, seed: Uint8Array) => {
    if (seed.length !== 32) throw dataError(ctx, `Invalid ${name} private key`);
    return publicOf(seed);
  };
  return {
    generateKey(ctx, _p, extractable, usages) {
      const { pub: pubUsages, priv } = pairUsages(ctx, f, usages);
      const seed = ctx.random(32);
      const pub = publicOf(seed);
      return {
        publicKey: { type: 'public', algorithm: algorithm(), extractable: true, usages: pubUsages, material: { pub } },
        privateKey: { type: 'private', algorithm: algorithm(), extractable, usages: priv, material: { seed, pub } },
      };
    },
    importKey(ctx, format, data, _p, extractable, usages) {
      const make = (type: KeyType, material: OkpMaterial): KeyParts => ({ type, algorithm: algorithm(), extractable, usages: importUsages(ctx, f, type, usages), material });
      try {
        if (format === 'raw') return make('public', { pub: pubOf(ctx, ctx.bytes(data, 'keyData')) });
        if (format === 'spki') {
          const info = readSpki(ctx.bytes(data, 'keyData'));
          if (info.oid !== oidHex || info.params) throw dataError(ctx, `Not an ${name} key`);
          return make('public', { pub: pubOf(ctx, info.key.slice()) });
        }
        if (format === 'pkcs8') {
          const info = readPkcs8(ctx.bytes(data, 'keyData'));
          if (info.oid !== oidHex || info.params) throw dataError(ctx, `Not an ${name} key`);
          const r = new DerReader(info.key);
          const seed = r.read(TAG.OCTET_STRING).slice();
          r.end();
          return make('private', { seed, pub: privOf(ctx, seed) });
        }
        if (format === 'jwk') {
          const type: KeyType = (data as Jwk | null)?.d !== undefined ? 'private' : 'public';
          const jwk = ctx.jwk(data, 'OKP', importUsages(ctx, f, type, usages), extractable, f.use);
          if (jwk.crv !== name) throw dataError(ctx, `The JWK "crv" member is not "${name}"`);
          if (name === 'Ed25519' && jwk.alg !== undefined && jwk.alg !== 'EdDSA' && jwk.alg !== 'Ed25519') throw dataError(ctx, 'The JWK "alg" member is not "EdDSA"');
          const pub = pubOf(ctx, ctx.b64(jwk, 'x'));
          if (jwk.d === undefined) return make('public', { pub });
          const seed = ctx.b64(jwk, 'd');
          if (privOf(ctx, seed).some((b, i) => b !== pub[i])) throw dataError(ctx, 'The JWK "x" member does not match "d"');
          return make('private', { seed, pub });
        }
      } catch (err) {
        if (err instanceof DerError) throw dataError(ctx, `Invalid key data: ${err.message}`);
        throw err;
      }
      throw unsupportedFormat(ctx, format);
    },
    exportKey(ctx, format, key) {
      const { seed, pub } = key.material as OkpMaterial;
      if (format === 'raw' || format === 'spki') {
        if (key.type !== 'public') throw ctx.error('InvalidAccessError', `Only public keys can be exported as ${format}`);
        return format === 'raw' ? pub.slice() : spki(algorithmId, pub);
      }
      if (format === 'pkcs8') {
        if (key.type !== 'private') throw ctx.error('InvalidAccessError', 'Only private keys can be exported as pkcs8');
        return pkcs8(algorithmId, octets(seed!));
      }
      if (format === 'jwk') {
        // workerd (and the draft's earlier text) name Ed25519's JWS algorithm "EdDSA"; X25519 has none.
        const jwk: Jwk = name === 'Ed25519' ? { kty: 'OKP', crv: name, alg: 'EdDSA', x: base64url(pub) } : { kty: 'OKP', crv: name, x: base64url(pub) };
        if (seed) jwk.d = base64url(seed);
        return ctx.jwkOut(key, jwk);
      }
      throw unsupportedFormat(ctx, format);
    },
  };
}

const ED_FAMILY: Family = { name: 'Ed25519', publicUsages: ['verify'], privateUsages: ['sign'], use: 'sig' };
const X_FAMILY: Family = { name: 'X25519', publicUsages: [], privateUsages: ['deriveKey', 'deriveBits'], use: 'enc' };

const edPublicOk = (pub: Uint8Array) => { try { ed25519.Point.fromBytes(pub, false); return true; } catch { return false; } };

export const Ed25519: Algorithm = {
  ...okp(ED_FAMILY, OID.Ed25519, (seed) => ed25519.getPublicKey(seed), edPublicOk),
  sign(ctx, _p, key, data) {
    if (key.type !== 'private') throw ctx.error('InvalidAccessError', 'Ed25519 signs with a private key');
    return ed25519.sign(data, (key.material as OkpMaterial).seed!);
  },
  verify(ctx, _p, key, signature, data) {
    if (key.type !== 'public') throw ctx.error('InvalidAccessError', 'Ed25519 verifies with a public key');
    if (signature.length !== 64) return false;
    // RFC 8032 §5.1.7 strictly (not ZIP-215): canonical encodings only, as BoringSSL.
    try { return ed25519.verify(signature, data, (key.material as OkpMaterial).pub, { zip215: false }); } catch { return false; }
  },
};

export const X25519: Algorithm = {
  ...okp(X_FAMILY, OID.X25519, (seed) => x25519.getPublicKey(seed), () => true),
  deriveBits(ctx, p, key, length) {
    const pub = peer(ctx, p, key, 'X25519');
    let shared: Uint8Array;
    try { shared = x25519.getSharedSecret((key.material as OkpMaterial).seed!, (pub.material as OkpMaterial).pub); } catch {
      throw ctx.error('OperationError', 'X25519 produced the all-zero value');
    }
    if (shared.every((b) => b === 0)) throw ctx.error('OperationError', 'X25519 produced the all-zero value');
    return cut(ctx, shared, length);
  },
};
