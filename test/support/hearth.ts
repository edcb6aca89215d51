// Starts a real Hearth process (the built dist/, as `npm start` runs it) on a free port, with its
// own data dir, and talks to it over real HTTP.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/core/cli.js');

export interface Hearth {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  /** stderr so far (Hearth's own structured log). */
  log(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  deploy(name: string, spec: unknown): Promise<Response>;
  invoke(name: string, event: unknown, headers?: Record<string, string>): Promise<Response>;
}

export interface StartOptions {
  args?: string[];
  env?: Record<string, string>;
  dataDir?: string;
}

export async function startHearth(opts: StartOptions = {}): Promise<Hearth> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'hearth-test-'));
  const proc = spawn(process.execPath, ['--no-node-snapshot', CLI, 'serve', '--port', '0', '--data-dir', dataDir, '--prewarm-isolates', '2', ...(opts.args ?? [])], {
    cwd: ROOT,
    env: { ...process.env, HEARTH_LOG_LEVEL: 'info', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) { proc.stdout!.off('data', onData); res(Number(m[1])); }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => rej(new Error(`hearth exited (${code}) before listening:\n${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    url, port, dataDir, proc,
    log: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      const code = await exited;
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
    deploy: (name, spec) => fetch(`${url}/v1/functions/${name}`, {
      method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec),
    }),
    invoke: (name, event, headers = {}) => fetch(`${url}/v1/functions/${name}/invoke`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(event),
    }),
  };
}

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs `hearth ARGS` to the end (as bin/hearth.js does), with no HEARTH_* of this process's environment but `env`'s. */
export function runCli(args: string[], env: Record<string, string> = {}, input?: string, cwd = ROOT): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HEARTH_')));
    const p = spawn(process.execPath, ['--no-node-snapshot', CLI, ...args], { cwd, env: { ...clean, HEARTH_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input);
  });
}

/** A js function spec from one source file. */
export function jsSource(source: string, extra: Record<string, unknown> = {}, handler = 'index.handler'): Record<string, unknown> {
  return { runtime: 'js', handler, code: { source }, ...extra };
}

export async function deployOk(h: Hearth, name: string, spec: unknown): Promise<Record<string, unknown>> {
  const r = await h.deploy(name, spec);
  const body = await r.json() as Record<string, unknown>;
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

/** A per-function counter's value on /metrics (0 when the function has no series yet). */
export async function functionMetric(h: Hearth, name: string, fn: string): Promise<number> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(`function="${fn}"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}
