// Unit tests of the in-isolate payload codecs (decodeEvent / encodeResult).
//
// The codec runs inside a bare V8 isolate in production, where msgpackr finds no Node `Buffer`;
// under vitest it runs in Node, where it does. The tests of what encodeResult hands back (exact
// size, no shared memory, plain msgpack) therefore run twice: once on the module imported here
// (Node) and once on the same source bundled as build-runtime.mjs bundles it and run in a real
// isolated-vm isolate (the production environment).

import { build } from 'esbuild';
import ivm from 'isolated-vm';
import { Packr, Unpackr, unpack } from 'msgpackr';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Encoding } from '../protocol.js';
import * as codec from './codec.js';
import { decodeEvent, encodeResult } from './codec.js';

const te = new TextEncoder();
// A copy into a fresh, exactly sized ArrayBuffer (Buffer#slice would share memory, so not that).
const ab = (u: Uint8Array): ArrayBuffer => new Uint8Array(u).buffer as ArrayBuffer;
const jsonBody = (v: unknown): ArrayBuffer => ab(te.encode(JSON.stringify(v)));
const text = (b: ArrayBuffer): string => new TextDecoder('utf-8', { fatal: true }).decode(b);
const hex = (b: ArrayBuffer): string => Buffer.from(b).toString('hex');

describe('Encoding codes', () => {
  test('json is 0 and msgpack is 1 (the host sends these numbers)', () => {
    expect(Encoding).toEqual({ json: 0, msgpack: 1 });
  });
});

describe('decodeEvent', () => {
  test('an empty body is {} in both encodings, a fresh object each time', () => {
    for (const enc of [Encoding.json, Encoding.msgpack]) {
      const a = decodeEvent(new ArrayBuffer(0), enc);
      const b = decodeEvent(new ArrayBuffer(0), enc);
      expect(a).toEqual({});
      expect(Object.getPrototypeOf(a)).toBe(Object.prototype);
      // A handler that mutates its event must not change the next call's empty event.
      expect(a).not.toBe(b);
    }
  });

  test('JSON: objects, arrays and scalars', () => {
    const values = [{ a: 1, b: [true, null, 'x'], c: { d: 1.5 } }, [1, 2, 3], 'str', 42, -0.5, true, false, null];
    for (const v of values) expect(decodeEvent(jsonBody(v), Encoding.json)).toEqual(v);
  });

  test('JSON: non-ASCII text and a body longer than 4096 bytes', () => {
    const v = { s: 'héllo wörld € 😀 日本', long: 'é😀'.repeat(3000), ascii: 'a'.repeat(10_000) };
    expect(decodeEvent(jsonBody(v), Encoding.json)).toEqual(v);
  });

  test('JSON: a "__proto__" key stays an own property (no prototype change)', () => {
    const ev = decodeEvent(ab(te.encode('{"__proto__":{"polluted":1}}')), Encoding.json) as Record<string, unknown>;
    expect(Object.getPrototypeOf(ev)).toBe(Object.prototype);
    expect(ev.polluted).toBeUndefined();
    expect(Object.keys(ev)).toEqual(['__proto__']);
  });

  test('JSON: malformed text throws', () => {
    // Also what the python3 and java17 bootstraps refuse alike: NaN/Infinity, a byte order mark, only whitespace.
    for (const s of ['{', '{"a":}', 'undefined', "{'a':1}", '[1,]', '{"a":1}x', '{"a": NaN}', '-Infinity', '\ufeff{}', '  ']) {
      expect(() => decodeEvent(ab(te.encode(s)), Encoding.json)).toThrow(SyntaxError);
    }
  });

  test('JSON: invalid UTF-8 throws', () => {
    for (const bad of [[0x22, 0xc0, 0x80, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22], [0x22, 0xff, 0x22], [0x22, 0xe2, 0x82]]) {
      expect(() => decodeEvent(ab(new Uint8Array(bad)), Encoding.json)).toThrow(TypeError);
    }
  });

  test('msgpack: what a plain encoder writes decodes to the same value', () => {
    const values = [{ a: 1, b: [true, null, 'x'], c: { d: 1.5 } }, [1, 2, 3], 'str', 42, -7, 1.25, true, null, { s: 'é😀'.repeat(2000) }];
    const plain = new Packr({ useRecords: false });
    for (const v of values) expect(decodeEvent(ab(plain.pack(v)), Encoding.msgpack)).toEqual(v);
  });

  test('msgpack: maps are plain objects, 64-bit integers are numbers', () => {
    // {"n": uint64 2^40, "m": int64 -2^40} written by hand.
    const body = Buffer.from('82a16ecf0000010000000000a16dd3ffffff0000000000', 'hex');
    const ev = decodeEvent(ab(body), Encoding.msgpack) as Record<string, unknown>;
    expect(Object.getPrototypeOf(ev)).toBe(Object.prototype);
    expect(ev).toEqual({ n: 2 ** 40, m: -(2 ** 40) });
    expect(typeof ev.n).toBe('number');
  });

  test('msgpack: truncated input and trailing garbage throw', () => {
    const good = new Packr({ useRecords: false }).pack({ hello: 'world' });
    expect(() => decodeEvent(ab(good.subarray(0, good.length - 2)), Encoding.msgpack)).toThrow();
    const trailing = new Uint8Array(good.length + 1);
    trailing.set(good);
    trailing[good.length] = 0xc0;
    expect(() => decodeEvent(ab(trailing), Encoding.msgpack)).toThrow();
  });
});

