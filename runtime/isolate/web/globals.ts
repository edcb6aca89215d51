// Installs the web platform APIs on the isolate's global object, before any function code runs:
// as in browsers and workerd they are writable, configurable, non-enumerable properties.

import {
  ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableByteStreamController, ReadableStream,
  ReadableStreamBYOBReader, ReadableStreamBYOBRequest, ReadableStreamDefaultController,
  ReadableStreamDefaultReader, TransformStream, TransformStreamDefaultController, WritableStream,
  WritableStreamDefaultController, WritableStreamDefaultWriter,
} from 'web-streams-polyfill';
import { AbortController, AbortSignal, CustomEvent, Event, EventTarget, setAbortTimers, setErrorHandler } from './abort.js';
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
