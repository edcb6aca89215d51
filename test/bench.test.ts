// The benchmark runs in a tiny configuration so that it cannot rot. It asserts that it ran and
// wrote its results, never a timing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support/hearth.js';

it('npm run bench (tiny) runs every part and writes JSON and Markdown results', () => {
  const out = mkdtempSync(join(tmpdir(), 'hearth-bench-out-'));
  try {
    const r = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'dist/bench/run.js'), '--tiny', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'))!;
    expect(files).toContain('latest.md');
    const result = JSON.parse(readFileSync(join(out, json), 'utf8'));
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(Object.keys(result.http)).toEqual(['bare uWS echo', 'Hearth event function (warm)', 'Hearth, one crossing per call (--no-batch-calls)']);
    for (const row of Object.values(result.http) as any[]) {
      expect(row.rps.median).toBeGreaterThan(0);
      expect(row.errors).toBe(0);
    }
    expect(result.cold.n).toBe(5);
    expect(result.cold.allCold).toBe(true);
    expect(result.dispatch.p50Us).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain('Hearth / bare uWS echo throughput');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
