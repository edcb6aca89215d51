// Which kind of pre-warmed blank a function's cold starts take (CodeCache.blankKind): the code's
// source and what an isolate learnt when it loaded it. The store is a small in-memory fake.

import { describe, expect, test } from 'vitest';
import { CodeCache, type CodeStore } from './code-cache.js';

function cacheWith(sources: Record<string, string>): CodeCache {
  const store: CodeStore = {
    getCode: (d) => Buffer.from(sources[d]!),
    getCache: () => null,
    putCache: () => {},
    dropCache: () => {},
  };
  return new CodeCache(store);
}

describe('CodeCache.blankKind', () => {
  test('code that names URL, URLSearchParams, fetch or crypto takes a blank with them loaded; other code an event blank', () => {
    const c = cacheWith({
      plain: 'exports.handler = async (e) => ({ ok: e.ok, n: e.items.length })',
      url: 'exports.handler = async (e) => new URL(e.href).host',
      params: 'exports.handler = async (e) => Object.fromEntries(new URLSearchParams(e.q))',
      fetches: 'exports.handler = async () => (await fetch("http://x.example/")).status',
      uuid: 'exports.handler = async () => crypto.randomUUID()',
      // Names that merely contain the letters are not URL.
      near: 'const baseURLs = []; const prefetch = 1, cryptocurrency = 2; exports.handler = async () => baseURLs.length + prefetch + cryptocurrency',
    });
    expect(c.blankKind('plain')).toBe('event');
    expect(c.blankKind('url')).toBe('apis');
    expect(c.blankKind('params')).toBe('apis');
    expect(c.blankKind('fetches')).toBe('apis');
    expect(c.blankKind('uuid')).toBe('apis');
    expect(c.blankKind('near')).toBe('event');
  });

  test('a module an isolate found to offer a fetch handler takes a web blank; the source is read once', () => {
    let reads = 0;
    const store: CodeStore = { getCode: () => { reads++; return Buffer.from('export default { async fetch() { return new Response("x"); } }'); }, getCache: () => null, putCache: () => {}, dropCache: () => {} };
    const c = new CodeCache(store);
    expect(c.blankKind('m')).toBe('apis');
    c.setOffersFetch('m', true);
    expect(c.blankKind('m')).toBe('web');
    expect(reads).toBe(1);
  });
});
