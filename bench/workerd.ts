// Starts Cloudflare's own runtime, workerd (the devDependency @cloudflare/workerd-linux-64), with a
// set of Workers-style ES module scripts, so the compatibility tests can send the same requests to
// workerd and to Hearth and compare, and the bench can load both with the same Worker. Each call writes a fresh temp dir holding the scripts, one file per env value
// and a generated `config.capnp`:
//   - one ES module worker service per script, each with its own socket on 127.0.0.1. The sockets
//     ask for port 0 and workerd reports the ports it bound on `--control-fd` (one JSON line per
//     socket: {"event":"listen","socket":…,"port":…}), so there is no free-port probing and no race;
//   - compatibilityDate COMPAT_DATE with the flags in COMPAT_FLAGS (see there for why);
//   - env vars become text bindings, `embed`ded from files so no value needs capnp escaping;
//   - globalOutbound is a network service allowing public, private and local addresses (workerd's
//     default `internet` service refuses private ones, so a script could not fetch 127.0.0.1).
// startWorkerd resolves once every socket answers an HTTP request (a GET /__workerd_ready, which
// the script itself answers, so a script should treat unknown paths as harmless); stop() kills the
// process and removes the temp dir.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';

/** The workerd binary of the installed @cloudflare/workerd-linux-64. */
export const WORKERD_BIN = join(dirname(createRequire(import.meta.url).resolve('@cloudflare/workerd-linux-64/package.json')), 'bin/workerd');

/**
 * The newest date the pinned binary (workerd 2026-11-17) was built for, so every standards-
 * compliance flag that has a default-on date is on, as for a Worker created today. Fixed, so a
 * newer binary does not change what the suite compares.
 */
export const COMPAT_DATE = '2026-11-17';
/**
 * From 2026-08-04 on, `nodejs_compat` (and `nodejs_compat_v2`) are on by default: `process`,
 * `Buffer` and Node-style timer objects (setTimeout returns a Timeout, not a number) would appear.
 * Hearth's web functions are a web platform without Node, so the suite turns both off.
 */
export const COMPAT_FLAGS = ['no_nodejs_compat', 'no_nodejs_compat_v2'];

export interface WorkerdWorker {
  name: string;
  source: string;
  env?: Record<string, string>;
}

export interface Workerd {
  /** http://127.0.0.1:<port> of this worker's socket (no trailing slash). */
  url(name: string): string;
  stop(): Promise<void>;
  /** workerd's stdout and stderr so far (uncaught exceptions and console output land here). */
  log(): string;
  /** The workerd process (its CPU is read per thread by the HTTP section). */
  pid: number;
}

const NAME = /^[A-Za-z0-9_-]+$/;
const BINDING = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function config(workers: WorkerdWorker[]): string {
  const services = workers.map((w, i) => {
    const bindings = Object.keys(w.env ?? {}).map((k, j) => `(name = "${k}", text = embed "env/${i}-${j}.txt")`);
    return `    (name = "w-${w.name}", worker = (
      modules = [(name = "${w.name}.js", esModule = embed "${w.name}.js")],
      compatibilityDate = "${COMPAT_DATE}",
      compatibilityFlags = [${COMPAT_FLAGS.map((f) => `"${f}"`).join(', ')}],
      bindings = [${bindings.join(', ')}],
      globalOutbound = "outbound",
    )),`;
  });
  const sockets = workers.map((w) => `    (name = "s-${w.name}", address = "127.0.0.1:0", http = (), service = "w-${w.name}"),`);
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
${services.join('\n')}
    (name = "outbound", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
${sockets.join('\n')}
  ],
);
`;
}

export async function startWorkerd(workers: WorkerdWorker[], timeoutMs = 30_000): Promise<Workerd> {
  const names = new Set<string>();
  for (const w of workers) {
    if (!NAME.test(w.name) || names.has(w.name)) throw new Error(`bad or repeated worker name: ${JSON.stringify(w.name)}`);
    names.add(w.name);
    for (const k of Object.keys(w.env ?? {})) if (!BINDING.test(k)) throw new Error(`bad env name for ${w.name}: ${JSON.stringify(k)}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'hearth-workerd-'));
  mkdirSync(join(dir, 'env'));
  workers.forEach((w, i) => {
    writeFileSync(join(dir, `${w.name}.js`), w.source);
    Object.values(w.env ?? {}).forEach((v, j) => writeFileSync(join(dir, 'env', `${i}-${j}.txt`), v));
  });
  writeFileSync(join(dir, 'config.capnp'), config(workers));

  // fd 3 is the control pipe.
  const proc = spawn(WORKERD_BIN, ['serve', join(dir, 'config.capnp'), '--control-fd=3'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // A test run that dies must not leave workerd behind (the test worker may also be ended by a signal).
  const killOnExit = () => { proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  const onSignal = (sig: NodeJS.Signals) => { killOnExit(); process.kill(process.pid, sig); };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const ports = await new Promise<Map<string, number>>((res, rej) => {
      const found = new Map<string, number>();
      let buf = '';
      const timer = setTimeout(() => rej(new Error(`workerd did not listen within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      (proc.stdio[3] as Readable).on('data', (d: Buffer) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let msg: { event?: string; socket?: string; port?: number };
          try { msg = JSON.parse(line); } catch { continue; }
          if (msg.event === 'listen' && msg.socket?.startsWith('s-') && typeof msg.port === 'number') {
            found.set(msg.socket.slice(2), msg.port);
            if (found.size === workers.length) { clearTimeout(timer); res(found); }
          }
        }
      });
      proc.once('error', (err) => { clearTimeout(timer); rej(err); });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        rej(new Error(`workerd exited (${code ?? signal}) before listening:\n${output}`));
      });
    });

    const urls = new Map([...ports].map(([name, port]) => [name, `http://127.0.0.1:${port}`]));
    // Listening is reported when bound; wait until each socket really serves a request.
    const deadline = Date.now() + timeoutMs;
    await Promise.all([...urls.values()].map(async (url) => {
      for (;;) {
        try {
          const r = await fetch(`${url}/__workerd_ready`, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
          await r.arrayBuffer();
          return;
        } catch (err) {
          if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`workerd at ${url} never answered: ${String(err)}\n${output}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }));

    return {
      url(name) {
        const u = urls.get(name);
        if (!u) throw new Error(`no workerd worker named ${name}`);
        return u;
      },
      stop,
      log: () => output,
      pid: proc.pid!,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
