// `npm run bench` (quick, a few minutes) and `npm run bench -- --full`: every part of the bench in
// one run, so every ratio is taken on the same machine at the same time.
//
//   micro     in-process (tinybench): dispatch, isolate cold start with/without a blank, payloads,
//             registry lookups (bench/micro.ts)
//   http      HTTP load with wrk as its own process: uWS echo, node:http, workerd, Hearth event and
//             web functions, a Python function through Hearth and direct (bench/http.ts)
//   coldwarm  cold against warm end to end, per tier (bench/coldwarm.ts, bench/containers.ts)
//   density   warm JS functions per GiB, and 10,000 deployed functions (bench/density.ts)
//   hostile   only with --only: a neighbour's p99 and Hearth's RSS under each hostile-tenant attack
//             (bench/hostile.ts; --hostile-attacks, --hostile-window, --neighbour-rate)
//   soak      only with --only: mixed load for --soak-minutes (10) with a fault every 30 s (bench/soak.ts)
//   --placement  where isolates should run (bench/placement.ts)
//
// Results: bench/results/<timestamp>.json, .md and -<plot>.svg, and latest.md (bench/report.ts).
// `--compare-cold DIR`: only JS cold starts, this build against another checkout's, rounds alternating.
// `--compare DIR`: this build against another checkout's, each build's own bench as a child process
// per round (sections micro and http by default), rounds alternating; per-figure ratios (bench/compare.ts).

import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { jsColdWarm, runColdWarm } from './coldwarm.js';
import { runCompare } from './compare.js';
import { runDensity } from './density.js';
import { runHttp } from './http.js';
import { runProfile } from './profile.js';
import { runHostile } from './hostile.js';
import { haveWrk } from './load.js';
import { runMicro } from './micro.js';
import { formatPlacementTable, runPlacementBench } from './placement.js';
import { writeReport } from './report.js';
import { runSoak } from './soak.js';
import { cell, fmt, stat, type BenchOptions, type Mode, type SectionResult } from './section.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    full: { type: 'boolean', default: false },
    tiny: { type: 'boolean', default: false },
    /** Only these sections (comma-separated ids: micro, http, coldwarm, density). */
    only: { type: 'string' },
    duration: { type: 'string' },
    connections: { type: 'string' },
    rounds: { type: 'string' },
    placement: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench/results') },
    /** Only cold starts, this build against another checkout's build (its dist/), rounds alternating. */
    'compare-cold': { type: 'string' },
    /**
     * This build against another checkout's (its dist/): per round, each build's own run.js as a
     * child (--only, default micro,http; --rounds 1), the order alternating; see bench/compare.ts.
     */
    compare: { type: 'string' },
    cold: { type: 'string', default: '60' },
    /** Pause between a cold-start function's deploy and its first call (the reserve refills meanwhile). */
    'cold-gap-ms': { type: 'string', default: '50' },
    /** Section hostile: only these attacks (comma-separated ids, bench/hostile.ts), seconds per window, the neighbour's rate. */
    'hostile-attacks': { type: 'string' },
    'hostile-window': { type: 'string' },
    'neighbour-rate': { type: 'string' },
    /** Section soak: minutes (default 10). */
    'soak-minutes': { type: 'string' },
  },
});

const mode: Mode = args.tiny ? 'tiny' : args.full ? 'full' : 'quick';
const DEFAULTS = { tiny: { rounds: 1, durationSec: 1 }, quick: { rounds: 3, durationSec: 5 }, full: { rounds: 5, durationSec: 10 } }[mode];
const opts: BenchOptions = {
  mode,
  rounds: args.rounds ? Number(args.rounds) : DEFAULTS.rounds,
  durationSec: args.duration ? Number(args.duration) : DEFAULTS.durationSec,
  connections: args.connections ? Number(args.connections) : 32,
  root: ROOT,
  log: (line) => process.stderr.write(`${line}\n`),
  hostile: {
    ...(args['hostile-attacks'] ? { attacks: args['hostile-attacks'].split(',').map((x) => x.trim()).filter(Boolean) } : {}),
    ...(args['hostile-window'] ? { windowSec: Number(args['hostile-window']) } : {}),
    ...(args['neighbour-rate'] ? { neighbourRate: Number(args['neighbour-rate']) } : {}),
  },
  ...(args['soak-minutes'] ? { soakMinutes: Number(args['soak-minutes']) } : {}),
};

const SECTIONS: Record<string, (o: BenchOptions) => Promise<SectionResult>> = {
  micro: runMicro,
  http: runHttp,
  coldwarm: runColdWarm,
  density: runDensity,
};
/** Sections run only when named in --only (they attack Hearth or run for minutes; issue 15). */
const OPT_IN: Record<string, (o: BenchOptions) => Promise<SectionResult>> = {
  hostile: runHostile,
  soak: runSoak,
  profile: runProfile,
};

function machine() {
  return {
    cores: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version, v8: process.versions.v8, kernel: os.release(), platform: `${os.platform()} ${os.arch()}`,
  };
}

