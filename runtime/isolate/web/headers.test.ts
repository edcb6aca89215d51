// Headers (WHATWG Fetch §5.2) as WebIDL binds it, from the specifications: the HeadersInit union's
// conversion (null refused; a record read key by key in [[OwnPropertyKeys]] order, enumerable keys
// only, Symbol keys refused; a sequence converted whole before any header is added), ByteString
// values, and the pair iterator's objects (their prototype, next(), the live view of the list).

import { describe, expect, test } from 'vitest';
import { Headers } from './headers.js';

describe('new Headers(init): the HeadersInit conversion', () => {
  test('undefined is no init; null, and any non-object, is a TypeError', () => {
    expect([...new Headers(undefined)]).toEqual([]);
    for (const bad of [null, 1, 'a=b', true, Symbol('s')]) expect(() => new Headers(bad as never)).toThrow(TypeError);
  });

  test('a record is read key by key: ownKeys, then each key\'s getOwnPropertyDescriptor and get, in order', () => {
    const log: string[] = [];
    const target = { a: '1', b: '2' };
    const proxy = new Proxy(target, {
      ownKeys(t) { log.push('ownKeys'); return Reflect.ownKeys(t); },
      getOwnPropertyDescriptor(t, k) { log.push(`gopd ${String(k)}`); return Reflect.getOwnPropertyDescriptor(t, k); },
      get(t, k, r) { log.push(`get ${String(k)}`); return Reflect.get(t, k, r); },
    });
    const h = new Headers(proxy);
    // The first get is of @@iterator (the union's choice between sequence and record).
    expect(log).toEqual(['get Symbol(Symbol.iterator)', 'ownKeys', 'gopd a', 'get a', 'gopd b', 'get b']);
    expect([...h]).toEqual([['a', '1'], ['b', '2']]);
  });

  test('a record\'s non-enumerable keys are skipped (their values never read); an enumerable Symbol key is a TypeError', () => {
    const read: string[] = [];
    const o = Object.defineProperty({ a: '1' }, 'hidden', { get() { read.push('hidden'); return 'x'; }, enumerable: false });
    expect([...new Headers(o)]).toEqual([['a', '1']]);
    expect(read).toEqual([]);
    expect([...new Headers(Object.defineProperty({ a: '1' }, Symbol('s'), { value: 'x', enumerable: false }))]).toEqual([['a', '1']]);
    expect(() => new Headers({ a: '1', [Symbol('s')]: 'x' } as never)).toThrow(TypeError);
  });

  test('a sequence is converted whole (each item to a ByteString) before any header is added or a pair checked', () => {
    const order: string[] = [];
    const item = (name: string) => ({ toString() { order.push(name); return name; } });
    expect(() => new Headers([[item('a'), item('1')], [item('b')]] as never)).toThrow(TypeError);
    expect(order).toEqual(['a', '1', 'b']);
    expect(() => new Headers([['a', '1', '2']])).toThrow(TypeError);
    expect(() => new Headers(['ab'] as never)).toThrow(TypeError); // a string item is not an object
    expect(() => new Headers({ [Symbol.iterator]: 1 } as never)).toThrow(TypeError);
    // Any iterable of iterables, generators included.
    function* pairs() { yield new Set(['x-a', '1']); yield ['x-b', '2']; }
    expect([...new Headers(pairs() as never)]).toEqual([['x-a', '1'], ['x-b', '2']]);
  });

  test('a Headers is copied; values are ByteStrings (above U+00FF a TypeError), names tokens', () => {
    const a = new Headers([['Set-Cookie', 'a=1'], ['set-cookie', 'b=2'], ['X', 'é']]);
    expect([...new Headers(a)]).toEqual([['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['x', 'é']]);
    expect(() => new Headers({ x: '€' })).toThrow(TypeError);
    expect(() => a.append('y', '\u0100')).toThrow(TypeError);
    expect(() => a.set('y', 'snow ☃')).toThrow(TypeError);
    expect(() => new Headers({ 'bad name': '1' })).toThrow(TypeError);
    // The host's request headers are taken as it decoded them: none is lost to the ByteString rule.
    expect(Headers.fromFlat(['x-name', 'snow ☃', 'x-ok', 'é'], 'immutable').get('x-name')).toBe('snow ☃');
  });
});

describe('the Headers iterators (WebIDL default iterator objects of a pair iterable)', () => {
  test('@@iterator is entries itself; the iterators\' prototype is "Headers Iterator", from %IteratorPrototype%', () => {
    expect(Headers.prototype[Symbol.iterator]).toBe(Headers.prototype.entries);
    const it = new Headers({ a: '1' }).entries();
    const proto = Object.getPrototypeOf(it) as object;
    expect(Object.getPrototypeOf(proto)).toBe(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
    expect(Object.prototype.toString.call(it)).toBe('[object Headers Iterator]');
    expect(Object.getOwnPropertyNames(proto)).toEqual(['next']);
    expect(Object.getOwnPropertyDescriptor(proto, 'next')).toMatchObject({ writable: true, enumerable: true, configurable: true });
    expect(Object.getPrototypeOf(new Headers().keys())).toBe(proto);
    expect(Object.prototype.toString.call(new Headers())).toBe('[object Headers]');
    expect(Object.getOwnPropertyDescriptor(Headers.prototype, Symbol.toStringTag)).toMatchObject({ value: 'Headers', writable: false });
  });

  test('next() on anything but a Headers iterator is a TypeError; entries() on anything but a Headers too', () => {
    const next = (Object.getPrototypeOf(new Headers().keys()) as { next: () => unknown }).next;
    expect(() => next.call({})).toThrow(TypeError);
    expect(() => next.call(undefined)).toThrow(TypeError);
    expect(() => Headers.prototype.entries.call({} as Headers)).toThrow(TypeError);
    expect(() => Headers.prototype.keys.call(Object.create(Headers.prototype) as Headers)).toThrow(TypeError);
  });

  test('the list is read at each step: a header added during the iteration is met if it sorts after the current one', () => {
    const h = new Headers({ a: '1', c: '3' });
    const seen: string[] = [];
    for (const [k] of h) {
      seen.push(k);
      if (k === 'a') h.append('b', '2');
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    const keys = h.keys();
    expect(keys.next()).toEqual({ value: 'a', done: false });
    h.delete('a');
    // The index goes on: the list is now b, c; index 1 is c.
    expect(keys.next()).toEqual({ value: 'c', done: false });
    expect(keys.next()).toEqual({ value: undefined, done: true });
    expect(keys.next()).toEqual({ value: undefined, done: true });
    expect([...new Headers({ b: '2', a: '1' }).values()]).toEqual(['1', '2']);
  });

  test('forEach reads the list again after each callback, and wants a function', () => {
    const h = new Headers({ a: '1', c: '3' });
    const seen: string[] = [];
    h.forEach((v, k, self) => {
      seen.push(`${k}=${v}`);
      expect(self).toBe(h);
      if (k === 'a') h.set('b', '2');
    });
    expect(seen).toEqual(['a=1', 'b=2', 'c=3']);
    expect(() => h.forEach(undefined as never)).toThrow(TypeError);
  });
});
