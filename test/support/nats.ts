// Starts a real nats-server with JetStream (Debian's package, installed by scripts/setup-system.sh)
// as a child process on a free port with its own store dir, never a system service. A missing
// nats-server is an error that says how to install it: these tests never skip.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

export interface NatsServer {
  url: string;
  port: number;
  dir: string;
  proc: ChildProcess;
  /** `keepDir`: leave its JetStream store for startNats({port, dir}). */
  stop(keepDir?: boolean): Promise<void>;
}

function natsBinary(): string {
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  const found = which.stdout.trim() || (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : existsSync('/usr/bin/nats-server') ? '/usr/bin/nats-server' : '');
  if (!found) throw new Error('nats-server is missing: the NATS trigger tests run Debian\'s nats-server; run `bash scripts/setup-system.sh` (as root) to install it');
  return found;
}

/** `again`: start it once more on the same port and store (its streams and consumers survive). */
export async function startNats(again?: { port: number; dir: string }): Promise<NatsServer> {
  const dir = again?.dir ?? mkdtempSync(join(tmpdir(), 'hearth-nats-'));
  const port = again?.port ?? await freePort();
  const proc = spawn(natsBinary(), ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 15_000;
  while (!/Server is ready/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`nats-server exited (${proc.exitCode}): ${out}`);
    if (Date.now() > deadline) { proc.kill('SIGKILL'); throw new Error(`nats-server did not start on ${port}: ${out}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    url: `nats://127.0.0.1:${port}`, port, dir, proc,
    async stop(keepDir = false) {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
