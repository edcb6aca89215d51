// Hostile tenants against the isolate tier's channels to the host (issue 15: points 1, 3, 16, 17),
// on a real Hearth process over HTTP while a neighbour function is called at a steady rate: every
// neighbour call must succeed, the attack gets a clear answer, what was dropped is counted, and
// where memory is the point Hearth's RSS settles back within 64 MiB of where it was.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployNeighbour, rssMiB, settledRssMiB, startNeighbour } from '../support/neighbour.js';
import { deployOk, functionMetric, jsSource, startHearth, type Hearth } from '../support/hearth.js';
import { until, waitFor } from '../support/until.js';

let h: Hearth;
beforeAll(async () => {
  // A small records' log bound, so the record test fills it with a few calls.
  h = await startHearth({ args: ['--record-log-bytes', String(512 * 1024)] });
  await deployNeighbour(h);
});
afterAll(async () => { await h?.stop(); });

const metric = (name: string, fn: string) => functionMetric(h, name, fn);

async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The call fails 500 OutOfMemory (the instance is replaced). */
async function expectOutOfMemory(name: string, event: unknown): Promise<void> {
  const r = await h.invoke(name, event);
  expect(r.status).toBe(500);
  expect(((await r.json()) as { errorType: string }).errorType).toBe('OutOfMemory');
}

/** The next call answers 200 from a fresh (cold) instance. */
async function expectColdAnswer(name: string): Promise<void> {
  const next = await h.invoke(name, {});
  expect(next.status).toBe(200);
  expect(next.headers.get('x-hearth-cold')).toBe('true');
}

async function record(requestId: string): Promise<{ logs: { message: string; stream: string }[]; logsDropped?: string }> {
  const r = await fetch(`${h.url}/v1/invocations/${requestId}`);
  expect(r.status).toBe(200);
  return r.json() as Promise<{ logs: { message: string; stream: string }[]; logsDropped?: string }>;
}

const MARKER = /^… \d+ lines \/ \d+ bytes dropped: log limit/;