describe('encodeResult: JSON', () => {
  test('a value encodes to the UTF-8 of JSON.stringify, exactly sized', () => {
    const values = [{ a: 1, b: [true, null, 'x'] }, [1, 2], 'str', 0, false, null, { s: 'é € 😀 日本' }, { long: 'é😀a'.repeat(5000) }];
    for (const v of values) {
      const out = encodeResult(v, Encoding.json);
      expect(out).toBeInstanceOf(ArrayBuffer);
      const want = te.encode(JSON.stringify(v));
      expect(out.byteLength).toBe(want.length);
      expect(Buffer.from(out).equals(Buffer.from(want))).toBe(true);
    }
  });

  test('undefined (a handler that returns nothing) is JSON null', () => {
    expect(text(encodeResult(undefined, Encoding.json))).toBe('null');
  });

  test('values JSON.stringify drops at the top level (functions, symbols) are null too', () => {
    expect(text(encodeResult(() => 1, Encoding.json))).toBe('null');
    expect(text(encodeResult(Symbol('s'), Encoding.json))).toBe('null');
  });

  test('toJSON and undefined properties behave as JSON.stringify', () => {
    expect(text(encodeResult({ a: undefined, b: 1, d: new Date(0) }, Encoding.json))).toBe('{"b":1,"d":"1970-01-01T00:00:00.000Z"}');
  });

  test('a lone surrogate in a result becomes U+FFFD (JSON.stringify escapes it, so it stays ASCII)', () => {
    // Well-formed JSON.stringify escapes lone surrogates as \udXXX; the bytes are plain ASCII.
    expect(text(encodeResult('\ud800', Encoding.json))).toBe('"\\ud800"');
  });

  test('BigInt throws', () => {
    expect(() => encodeResult(1n, Encoding.json)).toThrow(TypeError);
    expect(() => encodeResult({ n: 10n }, Encoding.json)).toThrow(TypeError);
  });

  test('a circular result throws', () => {
    const o: Record<string, unknown> = {};
    o.self = o;
    expect(() => encodeResult(o, Encoding.json)).toThrow(TypeError);
  });

  test('successive JSON encodes are independent buffers', () => {
    const a = encodeResult({ a: 1 }, Encoding.json);
    const b = encodeResult({ b: 2 }, Encoding.json);
    expect(a).not.toBe(b);
    new Uint8Array(b).fill(0x20);
    expect(text(a)).toBe('{"a":1}');
  });
});

// ---- encodeResult: msgpack, in Node and in a real isolate -------------------------------------

/** Runs `body` as the body of `function (codec, Encoding) { ... }` and returns its (copied) value. */
type Runner = (body: string) => Promise<unknown>;

