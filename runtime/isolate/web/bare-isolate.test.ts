// The six web modules bundled as the runtime is (esbuild, iife, browser, es2022, minified) and run
// in a real bare isolated-vm isolate, which has only ECMAScript built-ins: proves that nothing
// relies on a global it lacks (TextEncoder, URL, crypto, setTimeout…) and that minification does
// not change the names user code sees.

import { build } from 'esbuild';
import ivm from 'isolated-vm';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ENTRY = `
import { AbortController, AbortSignal, Event, EventTarget, setAbortTimers } from './abort.js';
import { structuredClone } from './clone.js';
import { makeCrypto } from './crypto.js';
import { DOMException } from './dom-exception.js';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.js';
import { URL, URLSearchParams } from './url.js';
import { Blob, File } from './blob.js';
import { FormData } from './form-data.js';
import { Response } from './response.js';

const seed = globalThis.__seed;
delete globalThis.__seed;
const { crypto, Crypto, SubtleCrypto, CryptoKey } = makeCrypto(seed);
const pendingTimers = [];
globalThis.__runTimers = () => { for (const fn of pendingTimers.splice(0)) fn(); };
globalThis.__setTimers = () => setAbortTimers((fn) => { pendingTimers.push(fn); return pendingTimers.length; }, () => {});
Object.assign(globalThis, {
  AbortController, AbortSignal, Event, EventTarget, structuredClone, crypto, Crypto, SubtleCrypto, CryptoKey,
  DOMException, atob, btoa, TextDecoder, TextEncoder, URL, URLSearchParams, Blob, File, FormData, Response,
});
`;

let isolate: ivm.Isolate;
let context: ivm.Context;
const run = (code: string) => context.eval(code, { copy: true });
const runAsync = (code: string) => context.eval(code, { promise: true, copy: true });

beforeAll(async () => {
  const result = await build({
    stdin: { contents: ENTRY, resolveDir: fileURLToPath(new URL('.', import.meta.url)), sourcefile: 'bare-entry.ts', loader: 'ts' },
    bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022', minify: true,
    legalComments: 'none', metafile: true, logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  const byPackage: Record<string, number> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [file, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = file.includes('node_modules/') ? file.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+).*$/, '$1') : file;
      byPackage[key] = (byPackage[key] ?? 0) + bytesInOutput;
    }
  }
  console.log(`web modules bundle: ${code.length} bytes minified\n`, byPackage);

  isolate = new ivm.Isolate({ memoryLimit: 64 });
  context = await isolate.createContext();
  // Bare: none of the web globals exist before the bundle runs.
  expect(await run('[typeof TextEncoder, typeof URL, typeof crypto, typeof setTimeout, typeof DOMException, typeof structuredClone, typeof EventTarget].join()'))
    .toBe('undefined,undefined,undefined,undefined,undefined,undefined,undefined');
  await context.global.set('__seed', new ivm.ExternalCopy(new Uint8Array(randomBytes(32))).copyInto());
  await (await isolate.compileScript(code)).run(context);
});

afterAll(() => { isolate?.dispose(); });

