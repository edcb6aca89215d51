// The dispatcher's one retry: a call whose version was replaced before it got an instance runs
// what its name and version mean now (or answers that they are gone); and the record step hangs
// off every call, whatever happened. Backends are small fakes.

import { describe, expect, it } from 'vitest';
import { Tiers, type Backend, type FunctionVersion } from './backend.js';
import { newCall, ranOutcome, SUPERSEDED, type CallOutcome, type CallRequest } from './call.js';
import { Dispatcher, type CallHooks } from './dispatcher.js';
import { HearthError } from './errors.js';

const version = (digest: string, v = '$LATEST'): FunctionVersion => ({
  name: 'f', version: v, digest, codeDigest: digest, runtime: 'js', handler: 'index.handler', exportName: 'handler',
  imageId: null, spec: {} as FunctionVersion['spec'], createdAt: '',
});

const call = (): CallRequest => newCall({ requestId: 'r', functionName: 'f', source: 'v1', body: new ArrayBuffer(0), reqEnc: 0, resEnc: 0 });

/** Runs digests it knows; answers SUPERSEDED for the others. */
function backend(live: Set<string>, ran: string[]): Backend {
  return {
    tier: 'isolate',
    async invoke(fn: FunctionVersion) {
      if (!live.has(fn.digest)) return SUPERSEDED;
      ran.push(fn.digest);
      return ranOutcome(fn.version, { cold: false, initMs: 0, queueMs: 0, durationMs: 1 }, new ArrayBuffer(1));
    },
  } as unknown as Backend;
}

/** Records what the record step saw. */
class Hooks implements CallHooks<string> {
  ended: { digest: string; out: CallOutcome }[] = [];
  begun = 0;
  begin(): string { this.begun++; return 'token'; }
  end(token: string, _req: CallRequest, fn: FunctionVersion, out: CallOutcome): void {
    expect(token).toBe('token');
    this.ended.push({ digest: fn.digest, out });
  }
}

describe('Dispatcher', () => {
  it('runs a call whose version was replaced meanwhile on what the name resolves to now', async () => {
    const ran: string[] = [];
    const hooks = new Hooks();
    const resolver = {
      resolve(name: string, v: string) {
        expect([name, v]).toEqual(['f', '$LATEST']);
        return version('new', '1');
      },
    };
    const d = new Dispatcher(new Tiers(backend(new Set(['new']), ran), backend(new Set(), ran)), resolver, hooks);
    const out = await d.run(version('old'), call());
    expect(ran).toEqual(['new']);
    expect(out.error).toBeNull();
    expect(out.version).toBe('1');
    expect(hooks.begun).toBe(1);
    expect(hooks.ended.map((e) => [e.digest, e.out])).toEqual([['new', out]]);
  });

  it('answers the resolve error when the function is gone, and retries only once', async () => {
    const hooks = new Hooks();
    const gone = new Dispatcher(new Tiers(backend(new Set(), []), backend(new Set(), [])), {
      resolve() { throw new HearthError('FunctionNotFound', 'function "f" does not exist'); },
    }, hooks);
    const out = await gone.run(version('old'), call());
    expect(out.error).toMatchObject({ errorType: 'FunctionNotFound', status: 404 });
    expect(hooks.ended).toHaveLength(1);

    let asked = 0;
    const twice = new Dispatcher(new Tiers(backend(new Set(), []), backend(new Set(), [])), {
      resolve() { asked++; return version('also-replaced'); },
    }, hooks);
    const again = await twice.run(version('old'), call());
    expect(asked).toBe(1);
    expect(again.error).toMatchObject({ errorType: 'Superseded', status: 503 });
  });

  it('turns a tier that throws into an outcome, and the record step still runs', async () => {
    const hooks = new Hooks();
    const full = { tier: 'isolate', invoke: async () => { throw new HearthError('TooManyRequests', 'busy'); } } as unknown as Backend;
    const d = new Dispatcher(new Tiers(full, full), { resolve: () => version('x') }, hooks);
    const out = await d.run(version('x'), call());
    expect(out.error).toMatchObject({ errorType: 'TooManyRequests', status: 429, functionError: false });
    expect([out.cold, out.durationMs]).toEqual([false, 0]);
    expect(hooks.ended).toHaveLength(1);
  });
});
