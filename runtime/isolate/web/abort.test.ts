// AbortController / AbortSignal of abort.ts: the DOM spec's behaviour, the reasons Node gives,
// AbortSignal.any's dependent signals (including how they are garbage collected).

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, test } from 'vitest';
import {
  AbortController, AbortSignal, addAbortAlgorithm, CustomEvent, Event, EventTarget, setAbortTimers, setErrorHandler,
} from './abort.js';
import { DOMException } from './dom-exception.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) { await tick(); gc(); }
}

describe('AbortSignal.timeout before setAbortTimers', () => {
  test('is a NotSupportedError', () => {
    expect(() => AbortSignal.timeout(10)).toThrow(DOMException);
  });
});

describe('AbortController', () => {
  test('abort() with the default reason, as in Node', () => {
    const c = new AbortController();
    const s = c.signal;
    expect([s.aborted, s.reason]).toEqual([false, undefined]);
    expect(() => s.throwIfAborted()).not.toThrow();
    c.abort();
    const node = new globalThis.AbortController();
    node.abort();
    expect(s.aborted).toBe(true);
    expect(s.reason).toBeInstanceOf(DOMException);
    const r = s.reason as DOMException;
    const n = node.signal.reason as DOMException;
    expect([r.name, r.message, r.code]).toEqual([n.name, n.message, n.code]);
    expect(() => s.throwIfAborted()).toThrow(r);
    expect(c.signal).toBe(s);
  });

  test('abort(reason) keeps any reason but undefined; the event fires once, after onabort was set', () => {
    for (const reason of ['why', 0, null, false, { a: 1 }]) {
      const c = new AbortController();
      const events: unknown[] = [];
      c.signal.onabort = function (this: AbortSignal, e: Event) { events.push(['onabort', this === c.signal, e.type, e.target === c.signal]); };
      c.signal.addEventListener('abort', (e) => events.push(['listener', (e as Event).isTrusted]));
      c.abort(reason);
      c.abort('again');
      expect(c.signal.reason).toBe(reason);
      expect(c.signal.aborted).toBe(true);
      expect(events).toEqual([['onabort', true, 'abort', true], ['listener', true]]);
      try { c.signal.throwIfAborted(); expect.unreachable(); } catch (e) { expect(e).toBe(reason); }
    }
    const c = new AbortController();
    c.abort(undefined);
    expect((c.signal.reason as DOMException).name).toBe('AbortError');
  });

  test('onabort: getter, replacement, removal', () => {
    const c = new AbortController();
    const calls: string[] = [];
    const first = () => calls.push('first');
    c.signal.onabort = first;
    expect(c.signal.onabort).toBe(first);
    c.signal.onabort = () => calls.push('second');
    c.signal.onabort = null;
    expect(c.signal.onabort).toBe(null);
    c.signal.onabort = () => calls.push('third');
    c.abort();
    expect(calls).toEqual(['third']);
  });

  test('names and tags', () => {
    expect(Object.prototype.toString.call(new AbortController())).toBe('[object AbortController]');
    expect(Object.prototype.toString.call(new AbortController().signal)).toBe('[object AbortSignal]');
    expect([AbortController.name, AbortSignal.name]).toEqual(['AbortController', 'AbortSignal']);
    expect(new AbortController().signal).toBeInstanceOf(EventTarget);
  });
});