describe('the web modules in a bare isolate', () => {
  test('TextEncoder / TextDecoder', async () => {
    expect(await run(`new TextDecoder().decode(new TextEncoder().encode('héllo'))`)).toBe('héllo');
    expect(await run(`new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0xe2, 0x82]))`)).toBe('a\ufffd\ufffd');
    expect(await run(`try { new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff])) } catch (e) { e.name }`)).toBe('TypeError');
    expect(await run(`JSON.stringify(new TextEncoder().encodeInto('€€', new Uint8Array(4)))`)).toBe('{"read":1,"written":3}');
    expect(await run(`Object.prototype.toString.call(new TextEncoder()) + TextDecoder.name`)).toBe('[object TextEncoder]TextDecoder');
  });

  test('atob / btoa', async () => {
    expect(await run(`btoa('hi')`)).toBe('aGk=');
    expect(await run(`atob(' aG k ')`)).toBe('hi');
    expect(await run(`try { atob('a') } catch (e) { [e instanceof DOMException, e.name, e.code].join() }`)).toBe('true,InvalidCharacterError,5');
  });

  test('DOMException', async () => {
    expect(await run(`const e = new DOMException('m', 'AbortError'); [DOMException.name, String(e), e.code, e instanceof Error, e.stack.split('\\n')[0]].join()`))
      .toBe('DOMException,AbortError: m,20,true,AbortError: m');
  });

  test('crypto', async () => {
    expect(await runAsync(`(async () => {
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode('abc'));
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    })()`)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(await run(`crypto.getRandomValues(new Uint8Array(8)).length`)).toBe(8);
    expect(await run(`/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(crypto.randomUUID())`)).toBe(true);
    expect(await run(`try { crypto.getRandomValues(new Float64Array(1)) } catch (e) { e.name }`)).toBe('TypeMismatchError');
    expect(await runAsync(`(async () => {
      const key = await crypto.subtle.importKey('raw', new TextEncoder().encode('key'), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
      const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('The quick brown fox jumps over the lazy dog'));
      return [...new Uint8Array(sig)].map((b) => b.toString(16).padStart(2, '0')).join('') + ' ' + (await crypto.subtle.verify('HMAC', key, sig, new TextEncoder().encode('The quick brown fox jumps over the lazy dog')));
    })()`)).toBe('f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8 true');
    expect(await run(`[Crypto.name, String(crypto), crypto instanceof Crypto].join()`)).toBe('Crypto,[object Crypto],true');
  });

  test('URL and URLSearchParams', async () => {
    expect(await run(`new URL('https://EXAMPLE.com/a/../b?x=1#h').href`)).toBe('https://example.com/b?x=1#h');
    expect(await run(`new URL('http://münchen.de/ä?q=ü').href`)).toBe('http://xn--mnchen-3ya.de/%C3%A4?q=%C3%BC');
    expect(await run(`const u = new URL('http://x/?a=1'); u.searchParams.append('b', 'c d'); u.href`)).toBe('http://x/?a=1&b=c+d');
    expect(await run(`const v = new URL('http://x/'); try { v.href = 'nope' } catch {} v.href`)).toBe('http://x/');
    expect(await run(`new URLSearchParams({ a: '1', b: 'é' }).toString()`)).toBe('a=1&b=%C3%A9');
  });

  test('structuredClone', async () => {
    expect(await run(`const m = structuredClone(new Map([[1, { a: [2n] }], ['d', new Date(0)]])); [m instanceof Map, m.get(1).a[0] === 2n, m.get('d').getTime()].join()`))
      .toBe('true,true,0');
    expect(await run(`try { structuredClone({ f() {} }) } catch (e) { [e instanceof DOMException, e.name].join() }`)).toBe('true,DataCloneError');
  });

  test('AbortController, AbortSignal, EventTarget', async () => {
    expect(await run(`
      const c = new AbortController();
      const log = [];
      c.signal.addEventListener('abort', (e) => log.push(e.type));
      c.signal.onabort = () => log.push('onabort');
      const any = AbortSignal.any([c.signal]);
      c.abort();
      [c.signal.aborted, c.signal.reason.name, any.reason === c.signal.reason, log.join('+'), AbortSignal.name].join()`))
      .toBe('true,AbortError,true,abort+onabort,AbortSignal');
    expect(await run(`try { new AbortSignal() } catch (e) { e.message }`)).toBe('Illegal constructor');
    expect(await run(`try { AbortSignal.timeout(1) } catch (e) { e.name }`)).toBe('NotSupportedError');
    expect(await run(`__setTimers(); globalThis.t = AbortSignal.timeout(10); const before = t.aborted; __runTimers(); [before, t.aborted, t.reason.name].join()`))
      .toBe('false,true,TimeoutError');
    expect(await run(`const et = new EventTarget(); let n = 0; et.addEventListener('x', () => n++); et.dispatchEvent(new Event('x')); n`)).toBe(1);
    expect(await run(`[EventTarget.name, Event.name, String(new EventTarget()), String(new Event('x'))].join()`))
      .toBe('EventTarget,Event,[object EventTarget],[object Event]');
  });

  test('Blob, File, FormData and formData(): what WebIDL binds survives minification', async () => {
    expect(await run(`[Blob.length, File.length, FormData.length, Blob.prototype.slice.length, FormData.prototype.append.length, FormData.prototype.forEach.length].join()`))
      .toBe('0,2,0,0,2,1');
    expect(await run(`[String(new Blob()), String(new File([], 'f')), String(new FormData()), String(new FormData().keys())].join()`))
      .toBe('[object Blob],[object File],[object FormData],[object FormData Iterator]');
    expect(await runAsync(`new Blob(['a\\ud800', new Uint8Array([98])], { type: 'X/Y' }).slice(-4, undefined, 'T/U').text().then((t) => t + '|' + new Blob([], { type: 'X/Y' }).type)`))
      .toBe('\ufffdb|x/y');
    expect(await runAsync(`(async () => {
      const f = new FormData();
      f.append('a', 'x\\ny');
      f.append('f', new Blob(['bytes'], { type: 'a/b' }), 'n"1');
      const back = await new Response(f).formData();
      const file = back.get('f');
      return [back.get('a'), file.name, file.type, await file.text(), file instanceof File].join('|');
    })()`)).toBe('x\r\ny|n"1|a/b|bytes|true');
  });
});
