// Starts a real redis-server (Debian's package, installed by scripts/setup-system.sh) as a child
// process on a free port with its own temp dir, never the system's service. Durable like a
// production queue should be: append-only file, fsync on every write. A missing redis-server is
// an error that says how to install it: these tests never skip.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  /** `keepDir`: leave its data for startRedis({port, dir}). */
  stop(keepDir?: boolean): Promise<void>;
}

export function redisBinary(): string {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const found = which.stdout.trim() || (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : '');
  if (!found) throw new Error('redis-server is missing: the distributed queue tests run Debian\'s redis-server; run `bash scripts/setup-system.sh` (as root) to install it');
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `again`: start it once more on the same port and dir (its append-only file: the data survives). */
export async function startRedis(again?: { port: number; dir: string }): Promise<RedisServer> {
  const bin = redisBinary();
  const dir = again?.dir ?? mkdtempSync(join(tmpdir(), 'hearth-redis-'));
  const port = again?.port ?? await freePort();
  const proc = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--protected-mode', 'yes'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${out}`);
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`redis-server did not start on ${port}: ${out}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `redis://127.0.0.1:${port}`, port, dir, proc,
    async stop(keepDir = false) {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
