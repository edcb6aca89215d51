// TextEncoder, TextDecoder, atob and btoa of encoding.ts against Node's own, on fixed and on
// seeded random inputs (bytes chosen to hit every branch of the UTF-8 decoder).

import { describe, expect, test, vi } from 'vitest';
import { DOMException } from './dom-exception.js';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.js';
import { TextDecoderStream, TextEncoderStream } from './encoding-streams.js';
import { structuredClone } from './clone.js';
import { allLabels } from './encodings/labels.js';
import { SINGLE_BYTE_INDEXES } from './encodings/single-byte-indexes.js';

// In Node there is no host to load the `encodings` and `encodings-cjk` extras: their factory
// modules stand in for them.
let loads = 0;
vi.mock('../extras.js', async () => {
  const legacy = await import('./encodings/legacy.js');
  const cjk = await import('./encodings/cjk.js');
  const extras: Record<string, unknown> = {
    encodings: { encodingOfLabel: legacy.encodingOfLabel, isInEncodingsExtra: legacy.isInEncodingsExtra, makeLegacyDecoder: legacy.makeLegacyDecoder },
    'encodings-cjk': { makeCjkDecoder: cjk.makeCjkDecoder },
  };
  return { loadExtra: (name: string) => { if (!(name in extras)) throw new Error(name); if (name === 'encodings') loads++; return extras[name]; } };
});

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
  test('decode() with no argument (or undefined) is empty; null is not a BufferSource (WebIDL): TypeError', () => {
    const d = new TextDecoder();
    expect([d.decode(), d.decode(undefined)]).toEqual(['', '']);
    expect(() => d.decode(null as never)).toThrow(TypeError);
    expect(() => d.decode('ab' as never)).toThrow(TypeError);
  });

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
    for (const label of ['utf-8x', 'foo', '', 'utf\u00a08', 'replacement', 'iso-2022-kr']) {
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

const units = (s: string) => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i));
const ALL_BYTES = new Uint8Array(256).map((_, i) => i);

/** Decodes `chunks` as one stream; the TypeError of a fatal decoder as 'TypeError'. */
function decodeChunks(label: string, chunks: Uint8Array[], opts: { fatal?: boolean; ignoreBOM?: boolean } = {}): string {
  const d = new TextDecoder(label, opts);
  try {
    return chunks.map((c, i) => d.decode(c, { stream: i < chunks.length - 1 })).join('');
  } catch (e) {
    expect(e).toBeInstanceOf(TypeError);
    return 'TypeError';
  }
}

/** Random inputs of bytes from each label's pool, split at every position, decode as whole (both modes). */
function splitEverywhere(pools: Record<string, number[]>, rand: () => number): void {
  for (const [label, pool] of Object.entries(pools)) {
    for (let n = 0; n < 800; n++) {
      const bytes = new Uint8Array(Math.floor(rand() * 12)).map(() => pool[Math.floor(rand() * pool.length)]!);
      for (const fatal of [false, true]) {
        const want = decodeChunks(label, [bytes], { fatal });
        for (let cut = 0; cut <= bytes.length; cut++) {
          const got = decodeChunks(label, [bytes.subarray(0, cut), bytes.subarray(cut)], { fatal });
          if (got !== want) expect({ label, bytes: hex(bytes), cut, fatal, got }).toEqual({ label, bytes: hex(bytes), cut, fatal, got: want });
        }
      }
    }
  }
}

