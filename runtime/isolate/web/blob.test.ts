// Blob and File as the W3C File API specifies them (https://w3c.github.io/FileAPI/), the isolate's
// own classes (Node's global Blob and File are not these): the constructor's parts and options
// (§3.1), slice()'s index arithmetic (§3.3.1), the readers (§3.3.2 to §3.3.5) and File (§4.1).

import { describe, expect, test } from 'vitest';
import { Blob, File } from './blob.js';
import './form-data.js';

const text = (b: Blob) => b.text();
const bytes = async (b: Blob) => [...new Uint8Array(await b.arrayBuffer())];

describe('new Blob(blobParts, options) (File API §3.1)', () => {
  test('no parts is empty; parts are strings, ArrayBuffers, views and Blobs, in order', async () => {
    expect(new Blob().size).toBe(0);
    expect(await text(new Blob())).toBe('');
    const buf = new Uint8Array([0x41, 0x42, 0x43, 0x44]).buffer;
    const b = new Blob(['x', buf, new Uint8Array(buf, 1, 2), new DataView(buf, 3, 1), new Blob(['-end'])]);
    expect(await text(b)).toBe('xABCDBCD-end');
    expect(b.size).toBe(12);
  });

  test('§3.1.1: strings are USVStrings encoded as UTF-8, a lone surrogate becoming U+FFFD (EF BF BD)', async () => {
    expect(await bytes(new Blob(['\ud800']))).toEqual([0xef, 0xbf, 0xbd]);
    expect(await bytes(new Blob(['a\udc00b']))).toEqual([0x61, 0xef, 0xbf, 0xbd, 0x62]);
    expect(await bytes(new Blob(['😀']))).toEqual([0xf0, 0x9f, 0x98, 0x80]);
    // Not a BufferSource and not a Blob: converted with ToString.
    expect(await text(new Blob([1, null, { toString: () => 'o' }] as unknown[]))).toBe('1nullo');
  });

  test('the parts are copied when the Blob is made: later writes to a buffer do not show', async () => {
    const u = new Uint8Array([1, 2, 3]);
    const b = new Blob([u]);
    u[0] = 9;
    expect(await bytes(b)).toEqual([1, 2, 3]);
    const out = new Uint8Array(await b.arrayBuffer());
    out[1] = 9;
    expect(await bytes(b)).toEqual([1, 2, 3]);
  });

  test('blobParts must be a sequence (WebIDL): a non-iterable is a TypeError', () => {
    for (const bad of [null, 1, 'abc'.length, {}, { length: 1, 0: 'x' }]) expect(() => new Blob(bad as never)).toThrow(TypeError);
    // A string is iterable, but WebIDL's sequence conversion takes only objects.
    expect(() => new Blob('ab' as never)).toThrow(TypeError);
    expect(() => new Blob(new Set(['a']))).not.toThrow();
  });

  test('§3.1 step 3: type is lower-cased, and "" when any code point is outside U+0020 to U+007E', () => {
    expect(new Blob([], { type: 'TEXT/Plain;Charset=UTF-8' }).type).toBe('text/plain;charset=utf-8');
    expect(new Blob([], { type: ' x ' }).type).toBe(' x ');
    expect(new Blob([], { type: 'a\u00e9b' }).type).toBe('');
    expect(new Blob([], { type: 'x\ty' }).type).toBe('');
    expect(new Blob([], { type: 'x\u007fy' }).type).toBe('');
    expect(new Blob([]).type).toBe('');
    expect(new Blob([], null as never).type).toBe('');
    expect(() => new Blob([], 1 as never)).toThrow(TypeError);
  });

  test('§3.1.1 endings: "native" turns CRLF, CR and LF into LF here; "transparent" keeps them; others a TypeError', async () => {
    expect(await text(new Blob(['a\r\nb\rc\nd'], { endings: 'native' }))).toBe('a\nb\nc\nd');
    expect(await text(new Blob(['a\r\nb\rc'], { endings: 'transparent' }))).toBe('a\r\nb\rc');
    // Only strings are converted, not bytes.
    expect(await bytes(new Blob([new Uint8Array([13, 10])], { endings: 'native' }))).toEqual([13, 10]);
    expect(() => new Blob([], { endings: 'other' as never })).toThrow(TypeError);
  });
});

