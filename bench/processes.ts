// The processes a bench starts (Hearth, the peers, the echo): started with their stdout watched
// for the port they listen on, stopped with SIGTERM (SIGKILL after 15 s), and killed if the bench
// itself exits first.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { runtimeImageTag } from '../container-fallback/images.js';

export interface Child {
  proc: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

export function startChild(label: string, cmd: string[], ready: RegExp, env: NodeJS.ProcessEnv, cwd: string, timeoutMs = 30_000): Promise<Child> {
  const proc = spawn(cmd[0]!, cmd.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], env });
  let tail = '';
  const keep = (d: Buffer) => { tail = (tail + d.toString()).slice(-4_000); };
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const killOnExit = () => { proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
  };
  return new Promise((res, rej) => {
    let out = '';
    let done = false;
    const fail = async (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      await stop();
      rej(new Error(`${label}: ${why}\n${tail}`));
    };
    const timer = setTimeout(() => void fail(`did not say it listens within ${timeoutMs} ms`), timeoutMs);
    proc.stdout!.on('data', (d: Buffer) => {
      keep(d);
      if (done) return;
      out += d;
      const m = ready.exec(out);
      if (m) {
        done = true;
        clearTimeout(timer);
        res({ proc, port: Number(m[1]), stop });
      }
    });
    proc.once('error', (err) => void fail(err.message));
    proc.once('exit', (code, signal) => void fail(`exited (${code ?? signal}) before listening`));
  });
}

export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HEARTH_LOG_LEVEL: 'warn', ...extra };
  // Management calls (the bench's deploys) need no token on loopback.
  delete env.HEARTH_ADMIN_TOKEN;
  return env;
}

export interface Hearth extends Child { dir: string }

/** `hearth serve` of root's dist/ on a free port, with a data dir of its own (removed at stop). */
export async function startHearth(root: string, label: string, flags: string[] = [], env: Record<string, string> = {}, dataDir?: string): Promise<Hearth> {
  const dir = dataDir ?? mkdtempSync(join(os.tmpdir(), 'hearth-bench-'));
  const owned = dataDir === undefined;
  try {
    const c = await startChild(label, [process.execPath, '--no-node-snapshot', join(root, 'dist/core/cli.js'), 'serve', '--port', '0', '--data-dir', dir, ...flags],
      /listening on http:\/\/[^:]+:(\d+)/, childEnv(env), root);
    return { ...c, dir, stop: async () => { try { await c.stop(); } finally { if (owned) rmSync(dir, { recursive: true, force: true }); } } };
  } catch (err) {
    if (owned) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Whether a Docker engine answers a ping within `timeoutMs` (the container rows need one). */
export async function dockerAnswers(timeoutMs = 3_000): Promise<boolean> {
  try {
    await Promise.race([new Docker().ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), timeoutMs))]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether the container tier can be measured here: null when a Docker engine answers and the
 * python3 runtime image is built, else why not. Under CI (env CI set) a missing tier is an error,
 * not a skipped row: CI's set-up builds it, so its absence is a broken set-up.
 */
export async function containerTierMissing(): Promise<string | null> {
  let why: string | null = null;
  if (!(await dockerAnswers())) why = 'no Docker engine answers';
  else {
    const tag = runtimeImageTag('python3');
    try { await new Docker().getImage(tag).inspect(); } catch { why = `the python3 runtime image ${tag} is not built (bash scripts/setup-images.sh)`; }
  }
  if (why !== null && process.env.CI) throw new Error(`no container tier under CI: ${why}`);
  return why;
}

/** A process's resident set in MiB, from /proc/PID/status. */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** A process's open file descriptors (/proc/PID/fd). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * RSS once it has settled: polls until two readings `settleMs` apart differ by less than 8 MiB,
 * or `maxMs` passes, and returns the last reading (V8 and glibc give pages back lazily, so the
 * figure that matters is where it stops, not how fast it falls).
 */
export async function settledRssMiB(pid: number, { settleMs = 1_000, maxMs = 20_000 } = {}): Promise<number> {
  const end = Date.now() + maxMs;
  let last = rssMiB(pid);
  for (;;) {
    await new Promise((r) => setTimeout(r, settleMs));
    const now = rssMiB(pid);
    if (Math.abs(now - last) < 8 || Date.now() > end) return now;
    last = now;
  }
}