describe('TextDecoder: the Encoding Standard labels (§4.2)', () => {
  // A sample of every encoding's labels, from the spec's table, with whitespace and case.
  const SAMPLES: Record<string, string[]> = {
    'utf-8': ['unicode-1-1-utf-8', 'UNICODE11UTF8', 'unicode20utf8', ' utf8', 'x-unicode20utf8'],
    ibm866: ['866', 'CP866', 'csibm866'],
    'iso-8859-2': ['latin2', '\fISO_8859-2:1987 ', 'l2'],
    'iso-8859-3': ['iso-ir-109', 'L3'],
    'iso-8859-4': ['csisolatin4', 'iso88594'],
    'iso-8859-5': ['cyrillic', 'ISO_8859-5'],
    'iso-8859-6': ['arabic', 'asmo-708', 'iso-8859-6-i', 'ECMA-114'],
    'iso-8859-7': ['greek8', 'sun_eu_greek', 'ELOT_928'],
    'iso-8859-8': ['visual', 'hebrew', 'iso-8859-8-e'],
    'iso-8859-8-i': ['logical', 'csiso88598i'],
    'iso-8859-10': ['latin6', 'iso885910'],
    'iso-8859-13': ['iso8859-13'],
    'iso-8859-14': ['iso885914'],
    'iso-8859-15': ['l9', 'csisolatin9'],
    'iso-8859-16': ['ISO-8859-16'],
    'koi8-r': ['koi', 'KOI8_R', 'cskoi8r'],
    'koi8-u': ['koi8-ru', 'koi8-u'],
    macintosh: ['mac', 'x-mac-roman'],
    'windows-874': ['tis-620', 'iso-8859-11', 'dos-874'],
    'windows-1250': ['x-cp1250'],
    'windows-1251': ['cp1251'],
    'windows-1252': ['latin1', 'ASCII', 'us-ascii', 'iso-8859-1', 'ansi_x3.4-1968', '\t\n\f\r cp819 \r\n'],
    'windows-1253': ['cp1253'],
    'windows-1254': ['latin5', 'iso-8859-9'],
    'windows-1255': ['cp1255'],
    'windows-1256': ['x-cp1256'],
    'windows-1257': ['windows-1257'],
    'windows-1258': ['cp1258'],
    'x-mac-cyrillic': ['x-mac-ukrainian'],
    'utf-16le': ['utf-16', 'UTF-16LE', 'ucs-2', 'unicode', 'csunicode', 'iso-10646-ucs-2', 'unicodefeff'],
    'utf-16be': ['utf-16be', 'unicodefffe'],
    'x-user-defined': ['X-User-Defined'],
  };

  test('a sample of every encoding’s labels, whitespace-trimmed and case-insensitive', () => {
    for (const [name, labels] of Object.entries(SAMPLES)) {
      for (const label of labels) expect({ label, encoding: new TextDecoder(label).encoding }).toEqual({ label, encoding: name });
    }
  });

  test('the table has the spec’s 227 labels; every one Node knows names the same encoding in Node', () => {
    const table = allLabels();
    expect(table.size).toBe(227);
    expect(new Set(table.values()).size).toBe(40); // 39 encodings and "replacement"
    for (const [label, name] of table) {
      let node: string;
      try { node = new NodeTextDecoder(label).encoding; } catch { node = 'RangeError'; }
      // Node (ICU) has no ISO-8859-16 nor x-user-defined; "replacement" is no TextDecoder's.
      const want = name === 'replacement' ? 'RangeError' : name;
      if (node !== 'RangeError' || want === 'RangeError') expect({ label, node }).toEqual({ label, node: want });
    }
  });

  test('"replacement" labels, unknown labels and non-ASCII whitespace are RangeErrors', () => {
    for (const label of ['replacement', 'hz-gb-2312', 'iso-2022-cn', 'iso-2022-cn-ext', 'csiso2022kr', 'utf-32', 'utf-7',
      'x-mac-roman2', '\u00a0utf-8', 'utf-8\v', 'latin\u0131', 'ut\u212a-8']) {
      expect(() => new TextDecoder(label), label).toThrow(RangeError);
    }
  });

  test('the multi-byte encodings’ labels, big5’s and euc-kr’s included', () => {
    expect([new TextDecoder('GB2312').encoding, new TextDecoder('x-gbk').encoding, new TextDecoder('gb18030').encoding]).toEqual(['gbk', 'gbk', 'gb18030']);
    expect([new TextDecoder('sjis').encoding, new TextDecoder('ms932').encoding, new TextDecoder('x-euc-jp').encoding, new TextDecoder('csiso2022jp').encoding])
      .toEqual(['shift_jis', 'shift_jis', 'euc-jp', 'iso-2022-jp']);
    for (const label of ['big5', 'Big5-HKSCS', 'cn-big5', 'csbig5', 'x-x-big5']) expect(new TextDecoder(label).encoding, label).toBe('big5');
    for (const label of ['cseuckr', 'csksc56011987', 'EUC-KR', 'iso-ir-149', 'korean', 'ks_c_5601-1987', 'ks_c_5601-1989', 'ksc5601', 'ksc_5601', 'windows-949']) {
      expect(new TextDecoder(label).encoding, label).toBe('euc-kr');
    }
  });

  test('the labels of UTF-8, UTF-16 and x-user-defined are known without the extra; others ask it', () => {
    const before = loads;
    for (const label of ['utf-8', ' UTF8', 'unicode11utf8', 'UTF-16', 'ucs-2', 'unicodefffe', 'utf-16be', 'x-user-defined']) new TextDecoder(label);
    expect(loads).toBe(before);
    new TextDecoder('latin1');
    expect(() => new TextDecoder('nope')).toThrow(RangeError);
    expect(loads).toBe(before + 2);
    // The runtime's own labels are exactly the table's for those four encodings.
    const local = new Set(['utf-8', 'utf-16le', 'utf-16be', 'x-user-defined']);
    for (const [label, name] of allLabels()) {
      const n = loads;
      if (name === 'replacement') expect(() => new TextDecoder(label)).toThrow(RangeError);
      else expect(new TextDecoder(label).encoding).toBe(name);
      expect({ label, loaded: loads > n }).toEqual({ label, loaded: !local.has(name) });
    }
  });

  test('the options are converted before the label is looked up (WebIDL): their TypeError first', () => {
    expect(() => new TextDecoder('nope', 5 as never)).toThrow(TypeError);
    const read: string[] = [];
    const options = { get fatal() { read.push('fatal'); return true; }, get ignoreBOM() { read.push('ignoreBOM'); return false; } };
    expect(() => new TextDecoder('nope', options)).toThrow(RangeError);
    expect(read).toEqual(['fatal', 'ignoreBOM']);
  });

  test('encoding, fatal and ignoreBOM getters; brand checks', () => {
    const d = new TextDecoder('UTF-16BE', { fatal: true, ignoreBOM: true });
    expect([d.encoding, d.fatal, d.ignoreBOM]).toEqual(['utf-16be', true, true]);
    const get = (k: string) => Object.getOwnPropertyDescriptor(TextDecoder.prototype, k)!.get!;
    for (const k of ['encoding', 'fatal', 'ignoreBOM']) expect(() => get(k).call({})).toThrow(TypeError);
    expect(() => TextDecoder.prototype.decode.call({}, new Uint8Array(1))).toThrow(TypeError);
  });
});