const nodeRunner: Runner = async (body) =>
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('codec', 'Encoding', body)(codec, Encoding);

let isolate: ivm.Isolate | null = null;
let context: ivm.Context | null = null;

const isolateRunner: Runner = async (body) => {
  const src = `(function (codec, Encoding) {${body}\n})(globalThis.__codec, globalThis.__Encoding)`;
  return context!.eval(src, { copy: true, timeout: 5000 });
};

beforeAll(async () => {
  // Bundled the way scripts/build-runtime.mjs bundles the runtime (iife, platform browser).
  const here = fileURLToPath(new URL('.', import.meta.url));
  const out = await build({
    stdin: {
      contents: `import * as c from './codec.ts'; import { Encoding } from '../protocol.ts';
        globalThis.__codec = c; globalThis.__Encoding = Encoding;`,
      resolveDir: here,
      loader: 'ts',
    },
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  isolate = new ivm.Isolate({ memoryLimit: 64 });
  context = await isolate.createContext();
  await context.eval(out.outputFiles[0]!.text, { timeout: 5000 });
});

afterAll(() => {
  context?.release();
  if (isolate && !isolate.isDisposed) isolate.dispose();
});

/** A strict reader of standard msgpack: no extension types except the timestamp (-1). */
function readPlainMsgpack(buf: Uint8Array): unknown {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let p = 0;
  const need = (n: number) => { if (p + n > buf.length) throw new Error(`truncated at ${p}`); };
  const u8 = () => { need(1); return buf[p++]!; };
  const str = (n: number) => { need(n); const s = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(p, p + n)); p += n; return s; };
  const bin = (n: number) => { need(n); const b = buf.slice(p, p + n); p += n; return b; };
  const arr = (n: number): unknown[] => { const a: unknown[] = []; for (let i = 0; i < n; i++) a.push(read()); return a; };
  const map = (n: number) => {
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = read();
      if (typeof k !== 'string' && typeof k !== 'number') throw new Error(`map key of type ${typeof k} at ${p}`);
      o[String(k)] = read();
    }
    return o;
  };
  const ext = (n: number) => {
    need(1);
    const type = dv.getInt8(p++);
    if (type !== -1) throw new Error(`non-standard extension type ${type} at ${p - 1}`);
    need(n);
    let ms: number;
    if (n === 4) ms = dv.getUint32(p) * 1000;
    else if (n === 8) ms = ((dv.getUint32(p) & 3) * 2 ** 32 + dv.getUint32(p + 4)) * 1000 + Math.floor((dv.getUint32(p) >>> 2) / 1e6);
    else if (n === 12) ms = Number(dv.getBigInt64(p + 4)) * 1000 + Math.floor(dv.getUint32(p) / 1e6);
    else throw new Error(`bad timestamp size ${n}`);
    p += n;
    return new Date(ms);
  };
  function read(): unknown {
    const b = u8();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if ((b & 0xf0) === 0x80) return map(b & 0x0f);
    if ((b & 0xf0) === 0x90) return arr(b & 0x0f);
    if ((b & 0xe0) === 0xa0) return str(b & 0x1f);
    let v: unknown;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return bin(u8());
      case 0xc5: need(2); v = dv.getUint16(p); p += 2; return bin(v as number);
      case 0xc6: need(4); v = dv.getUint32(p); p += 4; return bin(v as number);
      case 0xc7: return ext(u8());
      case 0xc8: { need(2); const n = dv.getUint16(p); p += 2; return ext(n); }
      case 0xc9: { need(4); const n = dv.getUint32(p); p += 4; return ext(n); }
      case 0xca: need(4); v = dv.getFloat32(p); p += 4; return v;
      case 0xcb: need(8); v = dv.getFloat64(p); p += 8; return v;
      case 0xcc: return u8();
      case 0xcd: need(2); v = dv.getUint16(p); p += 2; return v;
      case 0xce: need(4); v = dv.getUint32(p); p += 4; return v;
      case 0xcf: need(8); v = Number(dv.getBigUint64(p)); p += 8; return v;
      case 0xd0: need(1); v = dv.getInt8(p); p += 1; return v;
      case 0xd1: need(2); v = dv.getInt16(p); p += 2; return v;
      case 0xd2: need(4); v = dv.getInt32(p); p += 4; return v;
      case 0xd3: need(8); v = Number(dv.getBigInt64(p)); p += 8; return v;
      case 0xd4: return ext(1);
      case 0xd5: return ext(2);
      case 0xd6: return ext(4);
      case 0xd7: return ext(8);
      case 0xd8: return ext(16);
      case 0xd9: return str(u8());
      case 0xda: { need(2); const n = dv.getUint16(p); p += 2; return str(n); }
      case 0xdb: { need(4); const n = dv.getUint32(p); p += 4; return str(n); }
      case 0xdc: { need(2); const n = dv.getUint16(p); p += 2; return arr(n); }
      case 0xdd: { need(4); const n = dv.getUint32(p); p += 4; return arr(n); }
      case 0xde: { need(2); const n = dv.getUint16(p); p += 2; return map(n); }
      case 0xdf: { need(4); const n = dv.getUint32(p); p += 4; return map(n); }
      default: throw new Error(`byte 0x${b.toString(16)} is not msgpack (at ${p - 1})`);
    }
  }
  const value = read();
  if (p !== buf.length) throw new Error(`${buf.length - p} trailing bytes after the value`);
  return value;
}