describe('AbortSignal', () => {
  test('cannot be constructed, nor subclassed, by user code', () => {
    expect(() => new (AbortSignal as unknown as new () => AbortSignal)()).toThrow(new TypeError('Illegal constructor'));
    class Mine extends (AbortSignal as unknown as new () => object) {}
    expect(() => new Mine()).toThrow(TypeError);
  });

  test('AbortSignal.abort', () => {
    const s = AbortSignal.abort();
    expect(s.aborted).toBe(true);
    expect((s.reason as DOMException).name).toBe('AbortError');
    expect(AbortSignal.abort('r').reason).toBe('r');
    expect(AbortSignal.abort(undefined).reason).toBeInstanceOf(DOMException);
  });

  test('AbortSignal.timeout fires a TimeoutError, as in Node', async () => {
    setAbortTimers(setTimeout as never, clearTimeout as never);
    const s = AbortSignal.timeout(5);
    const n = globalThis.AbortSignal.timeout(5);
    let fired = 0;
    s.addEventListener('abort', () => fired++);
    expect(s.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect([s.aborted, fired]).toEqual([true, 1]);
    const r = s.reason as DOMException;
    const nr = n.reason as DOMException;
    expect([r.name, r.message, r.code]).toEqual([nr.name, nr.message, nr.code]);
    expect(AbortSignal.timeout(0).aborted).toBe(false);
    for (const bad of [-1, NaN, Infinity, 2 ** 53]) expect(() => AbortSignal.timeout(bad)).toThrow(TypeError);
  });

  test('AbortSignal.any: already aborted inputs', () => {
    const a = new AbortController();
    const b = new AbortController();
    b.abort('b first');
    a.abort('a second');
    expect(AbortSignal.any([a.signal, b.signal]).reason).toBe('a second');
    expect(AbortSignal.any([]).aborted).toBe(false);
    expect(() => AbortSignal.any([{} as AbortSignal])).toThrow(TypeError);
    expect(() => AbortSignal.any([1 as unknown as AbortSignal])).toThrow(TypeError);
    expect(() => AbortSignal.any(null as never)).toThrow(TypeError);
  });

  test('AbortSignal.any: follows the first source to abort, once; reasons are set before any event', () => {
    const a = new AbortController();
    const b = new AbortController();
    const any = AbortSignal.any([a.signal, b.signal, a.signal]);
    const log: string[] = [];
    a.signal.addEventListener('abort', () => log.push(`a: any.aborted=${any.aborted} reason=${String(any.reason)}`));
    any.addEventListener('abort', () => log.push(`any: ${String(any.reason)}`));
    a.abort('A');
    b.abort('B');
    expect(log).toEqual(['a: any.aborted=true reason=A', 'any: A']);
  });

  test('AbortSignal.any of dependent signals depends on their sources', () => {
    const a = new AbortController();
    const b = new AbortController();
    const inner = AbortSignal.any([a.signal]);
    const outer = AbortSignal.any([inner, b.signal]);
    const timeoutLike = AbortSignal.any([AbortSignal.any([b.signal])]);
    a.abort('A');
    expect([inner.aborted, outer.aborted, outer.reason, timeoutLike.aborted]).toEqual([true, true, 'A', false]);
    b.abort('B');
    expect([timeoutLike.aborted, timeoutLike.reason]).toEqual([true, 'B']);
  });

  test('a dependent signal without listeners is not kept alive by its source', async () => {
    const longLived = new AbortController();
    let ref: WeakRef<AbortSignal> | undefined;
    (() => { ref = new WeakRef(AbortSignal.any([longLived.signal])); })();
    for (let i = 0; i < 1000; i++) AbortSignal.any([longLived.signal]);
    await collect();
    expect(ref!.deref()).toBeUndefined();
    longLived.abort();
  });

  test('a dependent signal with a listener lives as long as a source, and fires', async () => {
    const source = new AbortController();
    const fired: string[] = [];
    (() => {
      AbortSignal.any([source.signal]).addEventListener('abort', () => fired.push('listener'));
      AbortSignal.any([source.signal]).onabort = () => fired.push('onabort');
      addAbortAlgorithm(AbortSignal.any([source.signal]), () => fired.push('algorithm'));
    })();
    await collect();
    source.abort();
    expect(fired.sort()).toEqual(['algorithm', 'listener', 'onabort']);
  });

  test('a dependent signal with a listener is released once its sources are gone', async () => {
    let ref: WeakRef<AbortSignal> | undefined;
    (() => {
      const source = new AbortController();
      const dep = AbortSignal.any([source.signal]);
      dep.addEventListener('abort', () => {});
      ref = new WeakRef(dep);
    })();
    await collect();
    expect(ref!.deref()).toBeUndefined();
  });

  test('addAbortAlgorithm runs before listeners; its remover works; nothing once aborted', () => {
    const c = new AbortController();
    const log: string[] = [];
    c.signal.addEventListener('abort', (e) => { log.push('listener'); (e as Event).stopImmediatePropagation(); });
    c.signal.addEventListener('abort', () => log.push('second listener'));
    addAbortAlgorithm(c.signal, () => log.push('algorithm'));
    const remove = addAbortAlgorithm(c.signal, () => log.push('removed'));
    remove();
    c.abort();
    expect(log).toEqual(['algorithm', 'listener']);
    addAbortAlgorithm(c.signal, () => log.push('late'));
    expect(log).toEqual(['algorithm', 'listener']);
  });
});

describe('EventTarget and Event (event-target-shim)', () => {
  test('dispatch, once, and removal by an AbortSignal', () => {
    const target = new EventTarget();
    const c = new AbortController();
    const log: string[] = [];
    target.addEventListener('x', () => log.push('always'));
    target.addEventListener('x', () => log.push('once'), { once: true });
    target.addEventListener('x', () => log.push('until abort'), { signal: c.signal as never });
    target.dispatchEvent(new Event('x'));
    c.abort();
    target.dispatchEvent(new Event('x'));
    expect(log).toEqual(['always', 'once', 'until abort', 'always']);
  });

  test('a throwing listener goes to the error handler; the others still run', () => {
    const errors: unknown[] = [];
    setErrorHandler((err) => errors.push(err));
    try {
      const c = new AbortController();
      const log: string[] = [];
      c.signal.addEventListener('abort', () => { throw new Error('boom'); });
      c.signal.addEventListener('abort', () => log.push('after'));
      c.abort();
      expect(log).toEqual(['after']);
      expect((errors[0] as Error).message).toBe('boom');
    } finally {
      setErrorHandler(undefined);
    }
  });
});

describe('dispatchEvent and listeners (DOM §2.7, §2.9)', () => {
  test('dispatchEvent takes an Event only (WebIDL): a plain object is a TypeError', () => {
    expect(() => new EventTarget().dispatchEvent({ type: 'x' } as never)).toThrow(TypeError);
  });

  test('after a dispatch the target stays, currentTarget is null and the phase NONE; also with no listener', () => {
    const et = new EventTarget();
    const e = new Event('x');
    expect(et.dispatchEvent(e)).toBe(true);
    expect([e.target === et, e.currentTarget, e.eventPhase]).toEqual([true, null, 0]);
    let during: unknown[] = [];
    et.addEventListener('y', (ev) => { during = [ev.target === et, ev.currentTarget === et, ev.eventPhase]; });
    const y = new Event('y');
    et.dispatchEvent(y);
    expect([during, y.target === et, y.currentTarget]).toEqual([[true, true, 2], true, null]);
    // Dispatching it again (not while in dispatch) is allowed.
    expect(et.dispatchEvent(y)).toBe(true);
  });

  test("a listener object's handleEvent is read once per call, when called, with the object as this", () => {
    const et = new EventTarget();
    let gets = 0;
    let self: unknown;
    const listener = { get handleEvent() { gets++; return function (this: unknown) { self = this; }; } };
    et.addEventListener('x', listener as never);
    expect(gets).toBe(0);
    et.dispatchEvent(new Event('x'));
    expect([gets, self === listener]).toEqual([1, true]);
  });
});

describe('isTrusted (DOM §2.2): true only for events the platform dispatches', () => {
  test("an AbortSignal's abort event is trusted; events a script makes are not, and cannot be made so", () => {
    const c = new AbortController();
    const seen: boolean[] = [];
    c.signal.addEventListener('abort', (e) => {
      seen.push(e.isTrusted);
      const d = Object.getOwnPropertyDescriptor(e, 'isTrusted')!;
      seen.push(d.configurable === false && d.writable === false);
    });
    c.abort();
    expect(seen).toEqual([true, true]);
    const mine = new Event('abort');
    expect(mine.isTrusted).toBe(false);
    expect(() => Object.defineProperty(mine, 'isTrusted', { value: true })).toThrow(TypeError);
    expect(new CustomEvent('x').isTrusted).toBe(false);
    // AbortSignal.abort() makes an aborted signal without an event; timeout() dispatches one.
    expect(AbortSignal.abort().aborted).toBe(true);
    // And the event made after a trusted one is not trusted.
    expect(new Event('next').isTrusted).toBe(false);
  });
});

describe('Event and CustomEvent as WebIDL binds their constructors (DOM §2.2, §2.4)', () => {
  test('new Event() wants its type; Event() without new is a TypeError; the shim\'s events are Events', () => {
    expect(() => new (Event as unknown as new () => Event)()).toThrow(TypeError);
    expect(() => (Event as unknown as (t: string) => Event)('x')).toThrow(TypeError);
    expect(Event.length).toBe(1);
    const e = new Event('ping', { cancelable: true });
    expect([e.type, e.cancelable, e.isTrusted, e instanceof Event]).toEqual(['ping', true, false, true]);
    expect(Event.prototype.constructor).toBe(Event);
    expect(Object.getOwnPropertyDescriptor(Event, 'prototype')).toMatchObject({ writable: false, configurable: false });
    expect([Event.NONE, Event.CAPTURING_PHASE, Event.AT_TARGET, Event.BUBBLING_PHASE]).toEqual([0, 1, 2, 3]);
    expect(String(new Event('x'))).toBe('[object Event]');
    // The abort event a signal dispatches is one of these.
    const c = new AbortController();
    let got: unknown = null;
    c.signal.addEventListener('abort', (ev) => { got = ev; });
    c.abort();
    expect(got).toBeInstanceOf(Event);
  });

  test('CustomEvent: detail null unless given, initCustomEvent, an Event, dispatched with its detail', () => {
    expect(() => new (CustomEvent as unknown as new () => CustomEvent)()).toThrow(TypeError);
    expect(CustomEvent.length).toBe(1);
    expect(new CustomEvent('a').detail).toBeNull();
    expect(new CustomEvent('a', { detail: undefined }).detail).toBeNull();
    const detail = { n: 1 };
    const e = new CustomEvent<unknown>('a', { detail, bubbles: true });
    expect([e.detail, e.bubbles, e instanceof Event, String(e)]).toEqual([detail, true, true, '[object CustomEvent]']);
    e.initCustomEvent('b', false, true, 7);
    expect([e.type, e.bubbles, e.cancelable, e.detail]).toEqual(['b', false, true, 7]);
    const t = new EventTarget();
    const seen: unknown[] = [];
    t.addEventListener('hello', (ev) => { seen.push((ev as CustomEvent).detail); });
    t.dispatchEvent(new CustomEvent('hello', { detail: 'world' }));
    expect(seen).toEqual(['world']);
    // Subclassable, as a class is.
    class Ping extends CustomEvent<number> {}
    expect(new Ping('p', { detail: 3 }).detail).toBe(3);
  });

  test('addEventListener: options.signal must be an AbortSignal when present (null, or another object, is a TypeError)', () => {
    const t = new EventTarget();
    const listener = () => {};
    expect(() => t.addEventListener('x', listener, { signal: null as never })).toThrow(TypeError);
    expect(() => t.addEventListener('x', listener, { signal: {} as never })).toThrow(TypeError);
    expect(() => t.addEventListener('x', listener, { signal: undefined })).not.toThrow();
    const c = new AbortController();
    let calls = 0;
    t.addEventListener('y', () => { calls++; }, { signal: c.signal });
    t.dispatchEvent(new Event('y'));
    c.abort();
    t.dispatchEvent(new Event('y'));
    expect(calls).toBe(1);
  });
});
