// TextEncoder, TextDecoder, atob and btoa of encoding.ts against Node's own, on fixed and on
// seeded random inputs (bytes chosen to hit every branch of the UTF-8 decoder).

import { describe, expect, test } from 'vitest';
import { DOMException } from './dom-exception.js';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.js';

const NodeTextDecoder = globalThis.TextDecoder;
const NodeTextEncoder = globalThis.TextEncoder;

/** mulberry32: a small seeded PRNG, so failures can be replayed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Lead bytes, continuation bytes at the edges of the special ranges, and never-valid bytes.
const INTERESTING = [
  0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
  0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff, 0xef, 0xbb, 0xbf,
];

function randomBytes(rand: () => number, maxLen: number): Uint8Array {
  const out = new Uint8Array(Math.floor(rand() * (maxLen + 1)));
  for (let i = 0; i < out.length; i++) {
    out[i] = rand() < 0.7 ? INTERESTING[Math.floor(rand() * INTERESTING.length)]! : Math.floor(rand() * 256);
  }
  return out;
}

function nodeDecode(bytes: Uint8Array, fatal: boolean, ignoreBOM = false): string | 'TypeError' {
  try { return new NodeTextDecoder('utf-8', { fatal, ignoreBOM }).decode(bytes); } catch (e) { return (e as Error).name; }
}

function ourDecode(chunks: Uint8Array[], fatal: boolean, ignoreBOM = false): string | 'TypeError' {
  const d = new TextDecoder('utf-8', { fatal, ignoreBOM });
  try {
    let out = '';
    chunks.forEach((c, i) => { out += d.decode(c, { stream: i < chunks.length - 1 }); });
    return out;
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return 'TypeError';
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('TextDecoder', () => {
  test('random bytes, replacement and fatal modes, whole input', () => {
    const rand = prng(1);
    for (let n = 0; n < 20000; n++) {
      const bytes = randomBytes(rand, 24);
      for (const fatal of [false, true]) {
        const want = nodeDecode(bytes, fatal);
        const got = ourDecode([bytes], fatal);
        if (got !== want) expect({ bytes: hex(bytes), fatal, got }).toEqual({ bytes: hex(bytes), fatal, got: want });
      }
    }
  });

  test('random bytes split at every position (streaming)', () => {
    const rand = prng(2);
    for (let n = 0; n < 1500; n++) {
      const bytes = randomBytes(rand, 16);
      for (const fatal of [false, true]) {
        const want = nodeDecode(bytes, fatal);
        for (let cut = 0; cut <= bytes.length; cut++) {
          const got = ourDecode([bytes.subarray(0, cut), bytes.subarray(cut)], fatal);
          if (got !== want) expect({ bytes: hex(bytes), cut, fatal, got }).toEqual({ bytes: hex(bytes), cut, fatal, got: want });
        }
      }
    }
  });

  test('random bytes in many random chunks, also against Node streaming', () => {
    const rand = prng(3);
    for (let n = 0; n < 3000; n++) {
      const bytes = randomBytes(rand, 40);
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length;) {
        const len = Math.floor(rand() * 4);
        chunks.push(bytes.subarray(i, i + len));
        i += len;
      }
      chunks.push(new Uint8Array(0));
      const node = new NodeTextDecoder();
      const nodeOut = chunks.map((c, i) => node.decode(c, { stream: i < chunks.length - 1 })).join('');
      expect(ourDecode(chunks, false)).toBe(nodeOut);
      expect(nodeOut).toBe(nodeDecode(bytes, false));
    }
  });

  test('valid text of every length class, large inputs, and a long run of errors', () => {
    const rand = prng(4);
    const pieces = ['a', 'é', '€', '𝄞', '\u0000', '\uffff', '\u{10ffff}', 'ü', '中文'];
    let s = '';
    for (let i = 0; i < 50000; i++) s += pieces[Math.floor(rand() * pieces.length)];
    const bytes = new NodeTextEncoder().encode(s);
    expect(new TextDecoder().decode(bytes)).toBe(s);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toBe(s);
    const ascii = new Uint8Array(100000).fill(0x61);
    expect(new TextDecoder().decode(ascii)).toBe('a'.repeat(100000));
    const bad = new Uint8Array(20000).map((_, i) => (i % 3 === 0 ? 0xe2 : i % 3 === 1 ? 0x82 : 0x41));
    expect(new TextDecoder().decode(bad)).toBe(new NodeTextDecoder().decode(bad));
    expect(new TextDecoder().decode(bytes.subarray(0, bytes.length - 1))).toBe(new NodeTextDecoder().decode(bytes.subarray(0, bytes.length - 1)));
  });

  test('maximal subparts, as in the Encoding spec examples', () => {
    const d = new TextDecoder();
    expect(d.decode(new Uint8Array([0xf0, 0x9f, 0x98]))).toBe('\ufffd');
    expect(d.decode(new Uint8Array([0xf0, 0x9f, 0x41]))).toBe('\ufffdA');
    expect(d.decode(new Uint8Array([0xed, 0xa0, 0x80]))).toBe('\ufffd\ufffd\ufffd');
    expect(d.decode(new Uint8Array([0xc0, 0xaf]))).toBe('\ufffd\ufffd');
    expect(d.decode(new Uint8Array([0xe0, 0x80, 0x80]))).toBe('\ufffd\ufffd\ufffd');
    expect(d.decode(new Uint8Array([0xf4, 0x90, 0x80, 0x80]))).toBe('\ufffd\ufffd\ufffd\ufffd');
    expect(d.decode(new Uint8Array([0xe2, 0x82]))).toBe('\ufffd');
  });

  test('BOM: stripped once at the start of each stream unless ignoreBOM', () => {
    const bom = [0xef, 0xbb, 0xbf];
    const cases = [[...bom, 0x41], [...bom, ...bom, 0x41], [0x41, ...bom], [...bom], [0xef, 0xbb], [0xef, 0xbb, 0x41]];
    for (const c of cases) {
      const bytes = new Uint8Array(c);
      for (const ignoreBOM of [false, true]) {
        expect(ourDecode([bytes], false, ignoreBOM)).toBe(nodeDecode(bytes, false, ignoreBOM));
        for (let cut = 0; cut <= bytes.length; cut++) {
          expect(ourDecode([bytes.subarray(0, cut), bytes.subarray(cut)], false, ignoreBOM)).toBe(nodeDecode(bytes, false, ignoreBOM));
        }
      }
    }
    // A finished decode() ends the stream: the next one strips a BOM again.
    const d = new TextDecoder();
    expect(d.decode(new Uint8Array([...bom, 0x41]))).toBe('A');
    expect(d.decode(new Uint8Array([...bom, 0x42]))).toBe('B');
    // While streaming, only the first one is a BOM.
    expect(d.decode(new Uint8Array(bom), { stream: true })).toBe('');
    expect(d.decode(new Uint8Array(bom), { stream: true })).toBe('\ufeff');
    expect(d.decode()).toBe('');
  });

  test('a streamed partial sequence is flushed as U+FFFD (or throws) at the end', () => {
    const d = new TextDecoder();
    expect(d.decode(new Uint8Array([0xe2, 0x82]), { stream: true })).toBe('');
    expect(d.decode()).toBe('\ufffd');
    expect(d.decode(new Uint8Array([0x82, 0xac]))).toBe('\ufffd\ufffd');
    const f = new TextDecoder('utf-8', { fatal: true });
    expect(f.decode(new Uint8Array([0xe2, 0x82]), { stream: true })).toBe('');
    expect(() => f.decode()).toThrow(TypeError);
    expect(f.decode(new Uint8Array([0x41]))).toBe('A'); // it starts afresh
    expect(f.decode(new Uint8Array([0xe2, 0x82]), { stream: true })).toBe('');
    expect(f.decode(new Uint8Array([0xac]))).toBe('€');
  });

  test('labels, attributes and options', () => {
    for (const label of ['utf-8', 'UTF-8', ' utf8 ', '\tUnicode-1-1-UTF-8\n', 'unicode11utf8', 'unicode20utf8', 'x-unicode20utf8']) {
      expect(new TextDecoder(label).encoding).toBe('utf-8');
    }
    for (const label of ['latin1', 'utf-16le', 'ascii', 'utf-8x', 'foo', '', 'utf\u00a08']) {
      expect(() => new TextDecoder(label)).toThrow(RangeError);
    }
    const d = new TextDecoder(undefined, { fatal: 1 as unknown as boolean, ignoreBOM: 'yes' as unknown as boolean });
    expect([d.encoding, d.fatal, d.ignoreBOM]).toEqual(['utf-8', true, true]);
    expect([new TextDecoder().fatal, new TextDecoder().ignoreBOM]).toEqual([false, false]);
    expect(Object.prototype.toString.call(d)).toBe('[object TextDecoder]');
  });

  test('accepts any BufferSource, with offsets; rejects other values', () => {
    const d = new TextDecoder();
    const bytes = new NodeTextEncoder().encode('xhéllo€x');
    const buf = new ArrayBuffer(bytes.length + 8);
    new Uint8Array(buf).set(bytes, 4);
    expect(d.decode(new Uint8Array(buf, 5, bytes.length - 2))).toBe('héllo€');
    expect(d.decode(new DataView(buf, 5, bytes.length - 2))).toBe('héllo€');
    expect(d.decode(bytes.buffer)).toBe('xhéllo€x');
    expect(d.decode(new Uint16Array([0x6968]))).toBe('hi');
    expect(d.decode(Buffer.from('ok'))).toBe('ok');
    expect(d.decode(undefined)).toBe('');
    expect(d.decode(new SharedArrayBuffer(2))).toBe('\0\0');
    for (const bad of ['abc', 123, {}, [1, 2], { byteLength: 1 }]) {
      expect(() => d.decode(bad as never)).toThrow(TypeError);
    }
  });
});

/** Strings with lone surrogates, pairs, and every UTF-8 length. */
function randomString(rand: () => number, maxLen: number): string {
  const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xfffd, 0xffff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe9, 0x20ac];
  let s = '';
  const n = Math.floor(rand() * (maxLen + 1));
  for (let i = 0; i < n; i++) {
    const r = rand();
    if (r < 0.2) s += String.fromCodePoint(0x10000 + Math.floor(rand() * 0x100000));
    else if (r < 0.7) s += String.fromCharCode(units[Math.floor(rand() * units.length)]!);
    else s += String.fromCharCode(Math.floor(rand() * 0x10000));
  }
  return s;
}