const sample = { a: 1, s: 'héllo 😀', list: [1, -2, 3.5, true, false, null], nested: { deep: { x: 'y' } }, big: 2 ** 40, neg: -(2 ** 33) };
const SAMPLE = JSON.stringify(sample);

describe.each([
  ['in Node', nodeRunner],
  ['in an isolate (as in production)', isolateRunner],
] as const)('encodeResult: msgpack, %s', (_env, run) => {
  test('returns an ArrayBuffer that msgpackr\'s plain unpack() reads back', async () => {
    const out = await run(`return codec.encodeResult(${SAMPLE}, Encoding.msgpack);`);
    expect(out).toBeInstanceOf(ArrayBuffer);
    expect(unpack(new Uint8Array(out as ArrayBuffer))).toEqual(sample);
  });

  test('the ArrayBuffer is exactly the encoded bytes (not a view of a larger reused buffer)', async () => {
    const out = await run(`return codec.encodeResult({ a: 1 }, Encoding.msgpack);`) as ArrayBuffer;
    // The same Packr settings as codec.ts, on the host: the bytes a correct encode hands back.
    const exact = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' }).pack({ a: 1 });
    expect(out.byteLength).toBe(exact.length);
    expect(hex(out)).toBe(Buffer.from(exact).toString('hex'));
  });

  test('byteLength equals the encoded size for small and large results', async () => {
    const sizes = await run(`
      const out = [];
      for (const v of [null, 1, 'x', { a: 1 }, ${SAMPLE}, { long: 'é'.repeat(20000) }, new Array(3000).fill({ k: 'v' })]) {
        const buf = codec.encodeResult(v, Encoding.msgpack);
        out.push([buf instanceof ArrayBuffer, buf.byteLength]);
      }
      return out;
    `) as Array<[boolean, number]>;
    const values = [null, 1, 'x', { a: 1 }, sample, { long: 'é'.repeat(20000) }, new Array(3000).fill({ k: 'v' })];
    const ref = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
    sizes.forEach(([isAb, len], i) => {
      expect(isAb, `value #${i}`).toBe(true);
      expect(len, `value #${i}`).toBe(ref.pack(values[i]).length);
    });
  });

  test('two successive encodes do not share memory', async () => {
    const r = await run(`
      const a = codec.encodeResult({ first: 'aaaa' }, Encoding.msgpack);
      const aBytes = Array.from(new Uint8Array(a));
      const b = codec.encodeResult({ second: 'bbbb' }, Encoding.msgpack);
      const aAfterB = Array.from(new Uint8Array(a));
      new Uint8Array(b).fill(0xff);
      const aAfterWrite = Array.from(new Uint8Array(a));
      return { same: a === b, aLen: a.byteLength, aBytes, aAfterB, aAfterWrite, b };
    `) as { same: boolean; aLen: number; aBytes: number[]; aAfterB: number[]; aAfterWrite: number[] };
    expect(r.same).toBe(false);
    expect(r.aAfterB).toEqual(r.aBytes);
    expect(r.aAfterWrite).toEqual(r.aBytes);
    expect(unpack(new Uint8Array(r.aAfterWrite))).toEqual({ first: 'aaaa' });
  });

  test('does not use records: an array of identical objects reads with a fresh Unpackr({useRecords:false})', async () => {
    const rows = Array.from({ length: 20 }, () => ({ id: 7, name: 'same', tags: ['a', 'b'] }));
    const out = await run(`
      const rows = Array.from({ length: 20 }, () => ({ id: 7, name: 'same', tags: ['a', 'b'] }));
      codec.encodeResult(rows, Encoding.msgpack); // a second encode could reuse structures from the first
      return codec.encodeResult(rows, Encoding.msgpack);
    `) as ArrayBuffer;
    const bytes = new Uint8Array(out);
    expect(new Unpackr({ useRecords: false }).unpack(bytes)).toEqual(rows);
    // And a strict standard-msgpack reader (no extension types at all) reads it too.
    expect(readPlainMsgpack(bytes)).toEqual(rows);
    // Byte-level: 20 copies of the same plain map, no record definition (ext 0x72) in sight.
    const one = Buffer.from(new Packr({ useRecords: false }).pack(rows[0])).toString('hex');
    expect(Buffer.from(bytes).toString('hex').split(one).length - 1).toBe(20);
  });

  test('undefined (a handler that returns nothing) is msgpack nil', async () => {
    const out = await run(`return codec.encodeResult(undefined, Encoding.msgpack);`) as ArrayBuffer;
    expect(hex(out)).toBe('c0');
    expect(unpack(new Uint8Array(out))).toBeNull();
  });

  test('typical results are standard msgpack that any decoder reads (strict reader)', async () => {
    const out = await run(`return codec.encodeResult({ ...${SAMPLE}, when: new Date(0) }, Encoding.msgpack);`) as ArrayBuffer;
    expect(readPlainMsgpack(new Uint8Array(out))).toEqual({ ...sample, when: new Date(0) });
  });

  test('an undefined property is written as standard msgpack (nil), not a msgpackr-only extension', async () => {
    // JSON drops {body: undefined}; msgpack must at least stay readable by non-msgpackr decoders.
    const out = await run(`return codec.encodeResult({ statusCode: 200, body: undefined }, Encoding.msgpack);`) as ArrayBuffer;
    expect(() => readPlainMsgpack(new Uint8Array(out))).not.toThrow();
  });
});