describe('TextDecoder: UTF-16LE and UTF-16BE (§14.2)', () => {
  const le = (s: string) => new Uint8Array(Buffer.from(s, 'utf16le'));
  const be = (s: string) => { const b = le(s); for (let i = 0; i + 1 < b.length; i += 2) [b[i], b[i + 1]] = [b[i + 1]!, b[i]!]; return b; };
  const text = 'hé€\u{1d11e}\u0000\uffff中';

  test('decodes whole input, little- and big-endian', () => {
    expect(new TextDecoder('utf-16le').decode(le(text))).toBe(text);
    expect(new TextDecoder('utf-16be').decode(be(text))).toBe(text);
    expect(new TextDecoder('utf-16').decode(new Uint16Array([0x68, 0x69]))).toBe('hi');
  });

  test('BOM: U+FEFF stripped once at the start, only in its own byte order; ignoreBOM keeps it', () => {
    expect(new TextDecoder('utf-16le').decode(new Uint8Array([0xff, 0xfe, 0x41, 0]))).toBe('A');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0xfe, 0xff, 0, 0x41]))).toBe('A');
    // The other order's BOM is U+FFFE, a character: kept (TextDecoder never switches encodings).
    expect(new TextDecoder('utf-16le').decode(new Uint8Array([0xfe, 0xff, 0x41, 0]))).toBe('\ufffeA');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0xff, 0xfe, 0, 0x41]))).toBe('\ufffeA');
    // Nor does a UTF-8 BOM mean anything to UTF-16, nor a UTF-16 BOM to windows-1252.
    expect(new TextDecoder('utf-16le').decode(new Uint8Array([0xef, 0xbb, 0xbf, 0]))).toBe('\ubbef\u00bf');
    expect(new TextDecoder('windows-1252').decode(new Uint8Array([0xff, 0xfe, 0x41]))).toBe('ÿþA');
    expect(new TextDecoder('windows-1252').decode(new Uint8Array([0xef, 0xbb, 0xbf]))).toBe('ï»¿');
    expect(new TextDecoder('utf-16le', { ignoreBOM: true }).decode(new Uint8Array([0xff, 0xfe, 0x41, 0]))).toBe('\ufeffA');
    expect(new TextDecoder('utf-16le').decode(new Uint8Array([0xff, 0xfe, 0xff, 0xfe]))).toBe('\ufeff');
    const d = new TextDecoder('utf-16le');
    expect(d.decode(new Uint8Array([0xff]), { stream: true })).toBe('');
    expect(d.decode(new Uint8Array([0xfe]), { stream: true })).toBe('');
    expect(d.decode(new Uint8Array([0xff, 0xfe]), { stream: true })).toBe('\ufeff');
    expect(d.decode(new Uint8Array([0xff, 0xfe]))).toBe('\ufeff');
    expect(d.decode(new Uint8Array([0xff, 0xfe, 0x42, 0]))).toBe('B'); // a new stream
  });

  test('lone surrogates and an odd last byte become U+FFFD, as in Node', () => {
    const cases = [
      [0x00, 0xd8], [0x00, 0xdc], [0x00, 0xd8, 0x41, 0x00], [0x00, 0xd8, 0x00, 0xd8, 0x00, 0xdc],
      [0x00, 0xdc, 0x00, 0xd8], [0x41], [0x41, 0x00, 0x42], [0x00, 0xd8, 0x41], [0x3d, 0xd8, 0x00, 0xde],
    ];
    for (const c of cases) {
      const bytes = new Uint8Array(c);
      expect({ c, got: new TextDecoder('utf-16le').decode(bytes) }).toEqual({ c, got: new NodeTextDecoder('utf-16le').decode(bytes) });
    }
    expect(new TextDecoder('utf-16le').decode(new Uint8Array([0x00, 0xd8, 0x41, 0x00]))).toBe('\ufffdA');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0xd8, 0x00, 0x00, 0x41]))).toBe('\ufffdA');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0xdc, 0x00, 0xd8, 0x3d, 0xde, 0x00]))).toBe('\ufffd\u{1f600}');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0x00, 0x41, 0x00]))).toBe('A\ufffd');
    expect(new TextDecoder('utf-16be').decode(new Uint8Array([0xd8, 0x00, 0x00]))).toBe('\ufffd');
  });

  test('fatal: every such error is a TypeError; the next decode starts afresh', () => {
    for (const c of [[0x00, 0xd8], [0x00, 0xdc], [0x00, 0xd8, 0x41, 0x00], [0x41], [0x41, 0x00, 0x00, 0xdc, 0x42, 0x00]]) {
      expect(() => new TextDecoder('utf-16le', { fatal: true }).decode(new Uint8Array(c)), String(c)).toThrow(TypeError);
    }
    const d = new TextDecoder('utf-16be', { fatal: true });
    expect(d.decode(new Uint8Array([0xd8, 0x3d]), { stream: true })).toBe('');
    expect(() => d.decode()).toThrow(TypeError);
    expect(d.decode(new Uint8Array([0x00, 0x41]))).toBe('A');
    expect(new TextDecoder('utf-16le', { fatal: true }).decode(new Uint8Array([0x3d, 0xd8, 0x00, 0xde]))).toBe('\u{1f600}');
  });

  test('streaming: split at every byte position and in one-byte chunks, the same as whole', () => {
    const rand = prng(9);
    const pool = [0x00, 0x41, 0xd8, 0xdb, 0xdc, 0xdf, 0xfe, 0xff, 0x3d, 0xde, 0x20];
    for (let n = 0; n < 1500; n++) {
      const bytes = new Uint8Array(Math.floor(rand() * 13)).map(() => pool[Math.floor(rand() * pool.length)]!);
      for (const label of ['utf-16le', 'utf-16be']) {
        for (const fatal of [false, true]) {
          const want = decodeChunks(label, [bytes], { fatal });
          let node: string;
          try { node = new NodeTextDecoder(label, { fatal }).decode(bytes); } catch { node = 'TypeError'; }
          expect({ label, bytes: hex(bytes), fatal, want }).toEqual({ label, bytes: hex(bytes), fatal, want: node });
          for (let cut = 0; cut <= bytes.length; cut++) {
            const got = decodeChunks(label, [bytes.subarray(0, cut), bytes.subarray(cut)], { fatal });
            if (got !== want) expect({ label, bytes: hex(bytes), cut, fatal, got }).toEqual({ label, bytes: hex(bytes), cut, fatal, got: want });
          }
          const ones = decodeChunks(label, [...Array.from(bytes, (b) => new Uint8Array([b])), new Uint8Array(0)], { fatal });
          expect({ label, bytes: hex(bytes), fatal, ones }).toEqual({ label, bytes: hex(bytes), fatal, ones: want });
        }
      }
    }
  });

  test('large input', () => {
    const s = 'aé€\u{1d11e}'.repeat(30000);
    expect(new TextDecoder('utf-16le').decode(le(s))).toBe(s);
    expect(new TextDecoder('utf-16be').decode(be(s))).toBe(s);
  });
});

