// Unit tests of the in-isolate UTF-8 codec, against Node's TextEncoder / TextDecoder.

import { describe, expect, test } from 'vitest';
import { decodeUtf8, encodeUtf8 } from './utf8.js';
import { seededRandom } from '../../test/support/seeded-random.js';

const te = new TextEncoder();
// fatal: invalid input throws; ignoreBOM: keep a leading U+FEFF (decodeUtf8 does not strip it).
const td = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const bytes = (...b: number[]) => new Uint8Array(b);
const enc = (s: string) => new Uint8Array(encodeUtf8(s));

/** encodeUtf8 agrees with TextEncoder, gives an exactly sized ArrayBuffer, and decodes back. */
function checkString(s: string): void {
  const out = encodeUtf8(s);
  expect(out).toBeInstanceOf(ArrayBuffer);
  const want = te.encode(s);
  expect(out.byteLength).toBe(want.length);
  expect(Buffer.from(out).equals(Buffer.from(want))).toBe(true);
  // The decoder agrees with TextDecoder on valid input (TextEncoder output is always valid).
  expect(decodeUtf8(want)).toBe(td.decode(want));
}

/** Well-formed strings round-trip exactly. */
function roundTrip(s: string): void {
  checkString(s);
  expect(decodeUtf8(enc(s))).toBe(s);
}

describe('encodeUtf8 / decodeUtf8 on valid text', () => {
  test('empty string', () => {
    expect(encodeUtf8('').byteLength).toBe(0);
    expect(decodeUtf8(new Uint8Array(0))).toBe('');
  });

  test('ASCII, every code point 0..127', () => {
    let s = '';
    for (let c = 0; c < 128; c++) s += String.fromCharCode(c);
    roundTrip(s);
    roundTrip('{"hello":"world","n":[1,2,3]}');
  });

  test('2-byte characters (U+0080..U+07FF)', () => {
    roundTrip('\u0080');
    roundTrip('\u07ff');
    roundTrip('café, naïve, Ωμέγα, Привет, שלום, مرحبا');
    expect([...enc('é')]).toEqual([0xc3, 0xa9]);
  });

  test('3-byte characters (U+0800..U+FFFF, outside surrogates)', () => {
    roundTrip('\u0800');
    roundTrip('\ud7ff');
    roundTrip('\ue000');
    roundTrip('\uffff');
    roundTrip('\ufeff leading BOM kept');
    roundTrip('日本語のテキスト、中文，한국어 €');
    expect([...enc('€')]).toEqual([0xe2, 0x82, 0xac]);
  });

  test('4-byte characters: emoji and other astral code points as surrogate pairs', () => {
    roundTrip('😀');
    roundTrip('\u{10000}');
    roundTrip('\u{10ffff}');
    roundTrip('👩‍👩‍👧‍👦 family, 🇫🇷 flag, 𝄞 clef, 𠜎 CJK ext B');
    expect([...enc('😀')]).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    expect(decodeUtf8(bytes(0xf0, 0x9f, 0x98, 0x80))).toBe('\ud83d\ude00');
  });

  test('mixed widths back to back', () => {
    roundTrip('a\u00e9\u20ac\u{1f600}b\u{10ffff}\u0080\u07ff\u0800z');
  });
});

describe('encodeUtf8 on lone surrogates (U+FFFD, like TextEncoder)', () => {
  const cases: Array<[string, string]> = [
    ['lone high at end', 'abc\ud83d'],
    ['lone high at start', '\ud83dabc'],
    ['lone low', 'a\ude00b'],
    ['low then high (reversed pair)', '\ude00\ud83d'],
    ['two highs then a low', '\ud83d\ud83d\ude00'],
    ['high followed by non-surrogate non-ASCII', '\ud800\u00e9'],
    ['only a lone surrogate', '\udfff'],
    ['lone surrogate in a long string', 'x'.repeat(5000) + '\ud800' + 'é'.repeat(3000)],
  ];
  test.each(cases)('%s', (_name, s) => {
    checkString(s);
    // Decodes to the string with each lone surrogate replaced by U+FFFD.
    expect(decodeUtf8(enc(s))).toBe(td.decode(te.encode(s)));
    expect(decodeUtf8(enc(s))).toBe(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));
  });

  test('a lone surrogate is EF BF BD', () => {
    expect([...enc('\ud800')]).toEqual([0xef, 0xbf, 0xbd]);
    expect([...enc('\udc00')]).toEqual([0xef, 0xbf, 0xbd]);
  });
});

