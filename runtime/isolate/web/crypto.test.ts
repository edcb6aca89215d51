// crypto.ts: digest and HMAC against node:crypto, the HMAC_DRBG against NIST's known answer and an
// independent implementation, getRandomValues and randomUUID shapes and errors.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { makeCrypto, type SubtleFactory } from './crypto.js';
import { DOMException } from './dom-exception.js';
import * as aes from './subtle/aes.js';
import * as ec from './subtle/ec.js';
import * as kdf from './subtle/hmac-kdf.js';
import * as rsa from './subtle/rsa.js';
import { makeSubtle } from './subtle/subtle.js';

/** The 'subtle' extra's factory with its algorithm modules loaded here (the extra requires them lazily). */
const subtleFactory = (): SubtleFactory => ((deps: Parameters<SubtleFactory>[0]) => makeSubtle(deps, { aes: () => aes, ec: () => ec, rsa: () => rsa, kdf: () => kdf })) as unknown as SubtleFactory;
const { crypto, Crypto, SubtleCrypto, CryptoKey } = makeCrypto(randomBytes(32), subtleFactory);
const subtle = crypto.subtle;
const hex = (b: ArrayBuffer | Uint8Array) => Buffer.from(b instanceof Uint8Array ? b : new Uint8Array(b)).toString('hex');

/** HMAC_DRBG (SP 800-90A §10.1.2) with HMAC-SHA-256, written from the spec with node:crypto. */
function referenceDrbg(seed: Uint8Array): (n: number) => Buffer {
  let K = Buffer.alloc(32, 0);
  let V = Buffer.alloc(32, 1);
  const mac = (key: Buffer, ...parts: Uint8Array[]) => {
    const h = createHmac('sha256', key);
    for (const p of parts) h.update(p);
    return h.digest();
  };
  const update = (data: Uint8Array | null) => {
    K = mac(K, V, Buffer.of(0), data ?? Buffer.alloc(0));
    V = mac(K, V);
    if (!data || data.length === 0) return;
    K = mac(K, V, Buffer.of(1), data);
    V = mac(K, V);
  };
  update(seed);
  return (n) => {
    const out: Buffer[] = [];
    for (let len = 0; len < n; len += 32) { V = mac(K, V); out.push(V); }
    update(null);
    return Buffer.concat(out).subarray(0, n);
  };
}

describe('HMAC_DRBG', () => {
  const entropy = 'ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488';
  const nonce = '659ba96c601dc69fc902940805ec0ca8';
  const seed = Buffer.from(entropy + nonce, 'hex');

  test('the reference gives NIST CAVP HMAC_DRBG SHA-256 COUNT 0 (no reseed, no PR)', () => {
    const generate = referenceDrbg(seed);
    generate(128);
    expect(hex(generate(128))).toBe(
      'e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89d54fbb978a15b5c443c9ec21036d2460' +
      'b6f73ebad0dc2aba6e624abf07745bc107694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668' +
      '961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8');
  });

  test('the output is the reference generating 256 bytes at a time, whatever the request sizes', () => {
    const generate = referenceDrbg(seed);
    const want = Buffer.concat(Array.from({ length: 16 }, () => generate(256)));
    const { randomFill } = makeCrypto(new Uint8Array(seed));
    const got: Uint8Array[] = [];
    let total = 0;
    for (const size of [1, 7, 16, 1000, 0, 33, 2048, 5]) {
      const b = new Uint8Array(size);
      randomFill(b);
      got.push(b);
      total += size;
    }
    expect(hex(Buffer.concat(got))).toBe(hex(want.subarray(0, total)));
  });

  test('getRandomValues and randomUUID draw from the same stream; seeds matter', () => {
    const s = randomBytes(32);
    const a = makeCrypto(new Uint8Array(s)).crypto;
    const b = makeCrypto(new Uint8Array(s)).crypto;
    const c = makeCrypto(randomBytes(32)).crypto;
    expect(a.randomUUID()).toBe(b.randomUUID());
    expect(hex(a.getRandomValues(new Uint8Array(64)))).toBe(hex(b.getRandomValues(new Uint8Array(64))));
    expect(hex(a.getRandomValues(new Uint8Array(64)))).not.toBe(hex(c.getRandomValues(new Uint8Array(64))));
    expect(() => makeCrypto(new Uint8Array(31))).toThrow(TypeError);
  });
});

