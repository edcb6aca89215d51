// The global object as HTML §10.2 and workerd make it: a ServiceWorkerGlobalScope, a
// WorkerGlobalScope and an EventTarget, with listener lists of its own (in a real isolate).

import { afterEach, expect, test } from 'vitest';
import { runtimeScript } from '../../../test/support/runtime-script.js';
import { bootIsolate, disposeIsolate, type BootedIsolate } from '../../../pool/isolate/boot.js';

const noHost = { log() {}, result() {}, host() {} };
let booted: BootedIsolate | null = null;
afterEach(() => { if (booted) disposeIsolate(booted); booted = null; });

test('globalThis is an EventTarget through ServiceWorkerGlobalScope and WorkerGlobalScope', async () => {
  const b = (booted = await bootIsolate(64, await runtimeScript(), noHost, 'bare'));
  const got = JSON.parse(await b.context.eval(`
    const chain = [];
    for (let o = Object.getPrototypeOf(globalThis); o; o = Object.getPrototypeOf(o)) chain.push(Object.prototype.toString.call(o));
    const seen = [];
    const l = (e) => seen.push(e.type + ':' + (e.target === globalThis) + ':' + (this === undefined));
    addEventListener('ping', l);
    dispatchEvent(new Event('ping'));
    removeEventListener('ping', l);
    dispatchEvent(new Event('ping'));
    self.addEventListener('once', (e) => seen.push(e.type), { once: true });
    globalThis.dispatchEvent(new Event('once'));
    globalThis.dispatchEvent(new Event('once'));
    let ctor;
    try { new WorkerGlobalScope(); } catch (e) { ctor = e.name + ': ' + e.message; }
    JSON.stringify({
      chain, seen, ctor,
      instance: globalThis instanceof EventTarget && globalThis instanceof WorkerGlobalScope && globalThis instanceof ServiceWorkerGlobalScope,
      tag: Object.prototype.toString.call(globalThis),
      own: ['addEventListener', 'WorkerGlobalScope', 'ServiceWorkerGlobalScope'].filter((k) => Object.hasOwn(globalThis, k)),
    })
  `, { copy: true }) as string);
  expect(got).toEqual({
    chain: ['[object ServiceWorkerGlobalScope]', '[object WorkerGlobalScope]', '[object EventTarget]', '[object Object]'],
    seen: ['ping:true:false', 'once'],
    ctor: 'TypeError: Illegal constructor',
    instance: true,
    tag: '[object ServiceWorkerGlobalScope]',
    own: [],
  });
});
