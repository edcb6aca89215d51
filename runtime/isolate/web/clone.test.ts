// structuredClone of clone.ts against Node's own (V8's serializer), value by value.

import { describe, expect, test } from 'vitest';
import { AbortController } from './abort.js';
import { markUncloneable, setDetacher, structuredClone } from './clone.js';
import { TextDecoder } from './encoding.js';
import { loadForms } from './forms-registry.js';
import './form-data.js';
import { DOMException } from './dom-exception.js';

const nodeClone = globalThis.structuredClone;

function sameAsNode(value: unknown): unknown {
  const ours = structuredClone(value);
  const node = nodeClone(value);
  expect(ours).toStrictEqual(node);
  if (typeof value === 'object' && value !== null) {
    expect(ours).not.toBe(value);
    expect(Object.getPrototypeOf(ours)).toBe(Object.getPrototypeOf(node));
    expect(Reflect.ownKeys(ours as object)).toEqual(Reflect.ownKeys(node as object));
  }
  return ours;
}

class Point {
  #secret = 1;
  y = 2;
  constructor(public x: number) {}
  get sum() { return this.x + this.y + this.#secret; }
}

describe('structuredClone: values, compared with Node', () => {
  test('primitives', () => {
    for (const v of [1, -0, NaN, Infinity, 'str', '', true, false, null, undefined, 10n, -(2n ** 100n)]) {
      expect(Object.is(structuredClone(v), nodeClone(v))).toBe(true);
    }
  });

  test('plain objects and arrays', () => {
    sameAsNode({ a: 1, b: [1, 2, { c: 3, d: [undefined, null] }], e: { f: { g: 'h' } } });
    sameAsNode([[[]], {}, '']);
    const sparse = [1, , 3] as unknown[] & { x?: number };
    sparse.x = 5;
    const out = sameAsNode(sparse) as unknown[];
    expect(1 in out).toBe(false);
    expect(out.length).toBe(3);
    sameAsNode(JSON.parse('{"__proto__": {"x": 1}, "y": 2}'));
    sameAsNode({ 2: 'two', 1: 'one', b: 'b', a: 'a' });
    const withSymbol = { a: 1, [Symbol('s')]: 2 };
    sameAsNode(withSymbol);
    const hidden = Object.defineProperty({ visible: 1 }, 'hidden', { value: 2, enumerable: false });
    sameAsNode(hidden);
    sameAsNode(Object.create(null));
    let calls = 0;
    const withGetter = { get lazy() { calls++; return 'got'; } };
    expect(structuredClone(withGetter)).toEqual({ lazy: 'got' });
    expect(calls).toBe(1);
  });

  test('class instances become plain objects of their own enumerable properties', () => {
    sameAsNode(new Point(1));
    expect(Object.getPrototypeOf(structuredClone(new Point(1)))).toBe(Object.prototype);
  });

  test('Date, RegExp, wrappers', () => {
    sameAsNode(new Date(1_700_000_000_000));
    sameAsNode(new Date(NaN));
    const re = /a+(b)\u{1F600}/giu;
    re.lastIndex = 3;
    const out = sameAsNode(re) as RegExp;
    expect([out.source, out.flags, out.lastIndex]).toEqual([re.source, re.flags, 0]);
    sameAsNode(/x/dsy);
    for (const v of [Object(1), Object('str'), Object(true), Object(false), Object(10n)]) sameAsNode(v);
  });

  test('Map and Set, with object keys', () => {
    const key = { k: 1 };
    const map = new Map<unknown, unknown>([[key, 'v'], ['a', [1, 2]], [NaN, new Set([1, key])]]);
    const out = sameAsNode(map) as Map<unknown, unknown>;
    const [outKey] = out.keys();
    expect((out.get(NaN) as Set<unknown>).has(outKey)).toBe(true);
    sameAsNode(new Set(['a', { b: 1 }, [2]]));
  });

  test('ArrayBuffer, typed arrays and DataView keep offsets and shared buffers', () => {
    const buf = new ArrayBuffer(32);
    new Uint8Array(buf).forEach((_, i, a) => { a[i] = i * 7; });
    sameAsNode(buf);
    for (const Ctor of [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array]) {
      sameAsNode(new Ctor(buf, 8, 2));
    }
    sameAsNode(new BigInt64Array([1n, -2n]));
    sameAsNode(new BigUint64Array([2n ** 64n - 1n]));
    const view = sameAsNode(new DataView(buf, 3, 5)) as DataView;
    expect([view.byteOffset, view.byteLength, view.buffer.byteLength]).toEqual([3, 5, 32]);
    const u16 = new Uint16Array(buf, 2, 3);
    const graph = { buf, a: new Uint8Array(buf, 1, 2), b: u16, c: u16, d: new DataView(buf) };
    const ours = structuredClone(graph);
    const node = nodeClone(graph);
    expect(ours).toStrictEqual(node);
    expect(ours.a.buffer).toBe(ours.buf);
    expect(ours.b.buffer).toBe(ours.buf);
    expect(ours.d.buffer).toBe(ours.buf);
    expect(ours.b).toBe(ours.c);
    expect([ours.b.byteOffset, ours.b.length]).toEqual([2, 3]);
    new Uint8Array(ours.buf)[0] = 99; // a copy, not the original
    expect(new Uint8Array(buf)[0]).toBe(0);
    const large = new Uint8Array(10_000_000).fill(7);
    const t = Date.now();
    expect(structuredClone(large).length).toBe(10_000_000);
    expect(Date.now() - t).toBeLessThan(1000);
  });

  test('shared and cyclic references', () => {
    const shared = { s: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared, list: [shared] };
    cyclic.self = cyclic;
    (cyclic.list as unknown[]).push(cyclic);
    const map = new Map<unknown, unknown>();
    map.set(map, cyclic);
    cyclic.map = map;
    const out = structuredClone(cyclic);
    expect(out.self).toBe(out);
    expect(out.again).toBe(out.shared);
    expect((out.list as unknown[])[0]).toBe(out.shared);
    expect((out.list as unknown[])[1]).toBe(out);
    const outMap = out.map as Map<unknown, unknown>;
    expect(outMap.get(outMap)).toBe(out);
    expect(out.shared).not.toBe(shared);
  });
});

describe('structuredClone: errors, compared with Node', () => {
  function sameError(err: Error): Error {
    const ours = structuredClone(err);
    const node = nodeClone(err);
    expect(Object.getPrototypeOf(ours)).toBe(Object.getPrototypeOf(node));
    expect([ours.name, ours.message, ours.stack]).toEqual([node.name, node.message, node.stack]);
    expect(Object.getOwnPropertyNames(ours).sort()).toEqual(Object.getOwnPropertyNames(node).sort());
    expect(Object.keys(ours)).toEqual(Object.keys(node));
    return ours;
  }

  test('Error and its standard subclasses', () => {
    for (const Ctor of [Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError]) sameError(new Ctor('m'));
    sameError(new Error());
    const renamed = new Error('m');
    renamed.name = 'TypeError';
    sameError(renamed);
    const custom = new RangeError('m');
    custom.name = 'NotAStandardName';
    sameError(custom);
    class MyError extends Error { override name = 'MyError'; extra = 1; }
    sameError(new MyError('mine'));
    sameError(Object.assign(new Error('m'), { name: 'Array' })); // not `new Array('m')`
  });

  test('cause, including a cyclic one', () => {
    const err = new Error('outer', { cause: new TypeError('inner') });
    const out = sameError(err);
    expect((out.cause as Error)).toBeInstanceOf(TypeError);
    expect((out.cause as Error).message).toBe('inner');
    expect((nodeClone(err).cause as Error).message).toBe('inner');
    const self = new Error('self');
    self.cause = self;
    const outSelf = structuredClone(self);
    expect(outSelf.cause).toBe(outSelf);
    expect(structuredClone(new Error('x', { cause: { a: [1] } })).cause).toEqual({ a: [1] });
  });

  test('DOMException keeps its name and message', () => {
    const out = structuredClone(new DOMException('gone', 'AbortError'));
    expect(out).toBeInstanceOf(DOMException);
    expect([out.name, out.message, out.code]).toEqual(['AbortError', 'gone', 20]);
  });
});

describe('structuredClone: what cannot be cloned', () => {
  function dataCloneError(fn: () => unknown): void {
    try { fn(); expect.unreachable(); } catch (e) {
      expect(e).toBeInstanceOf(DOMException);
      expect((e as DOMException).name).toBe('DataCloneError');
      expect((e as DOMException).code).toBe(25);
    }
  }

  test('the values Node rejects are rejected with a DataCloneError', () => {
    const values: unknown[] = [
      () => {}, function named() {}, class {}, Symbol('s'), { f() {} }, [Symbol.iterator], new Map([[1, () => 1]]),
      new Set([Symbol('x')]), Promise.resolve(), new WeakMap(), new WeakSet(), new WeakRef({}),
      new FinalizationRegistry(() => {}), Object(Symbol('boxed')), (function* gen() {})(), (async function* agen() {})(),
      (function () { return arguments; })(), new Map().entries(), new Set().values(), [].values(), ''[Symbol.iterator](),
      'ab'.matchAll(/a/g), { deep: { deeper: [new WeakMap()] } },
    ];
    for (const v of values) {
      expect(() => nodeClone(v)).toThrow();
      dataCloneError(() => structuredClone(v));
    }
  });

  test('web platform objects are rejected', () => {
    dataCloneError(() => structuredClone(new AbortController()));
    dataCloneError(() => structuredClone({ s: new AbortController().signal }));
    dataCloneError(() => structuredClone(new TextDecoder()));
    class Platform {}
    markUncloneable(Platform);
    dataCloneError(() => structuredClone([new Platform()]));
    expect(structuredClone(new Point(3))).toEqual({ x: 3, y: 2 });
  });

  test('a spoofed Symbol.toStringTag does not confuse it', () => {
    expect(structuredClone({ [Symbol.toStringTag]: 'Map', a: 1 })).toEqual({ a: 1 });
    const fake = Object.create(Map.prototype) as object;
    expect(structuredClone(fake)).toEqual({});
    expect(nodeClone(fake)).toEqual({});
  });
});

describe('structuredClone: arguments and options', () => {
  test('transfer (HTML StructuredSerializeWithTransfer): the clone has the bytes, the original is detached', () => {
    setDetacher((b) => { globalThis.structuredClone(b, { transfer: [b] }); });
    const buf = new Uint8Array([1, 2, 3]).buffer;
    const view = new Uint8Array(buf, 1);
    const out = structuredClone({ buf, view }, { transfer: [buf] });
    expect(new Uint8Array(out.buf)).toEqual(new Uint8Array([1, 2, 3]));
    expect(out.view.buffer).toBe(out.buf);
    expect(out.buf).not.toBe(buf);
    expect(buf.byteLength).toBe(0);
    expect(view.length).toBe(0);
    // A detached buffer cannot be transferred (or cloned) again.
    for (const f of [() => structuredClone(1, { transfer: [buf] }), () => structuredClone(buf)]) {
      try { f(); expect.unreachable(); } catch (e) { expect((e as DOMException).name).toBe('DataCloneError'); }
    }
  });

  test('transfer is validated', () => {
    const buf = new Uint8Array([1, 2, 3]).buffer;
    expect(structuredClone(1, undefined)).toBe(1);
    expect(structuredClone(1, null)).toBe(1);
    expect(structuredClone(1, {})).toBe(1);
    for (const transfer of [[{}], [new Uint8Array(1)], [buf, buf], [1]]) {
      try { structuredClone(1, { transfer }); expect.unreachable(); } catch (e) {
        expect((e as DOMException).name).toBe('DataCloneError');
      }
    }
    expect(() => structuredClone(1, 'x' as never)).toThrow(TypeError);
    expect(() => structuredClone(1, { transfer: 5 as never })).toThrow(TypeError);
    expect(() => (structuredClone as () => unknown)()).toThrow(TypeError);
  });
});

describe('structuredClone: serializable platform objects and resizable buffers', () => {
  test('Blob and File (File API §4, §5) are serializable: bytes, type, name, lastModified', async () => {
    const { Blob, File } = loadForms();
    const b = structuredClone(new Blob(['ab'], { type: 'text/x' }));
    expect([b instanceof Blob, b.size, b.type, await b.text()]).toEqual([true, 2, 'text/x', 'ab']);
    const f = structuredClone(new File(['xyz'], 'n.txt', { type: 'a/b', lastModified: 5 }));
    expect([f instanceof File, f.name, f.lastModified, f.type, await f.text()]).toEqual([true, 'n.txt', 5, 'a/b', 'xyz']);
    // Shared within one clone as everywhere else.
    const one = new Blob(['s']);
    const pair = structuredClone([one, one]);
    expect(pair[0]).toBe(pair[1]);
    // FormData is not serializable.
    try { structuredClone(new (loadForms().FormData)()); expect.unreachable(); } catch (e) { expect((e as DOMException).name).toBe('DataCloneError'); }
  });

  test('a resizable ArrayBuffer stays resizable with its maximum (HTML: [[ArrayBufferMaxByteLength]])', () => {
    const b = new (ArrayBuffer as unknown as new (n: number, o: object) => ArrayBuffer & { resizable: boolean; maxByteLength: number })(2, { maxByteLength: 8 });
    new Uint8Array(b).set([1, 2]);
    const c = structuredClone(b) as typeof b;
    expect([c.resizable, c.maxByteLength, [...new Uint8Array(c)]]).toEqual([true, 8, [1, 2]]);
  });
});
