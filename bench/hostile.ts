// Section "hostile" of `npm run bench -- --only hostile` (issue 15): what a misbehaving function does
// to a well-behaved neighbour and to Hearth's memory.
//
// One real Hearth (the container tier too when Docker and the python3 image are there). A neighbour
// (a JS echo) is called at a steady rate for the whole section (bench/steady.ts). Each attack is a
// function deployed for it, and is measured in turn:
//
//   baseline window   W s of the neighbour alone (the no-attack figures, taken in the same run,
//                     right before this attack)
//   attack window     the attacking function called one call after another for W s ("loop"), or
//                     once ("once": its effect outlasts the call, e.g. a background thread); the
//                     window ends when the last attacking call has answered (at most ATTACK_CAP_MS)
//   settle            Hearth's RSS read until it stops moving (bench/processes.ts settledRssMiB)
//
// and then deleted. Per attack: the neighbour's p50/p99 in both windows and their ratio (issue 15's
// bound: p99 ≤ 2× the no-attack p99), the neighbour's errors (must be 0), Hearth's RSS before the
// attack, its peak during it (sampled every 250 ms) and where it settled after (bound: after −
// before ≤ 64 MiB), and what each attacking call answered. A web function that forges framing and
// X-Hearth-* headers is read raw (node:net) to see what reached the wire; the python3 function with
// a background printer has its Docker json log measured.
//
// quick: W = 8 s; --full: 20 s; `--hostile-window S`, `--hostile-attacks a,b`, `--neighbour-rate N`.

import net from 'node:net';
import { statSync } from 'node:fs';
import Docker from 'dockerode';
import { containerTierMissing, openFds, rssMiB, settledRssMiB, startHearth, type Hearth } from './processes.js';
import { checkedFetch, steadyCalls, windowStats, type WindowStats } from './steady.js';
import { fmt, type BenchOptions, type Chart, type SectionResult, type TargetRow } from './section.js';

/** How long one attacking call may take before the bench gives up on it (and says so). */
const ATTACK_CAP_MS = 120_000;
const P99_BOUND = 2;
const RSS_BOUND_MIB = 64;
export const NEIGHBOUR_SOURCE = 'exports.handler = async (e) => ({ ok: true, n: e.n })';

export interface Attack {
  id: string;
  what: string;
  tier: 'js' | 'container';
  spec: Record<string, unknown>;
  /** loop: calls one after another for the window; once: a single call (its effect outlasts it). */
  repeat: 'loop' | 'once';
  /** web: called raw on /v1/web/<name>/ and its response head read (the header spoof). */
  via?: 'invoke' | 'web';
  /** After the window, the container's Docker json log size (the background printer). */
  dockerLog?: boolean;
  /**
   * A control, not an attack: a well-behaved function measured the same way, so that what any
   * function of its tier costs the neighbour on this machine (a container's start, say) can be told
   * from what the attack adds. Shown in the table, never held to the bounds.
   */
  control?: boolean;
  /** Each call with `X-Hearth-Force-Cold: true` (a new instance per call), this long after the last answered. */
  forceColdEveryMs?: number;
}

const js = (source: string, extra: Record<string, unknown> = {}, handler = 'index.handler') => ({ runtime: 'js', handler, code: { source }, ...extra });
const py = (source: string, extra: Record<string, unknown> = {}) => ({ runtime: 'python3', handler: 'index.main_handler', code: { source }, ...extra });

// The python handler reaches its bootstrap's socket: walking up its own stack to the frame of the
// bootstrap's request handler (BaseHTTPRequestHandler.do_POST), whose `self.wfile` is the
// connection Hearth reads the answer from. It writes a whole response head declaring 1 GiB, then
// 1 GiB of bytes, then sleeps so the bootstrap never writes its own answer after it.
const PY_HUGE_RESPONSE = `import sys, time
GIB = 1 << 30
def main_handler(event, context):
    f = sys._getframe()
    while f is not None and not hasattr(f.f_locals.get("self"), "wfile"):
        f = f.f_back
    w = f.f_locals["self"].wfile
    w.write(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nX-Hearth-Outcome: ok\\r\\nX-Hearth-Log-Bytes: 0\\r\\nContent-Length: %d\\r\\n\\r\\n" % GIB)
    chunk = b"7" * (1 << 20)
    for _ in range(GIB >> 20):
        w.write(chunk)
    w.flush()
    time.sleep(3600)
`;

