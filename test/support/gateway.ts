// Hearth replicas behind a real nginx (Debian's package), configured by examples/gateway/nginx.conf
// itself with only its ports changed: the example is what is tested. Shared by test/gateway.test.ts
// (two replicas) and test/replicas.test.ts (three on one Redis).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { ROOT, type Hearth } from './hearth.js';

export const EXAMPLE_NGINX_CONF = join(ROOT, 'examples/gateway/nginx.conf');

/** What nginx's access log (the example's `hearth` format) says about one request. */
export interface LogLine { status: number; upstreams: string[]; ustatus: string[] }

/** The outcome of one request as the client saw it. */
export interface Answer {
  status: number;
  /** A client-side error (the connection to nginx failed): never expected. */
  error: string | null;
  body: string;
}

export function nginxBinary(): string {
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  const found = which.stdout.trim() || (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : '');
  if (!found) throw new Error('nginx is missing: the gateway tests run Debian\'s nginx; run `bash scripts/setup-system.sh` (as root) to install it');
  return found;
}

/**
 * examples/gateway/nginx.conf listening on `gateway`, with one `server` line per replica port (the
 * example's two lines, with their options, the first for the first port, the second repeated for
 * the others).
 */
export function gatewayConfig(gateway: number, replicas: readonly number[]): string {
  if (replicas.length < 2) throw new Error('gatewayConfig: at least two replicas');
  const conf = readFileSync(EXAMPLE_NGINX_CONF, 'utf8');
  const first = /^([ \t]*)server 127\.0\.0\.1:8081 (.*)$/m.exec(conf);
  const second = /^([ \t]*)server 127\.0\.0\.1:8082 (.*)$/m.exec(conf);
  for (const [needle, found] of [['listen 127.0.0.1:8080;', conf.includes('listen 127.0.0.1:8080;')], ['server 127.0.0.1:8081 ', first], ['server 127.0.0.1:8082 ', second]] as const) {
    if (!found) throw new Error(`examples/gateway/nginx.conf no longer has "${needle}": update test/support/gateway.ts`);
  }
  const [, indent, options] = second!;
  return conf
    .replace('listen 127.0.0.1:8080;', `listen 127.0.0.1:${gateway};`)
    .replace(first![0], `${first![1]}server 127.0.0.1:${replicas[0]} ${first![2]}`)
    .replace(second![0], replicas.slice(1).map((p) => `${indent}server 127.0.0.1:${p} ${options}`).join('\n'));
}

/** nginx with `conf` under `prefix` (its logs in prefix/logs), in the foreground, once it listens on `port`. */
export async function startNginx(prefix: string, conf: string, port: number): Promise<ChildProcess> {
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  // Started as root, nginx's workers run as nobody: they must be able to enter the prefix.
  chmodSync(prefix, 0o755);
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, conf);
  const proc = spawn(nginxBinary(), ['-p', prefix, '-c', confPath, '-e', join(prefix, 'logs/error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`nginx exited (${proc.exitCode}): ${out}${readIf(join(prefix, 'logs/error.log'))}`);
    if (await canConnect(port)) return proc;
    await sleep(50);
  }
  proc.kill('SIGKILL');
  throw new Error(`nginx did not listen on ${port}: ${out}`);
}

/** Graceful stop (SIGQUIT), waiting for the exit. */
export async function stopNginx(nginx: ChildProcess | null): Promise<void> {
  if (!nginx || nginx.exitCode !== null || nginx.signalCode !== null) return;
  const gone = new Promise((r) => nginx.once('exit', r));
  nginx.kill('SIGQUIT');
  await gone;
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export function readIf(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** rid (the request's X-Request-Id) → what nginx logged for it. */
export function accessLog(prefix: string): Map<string, LogLine> {
  const out = new Map<string, LogLine>();
  for (const line of readIf(join(prefix, 'logs/access.log')).split('\n')) {
    const m = /" (\d{3}) \d+ rid=(\S+) up=(.*?) ustatus=(.*?) rt=/.exec(line);
    if (!m) continue;
    out.set(m[2]!, { status: Number(m[1]), upstreams: m[3]!.split(/, | : /), ustatus: m[4]!.split(/, | : /) });
  }
  return out;
}

/** One POST through nginx (on `agent`'s kept-alive connections), with `id` as its X-Request-Id. */
export function post(agent: http.Agent, port: number, path: string, id: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path, agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-request-id': id, ...headers },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, error: null, body: text }));
      res.on('error', (err) => resolve({ status: 0, error: err.message, body: text }));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, error: err.code ?? err.message, body: '' }));
    req.end(body);
  });
}

/** Waits (bounded) for a replica's /readyz to answer 200. */
export async function ready(h: Hearth): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${h.url}/readyz`)).status === 200) return;
    await sleep(50);
  }
  throw new Error(`replica on ${h.port} never became ready:\n${h.log().slice(-2000)}`);
}