describe('TextDecoder: a fatal error while streaming (§7.2 decode() reads on from the same I/O queue)', () => {
  // What is left in the queue after the error (the rest of the input, and bytes the decoder
  // "restores") is read by the next call if the stream goes on; a call without stream ends it.
  function calls(label: string, steps: [number[], boolean][]): string[] {
    const d = new TextDecoder(label, { fatal: true });
    return steps.map(([b, stream]) => { try { return d.decode(new Uint8Array(b), { stream }); } catch (e) { return (e as Error).name; } });
  }

  test('UTF-8: an invalid byte is consumed; a byte ending a sequence early is read again', () => {
    expect(calls('utf-8', [[[0x41, 0xff, 0x42], true], [[0x43], false]])).toEqual(['TypeError', 'BC']);
    expect(calls('utf-8', [[[0xe2], true], [[0x41], true], [[0x42], false]])).toEqual(['', 'TypeError', 'AB']);
    expect(calls('utf-8', [[[0xe2, 0x82, 0x41, 0xe2], true], [[0x82, 0xac], false]])).toEqual(['TypeError', 'A€']);
    expect(calls('utf-8', [[[0x41, 0xff, 0x42], false], [[0x43], false]])).toEqual(['TypeError', 'C']);
    expect(calls('utf-8', [[[0xe2], true], [[], false], [[0x43], false]])).toEqual(['', 'TypeError', 'C']);
  });

  test('UTF-16: a unit after a lone lead surrogate is read again; a lone trail surrogate is consumed', () => {
    expect(calls('utf-16le', [[[0x00, 0xd8, 0x42], true], [[0x00], true], [[0x43], true], [[0x00], false]])).toEqual(['', 'TypeError', 'B', 'C']);
    expect(calls('utf-16be', [[[0xd8, 0x00, 0x00, 0x41, 0x00], true], [[0x42], false]])).toEqual(['TypeError', 'AB']);
    expect(calls('utf-16le', [[[0x00, 0xdc, 0x41, 0x00], true], [[0x42, 0x00], false]])).toEqual(['TypeError', 'AB']);
    expect(calls('utf-16le', [[[0x00, 0xd8, 0x41, 0x00], false], [[0x43, 0x00], false]])).toEqual(['TypeError', 'C']);
    expect(calls('utf-16le', [[[0x41], true], [[], false], [[0x43, 0x00], false]])).toEqual(['', 'TypeError', 'C']);
  });

  test('single-byte: the unmapped byte is consumed, the rest read on', () => {
    expect(calls('windows-874', [[[0x41, 0xdb, 0x42], true], [[0x43], false]])).toEqual(['TypeError', 'BC']);
    expect(calls('windows-874', [[[0x41, 0xdb, 0x42], false], [[0x43], false]])).toEqual(['TypeError', 'C']);
  });
});

describe('TextDecoder: x-user-defined (§14.5) and the single-byte encodings (§9)', () => {
  test('x-user-defined: ASCII as itself, 0x80–0xFF as U+F780–U+F7FF, never an error', () => {
    const got = units(new TextDecoder('x-user-defined', { fatal: true }).decode(ALL_BYTES));
    expect(got).toEqual(Array.from(ALL_BYTES, (b) => (b < 0x80 ? b : 0xf780 + b - 0x80)));
    expect(new TextDecoder('x-user-defined').decode(new Uint8Array([0xef, 0xbb, 0xbf]))).toBe('\uf7ef\uf7bb\uf7bf');
  });

  // Where Node 20's ICU differs from the Standard's indexes (checked against workerd as well):
  // Node decodes windows-1252 as ISO-8859-1 and has no ISO-8859-16; ICU's ibm866 moves three ASCII
  // controls; its koi8-u is not the Standard's KOI8-RU; it maps windows-874's and windows-1253's
  // unassigned bytes, and not windows-1255's 0xCA.
  const ICU_DIFFERS: Record<string, number[]> = {
    'windows-1252': [0x80, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8e, 0x91, 0x92, 0x93, 0x94,
      0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9e, 0x9f],
    ibm866: [0x1a, 0x1c, 0x7f],
    'koi8-u': [0xae, 0xbe],
    'windows-874': [0xdb, 0xdc, 0xdd, 0xde, 0xfc, 0xfd, 0xfe, 0xff],
    'windows-1253': [0xaa],
    'windows-1255': [0xca],
  };

  const names = [...Object.keys(SINGLE_BYTE_INDEXES), 'iso-8859-8-i'];

  test('every single-byte encoding decodes 0x00–0xFF as Node (ICU) does, except where ICU differs from the spec', () => {
    expect(names.length).toBe(28);
    for (const name of names) {
      const ours = units(new TextDecoder(name).decode(ALL_BYTES));
      expect(ours.length).toBe(256);
      // §9.1: bytes 0x00–0x7F are ASCII in every one of them.
      expect(ours.slice(0, 128)).toEqual([...Array(128).keys()]);
      if (name === 'iso-8859-16') continue;
      const node = units(new NodeTextDecoder(name).decode(ALL_BYTES));
      const differ = ALL_BYTES.filter((b) => ours[b] !== node[b]);
      expect({ name, differ: [...differ] }).toEqual({ name, differ: ICU_DIFFERS[name] ?? [] });
    }
  });

  test('the spec’s values where ICU differs', () => {
    const at = (name: string, b: number) => new TextDecoder(name).decode(new Uint8Array([b])).charCodeAt(0);
    expect(units(new TextDecoder('windows-1252').decode(new Uint8Array([0x80, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0x9f]))))
      .toEqual([0x20ac, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0x178]);
    expect([at('koi8-u', 0xae), at('koi8-u', 0xbe), at('windows-1255', 0xca), at('windows-1253', 0xaa), at('windows-874', 0xdb)])
      .toEqual([0x45e, 0x40e, 0x5ba, 0xfffd, 0xfffd]);
    expect(new TextDecoder('iso-8859-16').decode(new Uint8Array([0xa4, 0xaa, 0xde, 0xfe, 0xe9]))).toBe('€ȘȚțé');
  });

  test('unmapped bytes: U+FFFD, or a TypeError in fatal mode; mapped input never fails', () => {
    for (const name of names) {
      const index = SINGLE_BYTE_INDEXES[name === 'iso-8859-8-i' ? 'iso-8859-8' : name]!;
      const unmapped = [...Array(128).keys()].filter((i) => index.charCodeAt(i) === 0xfffd).map((i) => i + 0x80);
      for (const b of unmapped) {
        expect(new TextDecoder(name).decode(new Uint8Array([0x41, b, 0x42]))).toBe('A\ufffdB');
        expect(() => new TextDecoder(name, { fatal: true }).decode(new Uint8Array([0x41, b])), `${name} ${b}`).toThrow(TypeError);
      }
      const mapped = ALL_BYTES.filter((b) => !unmapped.includes(b));
      expect(new TextDecoder(name, { fatal: true }).decode(mapped)).toBe(new TextDecoder(name).decode(mapped));
    }
    expect(new TextDecoder('windows-1252', { fatal: true }).decode(ALL_BYTES).length).toBe(256); // nothing unmapped
  });

  test('streaming changes nothing (single bytes are whole characters); large input', () => {
    const d = new TextDecoder('koi8-r');
    expect(d.decode(new Uint8Array([0xf0, 0xd2]), { stream: true }) + d.decode(new Uint8Array([0xc9, 0xd7, 0xc5, 0xd4]))).toBe('Привет');
    const big = new Uint8Array(100000).map((_, i) => i & 0xff);
    expect(new TextDecoder('iso-8859-2').decode(big)).toBe(new NodeTextDecoder('iso-8859-2').decode(big));
  });
});