describe('crypto.getRandomValues', () => {
  test('fills every integer typed array and returns it', () => {
    for (const Ctor of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, BigInt64Array, BigUint64Array]) {
      const a = new Ctor(32);
      expect(crypto.getRandomValues(a)).toBe(a);
      expect(Array.from(a as ArrayLike<number | bigint>).some((v) => v !== 0 && v !== 0n)).toBe(true);
    }
    const big = new Uint8Array(65536);
    expect(crypto.getRandomValues(big)).toBe(big);
    expect(crypto.getRandomValues(Buffer.alloc(4)).length).toBe(4);
  });

  test('fills only the view, not the rest of its buffer', () => {
    const buf = new Uint8Array(64);
    crypto.getRandomValues(new Uint32Array(buf.buffer, 16, 8));
    expect(buf.subarray(0, 16).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(48).every((b) => b === 0)).toBe(true);
    expect(buf.subarray(16, 48).some((b) => b !== 0)).toBe(true);
  });

  test('output looks uniform', () => {
    const counts = new Array(256).fill(0);
    for (let i = 0; i < 16; i++) for (const b of crypto.getRandomValues(new Uint8Array(65536))) counts[b]++;
    // 4096 expected per value; 6 sigma is about ±384.
    for (const c of counts) expect(Math.abs(c - 4096)).toBeLessThan(400);
  });

  test('errors: TypeMismatchError, QuotaExceededError, TypeError', () => {
    for (const bad of [new Float32Array(4), new Float64Array(4), new DataView(new ArrayBuffer(4))]) {
      try { crypto.getRandomValues(bad); expect.unreachable(); } catch (e) {
        expect(e).toBeInstanceOf(DOMException);
        expect((e as DOMException).name).toBe('TypeMismatchError');
      }
    }
    for (const tooBig of [new Uint8Array(65537), new Uint32Array(16385), new BigUint64Array(8193)]) {
      try { crypto.getRandomValues(tooBig); expect.unreachable(); } catch (e) {
        expect(e).toBeInstanceOf(DOMException);
        expect((e as DOMException).name).toBe('QuotaExceededError');
      }
    }
    for (const bad of [[1, 2, 3], new ArrayBuffer(4), null, undefined, 'abc']) {
      expect(() => crypto.getRandomValues(bad as never)).toThrow(TypeError);
    }
    const unbound = crypto.getRandomValues;
    expect(() => unbound(new Uint8Array(4))).toThrow(TypeError);
    expect(() => unbound.call({}, new Uint8Array(4))).toThrow(TypeError);
  });
});

describe('crypto.randomUUID', () => {
  test('version 4, variant 10, lower case, unique', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const u = crypto.randomUUID();
      expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      seen.add(u);
    }
    expect(seen.size).toBe(2000);
  });
});

