// Installs the web platform APIs on the isolate's global object, before any function code runs:
// as in browsers and workerd they are writable, configurable, non-enumerable properties.

import {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableByteStreamController, ReadableStream,
  ReadableStreamBYOBReader, ReadableStreamBYOBRequest, ReadableStreamDefaultController,
  ReadableStreamDefaultReader, TransformStream, TransformStreamDefaultController, WritableStream,
  WritableStreamDefaultController, WritableStreamDefaultWriter,
} from 'web-streams-polyfill';
import { AbortController, AbortSignal, CustomEvent, Event, EventTarget, initEventTarget, setAbortTimers, setErrorHandler } from './abort.js';
import { structuredClone } from './clone.js';
import { DOMException } from './dom-exception.js';
import { atob, btoa, TextDecoder, TextEncoder } from './encoding.js';
import { TextDecoderStream, TextEncoderStream } from './encoding-streams.js';
import { fetch } from './fetch.js';
import { Headers } from './headers.js';
import { Request } from './request.js';
import { Response } from './response.js';
import { clearInterval, clearTimeout, setInterval, setTimeout, uncaught } from './timers.js';
import { defineLazyGlobals, loadCrypto, urlModule } from './lazy.js';
import { Blob, File } from './blob.js';
import { FormData } from './form-data.js';

/**
 * Loads what is otherwise loaded on first use (URL, URLSearchParams, crypto): pre-warmed blanks for
 * code that names them do this ahead of any call (core-js's URL is ~0.22 MiB of every idle
 * instance; the first touch of URL costs ~4.3 ms of the isolate's CPU, of crypto ~4 ms).
 */
export function preloadGlobals(): void {
  void (globalThis as Record<string, unknown>).URL;
  void (globalThis as Record<string, unknown>).URLSearchParams;
  void (globalThis as Record<string, unknown>).crypto;
  void (globalThis as Record<string, unknown>).Crypto;
}

export function installGlobals(seed: Uint8Array, report: (where: string, err: unknown) => void): void {
  uncaught.report = report;
  setAbortTimers(setTimeout as never, clearTimeout as never);
  setErrorHandler((err: unknown) => report('in an event listener', err));
  const promiseThen = Promise.prototype.then;
  const resolved = Promise.resolve();
  const queueMicrotask = (cb: unknown): void => {
    if (typeof cb !== 'function') throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
    promiseThen.call(resolved, () => {
      try { (cb as () => void)(); } catch (err) { report('in a queueMicrotask callback', err); }
    });
  };
  const dateNow = Date.now;
  const timeOrigin = dateNow();
  const performance = Object.freeze({ timeOrigin, now: () => dateNow() - timeOrigin });
  let made: ReturnType<ReturnType<typeof loadCrypto>['makeCrypto']> | null = null;
  const crypto = () => (made ??= loadCrypto().makeCrypto(seed));

  const globals: Record<string, unknown> = {
    // Fetch
    Headers, Request, Response, fetch,
    // Encoding
    TextEncoder, TextDecoder, TextEncoderStream, TextDecoderStream, atob, btoa,
    // Timers and tasks
    setTimeout, clearTimeout, setInterval, clearInterval, queueMicrotask, structuredClone, performance,
    // Events and abort
    Event, CustomEvent, EventTarget, AbortController, AbortSignal, DOMException,
    // Streams
    ReadableStream, WritableStream, TransformStream, ReadableStreamDefaultReader, ReadableStreamBYOBReader,
    ReadableStreamBYOBRequest, ReadableByteStreamController, ReadableStreamDefaultController,
    TransformStreamDefaultController, WritableStreamDefaultController, WritableStreamDefaultWriter,
    ByteLengthQueuingStrategy, CountQueuingStrategy,
    // File API, XHR
    Blob, File, FormData,
  };
  for (const [name, value] of Object.entries(globals)) {
    if (value === undefined) continue;
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
  // Loaded on first use (see lazy.ts).
  defineLazyGlobals(() => ({ ...urlModule() }), ['URL', 'URLSearchParams']);
  defineLazyGlobals(() => ({ ...crypto() }), ['crypto', 'Crypto', 'SubtleCrypto', 'CryptoKey']);
  // Workers and service workers name the global scope `self`.
  Object.defineProperty(globalThis, 'self', { value: globalThis, writable: true, configurable: true, enumerable: false });
  Object.defineProperty(globalThis, 'navigator', {
    value: Object.freeze({ userAgent: 'Hearth', hardwareConcurrency: 1 }), writable: true, configurable: true, enumerable: false,
  });
}

/**
 * The global object is a ServiceWorkerGlobalScope, a WorkerGlobalScope, an EventTarget (HTML §10.2,
 * as in workerd): its prototype chain is ServiceWorkerGlobalScope.prototype → WorkerGlobalScope.prototype
 * → EventTarget.prototype → Object.prototype, so addEventListener, removeEventListener and
 * dispatchEvent work on it, with listener lists of its own. The two interfaces' constructors are
 * reachable as in workerd (inherited properties) and, like theirs, throw "Illegal constructor".
 * The runtime dispatches no event of its own to the global (handlers are the module's exports).
 */
// Run as the module is evaluated, in the bundle's top-level code: V8 compiles that eagerly, so it
// is in the runtime's code cache (a function called at boot is compiled again at every boot).
{
  const illegal = (name: string) => ({ [name]: function () { throw new TypeError('Illegal constructor'); } })[name]!;
  const WorkerGlobalScope = illegal('WorkerGlobalScope');
  const ServiceWorkerGlobalScope = illegal('ServiceWorkerGlobalScope');
  const hidden = { writable: true, configurable: true, enumerable: false };
  const wgs = Object.create(EventTarget.prototype, {
    constructor: { value: WorkerGlobalScope, ...hidden },
    [Symbol.toStringTag]: { value: 'WorkerGlobalScope', configurable: true },
  }) as object;
  const swgs = Object.create(wgs, {
    constructor: { value: ServiceWorkerGlobalScope, ...hidden },
    WorkerGlobalScope: { value: WorkerGlobalScope, ...hidden },
    ServiceWorkerGlobalScope: { value: ServiceWorkerGlobalScope, ...hidden },
    [Symbol.toStringTag]: { value: 'ServiceWorkerGlobalScope', configurable: true },
  }) as object;
  Object.defineProperty(WorkerGlobalScope, 'prototype', { value: wgs, writable: false });
  Object.defineProperty(ServiceWorkerGlobalScope, 'prototype', { value: swgs, writable: false });
  Object.setPrototypeOf(ServiceWorkerGlobalScope, WorkerGlobalScope);
  Object.setPrototypeOf(WorkerGlobalScope, EventTarget);
  Object.setPrototypeOf(globalThis, swgs);
  initEventTarget(globalThis);
  // WebIDL §3.7.7: an operation of an interface the global object implements, called with an
  // undefined or null this (addEventListener(...) unqualified, in a module), acts on the global.
  const proto = EventTarget.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const add = proto.addEventListener!, remove = proto.removeEventListener!, dispatch = proto.dispatchEvent!;
  const methods = {
    addEventListener(this: unknown, type: unknown, callback: unknown) { return add.apply(this ?? globalThis, arguments as never); },
    removeEventListener(this: unknown, type: unknown, callback: unknown) { return remove.apply(this ?? globalThis, arguments as never); },
    dispatchEvent(this: unknown, event: unknown) { return dispatch.apply(this ?? globalThis, arguments as never); },
  };
  for (const [name, fn] of Object.entries(methods)) Object.defineProperty(proto, name, { value: fn, ...hidden, enumerable: true });
}