describe('encodeResult: JSON, in an isolate (as in production)', () => {
  test('exactly sized and independent buffers', async () => {
    const r = await isolateRunner(`
      const a = codec.encodeResult({ a: 'é😀' }, Encoding.json);
      const b = codec.encodeResult({ b: 2 }, Encoding.json);
      return { a, same: a === b, undef: codec.encodeResult(undefined, Encoding.json) };
    `) as { a: ArrayBuffer; same: boolean; undef: ArrayBuffer };
    expect(r.same).toBe(false);
    expect(r.a.byteLength).toBe(te.encode('{"a":"é😀"}').length);
    expect(text(r.a)).toBe('{"a":"é😀"}');
    expect(text(r.undef)).toBe('null');
  });

  test('BigInt throws', async () => {
    await expect(isolateRunner(`return codec.encodeResult({ n: 1n }, Encoding.json);`)).rejects.toThrow(/BigInt/);
  });
});

describe('sanity of the helpers', () => {
  test('the strict reader agrees with msgpackr on plain input and rejects msgpackr extensions', () => {
    const plain = new Packr({ useRecords: false });
    expect(readPlainMsgpack(plain.pack(sample))).toEqual(sample);
    expect(() => readPlainMsgpack(new Uint8Array([0xd4, 0x00, 0x00]))).toThrow(/extension/);
    expect(() => readPlainMsgpack(new Uint8Array([0xc0, 0xc0]))).toThrow(/trailing/);
  });
});
