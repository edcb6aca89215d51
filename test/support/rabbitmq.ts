// Starts a real RabbitMQ broker (Debian's rabbitmq-server, installed by scripts/setup-system.sh)
// as a child process group: its own Erlang node name, free AMQP and distribution ports, its own
// data dir, never the system's service. A missing broker is an error that says how to install it:
// these tests never skip.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';

const SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export interface RabbitServer {
  url: string;
  port: number;
  dir: string;
  /** The broker's own Erlang port mapper (epmd), stopped with it. */
  epmdPort: number;
  proc: ChildProcess;
  /** `keepDir`: leave its data (durable queues, persistent messages) for startRabbit({port, dir}). */
  stop(keepDir?: boolean): Promise<void>;
}

/** `again`: start it once more with the same node, port and data. */
export async function startRabbit(again?: { port: number; dir: string; epmdPort: number }): Promise<RabbitServer> {
  if (!existsSync(SERVER)) throw new Error('rabbitmq-server is missing: the AMQP trigger tests run Debian\'s RabbitMQ; run `bash scripts/setup-system.sh` (as root) to install it');
  const dir = again?.dir ?? mkdtempSync(join(tmpdir(), 'hearth-rabbit-'));
  const port = again?.port ?? await freePort();
  const epmdPort = again?.epmdPort ?? await freePort();
  mkdirSync(join(dir, 'log'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env = {
    // An epmd of its own (not the machine's shared one on 4369), so that stopping it leaves nothing.
    ...process.env, HOME: dir, ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `hearth${port}@localhost`, RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1', RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(port + 20_000 <= 65_535 ? port + 20_000 : port - 20_000),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'), RABBITMQ_LOG_BASE: join(dir, 'log'), RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'), RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'), RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
  };
  // Its own process group: the script, the Erlang VM and its helpers stop together.
  const proc = spawn(SERVER, [], { env, cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  while (!/completed with \d+ plugins/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`rabbitmq-server exited (${proc.exitCode}): ${out.slice(-2000)}`);
    if (Date.now() > deadline) { kill(proc, 'SIGKILL'); throw new Error(`rabbitmq-server did not start on ${port}: ${out.slice(-2000)}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`, port, dir, epmdPort, proc,
    async stop(keepDir = false) {
      kill(proc, 'SIGTERM');
      const killer = setTimeout(() => kill(proc, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
      // The VM may outlive the script by a moment.
      await new Promise((r) => setTimeout(r, 500));
      kill(proc, 'SIGKILL');
      spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' });
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

function kill(proc: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-proc.pid!, signal); } catch { /* gone */ }
}