// Straight to fd 1 in 1 MiB blocks of 1,000-byte lines: what reaches Docker's json log as fast as
// the container can write it (print() through the bootstrap's stream wrapper is several times slower).
const PY_BACKGROUND_PRINTER = `import os, threading
started = False
def flood():
    block = ("x" * 999 + "\\n").encode() * 1024
    while True:
        os.write(1, block)
def main_handler(event, context):
    global started
    if not started:
        started = True
        threading.Thread(target=flood, daemon=True).start()
    return {"started": True}
`;

const PY_FORK_BOMB = `import os
def main_handler(event, context):
    while True:
        try:
            os.fork()
        except OSError:
            pass
`;

const PY_MEMORY_BOMB = `def main_handler(event, context):
    hoard = []
    while True:
        hoard.append(bytearray(10 * 1024 * 1024))
`;

// A web function that makes the Headers class keep names as written (its names go through
// String.prototype.toLowerCase) and returns Hearth's own headers and framing headers.
const WEB_SPOOF = `export default { async fetch() {
  String.prototype.toLowerCase = function () { return String(this) };
  return new Response('spoof', { headers: { 'X-Hearth-Cold': 'spoofed', 'X-Hearth-Request-Id': 'forged', 'Content-Length': '999', 'Transfer-Encoding': 'chunked' } });
} }
`;