describe('TextEncoder', () => {
  const node = new NodeTextEncoder();
  const ours = new TextEncoder();

  test('encode matches Node on random strings (lone surrogates become U+FFFD)', () => {
    const rand = prng(5);
    for (let n = 0; n < 5000; n++) {
      const s = randomString(rand, 20);
      expect(hex(ours.encode(s))).toBe(hex(node.encode(s)));
    }
    expect(ours.encode()).toEqual(new Uint8Array(0));
    expect(Array.from(ours.encode(12 as unknown as string))).toEqual([0x31, 0x32]);
    expect(Array.from(ours.encode('\ud800'))).toEqual([0xef, 0xbf, 0xbd]);
    expect(ours.encode('x')).toBeInstanceOf(Uint8Array);
    expect(ours.encoding).toBe('utf-8');
    expect(Object.prototype.toString.call(ours)).toBe('[object TextEncoder]');
  });

  test('encodeInto matches Node for every destination size, never writing part of a code point', () => {
    const rand = prng(6);
    for (let n = 0; n < 1000; n++) {
      const s = randomString(rand, 8);
      const full = node.encode(s).length;
      for (let size = 0; size <= full + 1; size++) {
        const a = new Uint8Array(size + 2).fill(0xaa);
        const b = new Uint8Array(size + 2).fill(0xaa);
        const got = ours.encodeInto(s, a.subarray(1, 1 + size));
        const want = node.encodeInto(s, b.subarray(1, 1 + size));
        expect({ s: [...s].map((c) => c.codePointAt(0)), size, ...got }).toEqual({ s: [...s].map((c) => c.codePointAt(0)), size, read: want.read, written: want.written });
        expect(hex(a)).toBe(hex(b));
      }
    }
  });

  test('encodeInto: the destination must be a Uint8Array', () => {
    expect(() => ours.encodeInto('a', new Uint16Array(2) as never)).toThrow(TypeError);
    expect(() => ours.encodeInto('a', [] as never)).toThrow(TypeError);
    expect(ours.encodeInto('héllo', Buffer.alloc(3))).toEqual({ read: 2, written: 3 });
  });
});

