// A blank made ahead of need rehearses a cold call on throwaway modules (boot.ts rehearse()), then
// the runtime's blank() forgets them: real isolates, the runtime bundled from source.

import { afterEach, describe, expect, test } from 'vitest';
import { runtimeScript } from '../../test/support/runtime-script.js';
import { Encoding, Outcome } from '../../runtime/protocol.js';
import { bootIsolate, disposeIsolate, type BlankKind, type BootedIsolate } from './boot.js';
import ivm from 'isolated-vm';

const logged: unknown[] = [];
const results: unknown[] = [];
const host = { log: (b: unknown) => { logged.push(b); }, result: (rid: unknown) => { results.push(rid); }, host() {} };
let booted: BootedIsolate | null = null;
afterEach(() => { if (booted) disposeIsolate(booted); booted = null; logged.length = 0; results.length = 0; });

async function blank(kind: BlankKind): Promise<BootedIsolate> {
  return (booted = await bootIsolate(64, await runtimeScript(), host, kind));
}

const call = (b: BootedIsolate) => b.refs.invoke.apply(undefined, [new Uint8Array([0x7b, 0x7d]).buffer, Encoding.json, Encoding.json, 'r1', Date.now() + 5_000],
  { arguments: { copy: true }, result: { promise: true, copy: true }, timeout: 5_000 }) as Promise<unknown>;

describe('a rehearsed blank', () => {
  for (const kind of ['event', 'apis', 'web'] as const) {
    test(`${kind}: no handler is left bound, nothing was logged or answered late, and the rehearsal's request is not remembered`, async () => {
      const b = await blank(kind);
      // No handler: an event call is refused as it is for a module without one.
      const r = await call(b) as unknown[];
      expect(r[0]).toBe(Outcome.unsupported);
      expect(r[1]).toBe('WrongFunctionKind');
      // The runtime's memory of recent results holds nothing of the rehearsal (recover answers late).
      await b.refs.recover.apply(undefined, [['hearth-rehearsal']], { arguments: { copy: true } });
      expect(results).toEqual([]);
      expect(logged).toEqual([]);
      // Its globals are the runtime's: nothing the rehearsal's modules defined.
      expect(await b.context.eval(`typeof main + ',' + typeof fetch + ',' + typeof Response`, { copy: true })).toBe('undefined,function,function');
    });
  }

  // A lazy global is an accessor until it is loaded, then a plain data property.
  const urlState = (b: BootedIsolate) => b.context.eval(`(() => { const d = Object.getOwnPropertyDescriptor(globalThis, 'URL');
    return (d.get ? 'lazy' : 'loaded') + ',' + (Object.getOwnPropertyDescriptor(globalThis, 'crypto').get ? 'lazy' : 'loaded'); })()`, { copy: true });

  test('an event blank loaded neither URL nor crypto; an apis or web blank loaded both', async () => {
    expect(await urlState(await blank('event'))).toBe('lazy,lazy');
    disposeIsolate(booted!);
    for (const kind of ['apis', 'web'] as const) {
      expect(await urlState(await blank(kind))).toBe('loaded,loaded');
      disposeIsolate(booted!);
    }
    booted = null;
  });

  test('in an event blank, URL and crypto load where they are first touched (URLSearchParams first works as well)', async () => {
    const b = await blank('event');
    expect(await b.context.eval(`new URLSearchParams('a=1&b=2').get('b') + ',' + new URL('http://h.example/p?q=3').searchParams.get('q') + ',' + (URL === globalThis.URL)`, { copy: true })).toBe('2,3,true');
    expect(await urlState(b)).toBe('loaded,lazy');
    expect(await b.context.eval(`/^[0-9a-f-]{36}$/.test(crypto.randomUUID()) && crypto.getRandomValues(new Uint8Array(4)).length`, { copy: true })).toBe(4);
    expect(await urlState(b)).toBe('loaded,loaded');
  });

  test('a function loaded after it runs as in a bare blank', async () => {
    const b = await blank('web');
    const script = await b.isolate.compileScript('(function () { return { handler: async (e) => ({ got: e }) }; })()');
    const exp = await script.run(b.context, { reference: true });
    const kind = await b.refs.load!.apply(undefined, [exp.derefInto({ release: true }), 'handler', 'f', '$LATEST', 64, 1_000,
      new ivm.ExternalCopy([]).copyInto({ release: true }), 0], { result: { copy: true } });
    expect(kind).toBe(1);
    const out = await call(b);
    expect(new TextDecoder().decode(out as ArrayBuffer)).toBe('{"got":{}}');
  });
});
