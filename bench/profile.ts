// Section "profile" of `npm run bench -- --only profile` (issue 16): where Hearth's main thread
// spends its time per warm call. One Hearth runs under V8's sampling profiler (`--cpu-prof`, a
// sample every 50 µs), wrk loads its hello event function (and then its web function) as the HTTP
// section does, and the samples taken during each load are attributed to the module they were
// in and divided by the requests wrk completed: µs of main-thread CPU per call, by part.
//
// Attribution: each sample goes to the innermost frame of the stack that belongs to a known part
// (a Hearth module under dist/, uWebSockets.js, isolated-vm, Node's own JS). V8's profiler shows no
// frame for a native function JS calls, so a part's time includes the native work it calls: the
// HTTP modules' includes uWS's response writes (res.cork/end: the socket write), the crossing's
// includes isolated-vm's apply and copies. A sample with no JS frame at all is named as V8 names it
// ("(program)": native code JS did not call, where uWS's C++ parser and event loop run;
// "(garbage collector)"). "(idle)" samples are the main thread waiting, not CPU. The samples are
// kept by time: the profile's timestamps are CLOCK_MONOTONIC µs, as the bench's hrtime is, so only
// those within a load window count. The isolates run on isolated-vm's threads, not this one; their
// time is in the HTTP section's "other threads" column.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { haveWrk, runLoad } from './load.js';
import { childEnv, startChild } from './processes.js';
import { fmt, type BenchOptions, type SectionResult } from './section.js';

const HELLO = JSON.stringify({ name: 'world' });
const WEB_SOURCE = 'export default { async fetch(req) { const { name } = await req.json(); return Response.json({ hello: name }) } }\n';
const INTERVAL_US = 50;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The part of Hearth (or of what it runs on) a frame's script belongs to, or null for none. */
export function partOf(url: string): string | null {
  if (url === '') return null;
  if (url.includes('/node_modules/uWebSockets.js/')) return 'uWS (its JS wrapper)';
  if (url.includes('/node_modules/isolated-vm/')) return 'crossing: isolated-vm';
  if (url.startsWith('node:')) return 'Node internals (timers, microtasks, Buffer)';
  if (url.includes('/node_modules/')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return `library: ${m?.[1] ?? '?'}`;
  }
  const m = /\/dist\/(.+)\.js$/.exec(url);
  if (!m) return null;
  const path = m[1]!;
  if (path.startsWith('core/http/')) return `HTTP front end: ${path.slice('core/http/'.length)}`;
  if (path.startsWith('core/registry/')) return 'registry';
  if (path === 'core/dispatcher' || path.startsWith('core/invocation')) return 'dispatch (Dispatcher, Invocation)';
  if (path === 'core/call-recorder' || path === 'core/records' || path.startsWith('core/records')) return 'invocation records';
  if (path === 'core/metrics' || path.endsWith('counters')) return 'metrics';
  if (path === 'pool/isolate/crossing') return 'crossing: pool/isolate/crossing';
  if (path.startsWith('pool/')) return `pool: ${path.slice('pool/'.length)}`;
  return path;
}

/** Main-thread µs per call by part, over the samples within [fromUs, toUs] (CLOCK_MONOTONIC µs). */
export function attribute(p: CpuProfile, fromUs: number, toUs: number, calls: number): { part: string; usPerCall: number }[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const partOfNode = new Map<number, string>();
  const resolve = (id: number): string => {
    const known = partOfNode.get(id);
    if (known !== undefined) return known;
    let part: string | null = null;
    for (let at: number | undefined = id; at !== undefined && part === null; at = parent.get(at)) part = partOf(byId.get(at)!.callFrame.url);
    const result = part ?? byId.get(id)!.callFrame.functionName ?? '(unknown)';
    partOfNode.set(id, result);
    return result;
  };
  const us = new Map<string, number>();
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1]! : INTERVAL_US;
    const part = resolve(p.samples[i]!);
    if (part === '(idle)') continue;
    us.set(part, (us.get(part) ?? 0) + dt);
  }
  return [...us].map(([part, total]) => ({ part, usPerCall: total / calls })).sort((a, b) => b.usPerCall - a.usPerCall);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

