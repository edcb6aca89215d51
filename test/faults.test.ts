// Faults inside functions: timeouts (sync, async, after an await), memory bombs, throws,
// unserializable results, bad module init — and that none of it reaches a well-behaved function
// served by the same Hearth process at the same time.

import { readFileSync } from 'node:fs';
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;

beforeAll(async () => {
  h = await startHearth();
});

afterAll(async () => {
  await h?.stop();
});

interface ErrorBody { errorType: string; errorMessage: string; stackTrace?: unknown }

/** Parses an error response, insisting that it is JSON. */
async function errorOf(r: Response): Promise<ErrorBody> {
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  const text = await r.text();
  let body: ErrorBody;
  try {
    body = JSON.parse(text) as ErrorBody;
  } catch {
    throw new Error(`error body is not JSON: ${text}`);
  }
  expect(typeof body.errorType).toBe('string');
  expect(typeof body.errorMessage).toBe('string');
  return body;
}

function expectInvokeHeaders(r: Response): void {
  expect(r.headers.get('x-hearth-request-id')).toBeTruthy();
  expect(r.headers.get('x-hearth-cold')).toMatch(/^(true|false)$/);
  expect(r.headers.get('x-hearth-init-ms')).toMatch(/^\d+(\.\d+)?$/);
  expect(r.headers.get('x-hearth-duration-ms')).toMatch(/^\d+(\.\d+)?$/);
}

/** Reads a response to the end and returns its status, headers and JSON body. */
async function call(name: string, event: unknown): Promise<{ status: number; cold: string | null; body: unknown; ms: number; r: Response }> {
  const t0 = performance.now();
  const r = await h.invoke(name, event);
  const text = await r.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* left as text */ }
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), body, ms: performance.now() - t0, r };
}

// A function that misbehaves only when the event asks it to, so the "next call works" checks hit
// the same function (and so the same pool slot) that just failed.
const SPIN = `
exports.handler = async (event) => {
  if (event.spin) { while (true) {} }
  return { ok: true, n: event.n ?? null };
};`;

const HANG = `
exports.handler = async (event) => {
  if (event.hang) await new Promise(() => {});
  return { ok: true };
};`;

const SPIN_AFTER_AWAIT = `
exports.handler = async (event) => {
  await null;
  await Promise.resolve(1);
  if (event.spin) { while (true) {} }
  return { ok: true };
};`;

const SPIN_IN_THEN = `
exports.handler = (event) => Promise.resolve(event).then((e) => {
  if (e.spin) { for (;;) {} }
  return { ok: true };
});`;

const BOMB = `
exports.handler = async (event) => {
  if (event.bomb) {
    const keep = [];
    for (let i = 0; ; i++) {
      keep.push('x'.repeat(1 << 20) + i);
      keep.push(new Array(1 << 17).fill(i));
    }
  }
  return { ok: true };
};`;

const THROWS = `
exports.handler = async (event) => {
  if (event.throwType) throw new TypeError('boom');
  if (event.rejectString) return Promise.reject('plain string rejection');
  if (event.throwObject) throw { code: 42, reason: 'an object' };
  if (event.recurse) { const f = (n) => f(n + 1) + 1; return f(0); }
  return { ok: true, n: event.n ?? null };
};`;

const UNSERIALIZABLE = `
exports.handler = async (event) => {
  if (event.kind === 'bigint') return { big: 10n ** 30n };
  if (event.kind === 'circular') { const o = { a: 1 }; o.self = o; return o; }
  return { ok: true };
};`;