/** JS cold starts of this build and another, in alternating rounds of one run (e.g. before/after a change). */
async function compareCold(other: string): Promise<void> {
  const started = new Date();
  const n = Number(args.cold), gap = Number(args['cold-gap-ms']);
  const rows: Record<string, { p50: number[]; p90: number[]; p99: number[]; init50: number[] }> = { this: { p50: [], p90: [], p99: [], init50: [] }, other: { p50: [], p90: [], p99: [], init50: [] } };
  for (let r = 0; r < opts.rounds; r++) {
    for (const [k, root] of (r % 2 === 0 ? [['this', ROOT], ['other', other]] : [['other', other], ['this', ROOT]]) as [string, string][]) {
      opts.log(`  round ${r + 1}: ${k} (${root})…`);
      const c = await jsColdWarm(root, n, 1, gap);
      if (!c.allCold) throw new Error(`${k}: not every first call was cold`);
      const row = rows[k]!;
      row.p50.push(c.cold.p50); row.p90.push(c.cold.p90); row.p99.push(c.cold.p99); row.init50.push(c.init.p50);
    }
  }
  const c = (xs: number[]) => cell(stat(xs));
  const md = [
    `# JS cold start, this build vs ${other}, ${started.toISOString()}`,
    '',
    `${n} new functions per round (${gap} ms between each one's deploy and its first call), ${opts.rounds} rounds alternating which build goes first; each cell is the median of the rounds' figures [min – max]. Machine: ${os.cpus().length} cores, Node ${process.version}.`,
    '',
    '| build | cold p50 ms | cold p90 ms | cold p99 ms | server init p50 ms |',
    '| --- | --- | --- | --- | --- |',
    `| this (${ROOT}) | ${c(rows.this!.p50)} | ${c(rows.this!.p90)} | ${c(rows.this!.p99)} | ${c(rows.this!.init50)} |`,
    `| other (${other}) | ${c(rows.other!.p50)} | ${c(rows.other!.p90)} | ${c(rows.other!.p99)} | ${c(rows.other!.init50)} |`,
    '',
    `Ratio of cold p50, this / other: ${fmt(stat(rows.this!.p50).median / stat(rows.other!.p50).median)}×.`,
    '',
  ].join('\n');
  mkdirSync(args.out!, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(args.out!, `cold-compare-${stamp}.md`), md);
  process.stdout.write(md + `\nwritten: bench/results/cold-compare-${stamp}.md\n`);
}

/** Every figure of micro and http, this build against another, each build's own bench per round (bench/compare.ts). */
async function compare(other: string): Promise<void> {
  const sections = (args.only ?? 'micro,http').split(',').map((x) => x.trim()).filter(Boolean);
  if (sections.includes('http') && !haveWrk()) throw new Error('wrk is not installed: apt-get install -y wrk (npm run bench\'s set-up does this)');
  const r = await runCompare({
    thisRoot: ROOT, otherRoot: other, sections, mode,
    rounds: args.rounds ? Number(args.rounds) : Math.max(2, DEFAULTS.rounds),
    ...(args.duration ? { durationSec: Number(args.duration) } : {}),
    ...(args.connections ? { connections: Number(args.connections) } : {}),
    outDir: args.out!, machine: machine(), log: opts.log,
  });
  process.stdout.write(`${r.md}\nwritten: ${r.mdPath} and ${r.jsonPath}\n`);
}

async function main() {
  if (args['compare-cold']) return compareCold(resolve(args['compare-cold']));
  if (args.compare) return compare(resolve(args.compare));
  const startedAt = new Date();
  const only = args.only ? args.only.split(',') : Object.keys(SECTIONS);
  const all = { ...SECTIONS, ...OPT_IN };
  for (const id of only) if (!all[id]) throw new Error(`--only: no section "${id}" (there are ${Object.keys(all).join(', ')})`);
  if (only.includes('http') && !haveWrk()) throw new Error('wrk is not installed: apt-get install -y wrk (npm run bench\'s set-up does this)');
  opts.log(`hearth bench (${mode}): ${opts.rounds} rounds, ${opts.durationSec} s of load per system per round, ${opts.connections} connections; sections ${only.join(', ')}`);
  const sections: SectionResult[] = [];
  for (const id of only) {
    opts.log(`${id}…`);
    const t0 = performance.now();
    sections.push(await all[id]!(opts));
    opts.log(`${id}: done in ${fmt((performance.now() - t0) / 1000, 1)} s`);
  }
  if (args.placement) {
    opts.log('placement…');
    const p = await runPlacementBench({ durationMs: 1500, concurrency: 32 });
    sections.push({ id: 'placement', title: 'Placement (where isolates run)', data: p, markdown: ['```', formatPlacementTable(p), '```'].join('\n'), targets: [], charts: [] });
  }
  mkdirSync(args.out!, { recursive: true });
  const written = await writeReport(args.out!, {
    startedAt, finishedAt: new Date(), machine: machine(), sections,
    settings: { mode, rounds: opts.rounds, durationSec: opts.durationSec, connections: opts.connections, loadGenerator: 'wrk -t1 (its own process)' },
  });
  process.stdout.write(`written: ${written.md}, ${written.json} and ${written.svgs.length} plots\n`);
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
