// The Request constructor (WHATWG Fetch §6.4), from the specification: RequestInit's browser-facing
// members are checked and kept, and a Request made from another takes its body, leaving the input's
// used.

import { describe, expect, test } from 'vitest';
import { ReadableStream } from 'web-streams-polyfill';
import { HostGlobal } from '../../protocol.js';
import { setExtraLoader } from '../extras.js';
import { Request } from './request.js';
import * as url from './url.js';

// In an isolate the host runs the "url" extra's script; here the loader hands over the module.
setExtraLoader((name: string) => {
  if (name !== 'url') return false;
  (globalThis as unknown as Record<string, (e: unknown) => void>)[HostGlobal.extraHook]!(() => url);
  return true;
});

describe('RequestInit members (Fetch §6.4 steps 13–30)', () => {
  test('init is a dictionary: undefined, null or an object (WebIDL); a number or string is a TypeError', () => {
    expect(new Request('https://a.example/', null as never).method).toBe('GET');
    expect(() => new Request('https://a.example/', 5 as never)).toThrow(TypeError);
    expect(() => new Request('https://a.example/', 'x' as never)).toThrow(TypeError);
  });

  test('defaults', () => {
    const r = new Request('https://a.example/');
    expect([r.cache, r.credentials, r.mode, r.referrer, r.referrerPolicy, r.integrity, r.keepalive, r.destination, r.redirect])
      .toEqual(['default', 'same-origin', 'cors', 'about:client', '', '', false, '', 'follow']);
  });

  test('every enumeration value is kept; anything else is a TypeError', () => {
    for (const cache of ['default', 'no-store', 'reload', 'no-cache', 'force-cache']) expect(new Request('https://a.example/', { cache }).cache).toBe(cache);
    for (const credentials of ['omit', 'same-origin', 'include']) expect(new Request('https://a.example/', { credentials }).credentials).toBe(credentials);
    for (const mode of ['same-origin', 'no-cors', 'cors']) expect(new Request('https://a.example/', { mode }).mode).toBe(mode);
    expect(new Request('https://a.example/', { referrerPolicy: 'no-referrer' }).referrerPolicy).toBe('no-referrer');
    for (const bad of [{ cache: 'nope' }, { credentials: 'all' }, { mode: 'CORS' }, { referrerPolicy: 'x' }]) {
      expect(() => new Request('https://a.example/', bad)).toThrow(TypeError);
    }
  });

  test("'navigate' mode, and 'only-if-cached' outside 'same-origin', are TypeErrors; no-cors wants a safelisted method", () => {
    expect(() => new Request('https://a.example/', { mode: 'navigate' })).toThrow(TypeError);
    expect(() => new Request('https://a.example/', { cache: 'only-if-cached' })).toThrow(TypeError);
    expect(new Request('https://a.example/', { cache: 'only-if-cached', mode: 'same-origin' }).cache).toBe('only-if-cached');
    expect(() => new Request('https://a.example/', { mode: 'no-cors', method: 'PUT' })).toThrow(TypeError);
    expect(new Request('https://a.example/', { mode: 'no-cors', method: 'POST' }).mode).toBe('no-cors');
  });

  test('referrer: "" is none, a same-origin URL is kept (parsed against the request URL), about:client and other origins are the client', () => {
    const r = (referrer: string) => new Request('https://a.example/x/y', { referrer }).referrer;
    expect(r('')).toBe('');
    expect(r('/z?q')).toBe('https://a.example/z?q');
    expect(r('about:client')).toBe('about:client');
    expect(r('https://other.example/')).toBe('about:client');
    expect(() => r('http://[bad')).toThrow(TypeError);
  });

  test('integrity and keepalive; a Request made from another keeps its fields unless init overrides them', () => {
    const a = new Request('https://a.example/', { integrity: 'sha256-abc', keepalive: true, cache: 'no-store', credentials: 'omit' });
    expect([a.integrity, a.keepalive]).toEqual(['sha256-abc', true]);
    const b = new Request(a, { cache: 'reload' });
    expect([b.integrity, b.keepalive, b.cache, b.credentials]).toEqual(['sha256-abc', true, 'reload', 'omit']);
    expect(a.clone().cache).toBe('no-store');
  });
});

describe('a Request made from another takes its body (Fetch §6.4 step 42)', () => {
  test('bytes: the input becomes used; the new one reads the bytes', async () => {
    const a = new Request('https://a.example/', { method: 'POST', body: 'hello' });
    const b = new Request(a);
    expect(a.bodyUsed).toBe(true);
    expect(b.bodyUsed).toBe(false);
    expect(await b.text()).toBe('hello');
    await expect(a.text()).rejects.toThrow(TypeError);
    expect(() => new Request(a)).toThrow(TypeError);
  });

  test('a stream: piped through a proxy; the input is used and locked', async () => {
    const body = new ReadableStream<Uint8Array>({ start(c) { c.enqueue(new TextEncoder().encode('streamed')); c.close(); } });
    const a = new Request('https://a.example/', { method: 'POST', body: body as never });
    const b = new Request(a);
    expect(a.bodyUsed).toBe(true);
    expect(body.locked).toBe(true);
    expect(await b.text()).toBe('streamed');
  });

  test('a body in init leaves the input alone', async () => {
    const a = new Request('https://a.example/', { method: 'POST', body: 'one' });
    const b = new Request(a, { body: 'two' });
    expect([a.bodyUsed, await b.text(), await a.text()]).toEqual([false, 'two', 'one']);
  });
});