describe('timeouts', () => {
  beforeAll(async () => {
    await deployOk(h, 'spin', jsSource(SPIN, { timeoutMs: 200 }));
    await deployOk(h, 'hang', jsSource(HANG, { timeoutMs: 200 }));
    await deployOk(h, 'spin-after-await', jsSource(SPIN_AFTER_AWAIT, { timeoutMs: 200 }));
    await deployOk(h, 'spin-in-then', jsSource(SPIN_IN_THEN, { timeoutMs: 200 }));
  });

  it('a synchronous infinite loop is a 504 Timeout, and the next call runs on a fresh instance', async () => {
    const warm = await call('spin', { n: 0 });
    expect(warm.status).toBe(200);

    const r = await call('spin', { spin: true });
    expect(r.status).toBe(504);
    expectInvokeHeaders(r.r);
    expect(r.r.headers.get('content-type')).toMatch(/^application\/json/);
    expect((r.body as ErrorBody).errorType).toBe('Timeout');
    expect((r.body as ErrorBody).errorMessage).toMatch(/time/i);
    expect(r.ms).toBeLessThan(5_000);

    const next = await call('spin', { n: 1 });
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true, n: 1 });
    expect(next.cold).toBe('true');
    // and it stays warm afterwards
    const again = await call('spin', { n: 2 });
    expect(again.status).toBe(200);
    expect(again.cold).toBe('false');
  });

  it('a handler awaiting forever is a 504 Timeout by the wall-clock deadline', async () => {
    const r = await call('hang', { hang: true });
    expect(r.status).toBe(504);
    expectInvokeHeaders(r.r);
    expect((r.body as ErrorBody).errorType).toBe('Timeout');
    expect(r.ms).toBeGreaterThanOrEqual(150);
    expect(r.ms).toBeLessThan(5_000);

    const next = await call('hang', {});
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true });
    expect(next.cold).toBe('true');
  });

  it('a loop in a promise continuation after an await is a 504 Timeout', async () => {
    const r = await call('spin-after-await', { spin: true });
    expect(r.status).toBe(504);
    expect((r.body as ErrorBody).errorType).toBe('Timeout');
    expect(r.ms).toBeLessThan(5_000);

    const next = await call('spin-after-await', {});
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true });
    expect(next.cold).toBe('true');
  });

  it('a loop inside a .then callback is a 504 Timeout', async () => {
    const r = await call('spin-in-then', { spin: true });
    expect(r.status).toBe(504);
    expect((r.body as ErrorBody).errorType).toBe('Timeout');
    expect(r.ms).toBeLessThan(5_000);

    const next = await call('spin-in-then', {});
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true });
  });
});

describe('memory', () => {
  beforeAll(async () => {
    await deployOk(h, 'bomb', jsSource(BOMB, { memoryMb: 32, timeoutMs: 10_000 }));
  });

  it('a memory bomb at memoryMb 32 is a 500 OutOfMemory, and the next call works on a new instance', async () => {
    const warm = await call('bomb', {});
    expect(warm.status).toBe(200);

    const r = await call('bomb', { bomb: true });
    expect(r.status).toBe(500);
    expectInvokeHeaders(r.r);
    expect(r.r.headers.get('content-type')).toMatch(/^application\/json/);
    expect((r.body as ErrorBody).errorType).toBe('OutOfMemory');
    expect((r.body as ErrorBody).errorMessage).toMatch(/memory/i);

    const next = await call('bomb', {});
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true });
    expect(next.cold).toBe('true');
  });

  it('repeated memory bombs do not take the server down', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call('bomb', { bomb: true });
      expect(r.status).toBe(500);
      expect((r.body as ErrorBody).errorType).toBe('OutOfMemory');
    }
    expect(h.proc.exitCode).toBeNull();
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });
});