export const ATTACKS: Attack[] = [
  // Controls first: a cold start every 2 s, as the container attacks replace their container every
  // few seconds (a timeout or the OOM killer), to see the engine's share of their figures.
  { id: 'control-py-cold', what: 'control: a well-behaved python3 function (`return {"ok": True}`) started cold (`X-Hearth-Force-Cold`) every 2 s', tier: 'container', repeat: 'loop', control: true, forceColdEveryMs: 2000,
    spec: py('def main_handler(event, context):\n    return {"ok": True}\n') },
  // A container replaced on every call with no CPU or memory load: the engine's teardown and start
  // work, which the fork and memory bombs (timeout, OOM kill) also cause.
  { id: 'control-py-replace', what: 'control: a python3 function that ends its process (`os._exit(1)`) on every call, every 2 s: its container removed and replaced, no CPU or memory load', tier: 'container', repeat: 'loop', control: true, forceColdEveryMs: 2000,
    spec: py('import os\ndef main_handler(event, context):\n    os._exit(1)\n') },
  { id: 'control-js-cold', what: 'control: a well-behaved JS function started cold every 2 s', tier: 'js', repeat: 'loop', control: true, forceColdEveryMs: 2000,
    spec: js('exports.handler = async () => ({ ok: true })') },
  { id: 'log-flood', what: "log flood: `for (;;) console.log('x'.repeat(1000))`, timeoutMs 5000", tier: 'js', repeat: 'loop',
    spec: js("exports.handler = async () => { for (;;) console.log('x'.repeat(1000)) }", { timeoutMs: 5000 }) },
  // Filled once, when the instance makes it (so its pages are resident), then kept: every later call
  // is quick, and the instance holds 1 GiB while its budget says 64 MiB.
  { id: 'wasm-memory', what: 'WebAssembly memory: memoryMb 64, a 1 GiB `WebAssembly.Memory` per instance, filled when made and kept, timeoutMs 30000', tier: 'js', repeat: 'loop',
    spec: js('exports.handler = async () => { if (!globalThis.m) { globalThis.m = new WebAssembly.Memory({ initial: 16384 }); new Uint8Array(globalThis.m.buffer).fill(1) } return { bytes: globalThis.m.buffer.byteLength } }', { memoryMb: 64, timeoutMs: 30000 }) },
  { id: 'header-spoof', what: 'web function: replaces `String.prototype.toLowerCase`, returns X-Hearth-Cold, X-Hearth-Request-Id, Content-Length, Transfer-Encoding', tier: 'js', repeat: 'loop', via: 'web',
    spec: js(WEB_SPOOF, {}, 'index.default') },
  { id: 'microtask-loop', what: 'microtask loop: `for (;;) await null`, timeoutMs 2000', tier: 'js', repeat: 'loop',
    spec: js('exports.handler = async () => { for (;;) await null }', { timeoutMs: 2000 }) },
  { id: 'timer-loop', what: 'timer loop: 1,000 zero-delay timers that each set the next, timeoutMs 2000', tier: 'js', repeat: 'loop',
    spec: js('exports.handler = async () => { const tick = () => setTimeout(tick, 0); for (let i = 0; i < 1000; i++) tick(); return new Promise(() => {}) }', { timeoutMs: 2000 }) },
  { id: 'getter-loop', what: 'a result whose getter never returns, timeoutMs 2000', tier: 'js', repeat: 'loop',
    spec: js("exports.handler = async () => { const o = {}; Object.defineProperty(o, 'x', { enumerable: true, get() { for (;;); } }); return o }", { timeoutMs: 2000 }) },
  { id: 'redos', what: "ReDoS: `/^(a+)+$/` on 64 a's and a '!', timeoutMs 2000", tier: 'js', repeat: 'loop',
    spec: js("exports.handler = async () => /^(a+)+$/.test('a'.repeat(64) + '!')", { timeoutMs: 2000 }) },
  { id: 'heap-bomb', what: 'heap bomb: arrays pushed forever, memoryMb 64, timeoutMs 5000', tier: 'js', repeat: 'loop',
    spec: js('exports.handler = async () => { const a = []; for (;;) a.push(new Array(1e5).fill(Math.random())) }', { memoryMb: 64, timeoutMs: 5000 }) },
  { id: 'py-huge-response', what: 'python3: the handler writes on its bootstrap\'s socket a response declaring Content-Length 1 GiB, and 1 GiB of bytes, timeoutMs 30000', tier: 'container', repeat: 'loop',
    spec: py(PY_HUGE_RESPONSE, { timeoutMs: 30000 }) },
  { id: 'py-background-log', what: 'python3: a background thread writing 1,000-byte lines to stdout (fd 1, 1 MiB at a time) forever, outside any call (Docker\'s json log)', tier: 'container', repeat: 'once', dockerLog: true,
    spec: py(PY_BACKGROUND_PRINTER) },
  { id: 'py-fork-bomb', what: 'python3 fork bomb: `os.fork()` forever, timeoutMs 3000', tier: 'container', repeat: 'loop',
    spec: py(PY_FORK_BOMB, { timeoutMs: 3000 }) },
  { id: 'py-memory-bomb', what: 'python3 memory bomb: 10 MiB bytearrays kept forever, memoryMb 128, timeoutMs 5000', tier: 'container', repeat: 'loop',
    spec: py(PY_MEMORY_BOMB, { memoryMb: 128, timeoutMs: 5000 }) },
];

// ---------------------------------------------------------------------------------------------
// The attacking calls

/** What one attacking call answered. */
interface AttackCall { status: number | null; errorType?: string; ms: number; bytes: number; note?: string }

