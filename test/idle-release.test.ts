// An idle warm isolate gives back the heap pages it holds unused (--idle-release-ms; V8's
// low-memory GC through Hearth's isolated-vm patch), against a real Hearth process and real
// isolates: its heap shrinks, its state stays, and the calls after each release run.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { until } from './support/until.js';

let h: Hearth;

beforeAll(async () => {
  h = await startHearth({ args: ['--idle-release-ms', '300', '--sweep-interval-ms', '100'] });
});
afterAll(async () => {
  await h?.stop();
});

async function instance(name: string): Promise<{ memoryMb: number; state: string }> {
  const r = await fetch(`${h.url}/v1/functions/${name}/instances`);
  return ((await r.json()) as { instances: { memoryMb: number; state: string }[] }).instances[0]!;
}

async function releases(): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return Number(/^hearth_isolate_idle_releases_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

async function invoke(name: string, event: unknown): Promise<{ status: number; body: { n: number; made: number } }> {
  const r = await h.invoke(name, event);
  return { status: r.status, body: (await r.json()) as { n: number; made: number } };
}

describe('idle release (--idle-release-ms)', () => {
  it('an idle isolate whose heap grew gives the unused pages back; its globals stay, and the calls after it run', async () => {
    // Each call makes ~8 MiB of short-lived objects (the young generation grows to hold them) and
    // counts calls in a global.
    await deployOk(h, 'churn', jsSource(`
let n = 0;
exports.handler = async (event) => {
  let made = 0;
  for (let r = 0; r < (event.rounds ?? 0); r++) { const a = []; for (let i = 0; i < 20000; i++) a.push({ i, s: 'x' + i }); made += a.length; }
  return { n: ++n, made };
};`));
    const before = await releases();
    for (let i = 1; i <= 5; i++) expect((await invoke('churn', { rounds: 10 })).body.n).toBe(i);
    // Measured once idle (a sweep), then released after 300 ms without a call, then measured again.
    let grown = 0;
    await until(async () => { grown = (await instance('churn')).memoryMb; return grown > 0; }, 10_000, 'the instance measured');
    await until(async () => (await releases()) > before, 20_000, 'the idle instance released');
    let after = grown;
    await until(async () => { after = (await instance('churn')).memoryMb; return after < grown; }, 10_000, () => `its heap measured smaller after the release than the ${grown} MiB before (now ${after} MiB)`);
    // Its state is the same isolate's: the count goes on.
    const next = await invoke('churn', { rounds: 1 });
    expect(next.status).toBe(200);
    expect(next.body).toEqual({ n: 6, made: 20000 });
    // Released again after each idle period that followed a call: every call after one answers, in order.
    for (let k = 0; k < 5; k++) {
      const seen = await releases();
      await until(async () => (await releases()) > seen, 20_000, 'released again');
      const r = await invoke('churn', { rounds: 1 });
      expect(r.status).toBe(200);
      expect(r.body.n).toBe(7 + k);
    }
  }, 120_000);
});