describe('function errors', () => {
  beforeAll(async () => {
    await deployOk(h, 'throws', jsSource(THROWS));
    await deployOk(h, 'unserializable', jsSource(UNSERIALIZABLE));
  });

  it('a thrown TypeError is a 500 with its type, message, stack and X-Hearth-Function-Error', async () => {
    const warm = await call('throws', { n: 0 });
    expect(warm.status).toBe(200);

    const r = await h.invoke('throws', { throwType: true });
    expect(r.status).toBe(500);
    expectInvokeHeaders(r);
    expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    const body = await errorOf(r);
    expect(body.errorType).toBe('TypeError');
    expect(body.errorMessage).toBe('boom');
    expect(Array.isArray(body.stackTrace)).toBe(true);
    const stack = body.stackTrace as unknown[];
    expect(stack.length).toBeGreaterThan(0);
    for (const line of stack) expect(typeof line).toBe('string');
  });

  it('a promise rejected with a string is a 500 carrying that string', async () => {
    const r = await h.invoke('throws', { rejectString: true });
    expect(r.status).toBe(500);
    expect(r.headers.get('x-hearth-function-error')).toBe('Unhandled');
    const body = await errorOf(r);
    expect(body.errorType.length).toBeGreaterThan(0);
    expect(body.errorMessage).toContain('plain string rejection');
  });

  it('a thrown plain object is a 500 with a readable message', async () => {
    const r = await h.invoke('throws', { throwObject: true });
    expect(r.status).toBe(500);
    const body = await errorOf(r);
    expect(body.errorMessage).toContain('an object');
    expect(body.errorMessage).not.toBe('[object Object]');
  });

  it('a mere throw does not recycle the instance', async () => {
    const next = await call('throws', { n: 7 });
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true, n: 7 });
    expect(next.cold).toBe('false');
  });

  it('a BigInt result is a 500 ResultNotSerializable', async () => {
    const r = await h.invoke('unserializable', { kind: 'bigint' });
    expect(r.status).toBe(500);
    expectInvokeHeaders(r);
    const body = await errorOf(r);
    expect(body.errorType).toBe('ResultNotSerializable');
    expect(body.errorMessage).toMatch(/bigint/i);
  });

  it('a circular result is a 500 ResultNotSerializable', async () => {
    const r = await h.invoke('unserializable', { kind: 'circular' });
    expect(r.status).toBe(500);
    const body = await errorOf(r);
    expect(body.errorType).toBe('ResultNotSerializable');
    expect(body.errorMessage).toMatch(/circular/i);

    const ok = await call('unserializable', {});
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true });
  });

  it('a circular result asked for as msgpack is a 500 ResultNotSerializable too, and msgpack still works after', async () => {
    const r = await h.invoke('unserializable', { kind: 'circular' }, { accept: 'application/msgpack' });
    expect(r.status).toBe(500);
    const body = await errorOf(r);
    expect(body.errorType).toBe('ResultNotSerializable');

    const ok = await h.invoke('unserializable', {}, { accept: 'application/msgpack' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^application\/msgpack/);
    expect(unpack(new Uint8Array(await ok.arrayBuffer()))).toEqual({ ok: true });
  });

  it('unbounded recursion is a 500 RangeError and the instance keeps serving', async () => {
    const r = await h.invoke('throws', { recurse: true });
    expect(r.status).toBe(500);
    const body = await errorOf(r);
    expect(body.errorType).toBe('RangeError');
    expect(body.errorMessage).toMatch(/call stack/i);
    const next = await call('throws', { n: 8 });
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ ok: true, n: 8 });
    expect(next.cold).toBe('false');
  });
});

describe('module init', () => {
  it('top-level code that throws makes the deploy a 400 InitError quoting the message', async () => {
    const r = await h.deploy('init-throws', jsSource(`
      throw new Error('cannot start: missing DATABASE_URL');
      exports.handler = async () => 1;`));
    expect(r.status).toBe(400);
    const body = await errorOf(r);
    expect(body.errorType).toBe('InitError');
    expect(body.errorMessage).toContain('cannot start: missing DATABASE_URL');
    // and nothing was deployed
    const inv = await h.invoke('init-throws', {});
    expect(inv.status).toBe(404);
  });

  it('a top-level infinite loop makes the deploy a 400 within the timeout, and the server stays healthy', async () => {
    const t0 = performance.now();
    const r = await h.deploy('init-spins', jsSource(`
      while (true) {}
      exports.handler = async () => 1;`, { timeoutMs: 300 }));
    const ms = performance.now() - t0;
    expect(r.status).toBe(400);
    const body = await errorOf(r);
    expect(body.errorType).toBe('InitError');
    expect(ms).toBeLessThan(5_000);

    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect(h.proc.exitCode).toBeNull();
    await deployOk(h, 'after-init-spin', jsSource('exports.handler = async (e) => ({ echo: e.v });'));
    const ok = await call('after-init-spin', { v: 3 });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ echo: 3 });
  });

  it('a top-level await that never settles makes the deploy a 400 within the timeout', async () => {
    const t0 = performance.now();
    const r = await h.deploy('init-hangs', jsSource(`
      await new Promise(() => {});
      export const handler = async () => 1;`, { timeoutMs: 300 }));
    const ms = performance.now() - t0;
    // esbuild refuses top-level await in a CommonJS bundle: a 400 either way (compile or init).
    expect(r.status).toBe(400);
    const body = await errorOf(r);
    expect(['CompileError', 'InitError']).toContain(body.errorType);
    expect(ms).toBeLessThan(5_000);
  });
});

