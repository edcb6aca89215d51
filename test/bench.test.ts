// The benchmark runs in a tiny configuration so that it cannot rot. It asserts that every part
// ran and wrote its results and plots, never a timing.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support/hearth.js';

it('npm run bench (tiny) runs every part and writes JSON, Markdown and SVG plots', () => {
  const out = mkdtempSync(join(tmpdir(), 'hearth-bench-out-'));
  try {
    const r = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'dist/bench/run.js'), '--tiny', '--out', out], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const files = readdirSync(out);
    expect(files).toContain('latest.md');
    const json = files.find((f) => f.endsWith('.json'))!;
    const result = JSON.parse(readFileSync(join(out, json), 'utf8'));
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.settings.mode).toBe('tiny');
    for (const id of ['micro', 'http', 'coldwarm', 'density']) expect(result[id], id).toBeTruthy();
    // CPU per call, per thread (issue 16): measured for every row, the serving process's threads read before and after each round.
    for (const [key, row] of Object.entries(result.http.rows as Record<string, { cpuPerCall: { total: { median: number }; main: { median: number } } }>)) {
      expect(row.cpuPerCall.total.median, key).toBeGreaterThan(0);
      expect(row.cpuPerCall.main.median, key).toBeGreaterThan(0);
    }
    expect(result.coldwarm.js.allCold).toBe(true);
    expect(result.coldwarm.js.cold.n).toBe(5);
    expect(result.coldwarm.web.allCold).toBe(true);
    expect(result.coldwarm.web.cold.n).toBe(5);
    // Every target (ARCHITECTURE.md) has a row (measured, or saying why not).
    const paths = (result.targets as { path: string }[]).map((t) => t.path).join('\n');
    for (const p of ['JS warm invoke over HTTP', '256 connections', 'web function', 'CPU per call', 'JS dispatch overhead', 'JS cold start', 'idle warm JS instances', '10,000 deployed functions']) expect(paths).toContain(p);
    // The p99 target at 256 connections: the echo and the event function loaded there in every round.
    expect(result.http.wide.event.length).toBe(result.settings.rounds);
    expect(result.http.wide.echo.length).toBe(result.settings.rounds);
    // Plots are SVG, one file per chart, linked from the summary.
    const svgs = files.filter((f) => f.endsWith('.svg'));
    expect(svgs.length).toBeGreaterThanOrEqual(4);
    for (const f of svgs) expect(readFileSync(join(out, f), 'utf8').startsWith('<svg')).toBe(true);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('## Targets (ARCHITECTURE.md)');
    for (const f of svgs) expect(md).toContain(`](${f})`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);

// The hostile, soak and profile sections run only when named; each gets a tiny run here so none
// rots (its figures are the bench's, not asserted).
it('npm run bench --only hostile,soak,profile (tiny) measures the attacks it names, a short soak and a main-thread profile', () => {
  const out = mkdtempSync(join(tmpdir(), 'hearth-bench-out-'));
  try {
    const r = spawnSync(process.execPath, ['--no-node-snapshot', join(ROOT, 'dist/bench/run.js'), '--tiny', '--out', out,
      '--only', 'hostile,soak,profile', '--hostile-attacks', 'redos,header-spoof', '--hostile-window', '2', '--soak-minutes', '0.6'],
    { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
    expect(r.status, r.stderr).toBe(0);
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const result = JSON.parse(readFileSync(join(out, json), 'utf8'));
    const attacks = result.hostile.attacks as { id: string; skipped?: string; p99Ratio?: number; rss?: unknown; spoofedOnWire?: string[] }[];
    expect(attacks.map((a) => a.id).sort()).toEqual(['header-spoof', 'redos']);
    for (const a of attacks) {
      expect(a.skipped, a.id).toBeUndefined();
      expect(a.p99Ratio, a.id).toBeGreaterThan(0);
      expect(a.rss, a.id).toBeTruthy();
    }
    // What the host writes is the host's: no forged header reaches the wire.
    expect(attacks.find((a) => a.id === 'header-spoof')!.spoofedOnWire).toEqual([]);
    expect(result.soak.samples.length).toBeGreaterThan(3);
    expect(result.soak.faults.length).toBeGreaterThanOrEqual(1);
    const md = readFileSync(join(out, 'latest.md'), 'utf8');
    expect(md).toContain('Hostile tenants');
    expect(md).toContain('Soak');
    // The profile: both loads, each with main-thread time attributed to parts of Hearth.
    const windows = result.profile.windows as { what: string; calls: number; parts: { part: string; usPerCall: number }[] }[];
    expect(windows.map((w) => w.what)).toEqual(['event function (hello)', 'web function (same Workers module)']);
    for (const w of windows) {
      expect(w.calls, w.what).toBeGreaterThan(0);
      expect(w.parts.some((p) => p.part.startsWith('HTTP front end') && p.usPerCall > 0), JSON.stringify(w.parts)).toBe(true);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}, 300_000);
