// AbortController and AbortSignal (WHATWG DOM §3, "Aborting ongoing activities") for bare V8
// isolates, on the EventTarget and Event of event-target-shim (re-exported here, named and tagged,
// with its error and warning hooks).
// Follows the current spec: "signal abort" sets the reason of the dependent signals before any
// event fires, abort algorithms run before the 'abort' event, AbortSignal.any flattens dependent
// signals to their sources, and AbortSignal cannot be constructed by user code.
// Garbage collection, as the DOM spec asks: a source refers to its dependent signals weakly,
// except to those that have 'abort' listeners or abort algorithms, so `AbortSignal.any([longLived,
// …])` does not leak and a dependent signal with listeners lives as long as one of its sources.
// AbortSignal.timeout needs timers, which this module does not have: call setAbortTimers first.
// Deviation: a listener removed again does not make the signal weakly held again (as in Node).

// @ts-ignore -- event-target-shim's types exist but its package.json "exports" hides them
import * as shim from 'event-target-shim';
import { DOMException } from './dom-exception.js';

// The shim's classes, typed here as the DOM types them.
export interface EventInit { bubbles?: boolean; cancelable?: boolean; composed?: boolean }
export interface Event {
  readonly type: string;
  readonly target: EventTarget | null;
  readonly currentTarget: EventTarget | null;
  readonly srcElement: EventTarget | null;
  readonly eventPhase: number;
  readonly bubbles: boolean;
  readonly cancelable: boolean;
  readonly composed: boolean;
  readonly defaultPrevented: boolean;
  readonly isTrusted: boolean;
  readonly timeStamp: number;
  cancelBubble: boolean;
  returnValue: boolean;
  composedPath(): EventTarget[];
  preventDefault(): void;
  stopPropagation(): void;
  stopImmediatePropagation(): void;
  initEvent(type: string, bubbles?: boolean, cancelable?: boolean): void;
  readonly NONE: 0; readonly CAPTURING_PHASE: 1; readonly AT_TARGET: 2; readonly BUBBLING_PHASE: 3;
}
export interface EventConstructor {
  new (type: string, eventInitDict?: EventInit): Event;
  readonly prototype: Event;
  readonly NONE: 0; readonly CAPTURING_PHASE: 1; readonly AT_TARGET: 2; readonly BUBBLING_PHASE: 3;
}
export type EventListener = (event: Event) => unknown;
export interface EventListenerObject { handleEvent(event: Event): unknown }
export type EventListenerOrEventListenerObject = EventListener | EventListenerObject;
export interface EventListenerOptions { capture?: boolean }
export interface AddEventListenerOptions extends EventListenerOptions { once?: boolean; passive?: boolean; signal?: AbortSignal }
export interface EventTarget {
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
  dispatchEvent(event: Event): boolean;
}
export interface EventTargetConstructor { new (): EventTarget; readonly prototype: EventTarget }

export const EventTarget: EventTargetConstructor = shim.EventTarget;
/** Gives an existing object (the global) an EventTarget's listener lists (patched shim). */
export const initEventTarget: (target: object) => void = shim.initEventTarget;

const ShimEvent = shim.Event as unknown as EventConstructor;
/**
 * The shim's Event, as WebIDL binds its constructor: `type` is required (`new Event()` is a
 * TypeError, as is calling it without `new`). The same prototype object, so every event the shim
 * makes or takes is one of these.
 */
export const Event: EventConstructor = function Event(this: unknown, type: string): Event {
  if (new.target === undefined) throw new TypeError("Failed to construct 'Event': Please use the 'new' operator, this DOM object constructor cannot be called as a function.");
  if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
  return Reflect.construct(ShimEvent, [type, arguments[1]], new.target) as Event;
} as unknown as EventConstructor;
Object.defineProperty(Event, 'prototype', { value: ShimEvent.prototype, writable: false, enumerable: false, configurable: false });
Object.defineProperty(ShimEvent.prototype, 'constructor', { value: Event, writable: true, enumerable: false, configurable: true });
for (const [k, v] of [['NONE', 0], ['CAPTURING_PHASE', 1], ['AT_TARGET', 2], ['BUBBLING_PHASE', 3]] as const) {
  Object.defineProperty(Event, k, { value: v, writable: false, enumerable: true, configurable: false });
}

export interface CustomEventInit<T = unknown> extends EventInit { detail?: T }

/** DOM's CustomEvent: an Event with a `detail` (null unless given). */
export class CustomEvent<T = unknown> extends (Event as unknown as new (type: string, init?: EventInit) => Event) {
  #detail: T | null;

  constructor(type: string, init?: CustomEventInit<T>) {
    if (arguments.length === 0) throw new TypeError("Failed to construct 'CustomEvent': 1 argument required, but only 0 present.");
    super(type, init);
    this.#detail = init === null || init === undefined || init.detail === undefined ? null : init.detail;
  }