describe('crypto.subtle.digest', () => {
  const algorithms: [string, string][] = [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512']];
  const sizes = [0, 1, 3, 55, 56, 63, 64, 65, 111, 112, 119, 120, 127, 128, 129, 255, 1000, 4096, 65536, 100_003];

  test('matches node:crypto for random inputs of many sizes', async () => {
    for (const size of sizes) {
      const data = randomBytes(size);
      for (const [name, node] of algorithms) {
        const got = await subtle.digest(name, data);
        expect(got).toBeInstanceOf(ArrayBuffer);
        expect(hex(got)).toBe(createHash(node).update(data).digest('hex'));
      }
    }
  });

  test('algorithm as a string or {name}, any case; data as any BufferSource', async () => {
    const want = createHash('sha256').update('abc').digest('hex');
    expect(hex(await subtle.digest({ name: 'Sha-256' }, new TextEncoder().encode('abc')))).toBe(want);
    expect(hex(await subtle.digest('sha-256', new TextEncoder().encode('abc').buffer))).toBe(want);
    const buf = new Uint8Array([0, 0x61, 0x62, 0x63, 0, 0, 0, 0]);
    expect(hex(await subtle.digest('SHA-256', buf.subarray(1, 4)))).toBe(want);
    expect(hex(await subtle.digest('SHA-256', new DataView(buf.buffer, 1, 3)))).toBe(want);
    expect(hex(await subtle.digest('SHA-256', new Uint16Array(buf.buffer, 0, 4)))).toBe(createHash('sha256').update(buf).digest('hex'));
    expect(hex(await subtle.digest('SHA-1', new ArrayBuffer(0)))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  test('the input is copied before digest() returns', async () => {
    const data = new TextEncoder().encode('abc');
    const p = subtle.digest('SHA-256', data);
    data.fill(0);
    expect(hex(await p)).toBe(createHash('sha256').update('abc').digest('hex'));
  });

  test('errors are rejections: NotSupportedError, TypeError', async () => {
    for (const alg of ['MD5', 'SHA-224', 'sha256', '', { name: 'SHA-3' }, 42]) {
      const p = subtle.digest(alg as string, new Uint8Array(1));
      await expect(p).rejects.toBeInstanceOf(DOMException);
      await expect(p).rejects.toMatchObject({ name: 'NotSupportedError' });
    }
    await expect(subtle.digest({} as never, new Uint8Array(1))).rejects.toBeInstanceOf(TypeError);
    for (const bad of ['abc', [1, 2], null, undefined, { byteLength: 3 }, new SharedArrayBuffer(4)]) {
      await expect(subtle.digest('SHA-256', bad as never)).rejects.toBeInstanceOf(TypeError);
    }
  });
});

describe('crypto.subtle HMAC', () => {
  test('sign and verify match node:crypto', async () => {
    for (const [hash, node] of [['SHA-1', 'sha1'], ['SHA-256', 'sha256'], ['SHA-384', 'sha384'], ['SHA-512', 'sha512']] as const) {
      for (const keyLen of [1, 16, 64, 65, 128, 200]) {
        const raw = randomBytes(keyLen);
        const data = randomBytes(keyLen * 3);
        const key = await subtle.importKey('raw', raw, { name: 'HMAC', hash }, false, ['sign', 'verify']);
        const sig = await subtle.sign('HMAC', key, data);
        expect(hex(sig)).toBe(createHmac(node, raw).update(data).digest('hex'));
        expect(await subtle.verify({ name: 'hmac' }, key, sig, data)).toBe(true);
        const wrong = new Uint8Array(sig);
        wrong[0]! ^= 1;
        expect(await subtle.verify('HMAC', key, wrong, data)).toBe(false);
        expect(await subtle.verify('HMAC', key, wrong.subarray(1), data)).toBe(false);
      }
    }
  });

  test('matches Node webcrypto for key properties', async () => {
    const raw = randomBytes(20);
    const ours = await subtle.importKey('raw', raw, { name: 'HMAC', hash: { name: 'sha-256' } }, true, ['sign']);
    const node = await globalThis.crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: { name: 'SHA-256' } }, true, ['sign']);
    expect([ours.type, ours.extractable, ours.usages, ours.algorithm]).toEqual([node.type, node.extractable, node.usages, node.algorithm]);
    expect(hex(await subtle.exportKey('raw', ours) as ArrayBuffer)).toBe(hex(raw));
    expect(ours).toBeInstanceOf(CryptoKey);
    expect(Object.prototype.toString.call(ours)).toBe('[object CryptoKey]');
  });

  test('generateKey', async () => {
    const key = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-512' }, true, ['sign', 'verify']) as InstanceType<typeof CryptoKey>;
    expect(key.algorithm).toEqual({ name: 'HMAC', hash: { name: 'SHA-512' }, length: 1024 });
    expect((await subtle.exportKey('raw', key) as ArrayBuffer).byteLength).toBe(128);
    const short = await subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 12 }, true, ['sign']) as InstanceType<typeof CryptoKey>;
    const bytes = new Uint8Array(await subtle.exportKey('raw', short) as ArrayBuffer);
    expect(bytes.length).toBe(2);
    expect(bytes[1]! & 0x0f).toBe(0);
  });

  test('errors', async () => {
    const raw = randomBytes(16);
    const signOnly = await subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    await expect(subtle.verify('HMAC', signOnly, new Uint8Array(32), raw)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(subtle.exportKey('raw', signOnly)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, [])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['encrypt'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(subtle.importKey('raw', raw, { name: 'HMAC', hash: 'MD5' }, false, ['sign'])).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(subtle.importKey('raw', raw, { name: 'HMAC' }, false, ['sign'])).rejects.toBeInstanceOf(TypeError);
    await expect(subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['sign'])).rejects.toMatchObject({ name: 'SyntaxError' });
    await expect(subtle.importKey('raw', raw, { name: 'AES-GMC' }, false, ['encrypt'])).rejects.toMatchObject({ name: 'NotSupportedError' });
    await expect(subtle.importKey('jwk', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])).rejects.toBeInstanceOf(TypeError);
    await expect(subtle.importKey('pem', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])).rejects.toBeInstanceOf(TypeError);
    await expect(subtle.importKey('raw', new Uint8Array(0), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256', length: 200 }, false, ['sign'])).rejects.toMatchObject({ name: 'DataError' });
    await expect(subtle.sign('HMAC', {} as never, raw)).rejects.toBeInstanceOf(TypeError);
    await expect(subtle.sign('RSASSA-PKCS1-v1_5', signOnly, raw)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    await expect(subtle.sign('RSA-PKCS1', signOnly, raw)).rejects.toMatchObject({ name: 'NotSupportedError' });
  });
});

describe('Crypto, SubtleCrypto, CryptoKey', () => {
  test('are not constructible by user code, and have their names', () => {
    for (const Ctor of [Crypto, SubtleCrypto, CryptoKey]) {
      expect(() => new (Ctor as unknown as new () => unknown)()).toThrow(TypeError);
    }
    expect(crypto).toBeInstanceOf(Crypto);
    expect(crypto.subtle).toBeInstanceOf(SubtleCrypto);
    expect(crypto.subtle).toBe(crypto.subtle);
    expect([Crypto.name, SubtleCrypto.name, CryptoKey.name]).toEqual(['Crypto', 'SubtleCrypto', 'CryptoKey']);
    expect(Object.prototype.toString.call(crypto)).toBe('[object Crypto]');
  });
});