describe('slice(start, end, contentType) (File API §3.3.1)', () => {
  const b = new Blob(['0123456789'], { type: 'a/b' });
  const cases: [unknown[], string][] = [
    [[], '0123456789'],
    [[2], '23456789'],
    [[-3], '789'],
    [[2, -2], '234567'],
    [[-4, -1], '678'],
    [[5, 2], ''], // span is max(end - start, 0)
    [[-100, 100], '0123456789'], // relative positions are clamped to [0, size]
    [[undefined, 3], '012'],
    [[NaN, 4], '0123'], // [Clamp] long long: NaN is 0
    [[1.5, 3.5], '23'], // [Clamp] rounds half to even: 1.5 → 2, 3.5 → 4
    [[0.5, 2.5], '01'], // 0.5 → 0, 2.5 → 2
    [[2.4, 4.6], '234'],
    [[-Infinity, Infinity], '0123456789'],
    [['3', '5'], '34'],
  ];
  for (const [args, want] of cases) {
    test(`slice(${args.map(String).join(', ')}) is "${want}"`, async () => {
      expect(await text(b.slice(...(args as [number, number])))).toBe(want);
    });
  }

  test('the slice\'s type is contentType normalized as the constructor does, "" when not given', () => {
    expect(b.slice(0, 1).type).toBe('');
    expect(b.slice(0, 1, 'X/Y').type).toBe('x/y');
    expect(b.slice(0, 1, 'é').type).toBe('');
    expect(b.slice(0, 1, undefined).type).toBe('');
  });

  test('a slice of a slice counts from the slice', async () => {
    expect(await text(b.slice(2, 8).slice(1, -1))).toBe('3456');
    expect(b.slice(2, 8).slice(-2).size).toBe(2);
  });
});

describe('reading a Blob (File API §3.3.2 to §3.3.5)', () => {
  test('text() decodes UTF-8 with U+FFFD for bad bytes and drops a BOM', async () => {
    expect(await text(new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xff, 0x62])]))).toBe('a\ufffdb');
  });

  test('arrayBuffer() and bytes() are fresh copies each time', async () => {
    const b = new Blob(['abc']);
    const a1 = await b.arrayBuffer();
    expect(a1).not.toBe(await b.arrayBuffer());
    const u = await b.bytes();
    expect(u).toBeInstanceOf(Uint8Array);
    expect([...u]).toEqual([97, 98, 99]);
  });

  test('stream() gives the bytes in a ReadableStream', async () => {
    const reader = new Blob(['hello ', 'stream']).stream().getReader();
    const chunks: number[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(...value);
    }
    expect(new TextDecoder().decode(new Uint8Array(chunks))).toBe('hello stream');
  });
});

describe('File (File API §4.1)', () => {
  test('name, lastModified (Date.now() by default), type; a File is a Blob', async () => {
    const before = Date.now();
    const f = new File(['ab', 'c'], 'n.txt', { type: 'Text/Plain' });
    expect([f.name, f.type, f.size, await f.text()]).toEqual(['n.txt', 'text/plain', 3, 'abc']);
    expect(f.lastModified).toBeGreaterThanOrEqual(before);
    expect(f.lastModified).toBeLessThanOrEqual(Date.now());
    expect(f).toBeInstanceOf(Blob);
    expect(new File([], 'x', { lastModified: 5 }).lastModified).toBe(5);
    expect(new File([], 'x', { lastModified: 5.9 }).lastModified).toBe(5);
    expect(new File([], 'x', { lastModified: NaN }).lastModified).toBe(0);
  });

  test('fileName is a USVString; both arguments are required', () => {
    expect(new File([], 'a\ud800').name).toBe('a\ufffd');
    expect(new File([], undefined as never).name).toBe('undefined');
    expect(() => new (File as any)([])).toThrow(TypeError);
    expect(() => new (File as any)()).toThrow(TypeError);
  });

  test('slicing a File gives a Blob', () => {
    const s = new File(['abc'], 'f').slice(1);
    expect(s).toBeInstanceOf(Blob);
    expect(s).not.toBeInstanceOf(File);
  });
});

describe('as WebIDL binds them', () => {
  test('names, lengths and class strings', () => {
    expect([Blob.name, Blob.length, File.name, File.length]).toEqual(['Blob', 0, 'File', 2]);
    expect(Blob.prototype.slice.length).toBe(0);
    expect(Object.prototype.toString.call(new Blob())).toBe('[object Blob]');
    expect(Object.prototype.toString.call(new File([], 'f'))).toBe('[object File]');
    expect(Object.getOwnPropertyNames(Blob.prototype).sort()).toEqual(['arrayBuffer', 'bytes', 'constructor', 'size', 'slice', 'stream', 'text', 'type']);
    expect(Object.getOwnPropertyNames(File.prototype).sort()).toEqual(['constructor', 'lastModified', 'name']);
    expect(Object.getOwnPropertyNames(Blob).sort()).toEqual(['length', 'name', 'prototype']);
  });

  test('a wrong this is a TypeError ("Illegal invocation"), also for an object faking the prototype', async () => {
    const fake = Object.create(Blob.prototype);
    expect(() => fake.size).toThrow(/Illegal invocation/);
    expect(() => Object.getOwnPropertyDescriptor(Blob.prototype, 'type')!.get!.call({})).toThrow(TypeError);
    expect(() => Blob.prototype.slice.call({})).toThrow(TypeError);
    await expect(Blob.prototype.text.call({})).rejects.toThrow(TypeError);
    expect(() => Object.getOwnPropertyDescriptor(File.prototype, 'name')!.get!.call(new Blob())).toThrow(TypeError);
    expect(() => (Blob as any)()).toThrow(TypeError);
  });
});