describe('long strings (past the 4096 chunk size)', () => {
  const lengths = [4095, 4096, 4097, 8192, 8193, 100_000];
  test.each(lengths)('ASCII, %i chars', (n) => {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(32 + (i % 95));
    roundTrip(s);
  });
  test.each(lengths)('non-ASCII (2-, 3- and 4-byte mix), %i units', (n) => {
    const parts = ['é', '€', '😀', 'a'];
    let s = '';
    for (let i = 0; s.length < n; i++) s += parts[i % parts.length];
    roundTrip(s);
  });
  test('mostly ASCII with one non-ASCII char at the very end', () => {
    roundTrip('a'.repeat(20_000) + 'é');
  });
  test('surrogate pairs straddling every chunk boundary', () => {
    // With an odd prefix, the decoder's unit buffer fills to 4096 in the middle of pairs.
    for (const prefix of [0, 1, 4095]) roundTrip('x'.repeat(prefix) + '😀'.repeat(5000));
  });
  test('decodeUtf8 of a subarray (view with an offset)', () => {
    const whole = te.encode('zz' + 'a'.repeat(5000) + 'zz' + 'é'.repeat(3000));
    const view = whole.subarray(2, 5002);
    expect(decodeUtf8(view)).toBe('a'.repeat(5000));
    const view2 = whole.subarray(5004);
    expect(decodeUtf8(view2)).toBe('é'.repeat(3000));
  });
});

