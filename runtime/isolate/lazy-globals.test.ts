// The lazy web globals (URL, URLSearchParams, crypto…) in an isolate that was NOT preloaded, as a
// cold start on a non-default memoryMb gets one (or any once the reserve is used up): whichever
// is touched first, the others are whole afterwards (issue 15, point 17: touching URLSearchParams
// first used to leave URL undefined for the isolate's whole life).

import { afterEach, describe, expect, test } from 'vitest';
import { runtimeScript } from '../../test/support/runtime-script.js';
import { bootIsolate, disposeIsolate, type BootedIsolate } from '../../pool/isolate/boot.js';

const noHost = { log() {}, result() {}, host() {} };
let booted: BootedIsolate | null = null;
afterEach(() => { if (booted) disposeIsolate(booted); booted = null; });

async function blank(): Promise<BootedIsolate> {
  return (booted = await bootIsolate(64, await runtimeScript(), noHost, 'bare'));
}

describe('lazy web globals in an isolate that was not preloaded', () => {
  test('URLSearchParams first: URL is still there, and both work', async () => {
    const b = await blank();
    expect(await b.context.eval(`typeof URLSearchParams + ',' + typeof URL`, { copy: true })).toBe('function,function');
    expect(await b.context.eval(`new URL('/a?x=1', 'https://h.example').searchParams.get('x') + new URLSearchParams('y=2').get('y')`, { copy: true })).toBe('12');
  });

  test('URL first, then URLSearchParams', async () => {
    const b = await blank();
    expect(await b.context.eval(`typeof URL + ',' + typeof URLSearchParams + ',' + (new URL('https://h.example/p').pathname)`, { copy: true })).toBe('function,function,/p');
  });

  test('SubtleCrypto first: crypto is still there', async () => {
    const b = await blank();
    expect(await b.context.eval(`typeof SubtleCrypto + ',' + typeof crypto.getRandomValues + ',' + typeof CryptoKey`, { copy: true })).toBe('function,function,function');
  });

  test('a global the function assigned before the load stays as it assigned it', async () => {
    const b = await blank();
    expect(await b.context.eval(`URL = 'mine'; typeof URLSearchParams + ',' + URL`, { copy: true })).toBe('function,mine');
  });

  test('FormData first: Blob and File are there too, and a body recognises them', async () => {
    const b = await blank();
    expect(await b.context.eval(`typeof FormData + ',' + typeof Blob + ',' + typeof File`, { copy: true })).toBe('function,function,function');
    expect(await b.context.eval(`new Response(new Blob(['x'], { type: 'a/b' })).headers.get('content-type')`, { copy: true })).toBe('a/b');
  });

  test('body.formData() in a fresh isolate loads the classes it returns', async () => {
    const b = await blank();
    const got = await b.context.eval(
      `new Response('a=1', { headers: { 'content-type': 'application/x-www-form-urlencoded' } }).formData()
        .then((f) => [f instanceof FormData, f.get('a'), Object.getOwnPropertyDescriptor(globalThis, 'FormData').enumerable].join())`,
      { promise: true, copy: true });
    expect(got).toBe('true,1,false');
  });
});

// Issue 19, point 4: whichever lazy global a function touches first, in an isolate that loaded
// nothing ahead, every global is whole afterwards. The lazy ones are found, not listed: every
// global that is still an accessor in a fresh isolate. Each is touched first in its own isolate,
// then every global is read in the order the global object lists them, and then in reverse.
describe('every lazy global, touched first in a fresh isolate, leaves no global undefined', () => {
  const probe = (first: string) => `(() => {
    void globalThis[${JSON.stringify(first)}];
    const names = Object.getOwnPropertyNames(globalThis);
    const bad = [];
    for (const order of [names, [...names].reverse()]) {
      for (const n of order) {
        const d = Object.getOwnPropertyDescriptor(globalThis, n);
        if (d && 'get' in d && d.get) { const v = globalThis[n]; if (v === undefined) bad.push(n + ' (read)'); continue; }
        // (gc: V8 makes it non-configurable; the runtime takes it and leaves undefined, index.ts.)
        if (d && d.value === undefined && n !== 'undefined' && n !== 'gc') bad.push(n);
      }
    }
    const stillLazy = names.filter((n) => Object.getOwnPropertyDescriptor(globalThis, n)?.get);
    return JSON.stringify({ bad, stillLazy });
  })()`;

  test('the lazy globals are the ones expected', async () => {
    const b = await blank();
    const lazy = JSON.parse(await b.context.eval(
      `JSON.stringify(Object.getOwnPropertyNames(globalThis).filter((n) => Object.getOwnPropertyDescriptor(globalThis, n).get).sort())`,
      { copy: true }) as string) as string[];
    for (const n of ['URL', 'URLSearchParams', 'crypto', 'Crypto', 'SubtleCrypto', 'CryptoKey']) expect(lazy).toContain(n);
  });

  test('each one first', async () => {
    const first = await blank();
    const lazy = JSON.parse(await first.context.eval(
      `JSON.stringify(Object.getOwnPropertyNames(globalThis).filter((n) => Object.getOwnPropertyDescriptor(globalThis, n).get))`,
      { copy: true }) as string) as string[];
    disposeIsolate(first); booted = null;
    for (const name of lazy) {
      const b = await blank();
      const got = JSON.parse(await b.context.eval(probe(name), { copy: true }) as string) as { bad: string[]; stillLazy: string[] };
      expect({ name, ...got }).toEqual({ name, bad: [], stillLazy: [] });
      disposeIsolate(b); booted = null;
    }
  });
});