/** Writes `chunks` into a transform stream and reads everything out (or the error's name). */
async function pipeThrough<I, O>(t: { writable: WritableStream<I>; readable: ReadableStream<O> }, chunks: I[]): Promise<O[] | string> {
  const writer = t.writable.getWriter();
  const reader = t.readable.getReader();
  const out: O[] = [];
  const reading = (async () => {
    for (;;) { const { done, value } = await reader.read(); if (done) return; out.push(value); }
  })();
  try {
    for (const c of chunks) await writer.write(c);
    await writer.close();
    await reading;
    return out;
  } catch (e) {
    await reading.catch(() => {});
    return (e as Error).name;
  }
}

describe('TextDecoderStream and TextEncoderStream (§7.4, §7.5)', () => {
  test('TextDecoderStream decodes chunks split inside characters, and flushes at the end', async () => {
    const bytes = new NodeTextEncoder().encode('a€😀b');
    const chunks = Array.from(bytes, (b) => new Uint8Array([b]));
    expect((await pipeThrough(new TextDecoderStream() as never, chunks) as string[]).join('')).toBe('a€😀b');
    // Nothing is enqueued for a chunk that completes no character.
    expect(await pipeThrough(new TextDecoderStream() as never, [new Uint8Array([0xe2]), new Uint8Array([0x82, 0xac])])).toEqual(['€']);
    expect(await pipeThrough(new TextDecoderStream() as never, [new Uint8Array([0x41, 0xe2])])).toEqual(['A', '\ufffd']);
    expect(await pipeThrough(new TextDecoderStream('utf-16be') as never, [new Uint8Array([0xfe, 0xff, 0]), new Uint8Array([0x41, 0xd8])]))
      .toEqual(['A', '\ufffd']);
    expect(await pipeThrough(new TextDecoderStream('latin1') as never, [new Uint8Array([0x80, 0xe9])])).toEqual(['€é']);
  });

  test('TextDecoderStream: fatal errors and non-BufferSource chunks error the stream with a TypeError', async () => {
    expect(await pipeThrough(new TextDecoderStream('utf-8', { fatal: true }) as never, [new Uint8Array([0xff])])).toBe('TypeError');
    expect(await pipeThrough(new TextDecoderStream('utf-8', { fatal: true }) as never, [new Uint8Array([0xe2])])).toBe('TypeError');
    expect(await pipeThrough(new TextDecoderStream() as never, ['text'])).toBe('TypeError');
    expect(() => new TextDecoderStream('nope')).toThrow(RangeError);
  });

  test('TextDecoderStream attributes and brand checks', () => {
    const s = new TextDecoderStream('Latin1', { fatal: true, ignoreBOM: true });
    expect([s.encoding, s.fatal, s.ignoreBOM]).toEqual(['windows-1252', true, true]);
    expect(s.readable).toBe(s.readable);
    expect(Object.prototype.toString.call(s)).toBe('[object TextDecoderStream]');
    expect(TextDecoderStream.name).toBe('TextDecoderStream');
    for (const k of ['encoding', 'fatal', 'ignoreBOM', 'readable', 'writable']) {
      expect(() => Object.getOwnPropertyDescriptor(TextDecoderStream.prototype, k)!.get!.call({})).toThrow(TypeError);
    }
    expect(() => structuredClone(s)).toThrow(DOMException);
  });

  test('TextEncoderStream encodes strings, joining a surrogate pair split across chunks', async () => {
    const join = (chunks: Uint8Array[]) => hex(Buffer.concat(chunks));
    const enc = async (chunks: unknown[]) => join(await pipeThrough(new TextEncoderStream() as never, chunks) as Uint8Array[]);
    expect(await enc(['a€', '😀'])).toBe(hex(new NodeTextEncoder().encode('a€😀')));
    expect(await enc(['a\ud83d', '\ude00b'])).toBe(hex(new NodeTextEncoder().encode('a😀b')));
    expect(await enc(['\ud83d', '', 'x'])).toBe('efbfbd78');
    expect(await enc(['a\ud83d'])).toBe('61efbfbd');
    expect(await enc(['\ude00'])).toBe('efbfbd');
    expect(await enc([12, { toString: () => 'ok' }])).toBe('31326f6b');
    // Empty output enqueues nothing.
    expect(await pipeThrough(new TextEncoderStream() as never, ['', '\ud800'])).toEqual([new Uint8Array([0xef, 0xbf, 0xbd])]);
    const s = new TextEncoderStream();
    expect(s.encoding).toBe('utf-8');
    expect(Object.prototype.toString.call(s)).toBe('[object TextEncoderStream]');
    expect(() => Object.getOwnPropertyDescriptor(TextEncoderStream.prototype, 'readable')!.get!.call({})).toThrow(TypeError);
  });
});