/** POST …/invoke, the body read as it comes (counted, not kept: it may be 1 GiB). */
async function invokeAttack(base: string, name: string, forceCold = false): Promise<AttackCall> {
  const t0 = performance.now();
  try {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(forceCold ? { 'x-hearth-force-cold': 'true' } : {}) };
    const r = await fetch(`${base}/v1/functions/${name}/invoke`, { method: 'POST', headers, body: '{}', signal: AbortSignal.timeout(ATTACK_CAP_MS) });
    let bytes = 0;
    let head = '';
    for await (const chunk of r.body ?? []) {
      const b = chunk as Uint8Array;
      bytes += b.byteLength;
      if (head.length < 2_000) head += Buffer.from(b.subarray(0, 2_000)).toString('utf8');
    }
    let errorType: string | undefined;
    try { errorType = (JSON.parse(head) as { errorType?: string }).errorType; } catch { /* not JSON, or cut */ }
    return { status: r.status, ...(errorType ? { errorType } : {}), ms: performance.now() - t0, bytes };
  } catch (err) {
    return { status: null, ms: performance.now() - t0, bytes: 0, note: `client: ${(err as Error).message}` };
  }
}

/** What a raw read of a web response showed: the status line and the header lines, as sent. */
export interface RawResponse { statusLine: string; headers: [string, string][]; bytes: number }

