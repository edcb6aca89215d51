// crypto.subtle beyond digest and HMAC (the 'subtle' extra), checked against Node's webcrypto (an
// independent implementation, on OpenSSL): keys made on one side imported and used on the other in
// each format, signatures verified across, ciphertexts decrypted across, deterministic outputs
// compared byte for byte, and the error cases of the WebCrypto specification.

import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { structuredClone } from './clone.js';
import { makeCrypto, type SubtleFactory } from './crypto.js';
import * as aes from './subtle/aes.js';
import * as ec from './subtle/ec.js';
import * as kdf from './subtle/hmac-kdf.js';
import * as rsa from './subtle/rsa.js';
import { makeSubtle } from './subtle/subtle.js';

type Key = CryptoKey;
type Pair = CryptoKeyPair;
/** The 'subtle' extra's factory with its algorithm modules loaded here (the extra requires them lazily). */
const subtleFactory = (): SubtleFactory => ((deps: Parameters<SubtleFactory>[0]) => makeSubtle(deps, { aes: () => aes, ec: () => ec, rsa: () => rsa, kdf: () => kdf })) as unknown as SubtleFactory;
const seed = randomBytes(32);
const ours = makeCrypto(seed, subtleFactory).crypto.subtle as unknown as SubtleCrypto;
const node = globalThis.crypto.subtle;
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');
const data = new TextEncoder().encode('The quick brown fox jumps over the lazy dog, 0123456789');
const sorted = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))));
const fill = (n: number, f = (i: number) => i) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);

/** Moves a key from one implementation to another through `format`. */
async function move(from: SubtleCrypto, to: SubtleCrypto, format: 'raw' | 'spki' | 'pkcs8' | 'jwk', key: Key, alg: AlgorithmIdentifier | object, usages: KeyUsage[]): Promise<Key> {
  const exported = await from.exportKey(format, key);
  return format === 'jwk' ? to.importKey('jwk', exported as JsonWebKey, alg as never, true, usages) : to.importKey(format, exported as ArrayBuffer, alg as never, true, usages);
}