describe('TextDecoder: gb18030 and gbk (§10.2.1; gbk decodes as gb18030)', () => {
  const dec = (label: string, b: number[], fatal = false) => {
    try { return new TextDecoder(label, { fatal }).decode(new Uint8Array(b)); } catch (e) { return (e as Error).name; }
  };

  test('the spec’s cases: one, two and four bytes; the four-byte ranges and their edges', () => {
    expect(dec('gb18030', [0x41, 0x80, 0x81, 0x41, 0xa1, 0xa1])).toBe('A€\u4e04\u3000');
    expect(dec('gb18030', [0x81, 0x30, 0x81, 0x30])).toBe('\u0080');
    expect(dec('gb18030', [0x84, 0x31, 0xa4, 0x39])).toBe('\uffff'); // pointer 39419, the last BMP one
    expect(dec('gb18030', [0x84, 0x31, 0xa5, 0x30])).toBe('\ufffd'); // pointer 39420: null
    expect(dec('gb18030', [0x90, 0x30, 0x81, 0x30])).toBe('\u{10000}'); // pointer 189000
    expect(dec('gb18030', [0xe3, 0x32, 0x9a, 0x35])).toBe('\u{10ffff}'); // pointer 1237575
    expect(dec('gb18030', [0xe3, 0x32, 0x9a, 0x36])).toBe('\ufffd'); // beyond
    expect(dec('gb18030', [0x81, 0x35, 0xf4, 0x37])).toBe('\ue7c7'); // pointer 7457, the spec's special case
    expect(dec('gb18030', [0xa8, 0xbc])).toBe('\u1e3f'); // GB18030-2022's mapping
    expect(dec('gbk', [0x80, 0xa8, 0xbc, 0x81, 0x30, 0x81, 0x30])).toBe('€\u1e3f\u0080');
  });

  test('errors: ASCII after a lead byte, and bytes after a broken four-byte sequence, are read again', () => {
    expect(dec('gb18030', [0xff])).toBe('\ufffd');
    expect(dec('gb18030', [0x81, 0x7f])).toBe('\ufffd\u007f');
    expect(dec('gb18030', [0x81, 0xff, 0x41])).toBe('\ufffdA');
    expect(dec('gb18030', [0x81, 0x30, 0x41])).toBe('\ufffd0A');
    expect(dec('gb18030', [0x81, 0x30, 0x81, 0x41])).toBe('\ufffd0\u4e04');
    expect(dec('gb18030', [0x81])).toBe('\ufffd');
    expect(dec('gb18030', [0x81, 0x30, 0x81])).toBe('\ufffd');
    for (const b of [[0xff], [0x81, 0x7f], [0x81, 0x30, 0x41], [0x81], [0x84, 0x31, 0xa5, 0x30]]) expect(dec('gb18030', b, true)).toBe('TypeError');
  });

  test('all 23,940 two-byte pointers and random bytes (with errors) match Node’s ICU; split anywhere, the same', () => {
    const two: number[] = [];
    for (let p = 0; p < 23940; p++) { const t = p % 190; two.push(Math.floor(p / 190) + 0x81, t + (t < 0x3f ? 0x40 : 0x41)); }
    const all = new Uint8Array(two);
    expect(new TextDecoder('gb18030', { fatal: true }).decode(all)).toBe(new NodeTextDecoder('gb18030').decode(all));
    const rand = prng(10);
    const pool = [0x81, 0x30, 0x39, 0x41, 0x7f, 0x80, 0xfe, 0xff, 0xa1, 0x84, 0x31, 0xa4, 0xe3, 0x90, 0x82, 0x35];
    for (let n = 0; n < 3000; n++) {
      const bytes = new Uint8Array(Math.floor(rand() * 11)).map(() => pool[Math.floor(rand() * pool.length)]!);
      const want = new NodeTextDecoder('gb18030').decode(bytes);
      expect({ bytes: hex(bytes), got: decodeChunks('gb18030', [bytes]) }).toEqual({ bytes: hex(bytes), got: want });
      let fatalWant: string;
      try { fatalWant = new NodeTextDecoder('gb18030', { fatal: true }).decode(bytes); } catch { fatalWant = 'TypeError'; }
      for (let cut = 0; cut <= bytes.length; cut++) {
        const got = decodeChunks('gbk', [bytes.subarray(0, cut), bytes.subarray(cut)]);
        if (got !== want) expect({ bytes: hex(bytes), cut, got }).toEqual({ bytes: hex(bytes), cut, got: want });
        const fatal = decodeChunks('gb18030', [bytes.subarray(0, cut), bytes.subarray(cut)], { fatal: true });
        if (fatal !== fatalWant) expect({ bytes: hex(bytes), cut, fatal }).toEqual({ bytes: hex(bytes), cut, fatal: fatalWant });
      }
    }
  });

  test('a fatal error while streaming leaves the restored bytes for the next call', () => {
    const d = new TextDecoder('gb18030', { fatal: true });
    expect(d.decode(new Uint8Array([0x81, 0x30, 0x81]), { stream: true })).toBe('');
    expect(() => d.decode(new Uint8Array([0x41]), { stream: true })).toThrow(TypeError);
    expect(d.decode(new Uint8Array([]))).toBe('0\u4e04');
  });
});

