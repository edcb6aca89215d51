// The Body mixin (WHATWG Fetch §6.3) of Request and Response, from the specification: bodyUsed is
// "non-null and disturbed" (a null body is never used and reads as empty every time); "extract a
// body" refuses a stream that is locked or has been read from; and a body consumed from its bytes
// leaves `.body` as consuming leaves a stream, locked and disturbed.

import { ReadableStream } from 'web-streams-polyfill';
import { describe, expect, test } from 'vitest';
import { Response } from './response.js';

const stream = (text: string) => new ReadableStream<Uint8Array>({
  start(c) { c.enqueue(new TextEncoder().encode(text)); c.close(); },
});

describe('bodyUsed', () => {
  test('a null body is never used: read as empty, as often as asked, and clonable after', async () => {
    // (Request shares the mixin; its URL parsing needs the isolate's lazily loaded URL, absent here.)
    for (const r of [new Response(null), new Response(), new Response(undefined, { status: 204 })]) {
      expect(r.body).toBeNull();
      expect(await r.text()).toBe('');
      expect(r.bodyUsed).toBe(false);
      expect(await r.arrayBuffer()).toEqual(new ArrayBuffer(0));
      expect(r.bodyUsed).toBe(false);
      expect(() => r.clone()).not.toThrow();
    }
  });

  test('a body of bytes is used once read, and a second read is a TypeError', async () => {
    const r = new Response('hello');
    expect(r.bodyUsed).toBe(false);
    expect(await r.text()).toBe('hello');
    expect(r.bodyUsed).toBe(true);
    await expect(r.text()).rejects.toThrow(TypeError);
  });
});

describe('extract a body: a stream', () => {
  test('a locked stream, or one read from already, is refused with a TypeError', async () => {
    const locked = stream('a');
    locked.getReader();
    expect(() => new Response(locked as never)).toThrow(TypeError);
    const disturbed = stream('b');
    const reader = disturbed.getReader();
    await reader.read();
    reader.releaseLock();
    expect(() => new Response(disturbed as never)).toThrow(TypeError);
    expect(await new Response(stream('fresh') as never).text()).toBe('fresh');
  });
});

describe('the body stream after consuming', () => {
  test('a body consumed from its bytes leaves .body locked and disturbed: getReader() throws', async () => {
    const r = new Response('bytes');
    await r.arrayBuffer();
    const body = r.body!;
    expect(body).not.toBeNull();
    expect(body.locked).toBe(true);
    expect(() => body.getReader()).toThrow(TypeError);
    expect(r.bodyUsed).toBe(true);
  });

  test('a body whose stream was asked for first, then consumed, is the same stream, locked', async () => {
    const r = new Response('streamed');
    const body = r.body!;
    expect(await r.text()).toBe('streamed');
    expect(r.body).toBe(body);
    expect(() => body.getReader()).toThrow(TypeError);
  });
});

describe('Fetch "fully read body" is not observable through Object.prototype.then', () => {
  // A function that puts `then` on Object.prototype would otherwise be handed, and could replace,
  // every {value, done} read result and every intermediate byte array the runtime resolves a promise with.
  async function hijacked<T>(inject: unknown, run: () => Promise<T>): Promise<T> {
    const proto = Object.prototype as { then?: unknown };
    proto.then = (onFulfilled: (v: unknown) => void) => { delete proto.then; onFulfilled(inject); };
    try { return await run(); } finally { delete proto.then; }
  }
  const hello = () => new TextEncoder().encode('hello');
  const stream = () => new ReadableStream({ start(c: { enqueue(b: Uint8Array): void; close(): void }) { c.enqueue(hello()); c.close(); } } as never);

  for (const inject of [{ done: false, value: new TextEncoder().encode('bye') }, { done: false, value: undefined }, undefined, 8.2]) {
    test(`a stream body's text() stays "hello" when then injects ${JSON.stringify(inject)}`, async () => {
      const r = new Response(stream() as never);
      expect(await hijacked(inject, () => r.text())).toBe('hello');
    });
  }

  test('a bytes body: text() and json() cannot be intercepted (their results are not objects the runtime resolves with)', async () => {
    const bye = { done: false, value: new TextEncoder().encode('bye') };
    expect(await hijacked(bye, () => new Response(hello()).text())).toBe('hello');
    expect(await hijacked(bye, () => new Response('"x"').json())).toBe('x');
    // (arrayBuffer()'s own promise resolves with an ArrayBuffer, and that lookup of `then` is the
    // specification's own: observable in every implementation.)
  });
});

describe('ResponseInit is a dictionary (WebIDL)', () => {
  test('undefined, null or an object; a number or a string is a TypeError', () => {
    expect(new Response(null, null as never).status).toBe(200);
    expect(new Response(null, undefined).status).toBe(200);
    expect(() => new Response(null, 5 as never)).toThrow(TypeError);
    expect(() => new Response(null, 'x' as never)).toThrow(TypeError);
  });
});
