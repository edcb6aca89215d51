// The runtime's extras against real isolates: an extra is run into an isolate only when its code
// first asks, once; a broken or hanging one is refused (the isolate and the host carry on); the
// runtime script no longer carries what an extra holds.

import { afterEach, describe, expect, test } from 'vitest';
import { runtimeScript } from '../../test/support/runtime-script.js';
import { bootIsolate, disposeIsolate, type BootedIsolate } from './boot.js';
import { ExtraScripts, LOAD_TIMEOUT_MS } from './extras.js';

const noHost = { log() {}, result() {}, host() {} };
let booted: BootedIsolate | null = null;
afterEach(() => { if (booted) disposeIsolate(booted); booted = null; });

async function boot(extras?: ExtraScripts): Promise<BootedIsolate> {
  const rt = await runtimeScript();
  return (booted = await bootIsolate(64, { ...rt, cachedData: null, extras: extras ?? rt.extras! }, noHost, 'bare'));
}

describe('extras', () => {
  test('URL is an extra: not in the runtime script, loaded into an isolate on its first touch only', async () => {
    const rt = await runtimeScript();
    expect(rt.extras!.names).toContain('url');
    // core-js's URL parser state names are in the extra, not in the script every isolate holds.
    expect(rt.source).not.toContain('SCHEME_START');
    const b = await boot();
    expect(await b.context.eval(`new URL('../b?x=1', 'https://h.example/a/c').href`, { copy: true })).toBe('https://h.example/b?x=1');
    expect(await b.context.eval(`new URLSearchParams('a=1&a=2').getAll('a').join()`, { copy: true })).toBe('1,2');
  });

  test('each extra runs once per isolate; an unknown name or a second try answers false', async () => {
    let reads = 0;
    const extras = new ExtraScripts([['count', () => { reads++; return 'globalThis.runs = (globalThis.runs ?? 0) + 1'; }]]);
    const b = await boot(extras);
    const load = extras.loader(b.isolate, b.context);
    expect(load('count')).toBe(true);
    expect(load('count')).toBe(false);
    expect(load('nope')).toBe(false);
    expect(load(42)).toBe(false);
    expect(await b.context.eval('runs', { copy: true })).toBe(1);
    // A second isolate compiles it from the same source (read once per process).
    disposeIsolate(b); booted = null;
    const c = await boot(extras);
    expect(extras.loader(c.isolate, c.context)('count')).toBe(true);
    expect(reads).toBe(1);
    expect(extras.counts()).toEqual([{ extra: 'count', loaded: 2, refused: 0 }]);
  });

  test('names outside [a-z0-9-] are never offered', () => {
    const extras = new ExtraScripts([['../x', () => ''], ['Url', () => ''], ['ok-1', () => '']]);
    expect(extras.names).toEqual(['ok-1']);
  });

  test(`an extra whose script hangs is cut at ${LOAD_TIMEOUT_MS} ms: the call fails cleanly and the isolate carries on`, async () => {
    const extras = new ExtraScripts([['url', () => 'for (;;) {}']]);
    const b = await boot(extras);
    const got = await b.context.eval(`
      let first, second;
      try { new URL('https://h.example/'); } catch (e) { first = e.message; }
      try { URLSearchParams; second = typeof URLSearchParams; } catch (e) { second = e.message; }
      first + ' | ' + second + ' | ' + (1 + 1)
    `, { copy: true });
    expect(got).toMatch(/extra "url" could not be loaded \| .* \| 2/);
    // Tried once: the second touch did not run it again (hearth_runtime_extra_loads_refused_total).
    expect(extras.counts()).toEqual([{ extra: 'url', loaded: 0, refused: 1 }]);
  });

  test('an extra that throws while it runs is refused the same way', async () => {
    const extras = new ExtraScripts([['url', () => 'throw new Error("boom")']]);
    const b = await boot(extras);
    expect(await b.context.eval(`try { new URL('https://h.example/'); 'no' } catch (e) { e.message }`, { copy: true })).toMatch(/could not be loaded/);
  });
});