describe('log flood (point 1)', () => {
  it('a call that logs in a loop until its timeout: it ends at its timeout, the neighbour never fails, the excess is dropped with a marker and counted, RSS settles back', async () => {
    await deployOk(h, 'flood', jsSource(`exports.handler = async () => { for (;;) console.log('x'.repeat(1000)); }`, { timeoutMs: 3000 }));
    // Warm both before measuring.
    expect((await h.invoke('neighbour', { n: 0 })).status).toBe(200);
    const before = await settledRssMiB(h);
    const neighbour = startNeighbour(h);
    const floods = await Promise.all([0, 1].map(() => h.invoke('flood', {})));
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
    expect(report.calls).toBeGreaterThan(0);
    // Each call that ran ends at its timeout (504), and its record keeps its first lines and the
    // marker saying what was dropped. Both calls may have gone to one instance (a JS instance takes
    // concurrent calls): then the second waited behind the first's loop without running, logged
    // nothing, and failed with the instance its neighbour's timeout replaced (500).
    const recs = await Promise.all(floods.map((r) => record(r.headers.get('x-hearth-request-id')!)));
    const ran = floods.filter((_, i) => recs[i]!.logs.length > 0);
    expect(ran.length).toBeGreaterThan(0);
    for (const r of ran) {
      expect(r.status).toBe(504);
      expect(((await r.json()) as { errorType: string }).errorType).toBe('Timeout');
    }
    for (const [i, r] of floods.entries()) if (recs[i]!.logs.length === 0) expect([500, 504]).toContain(r.status);
    for (const rec of recs.filter((x) => x.logs.length > 0)) expect(rec.logs.some((l) => MARKER.test(l.message) && l.stream === 'stderr')).toBe(true);
    expect(await metric('hearth_log_dropped_lines_total', 'flood')).toBeGreaterThan(1000);
    expect(await metric('hearth_log_dropped_bytes_total', 'flood')).toBeGreaterThan(1_000_000);
    const after = await settledRssMiB(h);
    expect(after - before, `RSS ${before.toFixed(0)} → ${after.toFixed(0)} MiB (now ${rssMiB(h).toFixed(0)})`).toBeLessThan(64);
  });

  it('a call that logs past its lines a call and then answers: its answer, its first lines, the marker in its log tail', async () => {
    await deployOk(h, 'chatty', jsSource(`exports.handler = async () => { for (let i = 0; i < 50000; i++) console.log('line ' + i); return 'done'; }`, { timeoutMs: 30_000 }));
    const r = await h.invoke('chatty', {}, { 'x-hearth-log-type': 'Tail' });
    expect(r.status).toBe(200);
    expect(await r.json()).toBe('done');
    const tail = Buffer.from(r.headers.get('x-hearth-log-result')!, 'base64').toString();
    expect(tail).toMatch(/… \d+ lines \/ \d+ bytes dropped: log limit \(10000 lines/);
    // Every line past the 10,000th is counted (the runtime's last count may land just after the answer).
    await until(async () => (await metric('hearth_log_dropped_lines_total', 'chatty')) === 40_000, 10_000, 'chatty: 40,000 dropped lines counted');
    // The record keeps the call's first lines (and the marker); the function's log its newest.
    const rec = await record(r.headers.get('x-hearth-request-id')!);
    expect(rec.logs[0]!.message).toBe('line 0');
    expect(MARKER.test(rec.logs.at(-1)!.message)).toBe(true);
    const { lines } = await (await fetch(`${h.url}/v1/functions/chatty/logs?limit=10000`)).json() as { lines: { message: string }[] };
    expect(lines.some((l) => l.message === 'line 9999')).toBe(true);
    expect(lines.some((l) => l.message === 'line 10000')).toBe(false);
  });
});

// A module that defines a memory of one page with no maximum and exports it as "mem".
const WASM_MOD = 'new Uint8Array([0,0x61,0x73,0x6d,1,0,0,0, 5,3,1,0,1, 7,7,1,3,0x6d,0x65,0x6d,2,0])';

describe('WebAssembly memory counts against memoryMb (point 3)', () => {
  it('a 1 GiB WebAssembly.Memory in a memoryMb 64 function: 500 OutOfMemory, the instance replaced, counted, RSS unchanged; the next call runs on a fresh instance', async () => {
    await deployOk(h, 'wasmbomb', jsSource(`exports.handler = async (e) => {
      if (!e.big) return 'fine';
      globalThis.keep = new WebAssembly.Memory({ initial: 16384 });
      new Uint8Array(globalThis.keep.buffer).fill(1);
      return 'kept';
    }`, { memoryMb: 64, timeoutMs: 30_000 }));
    expect((await h.invoke('wasmbomb', {})).status).toBe(200);
    const before = await settledRssMiB(h);
    const neighbour = startNeighbour(h);
    for (let i = 0; i < 3; i++) await expectOutOfMemory('wasmbomb', { big: true });
    await expectColdAnswer('wasmbomb');
    expect((await neighbour.stop()).failures).toEqual([]);
    expect(await metric('hearth_wasm_memory_refused_total', 'wasmbomb')).toBe(3);
    const after = await settledRssMiB(h);
    expect(after - before).toBeLessThan(64);
  });

  it('the memory a module defines grows no further than memoryMb; memories made call after call are freed, not counted forever', async () => {
    await deployOk(h, 'wasmgrow', jsSource(`exports.handler = async () => {
      const { instance } = await WebAssembly.instantiate(${WASM_MOD});
      const mem = instance.exports.mem;
      let grew = true;
      try { mem.grow(2000); } catch { grew = false; }
      return { grew, bytes: mem.buffer.byteLength, ok: mem.grow(100) === 1 };
    }`, { memoryMb: 64, timeoutMs: 30_000 }));
    for (let i = 0; i < 12; i++) {
      const r = await h.invoke('wasmgrow', {});
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ grew: false, bytes: 65536, ok: true });
    }
  });
});

