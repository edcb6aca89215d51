// `hearth bench` against the container tier of a real Hearth (real Docker): a python3, a java17 and
// a custom-image function, small N. Counts, shapes, errors by type for a function that raises, and
// where each cold start came from (X-Hearth-Cold-Start): a stem cell from the reserve, or from
// scratch with --no-reserve and for a custom image, which has no reserve. No timings are asserted.

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../container-fallback/images.js';
import type { BenchResult, CallSample } from '../core/measure/types.js';
import { buildEchoImage, javaEcho, removeImage } from './support/container-fixtures.js';
import { runCli, startHearth, type Hearth } from './support/hearth.js';
import { py } from './support/python.js';
import { waitFor } from './support/until.js';

const ADMIN = 'bench-containers-admin-token-0123456789';
const IMAGE = `hearth-test-bench-image:${process.pid}`;
let h: Hearth;

beforeAll(async () => {
  const docker = new Docker();
  try {
    await docker.ping();
    for (const r of ['python3', 'java17'] as const) await docker.getImage(runtimeImageTag(r)).inspect();
  } catch (err) {
    throw new Error(`these tests need a Docker engine and the runtime images (${(err as Error).message}): run \`bash scripts/setup-images.sh\``);
  }
  buildEchoImage(IMAGE);
  h = await startHearth({ env: { HEARTH_ADMIN_TOKEN: ADMIN, HEARTH_STEM_CELLS: '1' } });
  await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, 60_000, 'ready: the stem cells are started');
  await deploy('py', py('def main_handler(event, context):\n    return {"ok": True, "name": event.get("name")}\n'));
  await deploy('java', javaEcho());
  await deploy('img', { runtime: 'image', image: IMAGE, timeoutMs: 10_000 });
}, 90_000);

afterAll(async () => {
  await h?.stop();
  removeImage(IMAGE);
  // Nothing Hearth made is left behind.
  const left = await new Docker().listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.managed=${h?.proc.pid}`] }) });
  expect(left).toEqual([]);
});

async function deploy(name: string, spec: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${h.url}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(spec) });
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

async function benchJson(...args: string[]): Promise<BenchResult> {
  const r = await runCli(['bench', '--url', h.url, ...args, '--no-baseline', '--json'], { HEARTH_ADMIN_TOKEN: ADMIN });
  expect(r.stderr).not.toContain('hearth: ');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as BenchResult;
}

const of = (r: BenchResult, phase: 'cold' | 'warm'): CallSample[] => r.samples.filter((s) => s.phase === phase);

/** The counts and shapes every run must have: n cold calls, each cold with its init time and origin; `warm` warm ones. */
function expectRun(r: BenchResult, runtime: string, cold: number, warm: number, from: 'reserve' | 'scratch'): void {
  expect(r.targets).toHaveLength(1);
  const t = r.targets[0]!;
  expect(t).toMatchObject({ runtime, tier: 'container', version: '$LATEST' });
  expect(t.cold).toMatchObject({ calls: cold, ok: cold, errors: {}, coldShare: 1 });
  expect(t.warm).toMatchObject({ calls: warm, ok: warm, errors: {}, coldShare: 0 });
  expect(t.cold.init.n).toBe(cold);
  for (const s of of(r, 'cold')) expect(s).toMatchObject({ cold: true, coldStart: from, status: 200, error: null, initMs: expect.any(Number) });
  for (const s of of(r, 'cold')) expect(s.initMs!).toBeGreaterThan(0);
  for (const s of of(r, 'warm')) expect(s).toMatchObject({ cold: false, coldStart: null, status: 200, error: null, runMs: expect.any(Number) });
  for (const p of [t.cold.latency, t.warm.latency]) {
    expect(p.p50!).toBeLessThanOrEqual(p.p99!);
    expect(p.p99!).toBeLessThanOrEqual(p.max!);
  }
}

describe('hearth bench, container functions', () => {
  it('python3: cold calls take a stem cell each (the reserve refilled between them); --no-reserve starts each from scratch', async () => {
    const r = await benchJson('py', '--cold', '2', '--warm', '10', '--concurrency', '1', '--payload', '{"name":"Ada"}');
    expectRun(r, 'python3', 2, 10, 'reserve');
    expect(r.notes!.join(' ')).not.toContain('before the reserve');
    const scratch = await benchJson('py', '--cold', '2', '--warm', '4', '--concurrency', '1', '--no-reserve');
    expect(scratch.settings.reserve).toBe(false);
    expectRun(scratch, 'python3', 2, 4, 'scratch');

    await deploy('pyraise', py('def main_handler(event, context):\n    raise ValueError("no")\n'));
    const e = await benchJson('pyraise', '--cold', '1', '--warm', '10', '--concurrency', '2');
    expect(e.targets[0]!.cold).toMatchObject({ calls: 1, ok: 0, errors: { Unhandled: 1 } });
    expect(e.targets[0]!.warm).toMatchObject({ calls: 10, ok: 0, errors: { Unhandled: 10 } });
  }, 60_000);

  it('java17: the same, from its own stem cells', async () => {
    const r = await benchJson('java', '--cold', '2', '--warm', '10', '--concurrency', '1', '--payload', '{"name":"Ada"}');
    expectRun(r, 'java17', 2, 10, 'reserve');
  }, 60_000);

  it('a custom image: no reserve to take from, so its cold starts say scratch', async () => {
    const r = await benchJson('img', '--cold', '2', '--warm', '10', '--concurrency', '1');
    expectRun(r, 'image', 2, 10, 'scratch');
  }, 60_000);
});