describe('a timeout while other calls of the same function keep arriving', () => {
  // One instance (concurrency 16) serves a call that hangs and, at the same time, a stream of
  // quick calls. When the hanging call passes its deadline the instance is killed: the quick calls
  // in flight at that moment die with it (collateral, expected), but
  //   - the call that overran must still be told 504 Timeout, and
  //   - calls that arrive after the kill must not be handed the dead instance.
  // The second is a race (the window is one event-loop turn), so each round kills the instances of
  // several functions at once: 60 kills in all, which reliably gives the race its chance.
  const ROUNDS = 15;
  const FUNCTIONS = ['mixed-a', 'mixed-b', 'mixed-c', 'mixed-d'];
  const QUICK_CALLERS = 6;
  const results: { overran: string[]; neverRan: string[]; ok: number } = { overran: [], neverRan: [], ok: 0 };

  async function round(name: string): Promise<void> {
    await (await h.invoke(name, { i: -1 })).text(); // a warm instance to share
    const t0 = performance.now();
    let stop = false;
    const hung = h.invoke(name, { hang: true }).then(async (r) => {
      const b = (await r.json()) as ErrorBody;
      stop = true;
      return `${r.status} ${b.errorType}: ${b.errorMessage}`;
    });
    const quick = Array.from({ length: QUICK_CALLERS }, async (_, k) => {
      while (!stop && performance.now() - t0 < 2_000) {
        const r = await h.invoke(name, { i: k });
        const b = (await r.json()) as ErrorBody & { ok?: number };
        if (r.status === 200) { results.ok++; continue; }
        // ivm's "Isolate is disposed" (vs "was disposed during execution"): the call was handed an
        // isolate that was already gone, so its code never ran.
        if (/Isolate is disposed/.test(b.errorMessage)) results.neverRan.push(`${name} ${r.status} ${b.errorType}: ${b.errorMessage}`);
      }
    });
    results.overran.push(await hung);
    await Promise.all(quick);
  }

  beforeAll(async () => {
    for (const name of FUNCTIONS) {
      await deployOk(h, name, jsSource(
        'exports.handler = async (e) => { if (e.hang) await new Promise(() => {}); return { ok: e.i }; };',
        { timeoutMs: 200 },
      ));
    }
    for (let i = 0; i < ROUNDS; i++) await Promise.all(FUNCTIONS.map(round));
  }, 50_000);

  it('the call that overran is a 504 Timeout every time', () => {
    expect(results.overran.length).toBe(ROUNDS * FUNCTIONS.length);
    expect(results.overran.filter((o) => !o.startsWith('504 Timeout'))).toEqual([]);
  });

  it('calls arriving after the kill are not dispatched to the dead instance', () => {
    expect(results.ok).toBeGreaterThan(0);
    expect(results.neverRan).toEqual([]);
  });
});