// The instance's WebAssembly memory as the pool measures it (GET …/instances: memoryMb, and
// detail.wasmMemoryMb); measured at the pool's sweep, for idle instances that ran since.
async function wasmInstance(name: string): Promise<{ memoryMb: number; detail: { wasmMemoryMb: number } } | undefined> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`);
  const list = ((await r.json()) as { instances: { memoryMb: number; detail: { wasmMemoryMb: number } }[] }).instances;
  return list[0];
}

async function gaugeOf(name: string, label: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(label));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('WebAssembly memory is in the measured memory (point 3)', () => {
  it('48 MiB of WebAssembly.Memory shows in the instance\'s measured memory and the memory gauge; dropping the Memory but keeping its buffer frees nothing from memoryMb', async () => {
    await deployOk(h, 'wasmheld', jsSource(`let keep = null;
      exports.handler = async (e) => {
        if (e.op === 'hold') { keep = new WebAssembly.Memory({ initial: 768, maximum: 768 }); new Uint8Array(keep.buffer).fill(1); return keep.buffer.byteLength; }
        // The Memory object goes (collectable); its bytes stay reachable through a view of its buffer.
        if (e.op === 'view') { keep = new Uint8Array(keep.buffer); return keep.length; }
        if (e.op === 'again') { globalThis.more = new WebAssembly.Memory({ initial: 768, maximum: 768 }); return 'made'; }
        return 'fine';
      }`, { memoryMb: 64, timeoutMs: 30_000 }));
    const neighbour = startNeighbour(h);
    const hold = await h.invoke('wasmheld', { op: 'hold' });
    expect(hold.status).toBe(200);
    expect(await hold.json()).toBe(48 * 1024 * 1024);
    const measured = await waitFor(async () => {
      const i = await wasmInstance('wasmheld');
      return i !== undefined && i.detail.wasmMemoryMb === 48 ? i : undefined;
    }, 15_000, 'the instance measured with its 48 MiB of WebAssembly memory');
    expect(measured.memoryMb).toBeGreaterThanOrEqual(48);
    expect(await gaugeOf('hearth_instance_memory_bytes', 'tier="isolate"')).toBeGreaterThanOrEqual(48 * 1024 * 1024);
    const view = await h.invoke('wasmheld', { op: 'view' });
    expect(view.status).toBe(200);
    expect(await view.json()).toBe(48 * 1024 * 1024);
    // Still held (through the buffer): a second 48 MiB would pass memoryMb 64, even after a full GC.
    await expectOutOfMemory('wasmheld', { op: 'again' });
    await expectColdAnswer('wasmheld');
    expect((await neighbour.stop()).failures).toEqual([]);
  });

  it('a setter on Array.prototype does not let memories go uncounted', async () => {
    await deployOk(h, 'wasmsetter', jsSource(`exports.handler = async () => {
      for (let i = 0; i < 4; i++) Object.defineProperty(Array.prototype, i, { set() {}, get() { return undefined; }, configurable: true });
      globalThis.a = new WebAssembly.Memory({ initial: 768, maximum: 768 });
      globalThis.b = new WebAssembly.Memory({ initial: 768, maximum: 768 });
      return 'both';
    }`, { memoryMb: 64, timeoutMs: 30_000 }));
    await expectOutOfMemory('wasmsetter', {});
  });

  it('a module\'s own memory counts what it has grown to (32 MiB), not the maximum it may reach', async () => {
    await deployOk(h, 'wasmmod', jsSource(`let keep = null;
      exports.handler = async () => {
        if (keep === null) { keep = (await WebAssembly.instantiate(${WASM_MOD})).instance; keep.exports.mem.grow(511); }
        return keep.exports.mem.buffer.byteLength;
      }`, { memoryMb: 64, timeoutMs: 30_000 }));
    const r = await h.invoke('wasmmod', {});
    expect(r.status).toBe(200);
    expect(await r.json()).toBe(32 * 1024 * 1024);
    await waitFor(async () => (await wasmInstance('wasmmod'))?.detail.wasmMemoryMb === 32, 15_000,
      async () => `wasmmod measured with 32 MiB of WebAssembly memory: ${JSON.stringify(await wasmInstance('wasmmod'))}`);
  });
});

describe('the memory budget counts WebAssembly memory (point 3)', () => {
  let b: Hearth;
  beforeAll(async () => {
    b = await startHearth({ args: ['--memory-budget-mb', '128', '--sweep-interval-ms', '200'] });
    await deployNeighbour(b);
  });
  afterAll(async () => { await b?.stop(); });

  it('warm instances holding 48 MiB of WebAssembly memory each are evicted, least recently used first, to stay within --memory-budget-mb', async () => {
    const names = ['wasm-a', 'wasm-b', 'wasm-c', 'wasm-d'];
    // The memory is made by the call, after the instance started: only the pool's measure sees it.
    const src = `let keep = null;
      exports.handler = async () => { if (keep === null) { keep = new WebAssembly.Memory({ initial: 768, maximum: 768 }); new Uint8Array(keep.buffer).fill(1); } return 'held'; }`;
    for (const n of names) await deployOk(b, n, jsSource(src, { memoryMb: 64, timeoutMs: 30_000 }));
    const listOf = async (n: string) => ((await (await fetch(`${b.url}/v1/functions/${n}/instances`)).json()) as { instances: { memoryMb: number }[] }).instances;
    const neighbour = startNeighbour(b);
    for (const n of names) {
      const r = await b.invoke(n, {});
      expect(r.status).toBe(200);
      // Measured before the next one starts (the sweep runs every 200 ms).
      await until(async () => (await listOf(n))[0]?.memoryMb! >= 48 || (await listOf(n)).length === 0, 15_000, `${n} measured`);
    }
    const state = async () => {
      const lists = await Promise.all(names.map(listOf));
      const text = await (await fetch(`${b.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('hearth_instance_memory_bytes{') && l.includes('tier="isolate"'));
      return { alive: lists.map((l) => l.length), total: Number(line?.slice(line.lastIndexOf(' ') + 1)) / 1024 / 1024 };
    };
    await until(async () => (await state()).total <= 128, 15_000, async () => `within the budget: ${JSON.stringify(await state())}`);
    const { alive } = await state();
    expect(alive[3]).toBe(1); // the newest stays
    expect(alive[0]).toBe(0); // the oldest went first
    expect(alive.reduce((s, n) => s + n, 0)).toBeLessThanOrEqual(2);
    const evictions = await (async () => {
      const text = await (await fetch(`${b.url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith('hearth_evictions_total{') && l.includes('tier="isolate"'));
      return Number(line?.slice(line.lastIndexOf(' ') + 1));
    })();
    expect(evictions).toBeGreaterThanOrEqual(2);
    // An evicted one comes back on its next call (cold), and still works.
    const again = await b.invoke('wasm-a', {});
    expect(again.status).toBe(200);
    expect(again.headers.get('x-hearth-cold')).toBe('true');
    expect((await neighbour.stop()).failures).toEqual([]);
  });

  it('with the budget held by busy instances\' WebAssembly memory and nothing idle to evict, no instance is started past it: calls wait for one (or get 429)', async () => {
    // 48 MiB made at load (measured as the instance starts); each call holds its instance 2 s.
    await deployOk(b, 'wasm-busy', jsSource(`const keep = new WebAssembly.Memory({ initial: 768, maximum: 768 }); new Uint8Array(keep.buffer).fill(1);
      exports.handler = async () => { await new Promise((r) => setTimeout(r, 2000)); return keep.buffer.byteLength; }`,
    { memoryMb: 64, timeoutMs: 30_000, concurrency: 1, maxInstances: 5 }));
    // One call first: the instance is measured (~51 MiB), so the starts that follow expect as much.
    expect((await b.invoke('wasm-busy', {})).status).toBe(200);
    let most = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        const list = ((await (await fetch(`${b.url}/v1/functions/wasm-busy/instances`)).json()) as { instances: unknown[] }).instances;
        most = Math.max(most, list.length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const calls = await Promise.all([0, 1, 2, 3, 4].map(async () => {
      const r = await b.invoke('wasm-busy', {});
      return r.status === 200 ? 200 : `${r.status} ${((await r.json()) as { errorType: string }).errorType}`;
    }));
    done = true;
    await watching;
    for (const c of calls) expect([200, '429 TooManyRequests']).toContain(c);
    expect(calls).toContain(200);
    // ~51 MiB each (measured, and expected of each start) against 128 MiB: two at most.
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);
  });
});

describe('results and errors (point 16)', () => {
  it('a result past --max-result-bytes fails ResultTooLarge (502), counted; the instance goes on answering', async () => {
    await deployOk(h, 'huge', jsSource(`exports.handler = async (e) => e.big ? 'x'.repeat(7 * 1024 * 1024) : 'small'`, { timeoutMs: 30_000 }));
    const neighbour = startNeighbour(h);
    const r = await h.invoke('huge', { big: true });
    expect(r.status).toBe(502);
    const body = await r.json() as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe('ResultTooLarge');
    expect(body.errorMessage).toMatch(/more than the 6291456 bytes allowed/);
    expect(r.headers.get('x-hearth-function-error')).not.toBeNull();
    const ok = await h.invoke('huge', { big: false });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toBe('small');
    expect((await neighbour.stop()).failures).toEqual([]);
    expect(await metric('hearth_results_too_large_total', 'huge')).toBe(1);
  });

  it('a web response body past --max-result-bytes: 502 ResultTooLarge', async () => {
    await deployOk(h, 'hugeweb', jsSource(`export default { fetch: () => new Response('y'.repeat(7 * 1024 * 1024)) }`, { timeoutMs: 30_000 }, 'index.default'));
    const r = await fetch(`${h.url}/v1/web/hugeweb/`);
    expect(r.status).toBe(502);
    expect(((await r.json()) as { errorType: string }).errorType).toBe('ResultTooLarge');
  });

  it('an error message of 1 MiB is cut to --max-error-bytes, counted', async () => {
    await deployOk(h, 'loud', jsSource(`exports.handler = async () => { throw new Error('e'.repeat(1024 * 1024)); }`, { timeoutMs: 30_000 }));
    const r = await h.invoke('loud', {});
    expect(r.status).toBe(500);
    const body = await r.json() as { errorType: string; errorMessage: string };
    expect(body.errorType).toBe('Error');
    expect(body.errorMessage.length).toBeLessThan(65 * 1024);
    expect(body.errorMessage).toMatch(/…\[truncated: 1048576 characters, limit 65536\]$/);
    expect(await metric('hearth_error_messages_truncated_total', 'loud')).toBe(1);
  });
});

describe('outbound fetches (what an isolate sends out crosses the host too)', () => {
  it('a request body past --max-body-bytes is refused before anything is sent: TypeError in the function', async () => {
    await deployOk(h, 'bigpost', jsSource(`exports.handler = async () => {
      try { await fetch('http://127.0.0.1:9/', { method: 'POST', body: 'x'.repeat(7 * 1024 * 1024) }); return 'sent'; }
      catch (e) { return e.name + ': ' + e.message; }
    }`, { timeoutMs: 30_000 }));
    const r = await h.invoke('bigpost', {});
    expect(r.status).toBe(200);
    expect(await r.json()).toMatch(/^TypeError: fetch: the request is too large/);
  });
});

describe('invocation records (point 16)', () => {
  it('the log text all records hold stays within --record-log-bytes: the oldest records give up their lines first', async () => {
    await deployOk(h, 'diary', jsSource(`exports.handler = async (e) => { for (let i = 0; i < 60; i++) console.log(String(e.n).padEnd(500, '.')); return e.n; }`, { timeoutMs: 30_000 }));
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const r = await h.invoke('diary', { n });
      expect(r.status).toBe(200);
      ids.push(r.headers.get('x-hearth-request-id')!);
    }
    expect(await gauge('hearth_invocation_records_log_bytes')).toBeLessThanOrEqual(512 * 1024);
    const oldest = await record(ids[0]!);
    expect(oldest.logs).toEqual([]);
    expect(oldest.logsDropped).toMatch(/--record-log-bytes/);
    const newest = await record(ids[19]!);
    expect(newest.logs.length).toBe(60);
  });
});

describe('web platform (point 17)', () => {
  it('URLSearchParams touched first in an isolate that was not preloaded (memoryMb 96): URL is still there', async () => {
    await deployOk(h, 'urls', jsSource(`exports.handler = async () => {
      const q = new URLSearchParams('a=1');
      return [typeof URL, new URL('https://h.example/p?z=2').searchParams.get('z'), q.get('a')].join();
    }`, { memoryMb: 96, timeoutMs: 30_000 }));
    for (let i = 0; i < 2; i++) {
      const r = await h.invoke('urls', {}, i === 0 ? { 'x-hearth-force-cold': 'true' } : {});
      expect(r.status).toBe(200);
      expect(await r.json()).toBe('function,2,1');
    }
  });
});