/** GET `path` over a plain socket, `Connection: close`; the head as it came on the wire. */
export function rawGet(port: number, path: string, timeoutMs = 30_000): Promise<RawResponse> {
  return new Promise((res, rej) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let bytes = 0;
    let kept = 0;
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      const all = Buffer.concat(chunks).toString('latin1');
      const end = all.indexOf('\r\n\r\n');
      const lines = (end >= 0 ? all.slice(0, end) : all).split('\r\n');
      const headers = lines.slice(1).map((l) => { const i = l.indexOf(':'); return [l.slice(0, i), l.slice(i + 1).trim()] as [string, string]; });
      res({ statusLine: lines[0] ?? '', headers, bytes });
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('connect', () => sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`));
    sock.on('data', (d: Buffer) => { bytes += d.length; if (kept < 64 * 1024) { chunks.push(d); kept += d.length; } });
    sock.on('end', done);
    sock.on('close', done);
    sock.on('error', (err) => { if (finished) return; finished = true; clearTimeout(timer); sock.destroy(); rej(err); });
  });
}

/** The forged headers that reached the wire (names compared case-insensitively). */
export function spoofedOnWire(r: RawResponse): string[] {
  const found: string[] = [];
  const named = (n: string) => r.headers.filter(([k]) => k.toLowerCase() === n);
  if (named('x-hearth-cold').some(([, v]) => v === 'spoofed')) found.push('X-Hearth-Cold: spoofed');
  if (named('x-hearth-request-id').some(([, v]) => v === 'forged')) found.push('X-Hearth-Request-Id: forged');
  const cl = named('content-length');
  if (cl.some(([, v]) => v === '999')) found.push('Content-Length: 999');
  if (cl.length > 1) found.push(`${cl.length} Content-Length headers`);
  if (named('transfer-encoding').length > 0) found.push(`Transfer-Encoding: ${named('transfer-encoding').map(([, v]) => v).join(', ')}`);
  return found;
}

async function webAttack(port: number, name: string, spoofs: Set<string>): Promise<AttackCall> {
  const t0 = performance.now();
  try {
    const r = await rawGet(port, `/v1/web/${name}/`, ATTACK_CAP_MS);
    for (const s of spoofedOnWire(r)) spoofs.add(s);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(r.statusLine)?.[1] ?? NaN);
    return { status: Number.isFinite(status) ? status : null, ms: performance.now() - t0, bytes: r.bytes, ...(Number.isFinite(status) ? {} : { note: `no status line: ${r.statusLine.slice(0, 80)}` }) };
  } catch (err) {
    return { status: null, ms: performance.now() - t0, bytes: 0, note: `client: ${(err as Error).message}` };
  }
}

/** "504 Timeout ×3, 500 OutOfMemory ×1" */
function summarizeCalls(calls: AttackCall[]): string {
  const counts = new Map<string, number>();
  for (const c of calls) {
    const k = c.status === null ? (c.note ?? 'no answer') : `${c.status}${c.errorType ? ` ${c.errorType}` : ''}${c.note ? ` (${c.note})` : ''}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const ms = calls.map((c) => c.ms);
  const mib = Math.max(0, ...calls.map((c) => c.bytes)) / 2 ** 20;
  const span = Math.max(...ms) < 10_000 ? `${fmt(Math.min(...ms), 0)}–${fmt(Math.max(...ms), 0)} ms` : `${fmt(Math.min(...ms) / 1000, 1)}–${fmt(Math.max(...ms) / 1000, 1)} s`;
  return `${[...counts].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}; ${calls.length} call(s), ${span} each${mib >= 1 ? `, largest answer ${fmt(mib, 0)} MiB` : ''}`;
}

// ---------------------------------------------------------------------------------------------
// One attack

export interface AttackResult {
  id: string;
  what: string;
  /** Set when the attack was not measured (no container tier, a refused deploy, Hearth gone). */
  skipped?: string;
  baseline?: WindowStats;
  attack?: WindowStats;
  p99Ratio?: number;
  rss?: { before: number; peak: number; after: number };
  fds?: { before: number; after: number };
  calls?: AttackCall[];
  callsSummary?: string;
  attackSec?: number;
  /** header-spoof: the forged headers seen on the wire. */
  spoofedOnWire?: string[];
  /** py-background-log: the container's json log at the end of the window, MiB. */
  dockerLogMiB?: number | string;
  /** A control (a well-behaved function): shown, not held to the bounds. */
  control?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(base: string, name: string, spec: unknown): Promise<{ status: number; text: string }> {
  const r = await fetch(`${base}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec), signal: AbortSignal.timeout(120_000) });
  return { status: r.status, text: await r.text() };
}

/** The Docker json log of the function's (first) container, MiB, or why it could not be read. */
async function dockerLogMiB(base: string, name: string): Promise<number | string> {
  try {
    const list = (await (await fetch(`${base}/v1/functions/${name}/instances`)).json()) as { instances?: { detail?: { container?: string } }[] };
    const id = list.instances?.[0]?.detail?.container;
    if (!id) return 'no container listed';
    const info = await new Docker().getContainer(id).inspect();
    if (!info.LogPath) return `no json log (log driver ${info.HostConfig?.LogConfig?.Type ?? '?'})`;
    return statSync(info.LogPath).size / 2 ** 20;
  } catch (err) {
    return `not readable: ${(err as Error).message.split('\n')[0]}`;
  }
}

async function runAttack(h: Hearth, a: Attack, neighbour: ReturnType<typeof steadyCalls>, windowMs: number, settleMaxMs: number, log: (l: string) => void): Promise<AttackResult> {
  const base = `http://127.0.0.1:${h.port}`;
  const pid = h.proc.pid!;
  const name = `attack-${a.id}`;
  const deployed = await put(base, name, a.spec);
  if (deployed.status !== 200 && deployed.status !== 201) return { id: a.id, what: a.what, skipped: `deploy answered ${deployed.status} ${deployed.text.slice(0, 200)}` };
  try {
    const before = await settledRssMiB(pid, { maxMs: settleMaxMs });
    const fdsBefore = openFdsSafe(pid);
    const b0 = performance.now();
    await sleep(windowMs);
    const a0 = performance.now();
    let peak = before;
    const sampler = setInterval(() => { try { peak = Math.max(peak, rssMiB(pid)); } catch { /* Hearth gone: seen below */ } }, 250);
    const calls: AttackCall[] = [];
    const spoofs = new Set<string>();
    const one = async () => {
      if (a.via === 'web') return webAttack(h.port, name, spoofs);
      const c = await invokeAttack(base, name, a.forceColdEveryMs !== undefined);
      if (a.forceColdEveryMs !== undefined) await sleep(Math.min(a.forceColdEveryMs, Math.max(0, windowMs - (performance.now() - a0))));
      return c;
    };
    try {
      if (a.repeat === 'once') {
        calls.push(await one());
        await sleep(Math.max(0, windowMs - (performance.now() - a0)));
      } else {
        while (performance.now() - a0 < windowMs && h.proc.exitCode === null) calls.push(await one());
      }
    } finally {
      clearInterval(sampler);
    }
    const a1 = performance.now();
    const logMiB = a.dockerLog ? await dockerLogMiB(base, name) : undefined;
    if (h.proc.exitCode !== null || h.proc.signalCode !== null) {
      return { id: a.id, what: a.what, skipped: `Hearth exited during the attack (${h.proc.exitCode ?? h.proc.signalCode})`, calls, callsSummary: summarizeCalls(calls) };
    }
    // The background printer goes on after its call: remove it before the settle, or it fills the disk.
    if (a.dockerLog) await fetch(`${base}/v1/functions/${name}`, { method: 'DELETE' }).catch(() => undefined);
    const after = await settledRssMiB(pid, { maxMs: settleMaxMs });
    const baseline = windowStats(neighbour.records, b0, a0);
    const attack = windowStats(neighbour.records, a0, a1);
    const r: AttackResult = {
      id: a.id, what: a.what, ...(a.control ? { control: true } : {}), baseline, attack, p99Ratio: attack.latency.p99 / baseline.latency.p99,
      rss: { before, peak: Math.max(peak, after), after }, fds: { before: fdsBefore, after: openFdsSafe(pid) },
      calls, callsSummary: summarizeCalls(calls), attackSec: (a1 - a0) / 1000,
      ...(a.via === 'web' ? { spoofedOnWire: [...spoofs] } : {}),
      ...(logMiB !== undefined ? { dockerLogMiB: logMiB } : {}),
    };
    log(`  hostile: ${a.id}: neighbour p99 ${fmt(baseline.latency.p99, 1)} → ${fmt(attack.latency.p99, 1)} ms (${fmt(r.p99Ratio!)}×), errors ${baseline.errors}+${attack.errors}; RSS ${fmt(before, 0)} / peak ${fmt(r.rss!.peak, 0)} / after ${fmt(after, 0)} MiB; calls: ${r.callsSummary}`);
    return r;
  } finally {
    await fetch(`${base}/v1/functions/${name}`, { method: 'DELETE', signal: AbortSignal.timeout(60_000) }).catch(() => undefined);
  }
}

function openFdsSafe(pid: number): number {
  try { return openFds(pid); } catch { return NaN; }
}

// ---------------------------------------------------------------------------------------------
// The section

export async function runHostile(opts: BenchOptions): Promise<SectionResult> {
  const id = 'hostile';
  const title = 'Hostile tenants: a neighbour\'s latency and Hearth\'s memory under attack (issue 15)';
  const windowSec = opts.hostile?.windowSec ?? (opts.mode === 'full' ? 20 : opts.mode === 'tiny' ? 2 : 8);
  const rate = opts.hostile?.neighbourRate ?? 50;
  const settleMaxMs = opts.mode === 'full' ? 30_000 : 12_000;
  const wanted = opts.hostile?.attacks;
  for (const w of wanted ?? []) if (!ATTACKS.some((a) => a.id === w)) throw new Error(`--hostile-attacks: no attack "${w}" (there are ${ATTACKS.map((a) => a.id).join(', ')})`);
  const chosen = ATTACKS.filter((a) => !wanted || wanted.includes(a.id));
  const noContainers = chosen.some((a) => a.tier === 'container') ? await containerTierMissing() : 'not needed';
  const t0 = performance.now();
  const h = await startHearth(opts.root, 'hearth (hostile)', noContainers === null ? [] : ['--no-docker']);
  const results: AttackResult[] = [];
  let neighbour: ReturnType<typeof steadyCalls> | undefined;
  try {
    const base = `http://127.0.0.1:${h.port}`;
    const d = await put(base, 'neighbour', js(NEIGHBOUR_SOURCE));
    if (d.status !== 201 && d.status !== 200) throw new Error(`deploy neighbour: ${d.status} ${d.text}`);
    neighbour = steadyCalls(rate, (n) => checkedFetch(`${base}/v1/functions/neighbour/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n }) },
      (status, text) => status === 200 && text === JSON.stringify({ ok: true, n })));
    await sleep(2_000); // warm-up: the neighbour's instance made, its first calls out of the figures
    opts.log(`  hostile: ${chosen.length} attacks, ${windowSec} s windows, neighbour at ${rate} calls/s${noContainers && noContainers !== 'not needed' ? `; no container tier (${noContainers})` : ''}`);
    for (const a of chosen) {
      if (a.tier === 'container' && noContainers !== null) {
        results.push({ id: a.id, what: a.what, skipped: `no container tier: ${noContainers}` });
        opts.log(`  hostile: ${a.id}: no container tier (${noContainers})`);
        continue;
      }
      if (h.proc.exitCode !== null || h.proc.signalCode !== null) {
        results.push({ id: a.id, what: a.what, skipped: 'Hearth had exited' });
        continue;
      }
      results.push(await runAttack(h, a, neighbour, windowSec * 1000, settleMaxMs, opts.log));
    }
  } finally {
    await neighbour?.stop();
    await h.stop();
  }
  return build(results, { windowSec, rate, seconds: (performance.now() - t0) / 1000, notSent: neighbour?.notSent ?? 0 });
}

function build(results: AttackResult[], s: { windowSec: number; rate: number; seconds: number; notSent: number }): SectionResult {
  // The bounds hold the attacks; the controls are there to compare with.
  const shown = results.filter((r) => !r.skipped);
  const measured = shown.filter((r) => !r.control);
  const ratioCell = (r: AttackResult) => r.control ? `${fmt(r.p99Ratio!)}× (control)` : `${r.p99Ratio! <= P99_BOUND ? '' : '**'}${fmt(r.p99Ratio!)}×${r.p99Ratio! <= P99_BOUND ? '' : '**'}`;
  const grow = (r: AttackResult) => r.rss!.after - r.rss!.before;
  const growCell = (r: AttackResult) => `${grow(r) <= RSS_BOUND_MIB ? '' : '**'}${fmt(grow(r), 0)}${grow(r) <= RSS_BOUND_MIB ? '' : '**'}`;
  const errs = (r: AttackResult) => r.baseline!.errors + r.attack!.errors;
  const md: string[] = [
    `Rows named \`control-…\` are not attacks: well-behaved functions started cold every 2 s, measured the same way, to show what a new instance of that tier costs the neighbour on this machine (for containers, the engine's work: dockerd, containerd and runc run outside Hearth's cgroups) apart from what an attack adds. They are not held to the bounds.`,
    '',
    `A neighbour (a JS echo) called at ${s.rate}/s through the whole run; per attack a ${s.windowSec} s window with no attack, then a ${s.windowSec} s attack window (longer when the last attacking call answered later), then Hearth's RSS read until it settled. Latencies are the neighbour's, client-side, of the calls sent in each window. Bounds (issue 15): neighbour p99 under attack ≤ ${P99_BOUND}× its no-attack p99, neighbour errors 0, RSS settled after − before ≤ ${RSS_BOUND_MIB} MiB. **This machine is shared (2 cores, other jobs running): single figures are noisy; a ratio far over the bound is a finding, one near it may be noise.**`,
    '',
    '| attack | neighbour p50 ms, no attack → attack | p99 ms, no attack → attack | p99 ratio (≤ 2×) | neighbour errors | Hearth RSS MiB before / peak / after | after − before MiB (≤ 64) | the attacking calls answered |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => r.skipped
      ? `| ${r.id} | skipped: ${r.skipped} | | | | | | ${r.callsSummary ?? ''} |`
      : `| ${r.id} | ${fmt(r.baseline!.latency.p50, 1)} → ${fmt(r.attack!.latency.p50, 1)} | ${fmt(r.baseline!.latency.p99, 1)} → ${fmt(r.attack!.latency.p99, 1)} | ${ratioCell(r)} | ${errs(r) === 0 ? '0' : `**${errs(r)}**`} | ${fmt(r.rss!.before, 0)} / ${fmt(r.rss!.peak, 0)} / ${fmt(r.rss!.after, 0)} | ${growCell(r)} | ${r.callsSummary} |`),
    '',
    'The attacks:',
    '',
    ...results.map((r) => `- \`${r.id}\`: ${r.what}.${r.spoofedOnWire ? ` Forged headers on the wire (read raw with node:net): ${r.spoofedOnWire.length ? `**${r.spoofedOnWire.join('; ')}**` : 'none'}.` : ''}${r.dockerLogMiB !== undefined ? ` The container's Docker json log at the end of the window: ${typeof r.dockerLogMiB === 'number' ? `**${fmt(r.dockerLogMiB, 0)} MiB** after ${fmt(r.attackSec ?? NaN, 1)} s` : r.dockerLogMiB} (the function is deleted right after, which removes the container and its log).` : ''}${r.attack && r.attack.errors ? ` Neighbour errors: ${r.attack.errorSamples.join('; ')}.` : ''}`),
    '',
    ...(results.some((r) => r.id === 'py-huge-response') ? ['- `py-huge-response` reaches the socket from the handler: it walks up its own Python stack to the bootstrap\'s request handler and writes on its `wfile` (a real 1 GiB body on the wire Hearth reads, not a 1 GiB return value).'] : []),
    `- The neighbour's calls not sent because 256 were already outstanding: ${s.notSent}. Section time: ${fmt(s.seconds, 0)} s.`,
    '',
  ];
  const worst = <T>(xs: T[], f: (x: T) => number) => xs.reduce((m, x) => (f(x) > f(m) ? x : m), xs[0]!);
  const targets: TargetRow[] = measured.length === 0 ? [] : (() => {
    const wr = worst(measured, (r) => r.p99Ratio!);
    const wg = worst(measured, grow);
    const totalErrs = measured.reduce((n, r) => n + errs(r), 0);
    return [
      { path: 'Hostile tenants (issue 15): neighbour under every attack', target: `p99 ≤ ${P99_BOUND}× its no-attack p99`, measured: `worst ${fmt(wr.p99Ratio!)}× (${wr.id}); ${measured.filter((r) => r.p99Ratio! > P99_BOUND).length} of ${measured.length} attacks over`, ratio: wr.p99Ratio! / P99_BOUND, met: measured.every((r) => r.p99Ratio! <= P99_BOUND) },
      { path: 'Hostile tenants (issue 15): neighbour under every attack', target: '0 errors', measured: `${totalErrs} errors`, met: totalErrs === 0 },
      { path: 'Hostile tenants (issue 15): Hearth\'s RSS after each attack', target: `within ${RSS_BOUND_MIB} MiB of before`, measured: `worst +${fmt(grow(wg), 0)} MiB (${wg.id}); ${measured.filter((r) => grow(r) > RSS_BOUND_MIB).length} of ${measured.length} attacks over`, ratio: grow(wg) / RSS_BOUND_MIB, met: measured.every((r) => grow(r) <= RSS_BOUND_MIB) },
    ];
  })();
  const charts: Chart[] = measured.length === 0 ? [] : [
    { kind: 'bars', id: 'hostile-p99-ratio', title: `Neighbour p99 under attack / with no attack (bound ${P99_BOUND}×; control-… rows are well-behaved functions)`, unit: '×', bars: shown.map((r) => ({ name: r.id, value: r.p99Ratio! })) },
    { kind: 'bars', id: 'hostile-rss', title: `Hearth RSS growth per attack: peak − before (bound on after − before: ${RSS_BOUND_MIB} MiB)`, unit: 'MiB', bars: measured.map((r) => ({ name: r.id, value: Math.max(1, r.rss!.peak - r.rss!.before) })) },
  ];
  return { id: 'hostile', title: 'Hostile tenants (issue 15)', data: { settings: { windowSec: s.windowSec, neighbourRate: s.rate }, attacks: results, seconds: s.seconds }, markdown: md.join('\n'), targets, charts };
}