describe('decodeUtf8 rejects invalid UTF-8', () => {
  const invalid: Array<[string, number[]]> = [
    ['lone continuation byte', [0x80]],
    ['continuation byte after ASCII', [0x61, 0xbf]],
    ['0xFE', [0xfe]],
    ['0xFF', [0xff]],
    ['overlong 2-byte NUL (C0 80)', [0xc0, 0x80]],
    ['overlong 2-byte "/" (C1 AF)', [0xc1, 0xaf]],
    ['overlong 3-byte (E0 80 80)', [0xe0, 0x80, 0x80]],
    ['overlong 3-byte U+07FF (E0 9F BF)', [0xe0, 0x9f, 0xbf]],
    ['overlong 4-byte (F0 80 80 80)', [0xf0, 0x80, 0x80, 0x80]],
    ['overlong 4-byte U+FFFF (F0 8F BF BF)', [0xf0, 0x8f, 0xbf, 0xbf]],
    ['truncated 2-byte', [0xc3]],
    ['truncated 3-byte (1 of 2 continuation)', [0xe2, 0x82]],
    ['truncated 3-byte (no continuation)', [0x61, 0xe2]],
    ['truncated 4-byte', [0xf0, 0x9f, 0x98]],
    ['truncated 4-byte followed by ASCII', [0xf0, 0x9f, 0x98, 0x41]],
    ['bad continuation in 2-byte', [0xc3, 0x41]],
    ['bad continuation in 3-byte (2nd)', [0xe2, 0x41, 0xac]],
    ['bad continuation in 3-byte (3rd)', [0xe2, 0x82, 0xc3]],
    ['bad continuation in 4-byte', [0xf0, 0x9f, 0x41, 0x80]],
    ['above U+10FFFF (F4 90 80 80)', [0xf4, 0x90, 0x80, 0x80]],
    ['F5 lead byte', [0xf5, 0x80, 0x80, 0x80]],
    ['F7 BF BF BF (U+1FFFFF)', [0xf7, 0xbf, 0xbf, 0xbf]],
    ['5-byte form (F8)', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['6-byte form (FC)', [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
    ['surrogate U+D800 (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['surrogate U+DFFF (ED BF BF)', [0xed, 0xbf, 0xbf]],
    ['CESU-8 surrogate pair for U+1F600', [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
  ];
  test.each(invalid)('%s', (_name, b) => {
    const u = new Uint8Array(b);
    // Sanity: the reference decoder rejects it too.
    expect(() => td.decode(u)).toThrow(TypeError);
    expect(() => decodeUtf8(u)).toThrow(TypeError);
  });

  test('invalid bytes deep inside a long, otherwise valid string', () => {
    const good = te.encode('é'.repeat(3000) + 'a'.repeat(3000));
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      const u = new Uint8Array(good.length + bad.length);
      u.set(good.subarray(0, 5000));
      u.set(bad, 5000);
      u.set(good.subarray(5000), 5000 + bad.length);
      expect(() => decodeUtf8(u)).toThrow(TypeError);
    }
    // A long pure-ASCII prefix (the fast-path scan) does not hide a bad byte at the end.
    const tail = new Uint8Array(10_001).fill(0x61);
    tail[10_000] = 0xff;
    expect(() => decodeUtf8(tail)).toThrow(TypeError);
  });

  test('boundary code points just inside the valid ranges decode', () => {
    expect(decodeUtf8(bytes(0xc2, 0x80))).toBe('\u0080');
    expect(decodeUtf8(bytes(0xe0, 0xa0, 0x80))).toBe('\u0800');
    expect(decodeUtf8(bytes(0xed, 0x9f, 0xbf))).toBe('\ud7ff');
    expect(decodeUtf8(bytes(0xee, 0x80, 0x80))).toBe('\ue000');
    expect(decodeUtf8(bytes(0xf0, 0x90, 0x80, 0x80))).toBe('\u{10000}');
    expect(decodeUtf8(bytes(0xf4, 0x8f, 0xbf, 0xbf))).toBe('\u{10ffff}');
  });
});

describe('randomized against TextEncoder / TextDecoder (fixed seed)', () => {
  const rng = seededRandom;

  function randomString(r: () => number, wellFormed: boolean): string {
    const len = r() < 0.05 ? Math.floor(r() * 10_000) : Math.floor(r() * 64);
    const units: number[] = [];
    const asciiOnly = r() < 0.2;
    for (let i = 0; i < len; i++) {
      const k = r();
      let cp: number;
      if (asciiOnly || k < 0.4) cp = Math.floor(r() * 0x80);
      else if (k < 0.6) cp = 0x80 + Math.floor(r() * (0x800 - 0x80));
      else if (k < 0.8) {
        cp = 0x800 + Math.floor(r() * (0x10000 - 0x800));
        if (cp >= 0xd800 && cp <= 0xdfff) {
          if (wellFormed) cp = 0xfffd;
          // else: keep the lone surrogate on purpose
        }
      } else cp = 0x10000 + Math.floor(r() * (0x110000 - 0x10000));
      if (cp > 0xffff) {
        const v = cp - 0x10000;
        units.push(0xd800 | (v >> 10), 0xdc00 | (v & 0x3ff));
      } else units.push(cp);
    }
    let s = '';
    for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
    return s;
  }

  test('3,000 well-formed strings round-trip and match the reference', () => {
    const r = rng(0x5eed);
    for (let n = 0; n < 3000; n++) {
      const s = randomString(r, true);
      const out = encodeUtf8(s);
      const want = te.encode(s);
      if (out.byteLength !== want.length || !Buffer.from(out).equals(Buffer.from(want))) {
        throw new Error(`encode mismatch for string #${n} (${JSON.stringify(s.slice(0, 40))}…)`);
      }
      const back = decodeUtf8(new Uint8Array(out));
      if (back !== s) throw new Error(`round-trip mismatch for string #${n}`);
    }
  });

  test('1,000 strings with lone surrogates encode like TextEncoder', () => {
    const r = rng(0xbad5);
    for (let n = 0; n < 1000; n++) {
      const s = randomString(r, false);
      const out = encodeUtf8(s);
      const want = te.encode(s);
      if (!Buffer.from(out).equals(Buffer.from(want))) throw new Error(`encode mismatch for string #${n}`);
      expect(decodeUtf8(want)).toBe(td.decode(want));
    }
  });

  test('2,000 random byte sequences: decodeUtf8 throws exactly when TextDecoder(fatal) does, else agrees', () => {
    const r = rng(0xb17e5);
    // Bias towards bytes that form (or nearly form) multi-byte sequences.
    const pool = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff];
    for (let n = 0; n < 2000; n++) {
      const len = 1 + Math.floor(r() * 12);
      const u = new Uint8Array(len);
      for (let i = 0; i < len; i++) u[i] = r() < 0.7 ? pool[Math.floor(r() * pool.length)]! : Math.floor(r() * 256);
      let want: string | Error;
      try { want = td.decode(u); } catch (e) { want = e as Error; }
      let got: string | Error;
      try { got = decodeUtf8(u); } catch (e) { got = e as Error; }
      if (typeof want === 'string') {
        if (got !== want) throw new Error(`bytes [${[...u].map((b) => b.toString(16)).join(' ')}]: expected ${JSON.stringify(want)}, got ${got instanceof Error ? got.message : JSON.stringify(got)}`);
      } else if (!(got instanceof TypeError)) {
        throw new Error(`bytes [${[...u].map((b) => b.toString(16)).join(' ')}]: expected a TypeError, got ${JSON.stringify(got)}`);
      }
    }
  });
});