export async function runProfile(opts: BenchOptions): Promise<SectionResult> {
  const id = 'profile';
  const title = 'Where Hearth\'s main thread spends a warm call (issue 16)';
  if (!haveWrk()) return { id, title, data: {}, markdown: 'Skipped: wrk is not installed.\n', targets: [], charts: [], skipped: 'wrk is not installed' };
  const t0 = performance.now();
  const profDir = mkdtempSync(join(os.tmpdir(), 'hearth-prof-'));
  const dataDir = mkdtempSync(join(os.tmpdir(), 'hearth-prof-data-'));
  const durationSec = opts.mode === 'tiny' ? 1 : opts.mode === 'full' ? 10 : 5;
  try {
    const h = await startChild('hearth (profiled)', [process.execPath, '--no-node-snapshot', '--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', String(INTERVAL_US),
      join(opts.root, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dataDir, '--no-docker', '--functions', join(opts.root, 'examples')],
    /listening on http:\/\/[^:]+:(\d+)/, childEnv(), opts.root);
    const base = `http://127.0.0.1:${h.port}`;
    const windows: { what: string; url: string; from: number; to: number; calls: number; rps: number }[] = [];
    try {
      const put = await fetch(`${base}/v1/functions/prof-web`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runtime: 'js', handler: 'index.default', code: { source: WEB_SOURCE } }) });
      if (put.status !== 201 && put.status !== 200) throw new Error(`deploy prof-web: ${put.status} ${await put.text()}`);
      for (const [what, url] of [['event function (hello)', `${base}/v1/functions/hello/invoke`], ['web function (same Workers module)', `${base}/v1/web/prof-web/`]] as const) {
        const check = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: HELLO });
        if (check.status !== 200) throw new Error(`${what}: ${check.status} ${await check.text()}`);
        await runLoad({ url, method: 'POST', body: HELLO, headers: { 'content-type': 'application/json' }, connections: opts.connections, durationSec: 1, threads: 1 });
        const from = nowUs();
        const lr = await runLoad({ url, method: 'POST', body: HELLO, headers: { 'content-type': 'application/json' }, connections: opts.connections, durationSec, threads: 1 });
        const to = nowUs();
        if (lr.errors + lr.non2xx > 0) throw new Error(`${what}: ${lr.errors} errors, ${lr.non2xx} non-2xx under load`);
        windows.push({ what, url, from, to, calls: lr.total, rps: lr.requestsPerSec });
        opts.log(`  profile: ${what}: ${Math.round(lr.requestsPerSec)} req/s over ${durationSec} s`);
      }
    } finally {
      await h.stop(); // the profile is written as the process exits
    }
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file === undefined) throw new Error('Hearth wrote no .cpuprofile');
    const profile = JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile;
    const tables = windows.map((w) => ({ ...w, parts: attribute(profile, w.from, w.to, w.calls) }));
    const md: string[] = [
      `One Hearth (\`--no-docker\`, \`examples/\`) under \`node --cpu-prof --cpu-prof-interval ${INTERVAL_US}\`; wrk, 1 thread, ${opts.connections} connections, ${durationSec} s per function after a 1 s warm-up. Main thread only; each sample attributed to the innermost frame in a known part of the stack (bench/profile.ts). The profiler itself costs some of this time; read the split, not the sum, against the HTTP section.`,
      '',
    ];
    for (const t of tables) {
      const total = t.parts.reduce((n, p) => n + p.usPerCall, 0);
      md.push(`**${t.what}**: ${fmt(t.rps, 0)} req/s under the profiler; main thread ${fmt(total, 1)} µs per call.`, '',
        '| part | µs per call | share |', '| --- | --- | --- |',
        ...t.parts.filter((p) => p.usPerCall >= 0.05).map((p) => `| ${p.part} | ${fmt(p.usPerCall, 2)} | ${fmt((p.usPerCall / total) * 100, 1)}% |`), '');
    }
    md.push(`Section time: ${fmt((performance.now() - t0) / 1000, 1)} s.`, '');
    return { id, title, data: { intervalUs: INTERVAL_US, durationSec, connections: opts.connections, windows: tables }, markdown: md.join('\n'), targets: [], charts: [] };
  } finally {
    rmSync(profDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
