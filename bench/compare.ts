// `npm run bench -- --compare DIR [--only micro,http] [--rounds N] [...]`: this build against the
// build in another checkout DIR (its own dist/), e.g. before and after a refactor, in one run.
//
// In-process (micro): each round runs, for each build, that build's own bench as a child process
//   node --no-node-snapshot <root>/dist/bench/run.js --only micro --rounds 1 --out <tmp> [...]
// (only flags every build's run.js has), the order of the two builds alternating from round to round,
// and reads the JSON the child wrote. A child measures one build alone, so the two builds are
// paired by round; the fairer in-process figure is a call's p50 over the bare isolated-vm crossing
// measured in the same child.
// HTTP (bench/compare-http.ts): both builds' Hearths run side by side and wrk alternates between
// them, system by system, so a pair is taken seconds apart; with CPU per call from /proc.
// A figure's ratio is the median of the per-round ratios this/other (oriented so that > 1 means
// this build is better). Results: <out>/compare-<stamp>.md (also on stdout) and .json.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { compareHttp } from './compare-http.js';
import { fmt, stat, type Mode, type Stat } from './section.js';

/** The sections whose figures this compares. */
export const COMPARE_SECTIONS = ['micro', 'http'] as const;
/** A median ratio below this is marked (issue 14's rule). */
export const THRESHOLD = 0.97;

export interface CompareOptions {
  /** The checkout this run.js belongs to, and the other one; each is measured through its own dist/. */
  thisRoot: string;
  otherRoot: string;
  sections: string[];
  rounds: number;
  mode: Mode;
  /** Passed to the children only when given (else each uses its mode's setting). */
  durationSec?: number;
  connections?: number;
  outDir: string;
  machine: Record<string, unknown>;
  log(line: string): void;
}

type Build = 'this' | 'other';

/** One comparable figure. */
export interface Figure {
  /** Stable key, e.g. "micro.warm.hello.p50Us". */
  id: string;
  /** The report's table it goes in. */
  group: 'micro' | 'micro-norm' | 'http' | 'http-cpu';
  /** Row label and which figure of it. */
  row: string;
  what: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Not Hearth code (the isolated-vm floor, the echo, node:http, workerd, a container called directly): a control. */
  reference: boolean;
}

interface Child {
  values: Record<string, number>;
  notes: string[];
  error?: string;
  seconds: number;
}

interface Round { round: number; order: Build[]; children: Partial<Record<Build, Child>> }

export interface FigureSummary extends Figure {
  this: Stat;
  other: Stat;
  ratio: Stat;
  thisRounds: (number | null)[];
  otherRounds: (number | null)[];
  ratioRounds: (number | null)[];
  worse: boolean;
}

// ---------------------------------------------------------------------------------------------
// Reading a child's JSON

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (v: unknown, ...path: (string | number)[]): unknown => {
  let cur = v;
  for (const k of path) {
    if (Array.isArray(cur) && typeof k === 'number') cur = cur[k];
    else if (isObj(cur)) cur = cur[String(k)];
    else return undefined;
  }
  return cur;
};
/** A Stat's median (the child ran one round), or a plain number; undefined if it is not there. */
const med = (v: unknown): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (isObj(v) && typeof v.median === 'number' && Number.isFinite(v.median)) return v.median;
  return undefined;
};

/** A section's data from a bench JSON: top-level `<id>` (report.ts), or `sections[]` of `{id, data}`. */
function sectionData(json: unknown, id: string): unknown {
  const list = at(json, 'sections');
  if (Array.isArray(list)) {
    const s = list.find((x) => isObj(x) && x.id === id) as Obj | undefined;
    if (s) return s.skipped ? { skipped: s.skipped } : s.data;
  }
  return at(json, id);
}

/**
 * Every figure of one child's JSON: the figures it defines (even when its value is missing, so
 * that a missing figure is reported as missing) and their values.
 */