describe('TextDecoder: Shift_JIS, EUC-JP and ISO-2022-JP (§11)', () => {
  const dec = (label: string, b: number[], fatal = false) => {
    try { return new TextDecoder(label, { fatal }).decode(new Uint8Array(b)); } catch (e) { return (e as Error).name; }
  };
  const esc = (s: string) => Array.from(s, (c) => c.charCodeAt(0)).map((c) => (c === 0x45 ? 0x1b : c)); // 'E' is ESC

  test('Shift_JIS (§11.3.1): ASCII and 0x80 as themselves, katakana, the index, private use, errors', () => {
    expect(dec('shift_jis', [0x5c, 0x7e, 0x7f, 0x80])).toBe('\\~\u007f\u0080'); // ICU differs on 0x7F and 0x80
    expect(dec('shift_jis', [0xa1, 0xdf])).toBe('\uff61\uff9f');
    expect(dec('shift_jis', [0x82, 0xa0, 0x88, 0x9f, 0x81, 0x40])).toBe('あ亜\u3000');
    expect(dec('shift_jis', [0xf0, 0x40, 0xf9, 0xfc])).toBe('\ue000\ue757'); // pointers 8836 and 10715
    expect(dec('shift_jis', [0xfa, 0x40])).toBe('\u2170'); // pointer 10716, an IBM extension
    expect(dec('shift_jis', [0x81, 0x7f])).toBe('\ufffd\u007f'); // an ASCII trail is read again
    expect(dec('shift_jis', [0x82, 0x20, 0xfa, 0xfd])).toBe('\ufffd \ufffd'); // a non-ASCII one is not
    expect(dec('shift_jis', [0xa0, 0xfd, 0x81])).toBe('\ufffd\ufffd\ufffd');
    for (const b of [[0xa0], [0x81], [0x81, 0x7f], [0xeb, 0x40]]) expect(dec('shift_jis', b, true)).toBe('TypeError');
  });

  test('EUC-JP (§11.1.1): jis0208, half-width katakana after 0x8E, jis0212 after 0x8F, errors', () => {
    expect(dec('euc-jp', [0x41, 0x5c, 0xa4, 0xa2, 0xb0, 0xa1])).toBe('A\\あ亜');
    expect(dec('euc-jp', [0x8e, 0xb1, 0x8e, 0xdf])).toBe('\uff71\uff9f');
    expect(dec('euc-jp', [0x8f, 0xb0, 0xa1])).toBe('\u4e02');
    expect(dec('euc-jp', [0x8f, 0xf3, 0xf3])).toBe('\ufffd'); // pointer 7708: not in index jis0212 (ICU maps it)
    expect(dec('euc-jp', [0x8e, 0x41])).toBe('\ufffdA');
    expect(dec('euc-jp', [0x8e, 0xe0])).toBe('\ufffd');
    expect(dec('euc-jp', [0x8f, 0xa1, 0x41])).toBe('\ufffdA');
    expect(dec('euc-jp', [0x80, 0xa1])).toBe('\ufffd\ufffd');
    for (const b of [[0x80], [0xa4], [0x8f, 0xa1], [0x8e, 0x41]]) expect(dec('euc-jp', b, true)).toBe('TypeError');
  });

  test('ISO-2022-JP (§11.2.1): the escape sequences, Roman, katakana, two-byte text, and its errors', () => {
    expect(dec('iso-2022-jp', esc('AE$B$"0!E(BB'))).toBe('Aあ亜B');
    expect(dec('iso-2022-jp', esc('E(J\\~aE(B\\~'))).toBe('¥‾a\\~');
    expect(dec('iso-2022-jp', esc('E(I1_'))).toBe('\uff71\uff9f');
    expect(dec('iso-2022-jp', esc('E$@$"'))).toBe('あ');
    // An escape right after an escape is an error (the output flag); text in between is not.
    expect(dec('iso-2022-jp', esc('E(BE(B'))).toBe('\ufffd');
    expect(dec('iso-2022-jp', esc('E(BAE(BB'))).toBe('AB');
    // Broken escapes: the bytes after ESC are read again in the state before it.
    expect(dec('iso-2022-jp', esc('E(Z'))).toBe('\ufffd(Z');
    expect(dec('iso-2022-jp', esc('AE'))).toBe('A\ufffd');
    expect(dec('iso-2022-jp', esc('E$'))).toBe('\ufffd$');
    expect(dec('iso-2022-jp', esc('E$B$E(BA'))).toBe('\ufffdA'); // ESC as a trail byte
    expect(dec('iso-2022-jp', esc('E$B$'))).toBe('\ufffd'); // a lead byte at the end
    expect(dec('iso-2022-jp', esc('E$B$ '))).toBe('\ufffd');
    expect(dec('iso-2022-jp', [0x0e, 0x0f, 0x80, 0x41])).toBe('\ufffd\ufffd\ufffdA');
    expect(dec('iso-2022-jp', esc('E(I`'))).toBe('\ufffd');
    for (const b of [esc('E(BE(B'), [0x0e], esc('E'), esc('E$B$'), esc('E(Z')]) expect(dec('iso-2022-jp', b, true)).toBe('TypeError');
  });

  test('every jis0208 pointer from Shift_JIS and EUC-JP, and each jis0212 one, decodes as in Node’s ICU (the index’s source)', () => {
    for (let p = 0; p < 11280; p++) {
      const lead = Math.floor(p / 188), t = p % 188;
      const b = new Uint8Array([lead + (lead < 0x1f ? 0x81 : 0xc1), t + (t < 0x3f ? 0x40 : 0x41)]);
      const ours = decodeChunks('shift_jis', [b], { fatal: true });
      let node: string;
      try { node = new NodeTextDecoder('shift_jis', { fatal: true }).decode(b); } catch { node = 'TypeError'; }
      if (ours !== node) expect({ p, ours }).toEqual({ p, ours: node });
    }
    for (const prefix of [[], [0x8f]]) {
      for (let p = 0; p < 8836; p++) {
        if (prefix.length && ((p >= 7708 && p <= 7727) || p === 7730)) continue; // ICU's extras, not the spec's
        const b = new Uint8Array([...prefix, Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1]);
        const ours = decodeChunks('euc-jp', [b], { fatal: true });
        let node: string;
        try { node = new NodeTextDecoder('euc-jp', { fatal: true }).decode(b); } catch { node = 'TypeError'; }
        if (ours !== node) expect({ prefix, p, ours }).toEqual({ prefix, p, ours: node });
      }
    }
  });

  test('streaming: random bytes split at every position decode as whole, in both modes', () => {
    const rand = prng(11);
    const pools: Record<string, number[]> = {
      shift_jis: [0x81, 0x40, 0x7f, 0x80, 0xa1, 0xdf, 0xe0, 0xfc, 0xfd, 0xa0, 0x41, 0x88, 0x9f, 0xf0],
      'euc-jp': [0x8e, 0x8f, 0xa1, 0xfe, 0xdf, 0xb0, 0x41, 0x80, 0xa2, 0xf4, 0xc4],
      'iso-2022-jp': [0x1b, 0x24, 0x28, 0x42, 0x40, 0x4a, 0x49, 0x21, 0x30, 0x7e, 0x5c, 0x0e, 0x80, 0x41],
    };
    splitEverywhere(pools, rand);
  });

  test('a fatal error while streaming leaves the restored bytes for the next call', () => {
    const d = new TextDecoder('shift_jis', { fatal: true });
    expect(() => d.decode(new Uint8Array([0x81, 0x7f, 0x41]), { stream: true })).toThrow(TypeError);
    expect(d.decode(new Uint8Array([0x42]))).toBe('\u007fAB');
    const j = new TextDecoder('iso-2022-jp', { fatal: true });
    expect(() => j.decode(new Uint8Array(esc('E(Z')), { stream: true })).toThrow(TypeError);
    expect(j.decode()).toBe('(Z');
  });
});

