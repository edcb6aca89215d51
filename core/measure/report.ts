// `hearth bench`'s reports: the terminal table and the Markdown a user pastes in an issue. Both are
// made from the BenchResult alone (the --json output), so a saved result can be reported again.
// No Node imports: the console's bundle may take this file as it is.

import type { BenchResult, PhaseSummary, TargetResult } from './types.js';

/** Milliseconds to a width that stays readable from 0.05 to 50,000. */
export function fmtMs(v: number | null): string {
  if (v === null) return '-';
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return v.toFixed(0);
}

const fmtRate = (v: number | null): string => (v === null ? '-' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const fmtRatio = (v: number | null): string => (v === null ? '-' : `${v.toFixed(2)}×`);
const pct = (v: number): string => `${Math.round(v * 100)}%`;
const pair = (a: number | null, b: number | null): string => `${fmtMs(a)} / ${fmtMs(b)}`;

/** "Timeout 3, Unhandled 2" (most first), or "-". */
export function errorList(errors: Record<string, number>): string {
  const e = Object.entries(errors).sort((x, y) => y[1] - x[1]);
  return e.length === 0 ? '-' : e.map(([k, n]) => `${k} ${n}`).join(', ');
}

const HEAD = ['target', 'phase', 'calls', 'ok', 'errors', 'p50', 'p90', 'p99', 'max', 'calls/s', 'init p50/p99', 'queue p50/p99', 'run p50/p99', 'cold'];

function row(t: TargetResult, phase: 'cold' | 'warm', s: PhaseSummary): string[] {
  const errors = s.calls - s.ok;
  return [
    t.target, phase, String(s.calls), String(s.ok), errors === 0 ? '-' : String(errors),
    fmtMs(s.latency.p50), fmtMs(s.latency.p90), fmtMs(s.latency.p99), fmtMs(s.latency.max), fmtRate(s.throughput),
    pair(s.init.p50, s.init.p99), pair(s.queue.p50, s.queue.p99), pair(s.run.p50, s.run.p99), s.calls === 0 ? '-' : pct(s.coldShare),
  ];
}

function rows(r: BenchResult): string[][] {
  const out: string[][] = [];
  for (const t of r.targets) {
    if (r.settings.cold > 0 || t.cold.calls > 0) out.push(row(t, 'cold', t.cold));
    out.push(row(t, 'warm', t.warm));
  }
  return out;
}

function describeTarget(t: TargetResult): string {
  const what = [t.runtime ?? 'runtime unknown (no admin token)', t.tier ? `${t.tier} tier` : null, t.version ? `version ${t.version}` : null].filter(Boolean);
  return `${t.target} (${what.join(', ')})`;
}

function describeLoad(r: BenchResult): string {
  const s = r.settings;
  const warm = (s.durationS !== null ? `${s.durationS} s` : `${s.warm} calls`) + (s.compare !== null ? ' each' : '');
  const route = s.web !== null ? `web ${s.web.startsWith('/') ? s.web : `/${s.web}`} (${s.payload === '' ? 'GET' : 'POST'})` : 'invoke';
  return `${s.cold} cold call(s)${s.reserve ? '' : ' without the reserve'}, warm ${warm} at concurrency ${s.concurrency}, ${route}, payload ${new TextEncoder().encode(s.payload).length} bytes`;
}

function errorLines(r: BenchResult): string[] {
  const out: string[] = [];
  for (const t of r.targets) {
    for (const phase of ['cold', 'warm'] as const) {
      const s = t[phase];
      if (s.calls > s.ok) out.push(`${t.target} ${phase}: ${errorList(s.errors)}`);
    }
  }
  return out;
}

function ratioLines(r: BenchResult): string[] {
  if (!r.ratios || r.targets.length < 2) return [];
  const names: Record<string, string> = {
    coldP50: 'cold p50', coldP99: 'cold p99', warmP50: 'warm p50', warmP99: 'warm p99', throughput: 'throughput', initP50: 'init p50', runP50: 'run p50',
  };
  return Object.entries(r.ratios).map(([k, v]) => `${names[k] ?? k} ${fmtRatio(v)}`);
}

function table(head: string[], body: string[][]): string[] {
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((x) => x[i]!.length)));
  // Text left, numbers right.
  const left = new Set([0, 1]);
  return all.map((x) => x.map((v, i) => (left.has(i) ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ').trimEnd());
}

/**
 * Where each target's cold starts came from (X-Hearth-Cold-Start: a pre-made blank isolate or stem
 * cell from the reserve, or made from scratch), as Hearth said: "hello: 10 from the reserve".
 */
function coldStartLines(r: BenchResult): string[] {
  const out: string[] = [];
  for (const t of r.targets) {
    const by = new Map<string, number>();
    for (const c of r.samples) if (c.target === t.target && c.phase === 'cold' && c.cold === true) by.set(c.coldStart ?? 'unsaid', (by.get(c.coldStart ?? 'unsaid') ?? 0) + 1);
    if (by.size === 0) continue;
    const said = (k: string) => (k === 'reserve' ? 'from the reserve' : k === 'scratch' ? 'from scratch' : 'origin not said (an older Hearth)');
    out.push(`${t.target}: cold starts ${[...by].map(([k, n]) => `${n} ${said(k)}`).join(', ')}`);
  }
  return out;
}

/** The table on the terminal: per target and phase; latency in ms (client side); the split from Hearth's headers. */
export function terminalReport(r: BenchResult): string {
  const lines: string[] = [];
  lines.push(`hearth bench ${r.targets.map(describeTarget).join(' vs ')}`);
  lines.push(`  ${describeLoad(r)}; ${r.settings.url}`);
  lines.push('');
  lines.push(...table(HEAD, rows(r)));
  lines.push('  (ms; latency as this client saw it, request written to response read; init/queue/run as Hearth\'s headers give them)');
  for (const c of coldStartLines(r)) lines.push(`  ${c}`);
  const errors = errorLines(r);
  if (errors.length > 0) {
    lines.push('');
    lines.push('errors by type:');
    for (const e of errors) lines.push(`  ${e}`);
  }
  if (r.overhead) {
    const o = r.overhead;
    lines.push('');
    lines.push(`load generator alone (bare uWS echo, concurrency ${o.concurrency}): p50 ${fmtMs(o.latency.p50)} ms, p99 ${fmtMs(o.latency.p99)} ms, ${fmtRate(o.throughput)} calls/s`);
  }
  const ratios = ratioLines(r);
  if (ratios.length > 0) {
    lines.push('');
    lines.push(`${r.targets[1]!.target} ÷ ${r.targets[0]!.target}: ${ratios.join(', ')}`);
  }
  for (const n of r.notes ?? []) lines.push(`note: ${n}`);
  return lines.join('\n') + '\n';
}

const mdCell = (v: string): string => v.replace(/\|/g, '\\|');

/** A report to paste in an issue: what was run, where, the table, the ratios. */
export function markdownReport(r: BenchResult): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`### \`hearth bench ${s.target}${s.compare ? ` --compare ${s.compare}` : ''}\`${r.targets.length === 2 ? `: ${r.targets[0]!.target} vs ${r.targets[1]!.target}` : ''}`);
  lines.push('');
  for (const t of r.targets) lines.push(`- **${t.target}**: ${t.runtime ?? 'runtime unknown'}${t.tier ? `, ${t.tier} tier` : ''}${t.version ? `, executed version ${t.version}` : ''}`);
  lines.push(`- **load**: ${describeLoad(r)}`);
  lines.push(`- **machine**: ${r.machine.cpus} CPUs, ${r.machine.platform}, Node ${r.machine.node}`);
  lines.push(`- **when**: ${r.startedAt} → ${r.finishedAt}`);
  lines.push('');
  lines.push(`| ${HEAD.join(' | ')} |`);
  lines.push(`| ${HEAD.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const x of rows(r)) lines.push(`| ${x.map(mdCell).join(' | ')} |`);
  lines.push('');
  lines.push('Milliseconds. Latency is client side (request written → response read); init, queue and run are the `X-Hearth-*-Ms` headers.');
  for (const c of coldStartLines(r)) lines.push(`${c}.`);
  const errors = errorLines(r);
  if (errors.length > 0) {
    lines.push('');
    lines.push('**Errors by type**');
    lines.push('');
    for (const e of errors) lines.push(`- ${e}`);
  }
  if (r.overhead) {
    lines.push('');
    lines.push(`**Load generator alone** (bare uWS echo, concurrency ${r.overhead.concurrency}): p50 ${fmtMs(r.overhead.latency.p50)} ms, p99 ${fmtMs(r.overhead.latency.p99)} ms, ${fmtRate(r.overhead.throughput)} calls/s.`);
  }
  const ratios = ratioLines(r);
  if (ratios.length > 0) {
    lines.push('');
    lines.push(`**${r.targets[1]!.target} ÷ ${r.targets[0]!.target}** (above 1: the second is slower or higher): ${ratios.join(', ')}.`);
  }
  if ((r.notes ?? []).length > 0) {
    lines.push('');
    for (const n of r.notes!) lines.push(`> ${n}`);
  }
  return lines.join('\n') + '\n';
}