export function extract(json: unknown, sections: string[]): { figures: Figure[]; values: Record<string, number>; notes: string[] } {
  const figures: Figure[] = [];
  const values: Record<string, number> = {};
  const notes: string[] = [];
  const add = (f: Figure, v: number | undefined) => {
    figures.push(f);
    if (v !== undefined) values[f.id] = v;
  };

  if (sections.includes('micro')) {
    const m = sectionData(json, 'micro');
    if (m === undefined) notes.push('micro: no section in the JSON');
    else if (isObj(m) && m.skipped) notes.push(`micro skipped: ${String(m.skipped)}`);
    const micro = (id: string, row: string, what: string, unit: string, v: unknown, reference = false) =>
      add({ id: `micro.${id}`, group: 'micro', row, what, unit, better: 'lower', reference }, med(v));
    for (const [k, row, ref] of [
      ['floor', 'isolated-vm floor', true], ['hello', 'warm hello (dispatch overhead)', false],
      ['unbatched', 'warm hello, batching off', false], ['order', 'warm order event', false],
    ] as const) {
      micro(`warm.${k}.p50Us`, row, 'p50', 'µs', at(m, 'warm', k, 'p50Us'), ref);
      micro(`warm.${k}.meanUs`, row, 'mean', 'µs', at(m, 'warm', k, 'meanUs'), ref);
    }
    const payload = at(m, 'payload');
    const payloadRows = Array.isArray(payload) && payload.length > 0
      ? payload.filter(isObj).map((p) => ({ label: `${String(p.size)} ${String(p.encoding)}`, p }))
      : ['100 B', '10 KB', '1 MB'].flatMap((size) => ['json', 'msgpack'].map((enc) => ({ label: `${size} ${enc}`, p: undefined as Obj | undefined })));
    for (const { label, p } of payloadRows) {
      micro(`payload.${label}.p50Us`, `echo payload ${label}`, 'p50', 'µs', at(p, 'p50Us'));
      micro(`payload.${label}.meanUs`, `echo payload ${label}`, 'mean', 'µs', at(p, 'meanUs'));
    }
    for (const n of [10, 10_000]) {
      const label = n.toLocaleString('en-US');
      micro(`registry.lookup.${n}.p50Ns`, `registry lookup, ${label} functions`, 'p50', 'ns', at(m, 'registry', 'lookup', String(n), 'p50Ns'));
      micro(`registry.lookup.${n}.meanNs`, `registry lookup, ${label} functions`, 'mean', 'ns', at(m, 'registry', 'lookup', String(n), 'meanNs'));
    }
    for (const n of [10, 10_000]) {
      const label = n.toLocaleString('en-US');
      micro(`registry.resolveInvoke.${n}.p50Us`, `resolve + warm invoke, ${label} functions`, 'p50', 'µs', at(m, 'registry', 'resolveInvoke', String(n), 'p50Us'));
      micro(`registry.resolveInvoke.${n}.meanUs`, `resolve + warm invoke, ${label} functions`, 'mean', 'µs', at(m, 'registry', 'resolveInvoke', String(n), 'meanUs'));
    }
    for (const [k, row] of [['withBlank', 'cold start, pre-warmed blank'], ['withoutBlank', 'cold start, no blank']] as const) {
      const c = at(m, 'cold', k);
      micro(`cold.${k}.p50Ms`, row, 'p50', 'ms', med(at(c, 'p50PerRound')) ?? at(c, 'ms', 'p50'));
    }
    for (const k of ['withBlank', 'withoutBlank']) if (at(m, 'cold', k, 'allCold') === false) notes.push(`micro: not every first call of the cold rows (${k}) was cold`);
    // The call rows over the isolated-vm floor of the same child run (the in-process echo): a
    // machine that is slower for a while slows the floor too. Rows whose time is mostly crossings.
    const floor = med(at(m, 'warm', 'floor', 'p50Us'));
    const overFloor = (id: string, row: string, v: unknown) => {
      const x = med(v);
      add({ id: `micro.${id}.p50OverFloor`, group: 'micro-norm', row, what: 'p50 ÷ floor p50', unit: '', better: 'lower', reference: false },
        x !== undefined && floor !== undefined && floor > 0 ? x / floor : undefined);
    };
    for (const [k, row] of [['hello', 'warm hello (dispatch overhead)'], ['unbatched', 'warm hello, batching off'], ['order', 'warm order event']] as const) overFloor(`warm.${k}`, row, at(m, 'warm', k, 'p50Us'));
    for (const { label, p } of payloadRows.filter((x) => !x.label.startsWith('1 MB'))) overFloor(`payload.${label}`, `echo payload ${label}`, at(p, 'p50Us'));
    for (const n of [10, 10_000]) overFloor(`registry.resolveInvoke.${n}`, `resolve + warm invoke, ${n.toLocaleString('en-US')} functions`, at(m, 'registry', 'resolveInvoke', String(n), 'p50Us'));
  }

  return { figures, values, notes };
}