  get detail(): T | null {
    return this.#detail;
  }

  /** The legacy initializer: type, flags and detail at once (before the event is dispatched). */
  initCustomEvent(type: string, bubbles = false, cancelable = false, detail: T | null = null): void {
    if (arguments.length === 0) throw new TypeError("Failed to execute 'initCustomEvent' on 'CustomEvent': 1 argument required, but only 0 present.");
    this.initEvent(type, bubbles, cancelable);
    this.#detail = detail;
  }
}
Object.defineProperty(CustomEvent, 'length', { value: 1 });
/** Where exceptions thrown by listeners go (by default console.error, if there is a console). */
export const setErrorHandler: (handler: ((error: Error) => void) | undefined) => void = shim.setErrorHandler;
/** Where the shim's warnings go (by default nowhere: see below). */
export const setWarningHandler: (handler: ((warning: unknown) => void) | undefined) => void = shim.setWarningHandler;
const getEventAttributeValue: (target: EventTarget, type: string) => unknown = shim.getEventAttributeValue;
const setEventAttributeValue: (target: EventTarget, type: string, value: unknown) => void = shim.setEventAttributeValue;

function defineTag(cls: { prototype: object }, name: string): void {
  Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  // Minifiers rename classes; keep the name user code sees.
  Object.defineProperty(cls, 'name', { value: name, configurable: true });
}
// The shim's classes have no Symbol.toStringTag, and would show minified names.
defineTag(EventTarget, 'EventTarget');
defineTag(Event, 'Event');
defineTag(CustomEvent, 'CustomEvent');

// addEventListener's options.signal is an AbortSignal or absent (WebIDL: null, or any other
// object, is a TypeError); the shim would take null as absent.
const shimAdd = EventTarget.prototype.addEventListener;
Object.defineProperty(EventTarget.prototype, 'addEventListener', {
  value: function addEventListener(this: EventTarget, type: string, callback: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
    if (options !== null && typeof options === 'object') {
      const signal = (options as AddEventListenerOptions).signal;
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': Failed to read the 'signal' property from 'AddEventListenerOptions': Failed to convert value to 'AbortSignal'.");
      }
    }
    return shimAdd.call(this, type, callback, options);
  },
  writable: true, enumerable: true, configurable: true,
});

// The shim console.warn()s on legal but unusual calls (adding a listener twice, a falsy
// cancelBubble…), which would land in the function's logs. Browsers say nothing.
setWarningHandler(() => {});

type SetTimeout = (callback: () => void, ms: number) => unknown;
type ClearTimeout = (id: unknown) => void;
let timers: { set: SetTimeout; clear: ClearTimeout } | null = null;

/**
 * Gives AbortSignal.timeout its timers (call once, when setTimeout exists). Only setTimeout is
 * used today: a timeout signal's timer cannot be cancelled by anyone.
 */
export function setAbortTimers(setTimeoutFn: SetTimeout, clearTimeoutFn: ClearTimeout): void {
  timers = { set: setTimeoutFn, clear: clearTimeoutFn };
}

const KEY = Symbol('internal');

