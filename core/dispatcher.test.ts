// The dispatcher's one retry: a call whose version was replaced before it got an instance runs
// what its name and version mean now (or answers that they are gone). Backends are small fakes.

import { describe, expect, it } from 'vitest';
import type { Backend, FunctionVersion, Invocation } from './backend.js';
import { Dispatcher } from './dispatcher.js';
import { HearthError } from './errors.js';
import { InvocationRecords } from './logs.js';

const version = (digest: string, v = '$LATEST'): FunctionVersion => ({
  name: 'f', version: v, digest, codeDigest: digest, runtime: 'js', handler: 'index.handler', exportName: 'handler',
  imageId: null, spec: {} as FunctionVersion['spec'], createdAt: '',
});

const invocation = (): Invocation => ({
  requestId: 'r', functionName: 'f', version: '', digest: '', body: new ArrayBuffer(0), reqEnc: 0, resEnc: 0,
  startedAt: 0, startedAtEpoch: 0, result: null, status: 'running', cold: false, queueMs: 0, initMs: 0, durationMs: 0,
  error: null, logs: null, forceCold: false,
} as unknown as Invocation);

/** Runs digests it knows; throws Superseded for the others. */
function backend(live: Set<string>, ran: string[]): Backend {
  return {
    tier: 'isolate',
    async invoke(fn: FunctionVersion, inv: Invocation) {
      if (!live.has(fn.digest)) throw new HearthError('Superseded', 'replaced');
      ran.push(fn.digest);
      inv.result = new ArrayBuffer(1);
    },
  } as unknown as Backend;
}

describe('Dispatcher', () => {
  it('runs a call whose version was replaced meanwhile on what the name resolves to now', async () => {
    const ran: string[] = [];
    const d = new Dispatcher(backend(new Set(['new']), ran), backend(new Set(), ran), new InvocationRecords(10));
    d.resolveAgain = (name, v) => {
      expect([name, v]).toEqual(['f', '$LATEST']);
      return version('new');
    };
    const inv = invocation();
    await d.invoke(version('old'), inv);
    expect(ran).toEqual(['new']);
    expect(inv.error).toBeNull();
    expect([inv.digest, inv.status]).toEqual(['new', 'succeeded']);
  });

  it('answers the resolve error when the function is gone, and retries only once', async () => {
    const d = new Dispatcher(backend(new Set(), []), backend(new Set(), []), new InvocationRecords(10));
    d.resolveAgain = () => { throw new HearthError('FunctionNotFound', 'function "f" does not exist'); };
    const gone = invocation();
    await d.invoke(version('old'), gone);
    expect(gone.error).toMatchObject({ errorType: 'FunctionNotFound', status: 404 });

    let asked = 0;
    d.resolveAgain = () => { asked++; return version('also-replaced'); };
    const twice = invocation();
    await d.invoke(version('old'), twice);
    expect(asked).toBe(1);
    expect(twice.error).toMatchObject({ errorType: 'Superseded', status: 503 });
  });
});
