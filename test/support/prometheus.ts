// Debian's Prometheus (package `prometheus`, installed by scripts/setup-system.sh): `promtool` to
// check and unit-test rule files, and a real Prometheus server, started as a child process on a
// free port with its own temp dir (never the package's service), that scrapes a live Hearth and
// evaluates the rules. A missing binary is an error that says how to install it: these tests
// never skip.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';
import { waitFor } from './until.js';

function binary(name: 'promtool' | 'prometheus'): string {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = which.stdout.trim() || (existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : '');
  if (!found) throw new Error(`${name} is missing: the rules tests run Debian's prometheus package; run \`bash scripts/setup-system.sh\` (as root) to install it`);
  return found;
}

export interface ToolRun { code: number | null; out: string }

/** `promtool ARGS` in `cwd`: its exit code and everything it printed. */
export function promtool(args: string[], cwd: string): ToolRun {
  const r = spawnSync(binary('promtool'), args, { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

export interface PrometheusServer {
  url: string;
  /** GET /api/v1/<path>: the `data` of a success, else an error with what Prometheus said. */
  api<T>(path: string): Promise<T>;
  stop(): Promise<void>;
}

/** A Prometheus that scrapes `targets` (host:port, /metrics) every second and evaluates `ruleFiles` every second. */
export async function startPrometheus(targets: string[], ruleFiles: string[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-prometheus-'));
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(config, JSON.stringify({ // YAML is a superset of JSON
    global: { scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: ruleFiles,
    scrape_configs: [{ job_name: 'hearth', static_configs: [{ targets }] }],
  }));
  const proc: ChildProcess = spawn(binary('prometheus'), [
    `--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.exitCode === null) proc.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${out}`);
      return fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
    }, 30_000, () => `prometheus ready on ${port}: ${out}`, 100);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async api<T>(path: string): Promise<T> {
      const r = await fetch(`${url}/api/v1/${path}`);
      const body = await r.json() as { status: string; data: T; error?: string };
      if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error ?? r.status}`);
      return body.data;
    },
    stop,
  };
}