/** "signal abort"; set in AbortSignal's static block. */
let signalAbort: (signal: AbortSignal, reason: unknown) => void;
/** "add an algorithm" to an AbortSignal; set in AbortSignal's static block. */
let addAlgorithm: (signal: AbortSignal, algorithm: () => void) => () => void;

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  #algorithms: (() => void)[] = [];
  // As a source: its dependent signals, held weakly unless they have listeners.
  #weakDependents = new Set<WeakRef<AbortSignal>>();
  #strongDependents = new Set<AbortSignal>();
  #pruneAt = 16;
  // As a dependent signal (from AbortSignal.any): its sources, and the one WeakRef to itself.
  #sources: WeakRef<AbortSignal>[] = [];
  #self: WeakRef<AbortSignal> | null = null;

  /** Not for user code (TypeError "Illegal constructor"), as in browsers. */
  constructor(token?: unknown) {
    if (token !== KEY) throw new TypeError('Illegal constructor');
    super();
  }

  get aborted(): boolean { return this.#aborted; }
  get reason(): unknown { return this.#reason; }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  get onabort(): ((this: AbortSignal, event: Event) => unknown) | null {
    return getEventAttributeValue(this, 'abort') as never;
  }
  set onabort(value: ((this: AbortSignal, event: Event) => unknown) | null) {
    setEventAttributeValue(this, 'abort', value);
    if (typeof value === 'function') this.#holdStrongly();
  }

  /** A signal already aborted with `reason` (an AbortError DOMException if undefined). */
  static abort(reason?: unknown): AbortSignal {
    const signal = new AbortSignal(KEY);
    signal.#aborted = true;
    signal.#reason = reason === undefined ? abortError() : reason;
    return signal;
  }

  /** A signal that aborts with a TimeoutError DOMException after `ms` milliseconds. */
  static timeout(ms: number): AbortSignal {
    const n = Math.trunc(Number(ms));
    if (!Number.isFinite(Number(ms)) || n < 0 || n > Number.MAX_SAFE_INTEGER) {
      throw new TypeError("Failed to execute 'timeout' on 'AbortSignal': Value is outside the 'unsigned long long' value range.");
    }
    if (!timers) throw new DOMException('AbortSignal.timeout is not available yet', 'NotSupportedError');
    const signal = new AbortSignal(KEY);
    timers.set(() => signalAbort(signal, new DOMException('The operation was aborted due to timeout', 'TimeoutError')), n);
    return signal;
  }

  /** A signal that aborts as soon as any of `signals` does, with its reason. */
  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const list = [...signals];
    for (const s of list) {
      if (typeof s !== 'object' || s === null || !(#aborted in s)) {
        throw new TypeError("Failed to execute 'any' on 'AbortSignal': Failed to convert value to 'AbortSignal'.");
      }
    }
    const result = new AbortSignal(KEY);
    for (const s of list) {
      if (s.#aborted) {
        result.#aborted = true;
        result.#reason = s.#reason;
        return result;
      }
    }
    result.#self = new WeakRef(result);
    const sources = new Set<AbortSignal>();
    for (const s of list) {
      if (s.#self === null) sources.add(s);
      else for (const ref of s.#sources) { const src = ref.deref(); if (src) sources.add(src); }
    }
    for (const src of sources) {
      result.#sources.push(new WeakRef(src));
      src.#addWeakDependent(result.#self);
    }
    return result;
  }

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options);
    if (String(type) === 'abort' && listener != null) this.#holdStrongly();
  }

  #addWeakDependent(ref: WeakRef<AbortSignal>): void {
    const deps = this.#weakDependents;
    deps.add(ref);
    if (deps.size >= this.#pruneAt) { // drop the refs of collected signals, now and then
      for (const r of deps) if (!r.deref()) deps.delete(r);
      this.#pruneAt = Math.max(16, deps.size * 2);
    }
  }

  /** A dependent signal that something waits on stays alive as long as one of its sources. */
  #holdStrongly(): void {
    if (this.#self === null || this.#aborted) return;
    for (const ref of this.#sources) { const src = ref.deref(); if (src) src.#strongDependents.add(this); }
  }

  #dependents(): AbortSignal[] {
    const out = new Set(this.#strongDependents);
    for (const ref of this.#weakDependents) { const d = ref.deref(); if (d) out.add(d); }
    return [...out];
  }

  /** The spec's "run the abort steps". */
  #runAbortSteps(): void {
    const algorithms = this.#algorithms;
    this.#algorithms = [];
    this.#weakDependents.clear();
    this.#strongDependents.clear();
    for (const ref of this.#sources) {
      const src = ref.deref();
      if (src) { src.#strongDependents.delete(this); if (this.#self) src.#weakDependents.delete(this.#self); }
    }
    this.#sources = [];
    for (const algorithm of algorithms) algorithm();
    this.dispatchEvent(shim.createTrustedEvent('abort') as Event);
  }

  static {
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? abortError() : reason;
      const toAbort: AbortSignal[] = [];
      for (const dep of signal.#dependents()) {
        if (dep.#aborted) continue;
        dep.#aborted = true;
        dep.#reason = signal.#reason;
        toAbort.push(dep);
      }
      signal.#runAbortSteps();
      for (const dep of toAbort) dep.#runAbortSteps();
    };
    addAlgorithm = (signal, algorithm) => {
      if (signal.#aborted) return () => {};
      signal.#algorithms.push(algorithm);
      signal.#holdStrongly();
      return () => {
        const i = signal.#algorithms.indexOf(algorithm);
        if (i >= 0) signal.#algorithms.splice(i, 1);
      };
    };
  }
}
defineTag(AbortSignal, 'AbortSignal');

function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

export class AbortController {
  #signal = new AbortSignal(KEY);

  get signal(): AbortSignal { return this.#signal; }

  /** Aborts the signal with `reason` (an AbortError DOMException if undefined); later calls do nothing. */
  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }
}
defineTag(AbortController, 'AbortController');

/**
 * For runtime code (fetch…): runs `algorithm` when `signal` aborts, before any 'abort' listener
 * and whatever user listeners do (stopImmediatePropagation…). Does nothing if it has already
 * aborted. Returns a function that removes the algorithm.
 */
export function addAbortAlgorithm(signal: AbortSignal, algorithm: () => void): () => void {
  return addAlgorithm(signal, algorithm);
}