// ---------------------------------------------------------------------------------------------
// Running one build's bench

/** What the children measure: everything but http (compared side by side here, compare-http.ts). */
const childSections = (o: CompareOptions) => o.sections.filter((x) => x !== 'http');

function childArgs(root: string, o: CompareOptions, out: string): string[] {
  return [
    '--no-node-snapshot', join(root, 'dist/bench/run.js'), '--only', childSections(o).join(','), '--rounds', '1', '--out', out,
    ...(o.durationSec !== undefined ? ['--duration', String(o.durationSec)] : []),
    ...(o.connections !== undefined ? ['--connections', String(o.connections)] : []),
    ...(o.mode === 'tiny' ? ['--tiny'] : o.mode === 'full' ? ['--full'] : []),
  ];
}

/** Lines of a stream, each written to our stderr with a prefix (the child's progress, visible). */
function relay(stream: NodeJS.ReadableStream, prefix: string): void {
  let rest = '';
  stream.on('data', (d: Buffer) => {
    const lines = (rest + d.toString()).split('\n');
    rest = lines.pop()!;
    for (const l of lines) process.stderr.write(`${prefix}${l}\n`);
  });
  stream.on('end', () => { if (rest) process.stderr.write(`${prefix}${rest}\n`); });
}

async function runChild(root: string, tag: string, o: CompareOptions, figures: Map<string, Figure>): Promise<Child> {
  const out = mkdtempSync(join(os.tmpdir(), 'hearth-compare-'));
  const t0 = performance.now();
  try {
    const args = childArgs(root, o, out);
    o.log(`  ${tag}: ${process.execPath} ${args.join(' ')}`);
    const proc = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const kill = () => { proc.kill('SIGKILL'); };
    process.once('exit', kill);
    relay(proc.stdout!, `    [${tag}] `);
    relay(proc.stderr!, `    [${tag}] `);
    const code = await new Promise<number | string>((res) => {
      proc.once('error', (err) => res(err.message));
      proc.once('exit', (c, sig) => res(c ?? String(sig)));
    });
    process.off('exit', kill);
    const seconds = (performance.now() - t0) / 1000;
    if (code !== 0) return { values: {}, notes: [], error: `the child exited with ${code}`, seconds };
    const jsons = readdirSync(out).filter((f) => f.endsWith('.json'));
    if (jsons.length !== 1) return { values: {}, notes: [], error: `expected one JSON in the child's --out, found ${jsons.length}`, seconds };
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(out, jsons[0]!), 'utf8'));
    } catch (err) {
      return { values: {}, notes: [], error: `its JSON does not parse: ${(err as Error).message}`, seconds };
    }
    const e = extract(json, childSections(o));
    for (const f of e.figures) if (!figures.has(f.id)) figures.set(f.id, f);
    return { values: e.values, notes: e.notes, seconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The comparison

const ratioOf = (f: Figure, t: number | null, o: number | null): number | null => {
  if (t === null || o === null || !(t > 0) || !(o > 0)) return null;
  return f.better === 'higher' ? t / o : o / t;
};
const nonNull = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);

/** Digits that suit a value's size. */
function num(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  return fmt(x, a >= 1_000 ? 0 : a >= 100 ? 1 : a >= 10 ? 2 : 3);
}
const range = (s: Stat, f: (x: number) => string = num) => (s.n === 0 ? 'missing' : s.n === 1 ? f(s.median) : `${f(s.median)} [${f(s.min)} – ${f(s.max)}]`);
const ratioCell = (s: Stat) => range(s, (x) => `${fmt(x, 3)}×`);

function commit(root: string): string {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'not a git checkout';
  }
}

function builtAt(root: string): string {
  try {
    return statSync(join(root, 'dist/bench/run.js')).mtime.toISOString();
  } catch {
    return '?';
  }
}

