// Crypto and encoding: crypto.subtle.digest (SHA-1/256/384/512) of the body as hex, the other
// crypto.subtle algorithms (/subtle-*: deterministic outputs byte for byte, randomized ones checked
// inside the script and compared by result and length), btoa/atob round
// trips, TextEncoder/TextDecoder with non-ASCII text, and — checked inside the script so the output
// is deterministic — randomUUID's format and getRandomValues' length.

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');

function tryName(fn) {
  try { return { value: fn() }; } catch (e) { return { error: e.name }; }
}

async function tryNameAsync(fn) {
  try { return { value: await fn() }; } catch (e) { return { error: e.name }; }
}

const TEXT = 'héllo wörld · ✓ 😀 日本語 ﷺ';

const bytes = (n, f = (i) => i) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);

// Fixed keys (PKCS #8, base64) made once with OpenSSL; Ed25519 and X25519 are RFC 8032 §7.1 TEST 1
// and RFC 7748 §6.1 Alice.
const P256 = 'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgEDTtyHLMG1q7xacQeODXMotrTlj6ZRRJgc8AOVcxrd6hRANCAAS/m+H80Ukw6b/LAIlpbh3xHXjuxcpntpLZJX18JZkO0hqlZPB+ekb9Kq0NGeEZ5uqUOJOyP67eaqwHOterQ1oi';
const P384 = 'MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCvBBMRMM8j8bkNQ6oY5apJh71HwwUJvajn5Cey5CoPqWRSLiIZrYNuJcUTbCPtYpChZANiAATAsU7lttILmLjBwB7m9ekk7xkFg33HEhrJxNuFzFFHdzPPidwCg/ziXqJVCpoo6UWO1JcHC3b5CGLxs+cSGZ7UZxExlHQPskhWcO2Bzq+DDbZ+Rdw/ZDtmtcEpy/og2L8=';
const RSA = 'MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQC772ylXje9F6pgxOL71DPSNG8W3jfi2lUIGNEkccad86UzupX/CMbRvynDEFVM/wIMeVA0BTeP/Bw/mdNgLgBiem4ZkHtqY+83iN4QyumuD8W+xRNMXsXk56neyNgCbzLPQpicXEWwXFdu4/qM+Ibk4AqbAyEj8k+TLLU9lO4zMM8v+WlfePA2FQlPOzIywBCDfJs4KYUsWbtnXzGvyPx2tQSDyxQ8+60ggcLOrPaZQdRcNLeE6iR6THnBS/xOaDI6GRYRM+GXbK/zj2mvcclhmwDo/oqRgd5PVQ2OU1AKDTQYV0oUr4S7dYu3maKDxdQrxUeYYSXjxwM2jHfVNemNAgMBAAECggEARzqUfAy8pW99xNV6jiW8SlRTMmCg39sOVVZKljyFIcKBf5ydUx75c++3HVZobhlMpnuoOT8s8uaDsltT8OUegjSS3B+VlxovRWYbfFPbw3v437gD+3MEICDpkiWfMTUCFenQu5qBUzl8bev8P0fGoKKFgoDqI5yoKkjMnH2A1mdnIu8ewNw+5QPK5aUhnHiSEtlfJx+89sakSMdi8UegWuduu68N/J6fjmUcaP8x8FswsopbKGrYzBKRXuqTro4Op52aZf/8JPgHIoojTd6y/CRnG6rsjTimrza5JY8QWE153ESoZuoGO3yQOAoFjql26hz74LahXwQx1S65PWFHhQKBgQD1KvYHyWskjpAg+EqPeQHd45n52dN9v2ZqHa/mTsKhhWHOHEQl1HILqHHuM/Has55BtethSIk8PFlQGN3t/Ei4P2siAj+DETPzly+nhMuorgYSFEtCcsjIbh09DsrOsZE98MgiWejS084w1R0eOXeb5shhx35FxRlFUxmiSopx7wKBgQDEPR5TRVL20JU+fG8sthz9ewZsotAOOPV4j6MymHpBEXZm94JhFzlvXpkk8QUZXcTKLDpAXjmA881SzmjQa1sLj2MzekVYTLscPtfusKcBWeRHdGMN/ZX+RO2QSVxajxl7guY0ysxUvYX8a6wLKaecgNktCT8d29C+ZmAAA19oQwKBgHZ8WcUvodlcEOnuNVKbf7x19/9ZN64JJ3zXdiBPJh8bsEYFQSYrQybBNLaTYip5Ll3Bhs1QWgrDe8KLEg6nI5nwBF2+SmWUlc/+3CgQtMCDwilQp4KoqMK8/OJ6WKeGB5Sw3nhDjZL+jCLrjBQEX/r3kRY4bJ1ZgToQzE2zyq7/AoGAAcUHU/rpD5676c9XdVDDHCoS2cHyHF65H/gzoY4sdA/DQJR00YlTFEUHHoUp5Zup3aTedZwj6pzIOjnwSgjdzlHhtCIjI/O1MEEE03s2VlXIMDjFd+fUhXF7rvRqZ8qokSuSBeHaS91VqvwRlhwvDcM/sh9GOW+1BzKHJRjisF8CgYBxI+WGNSaScibTsBQtsuGmB7rVAS69yq4utE7JWJ7P0hQ6ChbeB4C7qN8Bh/fmDDci0nASPHLwXvydyyXI9mJ8SnXbXq5OWwEBmM55sWgzTRzJK0vtR80eOyWzMcdQtc5htZjqeJIM+AVhdE+riHjxd5/HrrkvwVWVuWm9cBOQNQ==';
const ED25519 = 'MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g';
const X25519 = 'MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq';