describe('AES', () => {
  for (const length of [128, 192, 256]) {
    test(`AES-GCM/CBC/CTR ${length}: same ciphertexts with a fixed IV, decrypted across, keys moved raw and jwk`, async () => {
      const raw = fill(length / 8, (i) => i * 7 + 1);
      const cases = [
        { name: 'AES-GCM', iv: fill(12) },
        { name: 'AES-GCM', iv: fill(12), additionalData: fill(5), tagLength: 96 },
        { name: 'AES-GCM', iv: fill(16), tagLength: 32 },
        { name: 'AES-CBC', iv: fill(16) },
        { name: 'AES-CTR', counter: fill(16), length: 64 },
        // The low 8 bits of the counter wrap after two blocks: the rest of the block stays.
        { name: 'AES-CTR', counter: fill(16, (i) => (i === 15 ? 0xfe : 0xff)), length: 8 },
      ];
      for (const params of cases) {
        const a = await ours.importKey('raw', raw, params.name, true, ['encrypt', 'decrypt']);
        const b = await node.importKey('raw', raw, params.name, true, ['encrypt', 'decrypt']);
        const c1 = await ours.encrypt(params, a, data);
        const c2 = await node.encrypt(params, b, data);
        expect(hex(c1)).toBe(hex(c2));
        expect(hex(await ours.decrypt(params, a, c2))).toBe(hex(data));
        expect(hex(await node.decrypt(params, b, c1))).toBe(hex(data));
        expect(sorted(await ours.exportKey('jwk', a))).toBe(sorted(await node.exportKey('jwk', b)));
        const moved = await move(node, ours, 'jwk', b, params.name, ['encrypt', 'decrypt']);
        expect(hex(await ours.encrypt(params, moved, data))).toBe(hex(c2));
      }
    });
  }

  test('generated keys work across; AES-GCM tag mismatch and CBC padding are OperationErrors', async () => {
    const key = await ours.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt', 'decrypt']) as Key;
    expect(key.algorithm).toEqual({ name: 'AES-GCM', length: 256 });
    const theirs = await move(ours, node, 'raw', key, 'AES-GCM', ['decrypt']);
    const iv = fill(12);
    const ct = new Uint8Array(await ours.encrypt({ name: 'AES-GCM', iv }, key, data));
    expect(hex(await node.decrypt({ name: 'AES-GCM', iv }, theirs, ct))).toBe(hex(data));
    ct[0]! ^= 1;
    await expect(ours.decrypt({ name: 'AES-GCM', iv }, key, ct)).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.decrypt({ name: 'AES-GCM', iv, tagLength: 64 }, key, ct)).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.encrypt({ name: 'AES-GCM', iv, tagLength: 100 }, key, data)).rejects.toMatchObject({ name: 'OperationError' });
    const cbc = await ours.importKey('raw', fill(16), 'AES-CBC', false, ['decrypt']);
    await expect(ours.decrypt({ name: 'AES-CBC', iv: fill(16) }, cbc, fill(16))).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.decrypt({ name: 'AES-CBC', iv: fill(8) }, cbc, fill(16))).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.importKey('raw', fill(17), 'AES-CBC', false, ['decrypt'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.generateKey({ name: 'AES-CBC', length: 64 }, false, ['encrypt'])).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.generateKey({ name: 'AES-CBC', length: 128 }, false, [])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(ours.encrypt({ name: 'AES-CBC', iv: fill(16) }, cbc, data)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(ours.encrypt({ name: 'AES-CTR', counter: fill(16), length: 64 }, cbc, data)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    const ctr = await ours.importKey('raw', fill(16), 'AES-CTR', false, ['encrypt']);
    await expect(ours.encrypt({ name: 'AES-CTR', counter: fill(16), length: 0 }, ctr, data)).rejects.toMatchObject({ name: 'OperationError' });
    // 4 blocks with a 1-bit counter would reuse it.
    await expect(ours.encrypt({ name: 'AES-CTR', counter: fill(16), length: 1 }, ctr, fill(64))).rejects.toMatchObject({ name: 'OperationError' });
  });

  test('AES-KW wraps and unwraps keys as Node does; wrapKey/unwrapKey with AES-GCM and jwk', async () => {
    const kek = fill(16, (i) => 255 - i);
    const a = await ours.importKey('raw', kek, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const b = await node.importKey('raw', kek, 'AES-KW', false, ['wrapKey', 'unwrapKey']);
    const inner = await ours.importKey('raw', fill(32), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    const innerNode = await node.importKey('raw', fill(32), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    const w1 = await ours.wrapKey('raw', inner, a, 'AES-KW');
    expect(hex(w1)).toBe(hex(await node.wrapKey('raw', innerNode, b, 'AES-KW')));
    const back = await node.unwrapKey('raw', w1, b, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    expect(hex(await node.exportKey('raw', back))).toBe(hex(fill(32)));
    const bad = new Uint8Array(w1);
    bad[3]! ^= 1;
    await expect(ours.unwrapKey('raw', bad, a, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.encrypt('AES-KW', a, fill(16))).rejects.toMatchObject({ name: 'NotSupportedError' });

    const gcm = await ours.importKey('raw', fill(16), 'AES-GCM', false, ['wrapKey', 'unwrapKey']);
    const gcmNode = await node.importKey('raw', fill(16), 'AES-GCM', false, ['wrapKey', 'unwrapKey']);
    const params = { name: 'AES-GCM', iv: fill(12) };
    const wrapped = await ours.wrapKey('jwk', inner, gcm, params);
    const unwrapped = await node.unwrapKey('jwk', wrapped, gcmNode, params, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
    expect(hex(await node.exportKey('raw', unwrapped))).toBe(hex(fill(32)));
    const again = await ours.unwrapKey('jwk', wrapped, gcm, params, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    expect([again.extractable, again.usages]).toEqual([false, ['sign']]);
    const notExtractable = await ours.importKey('raw', fill(32), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    await expect(ours.wrapKey('raw', notExtractable, gcm, params)).rejects.toMatchObject({ name: 'InvalidAccessError' });
  });
});

describe('HMAC in jwk', () => {
  test('export matches Node; import checks kty, alg, ext, key_ops', async () => {
    const raw = fill(24);
    const a = await ours.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-384' }, true, ['sign', 'verify']);
    const b = await node.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-384' }, true, ['sign', 'verify']);
    const jwk = await ours.exportKey('jwk', a);
    expect(sorted(jwk)).toBe(sorted(await node.exportKey('jwk', b)));
    const alg = { name: 'HMAC', hash: 'SHA-384' };
    const k = await ours.importKey('jwk', jwk, alg, true, ['verify']);
    expect(k.algorithm).toEqual({ name: 'HMAC', hash: { name: 'SHA-384' }, length: 192 });
    // A key made by the extra signs and verifies through the runtime's own HMAC path.
    const signer = await ours.importKey('jwk', jwk, alg, false, ['sign']);
    const mac = await ours.sign('HMAC', signer, data);
    expect(hex(mac)).toBe(hex(await node.sign('HMAC', b, data)));
    expect(await ours.verify('HMAC', k, mac, data)).toBe(true);
    for (const bad of [{ kty: 'EC' }, { alg: 'HS256' }, { ext: false }, { key_ops: ['sign'] }, { key_ops: ['verify', 'verify'] }, { use: 'enc' }, { k: 'a+b' }]) {
      await expect(ours.importKey('jwk', { ...jwk, ...bad }, alg, true, ['verify'])).rejects.toMatchObject({ name: 'DataError' });
    }
    await expect(ours.importKey('jwk', { k: jwk.k }, alg, true, ['verify'])).rejects.toBeInstanceOf(TypeError);
  });
});

describe('ECDSA and ECDH', () => {
  for (const [namedCurve, hash] of [['P-256', 'SHA-256'], ['P-384', 'SHA-384'], ['P-256', 'SHA-512']] as const) {
    test(`ECDSA ${namedCurve} ${hash}: keys moved in every format, signatures verified across`, async () => {
      const alg = { name: 'ECDSA', namedCurve };
      const sig = { name: 'ECDSA', hash };
      const theirs = await node.generateKey(alg, true, ['sign', 'verify']) as Pair;
      const priv = { pkcs8: await move(node, ours, 'pkcs8', theirs.privateKey, alg, ['sign']), jwk: await move(node, ours, 'jwk', theirs.privateKey, alg, ['sign']) };
      for (const format of ['raw', 'spki', 'jwk'] as const) {
        const pub = await move(node, ours, format, theirs.publicKey, alg, ['verify']);
        expect(hex(await ours.exportKey('spki', pub) as ArrayBuffer)).toBe(hex(await node.exportKey('spki', theirs.publicKey)));
        expect(await ours.verify(sig, pub, await node.sign(sig, theirs.privateKey, data), data)).toBe(true);
        expect(await ours.verify(sig, pub, await node.sign(sig, theirs.privateKey, data), fill(3))).toBe(false);
      }
      for (const key of [priv.pkcs8, priv.jwk]) {
        expect(await node.verify(sig, theirs.publicKey, await ours.sign(sig, key, data), data)).toBe(true);
        expect(sorted(await ours.exportKey('jwk', key))).toBe(sorted(await node.exportKey('jwk', theirs.privateKey)));
      }
      const mine = await ours.generateKey(alg, true, ['sign', 'verify']) as Pair;
      expect([mine.publicKey.type, mine.publicKey.usages, mine.privateKey.usages, mine.publicKey.extractable]).toEqual(['public', ['verify'], ['sign'], true]);
      const nodePub = await move(ours, node, 'spki', mine.publicKey, alg, ['verify']);
      const nodePriv = await move(ours, node, 'pkcs8', mine.privateKey, alg, ['sign']);
      expect(await node.verify(sig, nodePub, await ours.sign(sig, mine.privateKey, data), data)).toBe(true);
      expect(await ours.verify(sig, mine.publicKey, await node.sign(sig, nodePriv, data), data)).toBe(true);
      expect(hex(await node.exportKey('pkcs8', nodePriv))).toBe(hex(await ours.exportKey('pkcs8', mine.privateKey) as ArrayBuffer));
    });
  }

  for (const namedCurve of ['P-256', 'P-384']) {
    test(`ECDH ${namedCurve}: the same bits on both sides, deriveKey, lengths`, async () => {
      const alg = { name: 'ECDH', namedCurve };
      const a = await ours.generateKey(alg, true, ['deriveBits', 'deriveKey']) as Pair;
      const b = await node.generateKey(alg, true, ['deriveBits']) as Pair;
      const bPubOurs = await move(node, ours, 'raw', b.publicKey, alg, []);
      const aPubNode = await move(ours, node, 'spki', a.publicKey, alg, []);
      const size = namedCurve === 'P-256' ? 256 : 384;
      const x = await ours.deriveBits({ name: 'ECDH', public: bPubOurs }, a.privateKey, size);
      expect(hex(x)).toBe(hex(await node.deriveBits({ name: 'ECDH', public: aPubNode }, b.privateKey, size)));
      expect(hex(await ours.deriveBits({ name: 'ECDH', public: bPubOurs }, a.privateKey, 12))).toBe(hex(new Uint8Array(x).slice(0, 2).map((v, i) => (i ? v & 0xf0 : v))));
      await expect(ours.deriveBits({ name: 'ECDH', public: bPubOurs }, a.privateKey, size + 8)).rejects.toMatchObject({ name: 'OperationError' });
      await expect(ours.deriveBits({ name: 'ECDH', public: a.privateKey }, a.privateKey, 8)).rejects.toMatchObject({ name: 'InvalidAccessError' });
      const key = await ours.deriveKey({ name: 'ECDH', public: bPubOurs }, a.privateKey, { name: 'AES-GCM', length: 128 }, true, ['encrypt']);
      expect(hex(await ours.exportKey('raw', key) as ArrayBuffer)).toBe(hex(new Uint8Array(x).slice(0, 16)));
      await expect(ours.importKey('raw', (await node.exportKey('raw', b.publicKey)), alg, true, ['deriveBits'])).rejects.toMatchObject({ name: 'SyntaxError' });
    });
  }

  test('errors: curves, formats, key types, bad DER and JWK', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const pair = await node.generateKey(alg, true, ['sign', 'verify']) as Pair;
    const spki = new Uint8Array(await node.exportKey('spki', pair.publicKey));
    const pkcs8 = new Uint8Array(await node.exportKey('pkcs8', pair.privateKey));
    const jwk = await node.exportKey('jwk', pair.privateKey);
    await expect(ours.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-384' }, true, ['verify'])).rejects.toMatchObject({ name: 'DataError' });
    for (const namedCurve of ['P-521', '__proto__', 'toString']) {
      await expect(ours.importKey('spki', spki, { name: 'ECDSA', namedCurve }, true, ['verify'])).rejects.toMatchObject({ name: 'NotSupportedError' });
    }
    await expect(ours.importKey('spki', Uint8Array.of(...spki, 0), alg, true, ['verify'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('spki', spki.subarray(0, spki.length - 1), alg, true, ['verify'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('pkcs8', spki, alg, true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('spki', spki, alg, true, ['sign'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(ours.importKey('pkcs8', pkcs8, alg, true, [])).rejects.toMatchObject({ name: 'SyntaxError' });
    const priv = await ours.importKey('pkcs8', pkcs8, alg, true, ['sign']);
    await expect(ours.exportKey('raw', priv)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(ours.exportKey('spki', priv)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    for (const bad of [{ kty: 'RSA' }, { crv: 'P-384' }, { alg: 'ES384' }, { ext: false }, { key_ops: ['verify'] }, { x: jwk.y }]) {
      await expect(ours.importKey('jwk', { ...jwk, ...bad }, alg, true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    }
    await expect(ours.sign({ name: 'ECDSA', hash: 'SHA-256' }, await ours.importKey('spki', spki, alg, true, ['verify']), data)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(ours.sign({ name: 'ECDSA', hash: 'MD5' }, priv, data)).rejects.toMatchObject({ name: 'NotSupportedError' });
    const pub = await ours.importKey('spki', spki, alg, true, ['verify']);
    expect(await ours.verify({ name: 'ECDSA', hash: 'SHA-256' }, pub, new Uint8Array(63), data)).toBe(false);
  });
});

describe('Ed25519 and X25519', () => {
  test('Ed25519: RFC 8032 test 1, signatures equal to Node, keys in every format', async () => {
    // RFC 8032 §7.1 TEST 1.
    const secret = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), secret]);
    const priv = await ours.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']);
    expect(hex(await ours.sign('Ed25519', priv, new Uint8Array(0)))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b');
    const jwk = await ours.exportKey('jwk', priv);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' });
    const nodePriv = await node.importKey('pkcs8', pkcs8, 'Ed25519', true, ['sign']);
    // Node writes "alg": "Ed25519" (the draft's newer name); workerd and we write "EdDSA".
    expect(sorted({ ...jwk, alg: 'Ed25519' })).toBe(sorted(await node.exportKey('jwk', nodePriv)));
    expect(jwk.alg).toBe('EdDSA');
    expect(hex(await ours.exportKey('pkcs8', priv) as ArrayBuffer)).toBe(hex(pkcs8));
    expect(hex(await ours.sign('Ed25519', priv, data))).toBe(hex(await node.sign('Ed25519', nodePriv, data)));
    const mine = await ours.generateKey('Ed25519', true, ['sign', 'verify']) as Pair;
    for (const format of ['raw', 'spki', 'jwk'] as const) {
      const theirs = await move(ours, node, format, mine.publicKey, 'Ed25519', ['verify']);
      expect(await node.verify('Ed25519', theirs, await ours.sign('ed25519', mine.privateKey, data), data)).toBe(true);
      expect(hex(await node.exportKey('spki', theirs))).toBe(hex(await ours.exportKey('spki', mine.publicKey) as ArrayBuffer));
    }
    const bad = new Uint8Array(await ours.sign('Ed25519', mine.privateKey, data));
    bad[10]! ^= 1;
    expect(await ours.verify('Ed25519', mine.publicKey, bad, data)).toBe(false);
    await expect(ours.importKey('jwk', { ...jwk, crv: 'X25519' }, 'Ed25519', true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('jwk', { ...jwk, kty: 'EC' }, 'Ed25519', true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('raw', fill(31), 'Ed25519', true, ['verify'])).rejects.toMatchObject({ name: 'DataError' });
  });

  test('X25519: RFC 7748 §6.1 shared secret, and the same bits as Node', async () => {
    const aPriv = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex');
    const bPub = Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex');
    const a = await ours.importKey('pkcs8', Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), aPriv]), 'X25519', true, ['deriveBits']);
    const b = await ours.importKey('raw', bPub, 'X25519', true, []);
    expect(hex(await ours.deriveBits({ name: 'X25519', public: b }, a, 256))).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    const theirs = await node.generateKey('X25519', true, ['deriveBits']) as Pair;
    const mine = await ours.generateKey('X25519', true, ['deriveBits']) as Pair;
    const x1 = await ours.deriveBits({ name: 'X25519', public: await move(node, ours, 'jwk', theirs.publicKey, 'X25519', []) }, mine.privateKey, 256);
    const x2 = await node.deriveBits({ name: 'X25519', public: await move(ours, node, 'spki', mine.publicKey, 'X25519', []) }, theirs.privateKey, 256);
    expect(hex(x1)).toBe(hex(x2));
    const zero = await ours.importKey('raw', new Uint8Array(32), 'X25519', true, []);
    await expect(ours.deriveBits({ name: 'X25519', public: zero }, mine.privateKey, 256)).rejects.toMatchObject({ name: 'OperationError' });
  });
});

describe('RSA', async () => {
  const rsaAlg = (name: string, hash = 'SHA-256') => ({ name, hash, modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1) });
  const theirs = await node.generateKey(rsaAlg('RSASSA-PKCS1-v1_5'), true, ['sign', 'verify']) as Pair;
  const pkcs8 = await node.exportKey('pkcs8', theirs.privateKey);
  const spki = await node.exportKey('spki', theirs.publicKey);
  const jwk = await node.exportKey('jwk', theirs.privateKey);

  test('RSASSA-PKCS1-v1_5: the same signatures as Node; keys re-exported byte for byte', async () => {
    for (const hash of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
      const alg = { name: 'RSASSA-PKCS1-v1_5', hash };
      const a = await ours.importKey('pkcs8', pkcs8, alg, true, ['sign']);
      const b = await node.importKey('pkcs8', pkcs8, alg, true, ['sign']);
      const sig = await ours.sign('RSASSA-PKCS1-v1_5', a, data);
      expect(hex(sig)).toBe(hex(await node.sign('RSASSA-PKCS1-v1_5', b, data)));
      const pub = await ours.importKey('spki', spki, alg, true, ['verify']);
      expect(await ours.verify('RSASSA-PKCS1-v1_5', pub, sig, data)).toBe(true);
      expect(await ours.verify('RSASSA-PKCS1-v1_5', pub, sig, fill(2))).toBe(false);
    }
    const alg = { name: 'rsassa-pkcs1-V1_5', hash: 'SHA-256' };
    const a = await ours.importKey('pkcs8', pkcs8, alg, true, ['sign']);
    expect(a.algorithm).toEqual({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: { name: 'SHA-256' } });
    expect(a.algorithm).toBe(a.algorithm);
    expect(hex(await ours.exportKey('pkcs8', a) as ArrayBuffer)).toBe(hex(pkcs8));
    expect(sorted(await ours.exportKey('jwk', a))).toBe(sorted(jwk));
    const fromJwk = await ours.importKey('jwk', jwk, alg, true, ['sign']);
    expect(hex(await ours.exportKey('pkcs8', fromJwk) as ArrayBuffer)).toBe(hex(pkcs8));
    const pub = await ours.importKey('spki', spki, alg, true, ['verify']);
    expect(hex(await ours.exportKey('spki', pub) as ArrayBuffer)).toBe(hex(spki));
    for (const bad of [{ alg: 'PS256' }, { kty: 'oct' }, { use: 'enc' }, { ext: false }]) {
      await expect(ours.importKey('jwk', { ...jwk, ...bad }, alg, true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    }
    await expect(ours.importKey('pkcs8', new Uint8Array(pkcs8).subarray(0, 100), alg, true, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(ours.importKey('raw', spki, alg, true, ['verify'])).rejects.toMatchObject({ name: 'NotSupportedError' });
  });

  test('RSA-PSS: signatures verified across, salt lengths', async () => {
    const alg = { name: 'RSA-PSS', hash: 'SHA-256' };
    const a = await ours.importKey('jwk', { ...jwk, alg: 'PS256' }, alg, false, ['sign']);
    const pub = await node.importKey('spki', spki, alg, false, ['verify']);
    const pubOurs = await ours.importKey('spki', spki, alg, false, ['verify']);
    const b = await node.importKey('pkcs8', pkcs8, alg, false, ['sign']);
    for (const saltLength of [0, 20, 32]) {
      const sig = await ours.sign({ name: 'RSA-PSS', saltLength }, a, data);
      expect(await node.verify({ name: 'RSA-PSS', saltLength }, pub, sig, data)).toBe(true);
      expect(await ours.verify({ name: 'RSA-PSS', saltLength }, pubOurs, await node.sign({ name: 'RSA-PSS', saltLength }, b, data), data)).toBe(true);
    }
    const two = [await ours.sign({ name: 'RSA-PSS', saltLength: 32 }, a, data), await ours.sign({ name: 'RSA-PSS', saltLength: 32 }, a, data)];
    expect(hex(two[0]!)).not.toBe(hex(two[1]!));
  });

  test('RSA-OAEP: decrypted across, labels, OperationError for a wrong ciphertext', async () => {
    for (const hash of ['SHA-1', 'SHA-256']) {
      const alg = { name: 'RSA-OAEP', hash };
      const priv = await ours.importKey('pkcs8', pkcs8, alg, false, ['decrypt']);
      const pub = await ours.importKey('spki', spki, alg, false, ['encrypt']);
      const nodePriv = await node.importKey('pkcs8', pkcs8, alg, false, ['decrypt']);
      const nodePub = await node.importKey('spki', spki, alg, false, ['encrypt']);
      const params = { name: 'RSA-OAEP', label: fill(4) };
      const ct = await ours.encrypt(params, pub, data);
      expect(hex(await node.decrypt(params, nodePriv, ct))).toBe(hex(data));
      expect(hex(await ours.decrypt(params, priv, await node.encrypt(params, nodePub, data)))).toBe(hex(data));
      await expect(ours.decrypt({ name: 'RSA-OAEP' }, priv, ct)).rejects.toMatchObject({ name: 'OperationError' });
      await expect(ours.encrypt(params, pub, new Uint8Array(300))).rejects.toMatchObject({ name: 'OperationError' });
    }
  });

  test('generateKey: 2048 bits, used by Node; the pair has the spec usages', async () => {
    const pair = await ours.generateKey(rsaAlg('RSA-PSS', 'SHA-384'), true, ['sign', 'verify']) as Pair;
    expect(pair.privateKey.algorithm).toEqual({ name: 'RSA-PSS', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: { name: 'SHA-384' } });
    const priv = await move(ours, node, 'pkcs8', pair.privateKey, { name: 'RSA-PSS', hash: 'SHA-384' }, ['sign']);
    const sig = await node.sign({ name: 'RSA-PSS', saltLength: 48 }, priv, data);
    expect(await ours.verify({ name: 'RSA-PSS', saltLength: 48 }, pair.publicKey, sig, data)).toBe(true);
    const viaJwk = await move(ours, node, 'jwk', pair.privateKey, { name: 'RSA-PSS', hash: 'SHA-384' }, ['sign']);
    expect(hex(await node.exportKey('pkcs8', viaJwk))).toBe(hex(await ours.exportKey('pkcs8', pair.privateKey) as ArrayBuffer));
    await expect(ours.generateKey({ ...rsaAlg('RSA-OAEP'), modulusLength: 1024 }, true, ['encrypt', 'decrypt'])).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.generateKey({ ...rsaAlg('RSA-OAEP'), publicExponent: Uint8Array.of(3) }, true, ['decrypt'])).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.generateKey(rsaAlg('RSA-OAEP'), true, ['encrypt'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(ours.generateKey(rsaAlg('RSA-OAEP'), true, ['sign'])).rejects.toMatchObject({ name: 'SyntaxError' });
  }, 60_000);
});

describe('PBKDF2 and HKDF', () => {
  test('the same bits as Node; deriveKey; keys never extractable', async () => {
    const secret = fill(20, (i) => i * 3);
    for (const hash of ['SHA-1', 'SHA-256', 'SHA-512']) {
      const p = { name: 'PBKDF2', hash, salt: fill(16), iterations: 1000 };
      const h = { name: 'HKDF', hash, salt: fill(16), info: fill(5) };
      for (const [params, name] of [[p, 'PBKDF2'], [h, 'HKDF']] as const) {
        const a = await ours.importKey('raw', secret, name, false, ['deriveBits', 'deriveKey']);
        const b = await node.importKey('raw', secret, name, false, ['deriveBits', 'deriveKey']);
        expect(hex(await ours.deriveBits(params, a, 384))).toBe(hex(await node.deriveBits(params, b, 384)));
        const k1 = await ours.deriveKey(params, a, { name: 'HMAC', hash: 'SHA-256', length: 128 }, true, ['sign']);
        const k2 = await node.deriveKey(params, b, { name: 'HMAC', hash: 'SHA-256', length: 128 }, true, ['sign']);
        expect(hex(await ours.exportKey('raw', k1) as ArrayBuffer)).toBe(hex(await node.exportKey('raw', k2)));
        await expect(ours.deriveBits(params, a, 7)).rejects.toMatchObject({ name: 'OperationError' });
        await expect(ours.deriveKey(params, a, 'HMAC', true, ['sign'])).rejects.toBeInstanceOf(TypeError);
      }
    }
    // RFC 5869 A.1.
    const ikm = await ours.importKey('raw', Buffer.alloc(22, 0x0b), 'HKDF', false, ['deriveBits']);
    const okm = await ours.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: Buffer.from('000102030405060708090a0b0c', 'hex'), info: Buffer.from('f0f1f2f3f4f5f6f7f8f9', 'hex') }, ikm, 42 * 8);
    expect(hex(okm)).toBe('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865');
    await expect(ours.importKey('raw', secret, 'PBKDF2', true, ['deriveBits'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(ours.importKey('jwk', { kty: 'oct', k: 'AA' }, 'HKDF', false, ['deriveBits'])).rejects.toMatchObject({ name: 'NotSupportedError' });
    const k = await ours.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']);
    await expect(ours.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: fill(1), iterations: 0 }, k, 256)).rejects.toMatchObject({ name: 'OperationError' });
    await expect(ours.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: fill(1), info: fill(1) }, k, 256)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(ours.exportKey('raw', k)).rejects.toMatchObject({ name: 'InvalidAccessError' });
  });
});

describe('keys stay inside, randomness from the DRBG, the extra loads only when needed', () => {
  test('a CryptoKey has no own properties; algorithm and usages are the same objects each time; structuredClone refuses it', async () => {
    const key = await ours.importKey('raw', fill(16), 'AES-GCM', true, ['encrypt']);
    expect(Reflect.ownKeys(key)).toEqual([]);
    expect(JSON.stringify(key)).toBe('{}');
    expect(key.algorithm).toBe(key.algorithm);
    expect(key.usages).toBe(key.usages);
    (key.algorithm as unknown as { length: number }).length = 1;
    expect(hex(await ours.exportKey('raw', key) as ArrayBuffer)).toBe(hex(fill(16)));
    expect(() => structuredClone(key)).toThrow(expect.objectContaining({ name: 'DataCloneError' }));
    const get = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(key), 'algorithm')!.get!;
    expect(() => get.call({})).toThrow(TypeError);
  });

  test('keys, salts and seeds come from the DRBG even when globalThis.crypto is replaced', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto')!;
    const a = makeCrypto(Buffer.alloc(32, 7), subtleFactory).crypto.subtle as unknown as SubtleCrypto;
    const b = makeCrypto(Buffer.alloc(32, 7), subtleFactory).crypto.subtle as unknown as SubtleCrypto;
    const pkcs8 = await node.exportKey('pkcs8', (await node.generateKey({ name: 'RSA-PSS', hash: 'SHA-256', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1) }, true, ['sign'])).privateKey);
    Object.defineProperty(globalThis, 'crypto', { value: { getRandomValues: () => { throw new Error('user code'); } }, configurable: true, writable: true });
    try {
      const keys = await Promise.all([a, b].map((s) => s.generateKey({ name: 'AES-GCM', length: 256 }, true, ['encrypt']) as Promise<Key>));
      expect(hex(await a.exportKey('raw', keys[0]!) as ArrayBuffer)).toBe(hex(await b.exportKey('raw', keys[1]!) as ArrayBuffer));
      const sigs = await Promise.all([a, b].map(async (s) => s.sign({ name: 'RSA-PSS', saltLength: 32 }, await s.importKey('pkcs8', pkcs8, { name: 'RSA-PSS', hash: 'SHA-256' }, false, ['sign']), data)));
      expect(hex(sigs[0]!)).toBe(hex(sigs[1]!));
      // @noble/curves blinds secret scalars with randomBytes from the global: the DRBG here too.
      const ec = await a.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']) as Pair;
      expect(await a.verify({ name: 'ECDSA', hash: 'SHA-256' }, ec.publicKey, await a.sign({ name: 'ECDSA', hash: 'SHA-256' }, ec.privateKey, data), data)).toBe(true);
      const ed = await a.generateKey('Ed25519', false, ['sign', 'verify']) as Pair;
      expect(await a.verify('Ed25519', ed.publicKey, await a.sign('Ed25519', ed.privateKey, data), data)).toBe(true);
      const dh = await a.generateKey({ name: 'ECDH', namedCurve: 'P-384' }, false, ['deriveBits']) as Pair;
      expect((await a.deriveBits({ name: 'ECDH', public: dh.publicKey }, dh.privateKey, 384)).byteLength).toBe(48);
      expect((globalThis.crypto as unknown as { getRandomValues: unknown }).getRandomValues).toBeTypeOf('function');
    } finally {
      Object.defineProperty(globalThis, 'crypto', saved);
    }
  });

  test('an unknown algorithm is a NotSupportedError without loading the extra; a failing load rejects', async () => {
    let loads = 0;
    const s = makeCrypto(randomBytes(32), () => { loads++; throw new Error('no extra'); }).crypto.subtle;
    await expect(s.encrypt('AES-XTS', {}, data)).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(s.generateKey({ name: 'DSA' }, true, ['sign'])).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(s.digest('SHA-256', data)).resolves.toBeInstanceOf(ArrayBuffer);
    expect(loads).toBe(0);
    await expect(s.encrypt('AES-GCM', {}, data)).rejects.toThrow('no extra');
    expect(loads).toBe(1);
    await expect(ours.encrypt.call({}, 'AES-GCM', {} as Key, data)).rejects.toBeInstanceOf(TypeError);
  });
});