describe('the storm: faults next to a well-behaved function', () => {
  const GOOD_CALLS = 2_000;
  const GOOD_CONCURRENCY = 16;

  beforeAll(async () => {
    await deployOk(h, 'good', jsSource('exports.handler = async (event) => ({ ok: event.i });'));
    // concurrency 1: each faulty call has an instance to itself, so each must get its own verdict
    // (with calls sharing an instance, a sibling's timeout kills them too, as InstanceFailed).
    await deployOk(h, 'storm-spin', jsSource('exports.handler = async () => { while (true) {} };', { timeoutMs: 200, concurrency: 1 }));
    await deployOk(h, 'storm-hang', jsSource('exports.handler = async () => { await new Promise(() => {}); };', { timeoutMs: 200, concurrency: 1 }));
    await deployOk(h, 'storm-bomb', jsSource(BOMB.replace('if (event.bomb)', 'if (true)'), { memoryMb: 32, timeoutMs: 10_000 }));
    await deployOk(h, 'storm-throw', jsSource("exports.handler = async () => { throw new RangeError('nope'); };"));
  });

  it('every well-behaved call is a 200 with the right body while other functions loop, bomb, hang and throw', async () => {
    const deadline = performance.now() + 40_000;
    let stop = false;
    const bad: Record<string, Record<string, number>> = {};
    const failures: string[] = [];

    const hammer = async (name: string) => {
      const seen = (bad[name] ??= {});
      while (!stop && performance.now() < deadline) {
        try {
          const r = await h.invoke(name, {});
          const body = (await r.json()) as ErrorBody;
          const key = `${r.status} ${body.errorType}`;
          seen[key] = (seen[key] ?? 0) + 1;
        } catch (err) {
          seen[`fetch failed: ${(err as Error).message}`] = (seen[`fetch failed: ${(err as Error).message}`] ?? 0) + 1;
        }
      }
    };

    const badCallers = [
      hammer('storm-spin'),
      hammer('storm-spin'),
      hammer('storm-hang'),
      hammer('storm-hang'),
      hammer('storm-bomb'),
      hammer('storm-throw'),
      hammer('storm-throw'),
    ];

    let next = 0;
    let okCount = 0;
    const good = async () => {
      while (next < GOOD_CALLS && performance.now() < deadline) {
        const i = next++;
        try {
          const r = await h.invoke('good', { i });
          const text = await r.text();
          if (r.status !== 200) { failures.push(`#${i}: ${r.status} ${text}`); continue; }
          const body = JSON.parse(text) as { ok: unknown };
          if (body.ok !== i) { failures.push(`#${i}: wrong body ${text}`); continue; }
          okCount++;
        } catch (err) {
          failures.push(`#${i}: ${(err as Error).message}`);
        }
      }
    };
    // Let the faulty callers get going first.
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await Promise.all(Array.from({ length: GOOD_CONCURRENCY }, good));
    const goodMs = performance.now() - t0;
    stop = true;
    await Promise.all(badCallers);

    expect(failures.slice(0, 20), `${failures.length} failed well-behaved calls`).toEqual([]);
    expect(okCount).toBe(GOOD_CALLS);
    expect(goodMs).toBeLessThan(40_000);

    // The faults really happened, and were reported as they should be.
    expect(Object.keys(bad['storm-spin']!), JSON.stringify(bad)).toEqual(['504 Timeout']);
    expect(Object.keys(bad['storm-hang']!), JSON.stringify(bad)).toEqual(['504 Timeout']);
    expect(Object.keys(bad['storm-bomb']!), JSON.stringify(bad)).toEqual(['500 OutOfMemory']);
    expect(Object.keys(bad['storm-throw']!), JSON.stringify(bad)).toEqual(['500 RangeError']);
  }, 55_000);

  it('after the storm the process is alive, healthy and its memory is not running away', async () => {
    expect(h.proc.exitCode).toBeNull();
    expect(h.proc.signalCode).toBeNull();
    const health = await fetch(`${h.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });

    const ok = await call('good', { i: 'after' });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: 'after' });

    if (process.platform === 'linux') {
      const status = readFileSync(`/proc/${h.proc.pid}/status`, 'utf8');
      const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      expect(m).not.toBeNull();
      const rssMb = Number(m![1]) / 1024;
      expect(rssMb).toBeLessThan(1536);
    }
  });
});