/** The public half of a fixed private key, as a JWK (through an extractable import). */
async function publicJwkOf(s, b64, alg) {
  const key = await s.importKey('pkcs8', Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)), alg, true, alg.name === 'ECDH' || alg.name === 'X25519' ? ['deriveBits'] : alg.name === 'RSA-OAEP' ? ['decrypt'] : ['sign']);
  const { kty, crv, x, y, n, e } = await s.exportKey('jwk', key);
  return JSON.parse(JSON.stringify({ kty, crv, x, y, n, e }));
}


export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);

    if (pathname === '/digest') {
      const data = new Uint8Array(await request.arrayBuffer());
      const out = { length: data.length };
      for (const alg of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) out[alg] = hex(await crypto.subtle.digest(alg, data));
      out.objectForm = hex(await crypto.subtle.digest({ name: 'SHA-256' }, data));
      out.lowerCase = hex(await crypto.subtle.digest('sha-256', data.buffer));
      out.unknown = await tryNameAsync(() => crypto.subtle.digest('SHA-257', data));
      return Response.json(out);
    }

    if (pathname === '/base64') {
      const latin1 = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
      const b64 = btoa(latin1);
      return Response.json({
        hello: btoa('hello world'),
        back: atob(btoa('hello world')),
        empty: [btoa(''), atob('')],
        allBytes: b64,
        allBytesRoundTrip: atob(b64) === latin1,
        padding: ['a', 'ab', 'abc'].map((s) => btoa(s)),
        noPadding: tryName(() => atob('YWI')),
        whitespace: tryName(() => atob(' YW Jj\n')),
        invalidChar: tryName(() => atob('a*b=')),
        nonLatin1: tryName(() => btoa('✓')),
        utf8ViaBytes: btoa(String.fromCharCode(...new TextEncoder().encode(TEXT))),
        number: btoa(12),
      });
    }

    if (pathname === '/text') {
      const enc = new TextEncoder();
      const bytes = enc.encode(TEXT);
      const dec = new TextDecoder();
      const into = new Uint8Array(8);
      const r = enc.encodeInto('ab✓😀', into);
      const streaming = new TextDecoder();
      const split = enc.encode('✓😀');
      const parts = streaming.decode(split.subarray(0, 2), { stream: true }) + streaming.decode(split.subarray(2, 5), { stream: true }) + streaming.decode(split.subarray(5));
      return Response.json({
        encoding: enc.encoding,
        length: TEXT.length,
        byteLength: bytes.length,
        hex: hex(bytes),
        roundTrip: dec.decode(bytes) === TEXT,
        decoderEncoding: dec.encoding,
        encodeInto: { read: r.read, written: r.written, bytes: hex(into) },
        streaming: parts,
        replacement: new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0x62, 0xe2, 0x82])),
        fatal: tryName(() => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff]))),
        bom: [new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), new TextDecoder('utf-8', { ignoreBOM: true }).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).length],
        lone: hex(enc.encode('\ud800x')),
        label: new TextDecoder('UTF8').encoding,
        body: await request.text(),
      });
    }

    if (pathname === '/subtle-aes') {
      const s = crypto.subtle;
      const data = new TextEncoder().encode(TEXT);
      const out = {};
      for (const length of [128, 256]) {
        const raw = bytes(length / 8, (i) => i * 7 + 1);
        for (const params of [
          { name: 'AES-GCM', iv: bytes(12) }, { name: 'AES-GCM', iv: bytes(16), additionalData: bytes(5), tagLength: 96 },
          { name: 'AES-CBC', iv: bytes(16) }, { name: 'AES-CTR', counter: bytes(16), length: 64 },
          { name: 'AES-CTR', counter: bytes(16, (i) => (i === 15 ? 0xfe : 0xff)), length: 8 },
        ]) {
          const key = await s.importKey('raw', raw, params.name, true, ['encrypt', 'decrypt']);
          const ct = await s.encrypt(params, key, data);
          const pt = new TextDecoder().decode(await s.decrypt(params, key, ct));
          out[`${params.name}-${length}-${params.tagLength ?? params.length ?? ''}`] = { ct: hex(ct), roundTrip: pt === TEXT, jwk: await s.exportKey('jwk', key), algorithm: key.algorithm, usages: key.usages };
        }
      }
      const gcm = await s.importKey('raw', bytes(16), { name: 'aes-gcm' }, false, ['decrypt']);
      const ct = new Uint8Array(await s.encrypt({ name: 'AES-GCM', iv: bytes(12) }, await s.importKey('raw', bytes(16), 'AES-GCM', false, ['encrypt']), data));
      ct[0] ^= 1;
      out.tagMismatch = await tryNameAsync(() => s.decrypt({ name: 'AES-GCM', iv: bytes(12) }, gcm, ct));
      out.badPadding = await tryNameAsync(async () => s.decrypt({ name: 'AES-CBC', iv: bytes(16) }, await s.importKey('raw', bytes(16), 'AES-CBC', false, ['decrypt']), bytes(16)));
      out.badIv = await tryNameAsync(async () => s.encrypt({ name: 'AES-CBC', iv: bytes(8) }, await s.importKey('raw', bytes(16), 'AES-CBC', false, ['encrypt']), bytes(16)));
      out.badKeyLength = await tryNameAsync(() => s.importKey('raw', bytes(17), 'AES-GCM', false, ['encrypt']));
      out.wrongUsage = await tryNameAsync(() => s.encrypt({ name: 'AES-GCM', iv: bytes(12) }, gcm, data));
      out.signUsage = await tryNameAsync(() => s.importKey('raw', bytes(16), 'AES-GCM', false, ['sign']));
      out.emptyUsages = await tryNameAsync(() => s.generateKey({ name: 'AES-GCM', length: 128 }, false, []));
      out.badLength = await tryNameAsync(() => s.generateKey({ name: 'AES-GCM', length: 100 }, false, ['encrypt']));
      const kw = await s.importKey('raw', bytes(16, (i) => 255 - i), 'AES-KW', false, ['wrapKey', 'unwrapKey']);
      const inner = await s.importKey('raw', bytes(32), { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
      const wrapped = await s.wrapKey('raw', inner, kw, 'AES-KW');
      out.kw = hex(wrapped);
      out.kwBack = hex(await s.exportKey('raw', await s.unwrapKey('raw', wrapped, kw, 'AES-KW', { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])));
      out.hmacJwk = await s.exportKey('jwk', inner);
      out.hmacFromJwk = (await s.importKey('jwk', out.hmacJwk, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])).algorithm;
      out.hmacJwkBadAlg = await tryNameAsync(() => s.importKey('jwk', { ...out.hmacJwk, alg: 'HS512' }, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']));
      const generated = await s.generateKey({ name: 'AES-CTR', length: 192 }, true, ['encrypt']);
      out.generated = { algorithm: generated.algorithm, usages: generated.usages, length: (await s.exportKey('raw', generated)).byteLength };
      return Response.json(out);
    }

    if (pathname === '/subtle-keys') {
      // Fixed keys imported, then exported in every format (compared byte for byte with workerd).
      const s = crypto.subtle;
      const out = {};
      const fromB64 = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
      const keys = { ECDSA_P256: [{ name: 'ECDSA', namedCurve: 'P-256' }, P256], ECDH_P384: [{ name: 'ECDH', namedCurve: 'P-384' }, P384], RSA: [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, RSA], Ed25519: ['Ed25519', ED25519], X25519: ['X25519', X25519] };
      for (const [label, [alg, b64]] of Object.entries(keys)) {
        const usages = label.startsWith('ECDH') || label === 'X25519' ? ['deriveBits'] : ['sign'];
        const priv = await s.importKey('pkcs8', fromB64(b64), alg, true, usages);
        const jwk = await s.exportKey('jwk', priv);
        const pubJwk = { ...jwk, d: undefined, p: undefined, q: undefined, dp: undefined, dq: undefined, qi: undefined, key_ops: undefined };
        const pub = await s.importKey('jwk', JSON.parse(JSON.stringify(pubJwk)), alg, true, usages[0] === 'sign' ? ['verify'] : []);
        out[label] = {
          pkcs8: hex(await s.exportKey('pkcs8', priv)), spki: hex(await s.exportKey('spki', pub)), jwk, publicJwk: await s.exportKey('jwk', pub),
          // (RSA has no raw format: the spec says NotSupportedError, workerd answers InvalidAccessError; not compared.)
          raw: label === 'RSA' ? null : hex(await s.exportKey('raw', pub)),
          privRaw: label === 'RSA' ? null : await tryNameAsync(() => s.exportKey('raw', priv)),
          types: [priv.type, pub.type], algorithm: priv.algorithm.name === 'RSASSA-PKCS1-v1_5' ? { ...priv.algorithm, publicExponent: hex(priv.algorithm.publicExponent) } : priv.algorithm,
          usages: [priv.usages, pub.usages],
          trailing: await tryNameAsync(() => s.importKey('pkcs8', new Uint8Array([...fromB64(b64), 0]), alg, true, usages)),
          truncated: await tryNameAsync(() => s.importKey('spki', fromB64(b64).subarray(0, 40), alg, true, [])),
          wrongKty: await tryNameAsync(() => s.importKey('jwk', { ...jwk, kty: 'oct' }, alg, true, usages)),
          extFalse: await tryNameAsync(() => s.importKey('jwk', { ...jwk, ext: false }, alg, true, usages)),
          keyOps: await tryNameAsync(() => s.importKey('jwk', { ...jwk, key_ops: ['encrypt'] }, alg, true, usages)),
        };
      }
      out.crossCurve = await tryNameAsync(() => s.importKey('pkcs8', fromB64(P256), { name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign']));
      // (A JWK whose crv is not namedCurve: workerd imports it, the spec says DataError (§23.8 importKey jwk 6.2); not compared.)
      out.unknownCurve = await tryNameAsync(() => s.generateKey({ name: 'ECDSA', namedCurve: 'P-192' }, true, ['sign']));
      out.unknownAlgorithm = await tryNameAsync(() => s.generateKey({ name: 'AES-XTS', length: 256 }, true, ['encrypt']));
      return Response.json(out);
    }

    if (pathname === '/subtle-sign') {
      const s = crypto.subtle;
      const data = new TextEncoder().encode(TEXT);
      const fromB64 = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
      const out = {};
      // Deterministic: Ed25519 (RFC 8032) and RSASSA-PKCS1-v1_5.
      const ed = await s.importKey('pkcs8', fromB64(ED25519), { name: 'Ed25519' }, false, ['sign']);
      out.ed25519 = hex(await s.sign('Ed25519', ed, data));
      for (const hash of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {
        out[`pkcs1-${hash}`] = hex(await s.sign('RSASSA-PKCS1-v1_5', await s.importKey('pkcs8', fromB64(RSA), { name: 'RSASSA-PKCS1-v1_5', hash }, false, ['sign']), data));
      }
      // Randomized: verified inside, compared by result and length.
      const rsaPub = async (alg, usages) => s.importKey('jwk', await publicJwkOf(s, RSA, alg), alg, false, usages);
      for (const [curve, b64, hash] of [['P-256', P256, 'SHA-256'], ['P-384', P384, 'SHA-384'], ['P-256', P256, 'SHA-512']]) {
        const alg = { name: 'ECDSA', namedCurve: curve };
        const priv = await s.importKey('pkcs8', fromB64(b64), alg, false, ['sign']);
        const pub = await s.importKey('jwk', await publicJwkOf(s, b64, alg), alg, false, ['verify']);
        const sig = await s.sign({ name: 'ECDSA', hash }, priv, data);
        out[`ecdsa-${curve}-${hash}`] = { length: sig.byteLength, verifies: await s.verify({ name: 'ECDSA', hash }, pub, sig, data), other: await s.verify({ name: 'ECDSA', hash }, pub, sig, data.subarray(1)), short: await s.verify({ name: 'ECDSA', hash }, pub, sig.slice(1), data) };
      }
      for (const saltLength of [0, 32]) {
        const alg = { name: 'RSA-PSS', hash: 'SHA-256' };
        const sig = await s.sign({ name: 'RSA-PSS', saltLength }, await s.importKey('pkcs8', fromB64(RSA), alg, false, ['sign']), data);
        out[`pss-${saltLength}`] = { length: sig.byteLength, verifies: await s.verify({ name: 'RSA-PSS', saltLength }, await rsaPub(alg, ['verify']), sig, data) };
      }
      const oaep = { name: 'RSA-OAEP', hash: 'SHA-256' };
      const ct = await s.encrypt({ name: 'RSA-OAEP', label: bytes(3) }, await rsaPub(oaep, ['encrypt']), data);
      const oaepPriv = await s.importKey('pkcs8', fromB64(RSA), oaep, false, ['decrypt']);
      out.oaep = { length: ct.byteLength, back: new TextDecoder().decode(await s.decrypt({ name: 'RSA-OAEP', label: bytes(3) }, oaepPriv, ct)) === TEXT };
      out.oaepWrongLabel = await tryNameAsync(() => s.decrypt({ name: 'RSA-OAEP' }, oaepPriv, ct));
      out.signWithPublic = await tryNameAsync(async () => s.sign('RSASSA-PKCS1-v1_5', await rsaPub({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, ['verify']), data));
      out.wrongAlgorithm = await tryNameAsync(() => s.sign({ name: 'RSA-PSS', saltLength: 0 }, ed, data));
      out.publicUsages = await tryNameAsync(async () => s.importKey('jwk', await publicJwkOf(s, RSA, oaep), oaep, false, ['decrypt']));
      return Response.json(out);
    }

    if (pathname === '/subtle-derive') {
      const s = crypto.subtle;
      const fromB64 = (b) => Uint8Array.from(atob(b), (c) => c.charCodeAt(0));
      const out = {};
      const secret = bytes(20, (i) => i * 3);
      for (const hash of ['SHA-1', 'SHA-256', 'SHA-512']) {
        const pb = await s.importKey('raw', secret, 'PBKDF2', false, ['deriveBits', 'deriveKey']);
        const hk = await s.importKey('raw', secret, 'HKDF', false, ['deriveBits', 'deriveKey']);
        const p = { name: 'PBKDF2', hash, salt: bytes(16), iterations: 1000 };
        const h = { name: 'HKDF', hash, salt: bytes(16), info: bytes(5) };
        out[hash] = {
          pbkdf2: hex(await s.deriveBits(p, pb, 384)), hkdf: hex(await s.deriveBits(h, hk, 384)),
          pbkdf2Key: hex(await s.exportKey('raw', await s.deriveKey(p, pb, { name: 'AES-GCM', length: 256 }, true, ['encrypt']))),
          hkdfKey: (await s.deriveKey(h, hk, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign'])).algorithm,
        };
      }
      out.pbkdf2Extractable = await tryNameAsync(() => s.importKey('raw', secret, 'PBKDF2', true, ['deriveBits']));
      out.pbkdf2ZeroIterations = await tryNameAsync(async () => s.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt: bytes(4), iterations: 0 }, await s.importKey('raw', secret, 'PBKDF2', false, ['deriveBits']), 256));
      out.hkdfNoLength = await tryNameAsync(async () => s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bytes(4), info: bytes(1) }, await s.importKey('raw', secret, 'HKDF', false, ['deriveBits']), null));
      out.hkdfTooLong = await tryNameAsync(async () => s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bytes(4), info: bytes(1) }, await s.importKey('raw', secret, 'HKDF', false, ['deriveBits']), 256 * 255 + 8));
      out.hkdfOddLength = await tryNameAsync(async () => s.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bytes(4), info: bytes(1) }, await s.importKey('raw', secret, 'HKDF', false, ['deriveBits']), 7));
      // ECDH and X25519 with fixed keys: deterministic shared secrets.
      for (const [label, alg, b64] of [['ecdh-P-256', { name: 'ECDH', namedCurve: 'P-256' }, P256], ['ecdh-P-384', { name: 'ECDH', namedCurve: 'P-384' }, P384], ['x25519', { name: 'X25519' }, X25519]]) {
        const priv = await s.importKey('pkcs8', fromB64(b64), alg, false, ['deriveBits', 'deriveKey']);
        const peer = await s.generateKey(alg, true, ['deriveBits']);
        const pub = await s.importKey('jwk', await publicJwkOf(s, b64, alg), alg, false, []);
        const a = await s.deriveBits({ name: alg.name, public: peer.publicKey }, priv, null);
        const b = await s.deriveBits({ name: alg.name, public: pub }, peer.privateKey, null);
        out[label] = {
          agree: hex(a) === hex(b), length: a.byteLength,
          cut: (await s.deriveBits({ name: alg.name, public: peer.publicKey }, priv, 12)).byteLength,
          tooLong: await tryNameAsync(() => s.deriveBits({ name: alg.name, public: peer.publicKey }, priv, a.byteLength * 8 + 8)),
          key: (await s.deriveKey({ name: alg.name, public: peer.publicKey }, priv, { name: 'AES-CBC', length: 128 }, false, ['encrypt'])).algorithm,
          withPrivate: await tryNameAsync(() => s.deriveBits({ name: alg.name, public: priv }, priv, 8)),
        };
      }
      return Response.json(out);
    }

    if (pathname === '/subtle-generate') {
      const s = crypto.subtle;
      const out = {};
      const describe = (k) => ({ type: k.type, extractable: k.extractable, usages: k.usages, algorithm: k.algorithm.publicExponent ? { ...k.algorithm, publicExponent: hex(k.algorithm.publicExponent) } : k.algorithm, same: k.algorithm === k.algorithm && k.usages === k.usages, tag: Object.prototype.toString.call(k) });
      // (workerd also has the four attributes as own enumerable properties of each key; WebIDL puts them on the prototype: not compared.)
      for (const [alg, usages] of [
        [{ name: 'ECDSA', namedCurve: 'P-384' }, ['verify', 'sign']], [{ name: 'ECDH', namedCurve: 'P-256' }, ['deriveKey']],
        ['Ed25519', ['sign', 'verify']], [{ name: 'X25519' }, ['deriveBits', 'deriveKey']],
        [{ name: 'RSA-OAEP', hash: 'SHA-256', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, ['encrypt', 'decrypt', 'unwrapKey']],
      ]) {
        const pair = await s.generateKey(alg, false, usages);
        out[alg.name ?? alg] = { keys: Object.keys(pair), publicKey: describe(pair.publicKey), privateKey: describe(pair.privateKey) };
      }
      // (Method lengths: workerd's are all 0, WebIDL's are the required argument counts, which Hearth has; not compared.)
      out.illegal = await tryNameAsync(() => SubtleCrypto.prototype.encrypt.call({}, 'AES-GCM', null, new Uint8Array(1)));
      out.keyGetter = tryName(() => Object.getOwnPropertyDescriptor(CryptoKey.prototype, 'type').get.call({}));
      out.emptyPrivate = await tryNameAsync(() => s.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']));
      out.badUsage = await tryNameAsync(() => s.generateKey('Ed25519', true, ['sign', 'encrypt']));
      out.notExtractable = await tryNameAsync(async () => s.exportKey('pkcs8', (await s.generateKey('Ed25519', false, ['sign'])).privateKey));
      const key = await s.importKey('raw', bytes(16), 'AES-GCM', true, ['encrypt']);
      out.clone = tryName(() => { const c = structuredClone(key); return [c === key, Object.prototype.toString.call(c), c.algorithm]; });
      return Response.json(out);
    }

    if (pathname === '/random') {
      const uuids = Array.from({ length: 20 }, () => crypto.randomUUID());
      const buf = new Uint8Array(64);
      const same = crypto.getRandomValues(buf);
      const u32 = crypto.getRandomValues(new Uint32Array(5));
      return Response.json({
        uuidFormat: uuids.every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u)),
        uuidsDistinct: new Set(uuids).size === uuids.length,
        length: buf.length,
        returnsSameArray: same === buf,
        notAllZero: buf.some((b) => b !== 0),
        u32Length: u32.length,
        tooLarge: tryName(() => crypto.getRandomValues(new Uint8Array(65537)).length),
        float: tryName(() => crypto.getRandomValues(new Float64Array(2)).length),
        maxOk: crypto.getRandomValues(new Uint8Array(65536)).length,
      });
    }

    return new Response('not found', { status: 404 });
  },
};
