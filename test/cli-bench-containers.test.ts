// `hearth bench` on the container tier: python3 and java17 functions in real containers (the runtime
// images `hearth images build` makes), cold calls each on a fresh container, warm load, the split.
// Counts and shapes only; no timings.

import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../container-fallback/images.js';
import type { BenchResult } from '../core/measure/types.js';
import { deployOk, runCli, startHearth, type Hearth } from './support/hearth.js';

let h: Hearth;

beforeAll(async () => {
  h = await startHearth({ env: { HEARTH_STEM_CELLS: '1' } });
}, 120_000);

afterAll(async () => {
  await h?.stop();
  const left = await new Docker().listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.managed=${h?.proc.pid}`] }) });
  expect(left).toEqual([]);
});

async function benchJson(...args: string[]): Promise<BenchResult> {
  const r = await runCli(['bench', '--url', h.url, '--no-baseline', '--json', ...args]);
  expect(r.stderr).not.toContain('hearth: ');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as BenchResult;
}

/** A jar with demo.Greeter::greet, compiled against the runtime image's hearth-runtime.jar. */
function greeterJar(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-java-'));
  try {
    const name = `hearth-bench-cp-${process.pid}`;
    execFileSync('docker', ['create', '--name', name, runtimeImageTag('java17')], { stdio: 'pipe' });
    try {
      execFileSync('docker', ['cp', `${name}:/opt/hearth/hearth-runtime.jar`, join(dir, 'hearth-runtime.jar')], { stdio: 'pipe' });
    } finally {
      execFileSync('docker', ['rm', '-f', name], { stdio: 'pipe' });
    }
    mkdirSync(join(dir, 'src/demo'), { recursive: true });
    writeFileSync(join(dir, 'src/demo/Greeter.java'), `package demo;
import java.util.Map;
public class Greeter {
  public Map<String, Object> greet(Map<String, Object> event, hearth.Context ctx) {
    return Map.of("hello", String.valueOf(event.get("name")));
  }
}
`);
    execFileSync('javac', ['--release', '17', '-cp', join(dir, 'hearth-runtime.jar'), '-d', join(dir, 'classes'), join(dir, 'src/demo/Greeter.java')], { stdio: 'pipe' });
    execFileSync('jar', ['cf', join(dir, 'greeter.jar'), '-C', join(dir, 'classes'), '.'], { stdio: 'pipe' });
    return readFileSync(join(dir, 'greeter.jar')).toString('base64');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('hearth bench on the container tier', () => {
  it('python3: cold calls each on a fresh container, warm load, errors by type for one that raises', async () => {
    await deployOk(h, 'pyhello', { runtime: 'python3', handler: 'index.main_handler', code: { source: 'def main_handler(event, context):\n    return {"hello": event.get("name")}\n' } });
    const r = await benchJson('pyhello', '--cold', '2', '--warm', '30', '--concurrency', '2', '--payload', '{"name":"Ada"}');
    const t = r.targets[0]!;
    expect(t).toMatchObject({ runtime: 'python3', tier: 'container', version: '$LATEST' });
    expect(t.cold).toMatchObject({ calls: 2, ok: 2, coldShare: 1 });
    expect(t.warm).toMatchObject({ calls: 30, ok: 30, errors: {}, coldShare: 0 });
    for (const s of r.samples.filter((x) => x.phase === 'cold')) expect(s).toMatchObject({ cold: true, initMs: expect.any(Number), runMs: expect.any(Number) });
    expect(t.warm.latency.p50!).toBeLessThanOrEqual(t.warm.latency.p99!);
    expect(t.warm.run.n).toBe(30);

    await deployOk(h, 'pyraise', { runtime: 'python3', handler: 'index.main_handler', code: { source: 'def main_handler(event, context):\n    raise ValueError("no")\n' } });
    const e = await benchJson('pyraise', '--cold', '1', '--warm', '10', '--concurrency', '2');
    expect(e.targets[0]!.cold).toMatchObject({ calls: 1, ok: 0 });
    expect(e.targets[0]!.warm).toMatchObject({ calls: 10, ok: 0, errors: { Unhandled: 10 } });
  }, 60_000);

  it('java17: a jar handler, cold and warm', async () => {
    await deployOk(h, 'javahello', { runtime: 'java17', handler: 'demo.Greeter::greet', code: { jar: greeterJar() }, timeoutMs: 10_000 });
    const r = await benchJson('javahello', '--cold', '1', '--warm', '20', '--concurrency', '2');
    const t = r.targets[0]!;
    expect(t).toMatchObject({ runtime: 'java17', tier: 'container' });
    expect(t.cold).toMatchObject({ calls: 1, ok: 1, coldShare: 1 });
    expect(t.warm).toMatchObject({ calls: 20, ok: 20, errors: {} });
  }, 60_000);
});