export async function runCompare(o: CompareOptions): Promise<{ md: string; mdPath: string; jsonPath: string; worse: FigureSummary[] }> {
  const started = new Date();
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error(`--compare: --rounds must be a whole number ≥ 1 (got ${o.rounds})`);
  if (o.sections.length === 0) throw new Error('--compare: no sections');
  for (const s of o.sections) {
    if (!(COMPARE_SECTIONS as readonly string[]).includes(s)) throw new Error(`--compare: section "${s}" has no figures to compare (sections: ${COMPARE_SECTIONS.join(', ')})`);
  }
  for (const root of [o.thisRoot, o.otherRoot]) {
    if (!existsSync(join(root, 'dist/bench/run.js'))) throw new Error(`--compare: no ${join(root, 'dist/bench/run.js')} (npm run build in ${root})`);
  }
  const roots: Record<Build, string> = { this: o.thisRoot, other: o.otherRoot };
  o.log(`hearth bench --compare (${o.mode}): this ${o.thisRoot} vs other ${o.otherRoot}, ${o.rounds} rounds alternating, sections ${o.sections.join(', ')}`);
  const figures = new Map<string, Figure>();
  const rounds: Round[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const order: Build[] = r % 2 === 0 ? ['this', 'other'] : ['other', 'this'];
    const round: Round = { round: r + 1, order, children: {} };
    for (const b of order) {
      if (childSections(o).length === 0) {
        round.children[b] = { values: {}, notes: [], seconds: 0 };
        continue;
      }
      o.log(`  round ${r + 1}/${o.rounds}: ${b} (${roots[b]})…`);
      const c = await runChild(roots[b], `${b} r${r + 1}`, o, figures);
      round.children[b] = c;
      o.log(`  round ${r + 1}/${o.rounds}: ${b} ${c.error ? `FAILED (${c.error})` : 'done'} in ${fmt(c.seconds, 1)} s`);
    }
    rounds.push(round);
  }
  if (o.sections.includes('http')) {
    const h = await compareHttp({
      roots, rounds: o.rounds, durationSec: o.durationSec ?? (o.mode === 'tiny' ? 1 : o.mode === 'full' ? 10 : 5),
      connections: o.connections ?? 32, log: o.log,
    });
    for (const s of h.systems) {
      const fig = (id: string, group: Figure['group'], what: string, unit: string, better: Figure['better']) => {
        const f: Figure = { id: `http.${s.key}.${id}`, group, row: s.name, what, unit, better, reference: false };
        figures.set(f.id, f);
        return f.id;
      };
      const ids = {
        rps: fig('rps', 'http', 'req/s', 'req/s', 'higher'), p50: fig('p50Ms', 'http', 'p50', 'ms', 'lower'), p99: fig('p99Ms', 'http', 'p99', 'ms', 'lower'),
        main: fig('cpuMainUs', 'http-cpu', 'CPU per call, main thread', 'µs', 'lower'), other: fig('cpuOtherUs', 'http-cpu', 'CPU per call, other threads', 'µs', 'lower'),
        total: fig('cpuTotalUs', 'http-cpu', 'CPU per call, whole process', 'µs', 'lower'),
      };
      h.rounds.forEach((hr, r) => {
        for (const b of ['this', 'other'] as const) {
          const x = hr[b].get(s.key);
          const child = rounds[r]!.children[b]!;
          if (!x) continue;
          Object.assign(child.values, { [ids.rps]: x.rps, [ids.p50]: x.p50Ms, [ids.p99]: x.p99Ms, [ids.main]: x.cpuMainUs, [ids.other]: x.cpuOtherUs, [ids.total]: x.cpuMainUs + x.cpuOtherUs });
        }
      });
    }
    for (const n of h.notes) rounds[0]!.children.this!.notes.push(n);
  }
  const finished = new Date();

  const summaries: FigureSummary[] = [...figures.values()].map((f) => {
    const pick = (b: Build) => rounds.map((r) => r.children[b]?.values[f.id] ?? null);
    const thisRounds = pick('this');
    const otherRounds = pick('other');
    const ratioRounds = thisRounds.map((t, i) => ratioOf(f, t, otherRounds[i]!));
    const ratio = stat(nonNull(ratioRounds));
    return {
      ...f, this: stat(nonNull(thisRounds)), other: stat(nonNull(otherRounds)), ratio,
      thisRounds, otherRounds, ratioRounds, worse: ratio.n > 0 && ratio.median < THRESHOLD,
    };
  });
  const worse = summaries.filter((s) => s.worse);

  // ---- Markdown ------------------------------------------------------------------------------
  const m = o.machine;
  /** Below the threshold in every round, not only at the median: less likely to be the machine's noise. */
  const everyRound = (s: FigureSummary) => s.worse && s.ratio.n > 1 && s.ratio.max < THRESHOLD;
  const flag = (s: FigureSummary) => (s.worse ? `**< ${THRESHOLD}${everyRound(s) ? ', every round' : ''}**` : s.ratio.n === 0 ? 'missing' : '');
  const missingNote = (s: FigureSummary) => {
    const gaps = (['this', 'other'] as const).map((b) => [b, (b === 'this' ? s.thisRounds : s.otherRounds).filter((x) => x === null).length] as const).filter(([, n]) => n > 0);
    return gaps.length ? ` (missing: ${gaps.map(([b, n]) => `${b} ${n} of ${rounds.length}`).join(', ')})` : '';
  };
  const table = (group: Figure['group'], rowHead: string) => {
    const rows = summaries.filter((s) => s.group === group);
    if (rows.length === 0) return [];
    return [
      `| ${rowHead} | figure | this | other | ratio (> 1: this better) | |`,
      '| --- | --- | --- | --- | --- | --- |',
      ...rows.map((s) => `| ${s.row}${s.reference ? ' (reference)' : ''} | ${s.what}${s.unit && s.unit !== s.what ? ` ${s.unit}` : ''}${missingNote(s)} | ${range(s.this)} | ${range(s.other)} | ${s.worse ? `**${ratioCell(s.ratio)}**` : ratioCell(s.ratio)} | ${flag(s)} |`),
      '',
    ];
  };
  const notes = new Map<string, string[]>();
  for (const r of rounds) {
    for (const b of ['this', 'other'] as const) {
      const c = r.children[b];
      if (!c) continue;
      for (const n of [...(c.error ? [`the child failed: ${c.error}`] : []), ...c.notes]) (notes.get(n) ?? notes.set(n, []).get(n)!).push(`${b} r${r.round}`);
    }
  }
  const describe = (s: FigureSummary) => `${s.group.startsWith('micro') ? 'micro' : 'http'} ${s.row}${s.reference ? ' (reference)' : ''} ${s.what}${s.unit && s.unit !== s.what ? ` ${s.unit}` : ''}: ${ratioCell(s.ratio)}${everyRound(s) ? ' (below in every round)' : ''}`;
  const worseRefs = worse.filter((s) => s.reference);
  const missing = summaries.filter((s) => s.ratio.n === 0);
  const failed = rounds.flatMap((r) => (['this', 'other'] as const).filter((b) => r.children[b]?.error).map((b) => `${b} r${r.round}`));
  const settingsLine = [
    `mode ${o.mode}`, `${o.rounds} rounds`, `sections ${o.sections.join(', ')}`,
    o.durationSec !== undefined ? `${o.durationSec} s of load per system` : 'load duration: the mode\'s',
    o.connections !== undefined ? `${o.connections} connections` : 'connections: the mode\'s (32)',
  ].join(', ');
  const md = [
    `# Hearth bench, this build vs another, ${started.toISOString()}`,
    '',
    `- this: \`${o.thisRoot}\` (HEAD ${commit(o.thisRoot)}, dist/bench/run.js built ${builtAt(o.thisRoot)})`,
    `- other: \`${o.otherRoot}\` (HEAD ${commit(o.otherRoot)}, dist/bench/run.js built ${builtAt(o.otherRoot)})`,
    `- Machine: ${m.cores} cores (${m.cpu}), ${m.memoryGiB} GiB, Node ${m.node} (V8 ${m.v8}), kernel ${m.kernel}. ${fmt((finished.getTime() - started.getTime()) / 60_000, 1)} min.`,
    `- Settings: ${settingsLine}. Each child: \`node --no-node-snapshot <root>/dist/bench/run.js ${childArgs('<root>', o, '<tmp>').slice(2).join(' ')}\`.`,
    `- Rounds: ${rounds.map((r) => `${r.round}: ${r.order.map((b) => `${b} ${r.children[b]?.error ? 'FAILED' : `${fmt(r.children[b]?.seconds ?? NaN, 0)} s`}`).join(' then ')}`).join('; ')}.`,
    '',
    `How to read this. In-process (micro): each child process measures one build alone, one round, the two builds one after the other; a figure's ratio is taken between the two children of the same round. The fairer in-process figure is a call's p50 over the isolated-vm floor (one bare crossing, no Hearth code) measured in the same child: when the machine is slower for a while, the floor is too. HTTP: both builds' Hearths run side by side, and in each round wrk loads one and then the other for each system (the order alternating), so a pair is taken seconds apart; CPU per call is the Hearth process's CPU time (main thread; all other threads) over the load, divided by the requests it answered, which hardly moves when the machine's rate swings. "this" and "other" are the median of the rounds' figures [min – max]; the ratio is the median of the rounds' paired ratios [min – max], oriented so that > 1 means this build is better (throughput: this / other; latency, time and CPU: other / this). **< ${THRESHOLD}** marks a median ratio below ${THRESHOLD} ("every round" when even the best round's ratio is below it; a range that straddles 1 is mostly the machine's noise). Rows marked (reference) run no Hearth code: their ratio is the machine's drift between the two children.`,
    '',
    ...(summaries.some((s) => s.group === 'micro') ? [
      '## In-process (micro)',
      '',
      ...table('micro', 'row'),
      '### Calls over the isolated-vm floor of the same child run',
      '',
      'The floor (one bare isolated-vm crossing, no Hearth code) is measured beside the call rows in the same child: when the machine is slower for a while, it slows too. Each row\'s p50 over the floor\'s p50 in the same child run, this against other: for the small calls this is the fairer in-process ratio.',
      '',
      ...table('micro-norm', 'row'),
    ] : []),
    ...(summaries.some((s) => s.group === 'http') ? [
      '## HTTP load (both builds side by side)',
      '',
      ...table('http', 'system'),
      '### CPU per call',
      '',
      ...table('http-cpu', 'system'),
    ] : []),
    ...(notes.size ? ['## Notes from the children', '', ...[...notes].map(([n, where]) => `- ${n} (${where.join(', ')})`), ''] : []),
    '## Verdict',
    '',
    ...(worse.length === 0
      ? [`worse than ${THRESHOLD}×: none${missing.length ? ` (of the figures measured in both builds; ${missing.length} have no ratio, below)` : ''}`]
      : [`worse than ${THRESHOLD}× (${worse.length}${worseRefs.length ? `, of which ${worseRefs.length} reference rows: no Hearth code, their ratio is drift between the children, not a change of build` : ''}):`, '', ...worse.map((s) => `- ${describe(s)}`)]),
    ...(failed.length ? ['', `children that failed (their figures are missing): ${failed.join(', ')}`] : []),
    ...(missing.length ? ['', `missing in one build or both (no ratio): ${missing.map((s) => `${s.group.startsWith('micro') ? 'micro' : 'http'} ${s.row} ${s.what}`).join('; ')}`] : []),
    '',
  ].join('\n');

  mkdirSync(o.outDir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const mdPath = join(o.outDir, `compare-${stamp}.md`);
  const jsonPath = join(o.outDir, `compare-${stamp}.json`);
  writeFileSync(mdPath, md);
  writeFileSync(jsonPath, JSON.stringify({
    startedAt: started.toISOString(), finishedAt: finished.toISOString(), machine: o.machine,
    this: { root: o.thisRoot, commit: commit(o.thisRoot), builtAt: builtAt(o.thisRoot) },
    other: { root: o.otherRoot, commit: commit(o.otherRoot), builtAt: builtAt(o.otherRoot) },
    settings: { mode: o.mode, rounds: o.rounds, sections: o.sections, durationSec: o.durationSec ?? null, connections: o.connections ?? null, threshold: THRESHOLD, childArgs: childArgs('<root>', o, '<tmp>').slice(2) },
    rounds,
    figures: summaries,
    worse: worse.map((s) => s.id),
  }, null, 2));
  return { md, mdPath, jsonPath, worse };
}