describe('atob / btoa', () => {
  function same(fn: 'atob' | 'btoa', input: unknown): void {
    let want: unknown;
    let got: unknown;
    try { want = globalThis[fn](input as string); } catch (e) { want = `${(e as Error).name}`; }
    try { got = (fn === 'atob' ? atob : btoa)(input); } catch (e) {
      expect(e).toBeInstanceOf(DOMException);
      expect((e as DOMException).code).toBe(5);
      got = `${(e as Error).name}`;
    }
    expect({ fn, input, got }).toEqual({ fn, input, got: want });
  }

  test('btoa matches Node on binary strings and rejects code points above 0xFF', () => {
    const rand = prng(7);
    for (let n = 0; n < 3000; n++) {
      let s = '';
      const len = Math.floor(rand() * 20);
      for (let i = 0; i < len; i++) s += String.fromCharCode(Math.floor(rand() * (rand() < 0.05 ? 0x200 : 0x100)));
      same('btoa', s);
    }
    for (const v of ['', 'a', 'ab', 'abc', 'hi', '\u00ff\u00fe', '\u0100', '€', null, undefined, 123, { toString: () => 'x' }]) same('btoa', v);
    expect(btoa('hi')).toBe('aGk=');
    const big = String.fromCharCode(...Array.from({ length: 60000 }, (_, i) => i & 0xff));
    expect(btoa(big)).toBe(Buffer.from(big, 'latin1').toString('base64'));
    expect(() => (btoa as () => string)()).toThrow(TypeError);
  });

  test('atob matches Node: whitespace, padding, bad characters, bad lengths', () => {
    const rand = prng(8);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const extra = ['=', ' ', '\t', '\n', '\f', '\r', '\v', '-', '_', '\u00a0', '*', 'é'];
    for (let n = 0; n < 20000; n++) {
      let s = '';
      const len = Math.floor(rand() * 14);
      for (let i = 0; i < len; i++) {
        s += rand() < 0.85 ? alphabet[Math.floor(rand() * 64)] : extra[Math.floor(rand() * extra.length)];
      }
      same('atob', s);
    }
    for (const v of ['', 'aGk=', 'aGk', 'aGk==', 'aG=k', ' a G k = ', 'a', 'ab', 'abc', 'ab==', 'ab=', 'abc=',
      'abcd=', '====', '=', 'YQ', 'YR', 'YR==', null, undefined, 12, 'A\u00a0A']) same('atob', v);
    const bin = String.fromCharCode(...Array.from({ length: 60000 }, (_, i) => (i * 7) & 0xff));
    expect(atob(Buffer.from(bin, 'latin1').toString('base64'))).toBe(bin);
    expect(() => (atob as () => string)()).toThrow(TypeError);
  });
});