describe('TextDecoder: Big5 (§12.1.1) and EUC-KR (§13.1.1)', () => {
  const dec = (label: string, b: number[], fatal = false) => {
    try { return new TextDecoder(label, { fatal }).decode(new Uint8Array(b)); } catch (e) { return (e as Error).name; }
  };
  /** §12: the bytes of index big5's pointer. */
  const big5 = (p: number) => { const t = p % 157; return [Math.floor(p / 157) + 0x81, t + (t < 0x3f ? 0x40 : 0x62)]; };

  test('Big5: ASCII, the index (HKSCS part and astral code points included), and the four pointers that give two code points', () => {
    expect(dec('big5', [0x00, 0x41, 0x7f])).toBe('\u0000A\u007f');
    expect(dec('big5', [0xa1, 0x40, 0xa4, 0x40, 0xa3, 0xe1, 0xf9, 0xf9])).toBe('\u3000一€═');
    expect(dec('big5', [0x87, 0x40, 0x88, 0x40])).toBe('\u43f0\u31c0'); // pointers 942 and 1099, below (0xA1 − 0x81) × 157
    expect(dec('big5', [0x87, 0x45])).toBe('\u{27267}');
    expect([big5(1133), big5(1135), big5(1164), big5(1166)]).toEqual([[0x88, 0x62], [0x88, 0x64], [0x88, 0xa3], [0x88, 0xa5]]);
    expect(dec('big5', [...big5(1133), ...big5(1135), ...big5(1164), ...big5(1166)])).toBe('\u00ca\u0304\u00ca\u030c\u00ea\u0304\u00ea\u030c');
    expect(dec('big5', [0x88, 0x62, 0x41], true)).toBe('\u00ca\u0304A');
  });

  test('Big5 errors: a null pointer, a trail out of range (read again if ASCII), a bad lead, a lead at the end', () => {
    expect(dec('big5', [0x81, 0x40])).toBe('\ufffd@'); // pointer 0 is null; its ASCII trail is read again
    expect(dec('big5', [0xa3, 0xe2, 0x41])).toBe('\ufffdA'); // a null pointer with a non-ASCII trail: both gone
    expect(dec('big5', [0xa4, 0x7f])).toBe('\ufffd\u007f'); // 0x7F is no trail
    expect(dec('big5', [0xa4, 0x20, 0xa4, 0x80, 0xa4, 0xa0, 0xa4, 0xff])).toBe('\ufffd \ufffd\ufffd\ufffd');
    expect(dec('big5', [0xa4, 0xa4, 0x40])).toBe('中@'); // a lead byte in trail position is a trail
    expect(dec('big5', [0x80, 0xff, 0xa4])).toBe('\ufffd\ufffd\ufffd');
    for (const b of [[0x80], [0xff], [0xa4], [0x81, 0x40], [0xa3, 0xe2], [0xa4, 0x7f]]) expect(dec('big5', b, true)).toBe('TypeError');
  });

  test('EUC-KR: ASCII, KS X 1001, the UHC Hangul, and its errors', () => {
    expect(dec('euc-kr', [0x00, 0x41, 0x7f])).toBe('\u0000A\u007f');
    expect(dec('euc-kr', [0xb0, 0xa1, 0xa1, 0xa1, 0xa2, 0xe6, 0xfd, 0xfe])).toBe('가\u3000€詰'); // FD FE: pointer 23749, the last
    expect(dec('euc-kr', [0x81, 0x41, 0xc6, 0x52])).toBe('갂힣'); // UHC: pointer 0, and the last Hangul syllable
    expect(dec('euc-kr', [0x81, 0x40])).toBe('\ufffd@'); // 0x40 is no trail: null pointer, read again
    expect(dec('euc-kr', [0x81, 0x5b])).toBe('\ufffd['); // a trail in range at a null pointer: read again too
    expect(dec('euc-kr', [0xc9, 0xa1, 0x41])).toBe('\ufffdA'); // the user-defined row: null, the trail is gone
    expect(dec('euc-kr', [0xfe, 0xfe])).toBe('\ufffd'); // beyond the index
    expect(dec('euc-kr', [0xb0, 0xff, 0x80, 0xff, 0xb0])).toBe('\ufffd\ufffd\ufffd\ufffd');
    for (const b of [[0x80], [0xff], [0xb0], [0x81, 0x40], [0xc9, 0xa1]]) expect(dec('euc-kr', b, true)).toBe('TypeError');
  });

  test('every lead/trail pair decodes alone as in the whole run of pairs (no state leaks between them)', () => {
    for (const label of ['big5', 'euc-kr']) {
      const pairs: number[] = [];
      const alone: string[] = [];
      for (let lead = 0x81; lead <= 0xfe; lead++) {
        for (let trail = 0x40; trail <= 0xfe; trail++) {
          // A pair whose trail is ASCII and not mapped gives U+FFFD and the trail: fine in a run too.
          pairs.push(lead, trail);
          alone.push(dec(label, [lead, trail]));
        }
      }
      expect(dec(label, pairs)).toBe(alone.join(''));
    }
  });

  test('streaming: a sample split at every position, and random bytes split anywhere, decode as whole, in both modes', () => {
    const samples: Record<string, number[]> = {
      big5: [0x41, 0x88, 0x62, 0x87, 0x45, 0xa4, 0x40, 0x81, 0x40, 0xa4, 0x7f, 0x88, 0xa5, 0xa3, 0xe2, 0x88],
      'euc-kr': [0x41, 0xb0, 0xa1, 0x81, 0x41, 0x81, 0x5b, 0xc9, 0xa1, 0xfd, 0xfe, 0x80, 0xb0],
    };
    for (const [label, sample] of Object.entries(samples)) {
      const bytes = new Uint8Array(sample);
      const whole = decodeChunks(label, [bytes]);
      for (let cut = 0; cut <= bytes.length; cut++) {
        expect({ cut, got: decodeChunks(label, [bytes.subarray(0, cut), bytes.subarray(cut)]) }).toEqual({ cut, got: whole });
      }
      expect(decodeChunks(label, Array.from(bytes, (b) => new Uint8Array([b])))).toBe(whole);
    }
    const rand = prng(12);
    const pools: Record<string, number[]> = {
      big5: [0x81, 0x87, 0x88, 0x62, 0x64, 0xa3, 0xa5, 0x40, 0x7e, 0x7f, 0x80, 0xa0, 0xa1, 0xfe, 0xff, 0xa4, 0xc6, 0xf9],
      'euc-kr': [0x81, 0x41, 0x5a, 0x5b, 0x61, 0x7a, 0x7b, 0x80, 0xa0, 0xa1, 0xb0, 0xc8, 0xfe, 0xff, 0xc9, 0xfd, 0x52],
    };
    splitEverywhere(pools, rand);
  });

  test('a fatal error while streaming leaves the restored ASCII trail for the next call', () => {
    for (const label of ['big5', 'euc-kr']) {
      const d = new TextDecoder(label, { fatal: true });
      expect(d.decode(new Uint8Array([0x41, 0x81]), { stream: true })).toBe('A');
      expect(() => d.decode(new Uint8Array([0x40, 0x42]), { stream: true })).toThrow(TypeError);
      expect(d.decode(new Uint8Array([0x43]))).toBe('@BC');
    }
    const d = new TextDecoder('big5');
    expect(d.decode(new Uint8Array([0x88]), { stream: true })).toBe('');
    expect(d.decode(new Uint8Array([0xa3]), { stream: true })).toBe('\u00ea\u0304');
    expect(d.decode(new Uint8Array([0xa4]))).toBe('\ufffd');
  });
});
