// A second Docker engine that a test owns: its own dockerd (and the containerd that dockerd
// manages), started as a child of the test process, that the test can stop and start again for
// real, while the system engine (/var/run/docker.sock) goes on serving the other test files.
//
// Everything it has lives in /tmp/hearth-private-dockerd-<pid of the test process>/:
//   data/        --data-root  (images, containers, networks; kept across stop/start)
//   exec/        --exec-root  (dockerd's run state; its managed containerd's socket and state)
//   docker.sock  -H unix://…  (the API)
//   dockerd.pid  --pidfile
//   daemon.json  --config-file (empty: /etc/docker/daemon.json, if any, is the system engine's)
//   dockerd.log  its log (both runs, appended)
//   pool         the 10.X.0.0/16 its networks take their subnets from (for a later clean-up)
//   bridge-device the name of its default bridge's device, hpd<pid> (see --bridge below)
// A directory whose pid no longer runs is a killed test's: the next start removes it (its
// daemons, mounts, bridges, iptables rules and files).
//
// The flags, and why (checked with docker.io 20.10.24 on Debian 12, cgroup v1, ext4 /tmp):
//   --bridge=hpd<pid>  its own default bridge, a device made here (10.X.255.1/24) and deleted at the
//                      clean-up. Not docker0: that device is the system engine's. And NOT
//                      --bridge=none: with the bridge disabled, dockerd 20.10 deletes the docker0
//                      device at start (removeDefaultBridgeInterface in daemon/daemon_unix.go),
//                      which breaks every container of the system engine on its default network
//                      ("could not find bridge docker0"). start() checks that docker0 survives.
//   --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false
//                      the DOCKER, DOCKER-USER and DOCKER-ISOLATION-STAGE-* chains have global names
//                      and belong to the system engine; a second daemon would rewrite them. Nor
//                      does it touch the forwarding sysctl. (Hearth, as root, still adds its own
//                      INPUT rules for its network's bridge: the clean-up deletes them.)
//   (no --default-address-pool)
//                      it would be the natural way to keep this daemon's networks off the system
//                      engine's subnets, but on a restart (a stale "bridge" network in the data
//                      root) with address pools set, dockerd 20.10 deletes docker0 too (same
//                      function). Instead, createNetwork() gives each network an explicit subnet of
//                      10.X.0.0/16: without one, this daemon's IPAM, which only knows its own
//                      networks, would hand out 172.17.0.0/16, 172.18.0.0/16…, the subnets of the
//                      system engine's bridges, and the host would route Hearth's calls to the
//                      wrong bridge. X is picked so that no route of the host overlaps.
//   (no --containerd)  dockerd starts its own managed containerd under the exec-root
//                      (<exec>/containerd/containerd.sock, namespace "moby"); it does not collide
//                      with the system engine's (/var/run/docker/containerd). Checked: it works.
//   (no -s)            dockerd picks the storage driver: overlay2 on ext4 here. Where overlay2
//                      cannot work (the tmp dir on overlayfs, as in Docker-in-Docker), dockerd's own
//                      selection falls through to vfs, which works too, only slower (every
//                      container copies its image's tree). `info.storageDriver` says which.
//   (no --live-restore) a stop stops the engine's containers, as a real engine stop does.
// The daemon runs under `setpriv --pdeathsig TERM`: if the test process dies, dockerd is told to
// stop (and stops its containerd and containers); the next run removes the directory.

import Docker from 'dockerode';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

const PREFIX = 'hearth-private-dockerd-';
const TMP = '/tmp';

export interface PrivateDockerdTimings {
  /** Each start: spawn → the API answers a ping, ms. */
  starts: number[];
  /** Each stop: SIGTERM → the process exited and the socket is dead, ms. */
  stops: number[];
  /** `docker save | docker load` of each image, ms. */
  loads: Record<string, number>;
  /** Idle containerd shims (their container gone) that outlived a stop and were killed. */
  idleShimsKilled: number;
}

export interface PrivateDockerd {
  readonly dir: string;
  readonly socket: string;
  /** For DOCKER_HOST. */
  readonly host: string;
  /** A client of this engine. */
  readonly docker: Docker;
  readonly timings: PrivateDockerdTimings;
  /** The dockerd process's id while it runs. */
  readonly pid: number | null;
  readonly running: boolean;
  /** Starts dockerd (on the same data root each time); resolves when its API answers. */
  start(): Promise<void>;
  /** SIGTERM, waits for the exit, checks that the socket is dead and the daemon's processes gone. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Copies an image of the system engine into this one (`docker save | docker -H … load`). */
  loadImage(tag: string): Promise<void>;
  /**
   * Creates a bridge network on a subnet of this engine's own range (see the flags above for why
   * the subnet is given); returns its id.
   */
  createNetwork(name: string, opts?: { internal?: boolean; options?: Record<string, string>; labels?: Record<string, string> }): Promise<string>;
  /** Its storage driver, from `docker info` (call while it runs). */
  storageDriver(): Promise<string>;
  /** The end of its log. */
  logTail(lines?: number): string;
  /** Removes its containers and networks, stops it, removes what it left on the host. Never throws. */
  cleanup(): Promise<void>;
}

/** Why a private dockerd cannot run here (null: it can): not root, or no dockerd. */
function privateDockerdUnavailable(): string | null {
  if (process.platform !== 'linux') return 'a private dockerd needs Linux';
  if (process.getuid?.() !== 0) return 'a private dockerd needs root (run the tests as root, as CI does)';
  if (!findBinary('dockerd')) return 'dockerd is not installed (apt-get install -y docker.io)';
  if (!findBinary('docker')) return 'the docker CLI is not installed (apt-get install -y docker.io)';
  return null;
}

export async function createPrivateDockerd(): Promise<PrivateDockerd> {
  const why = privateDockerdUnavailable();
  if (why) throw new Error(why);
  await removeStaleDirs();
  const dir = join(TMP, `${PREFIX}${process.pid}`);
  // A directory of this very pid is a leftover of an earlier process that had the same pid.
  if (existsSync(dir)) await removeDir(dir);
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'exec'), { recursive: true });
  writeFileSync(join(dir, 'daemon.json'), '{}\n');
  const pool = pickAddressPool();
  writeFileSync(join(dir, 'pool'), `${pool}\n`);
  // Its default bridge: a device of its own (a non-default name must exist before dockerd starts).
  const bridgeDevice = `hpd${process.pid}`;
  const bridgeAddress = `${pool.replace(/\.0\.0\/16$/, '.255.1')}/24`;
  writeFileSync(join(dir, 'bridge-device'), `${bridgeDevice}\n`);

  const socket = join(dir, 'docker.sock');
  const logFile = join(dir, 'dockerd.log');
  const docker = new Docker({ socketPath: socket });
  const timings: PrivateDockerdTimings = { starts: [], stops: [], loads: {}, idleShimsKilled: 0 };
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let cleaned = false;

  const args = [
    '--data-root', join(dir, 'data'),
    '--exec-root', join(dir, 'exec'),
    '--pidfile', join(dir, 'dockerd.pid'),
    '--config-file', join(dir, 'daemon.json'),
    '-H', `unix://${socket}`,
    `--bridge=${bridgeDevice}`,
    '--iptables=false', '--ip6tables=false', '--ip-masq=false', '--ip-forward=false',
    '--userland-proxy=false',
  ];
  let nextSubnet = 0;

  const logTail = (lines = 30) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  };

  async function start(): Promise<void> {
    if (cleaned) throw new Error('this private dockerd was cleaned up');
    if (child) throw new Error('the private dockerd already runs');
    const t0 = performance.now();
    rmSync(socket, { force: true });
    if (!existsSync(`/sys/class/net/${bridgeDevice}`)) {
      await run('ip', ['link', 'add', bridgeDevice, 'type', 'bridge']);
      await run('ip', ['addr', 'add', bridgeAddress, 'dev', bridgeDevice]);
    }
    const docker0Before = existsSync('/sys/class/net/docker0');
    const out = openSync(logFile, 'a');
    const setpriv = findBinary('setpriv');
    const proc = setpriv
      ? spawn(setpriv, ['--pdeathsig', 'TERM', findBinary('dockerd')!, ...args], { stdio: ['ignore', out, out] })
      : spawn(findBinary('dockerd')!, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    child = proc;
    let exitCode: number | string | null = null;
    exited = new Promise<void>((resolve) => proc.once('exit', (code, signal) => {
      exitCode = code ?? signal;
      if (child === proc) child = null;
      resolve();
    }));
    proc.once('error', () => undefined);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (exitCode !== null || child !== proc) {
        throw new Error(`the private dockerd exited (${exitCode}) before it answered:\n${logTail()}`);
      }
      if (await pings(docker, 1_000)) {
        if (docker0Before && !existsSync('/sys/class/net/docker0')) {
          throw new Error('the system engine\'s docker0 device vanished when the private dockerd started: the two daemons collide (see the flags in test/support/private-dockerd.ts)');
        }
        break;
      }
      if (Date.now() > deadline) {
        await stop().catch(() => undefined);
        throw new Error(`the private dockerd did not answer in 60 s:\n${logTail()}`);
      }
      await sleep(50);
    }
    timings.starts.push(Math.round(performance.now() - t0));
  }

  async function stop(): Promise<void> {
    const proc = child;
    if (!proc) return;
    const t0 = performance.now();
    proc.kill('SIGTERM');
    // dockerd stops its containers (each gets its stop signal, then SIGKILL after its timeout),
    // then its containerd, then exits.
    const done = await Promise.race([exited.then(() => true), sleep(45_000).then(() => false)]);
    if (!done) {
      proc.kill('SIGKILL');
      await exited;
    }
    // The socket is dead: no file, or nothing listening on it.
    const alive = await socketAnswers(socket);
    if (alive) throw new Error(`the private dockerd exited but ${socket} still accepts connections`);
    // Its containerd and the shims of its containers are gone too (their command lines name the dir).
    const until = Date.now() + 15_000;
    let left = processesUnder(dir);
    while (left.length > 0 && Date.now() < until) {
      await sleep(100);
      left = processesUnder(dir);
    }
    // A shim whose container has exited, waiting for a containerd to delete its task, outlives
    // containerd by design (seen under CI load: the engine exited before deleting one). Nothing of
    // the container runs in it any more; it is killed here. A shim with a live process under it (a
    // container the stop did not stop), a containerd or a dockerd still fails the stop.
    const idleShims = left.filter((p) => p.cmd.includes('containerd-shim') && liveChildren(p.pid).length === 0);
    if (idleShims.length === left.length && left.length > 0) {
      for (const p of idleShims) signal(p.pid, 'SIGKILL');
      timings.idleShimsKilled += idleShims.length;
      left = [];
    }
    if (left.length > 0) {
      throw new Error(`processes of the private dockerd outlived it: ${left.map((p) => `${p.pid} ${p.cmd} (children: ${liveChildren(p.pid).join(', ') || 'none'})`).join('; ')}`);
    }
    if (!done) throw new Error(`the private dockerd did not stop in 45 s after SIGTERM (killed):\n${logTail()}`);
    timings.stops.push(Math.round(performance.now() - t0));
  }

  async function loadImage(tag: string): Promise<void> {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      // `docker save` talks to the system engine (the ambient DOCKER_HOST, else the local socket).
      const save = spawn(findBinary('docker')!, ['save', tag], { stdio: ['ignore', 'pipe', 'pipe'] });
      const load = spawn(findBinary('docker')!, ['-H', `unix://${socket}`, 'load', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let errText = '';
      save.stderr!.on('data', (d) => (errText += `save: ${d}`));
      load.stderr!.on('data', (d) => (errText += `load: ${d}`));
      load.stdout!.resume();
      save.stdout!.pipe(load.stdin!);
      load.stdin!.on('error', () => undefined);
      let pending = 2;
      let failed = false;
      const finish = (what: string) => (code: number | null) => {
        if (code !== 0 && !failed) {
          failed = true;
          save.kill();
          load.kill();
          reject(new Error(`docker ${what} of ${tag} failed (${code}): ${errText.trim()}`));
        }
        if (--pending === 0 && !failed) resolve();
      };
      save.once('exit', finish('save'));
      load.once('exit', finish('load'));
      save.once('error', reject);
      load.once('error', reject);
    });
    const id = await docker.getImage(tag).inspect().then((i) => i.Id, () => null);
    if (!id) throw new Error(`${tag} is not in the private engine after the load`);
    timings.loads[tag] = Math.round(performance.now() - t0);
  }

  /** The bridge devices of this engine's networks (Hearth's iptables rules name them). */
  async function recordBridges(): Promise<void> {
    try {
      const nets = await docker.listNetworks();
      const names = nets.filter((n) => n.Driver === 'bridge').map((n) => bridgeName(n));
      if (names.length > 0) addBridges(dir, names);
    } catch { /* not running */ }
  }

  async function cleanup(): Promise<void> {
    if (cleaned) return;
    cleaned = true;
    try {
      if (child) {
        await recordBridges();
        // Containers first, then networks: the daemon deletes the networks' bridge devices.
        try {
          const all = await docker.listContainers({ all: true });
          await Promise.all(all.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
          const nets = await docker.listNetworks();
          for (const n of nets) {
            if (['bridge', 'host', 'none'].includes(n.Name)) continue;
            await docker.getNetwork(n.Id).remove().catch(() => undefined);
          }
        } catch { /* it went away: the host clean-up below does what is left */ }
        await stop().catch(() => undefined);
        if (child) {
          (child as ChildProcess).kill('SIGKILL');
          await exited;
        }
      }
    } finally {
      await removeDir(dir);
    }
  }

  return {
    dir, socket, host: `unix://${socket}`, docker, timings,
    get pid() { return child?.pid ?? null; },
    get running() { return child !== null; },
    start,
    async stop() {
      await recordBridges();
      await stop();
    },
    async restart() {
      await recordBridges();
      await stop();
      await start();
    },
    loadImage,
    async createNetwork(name, opts = {}) {
      const n = nextSubnet++;
      if (n > 250) throw new Error('no subnet left in the private engine\'s range');
      const base = pool.replace(/\.0\.0\/16$/, '');
      const net = await docker.createNetwork({
        Name: name, Driver: 'bridge', CheckDuplicate: true, Internal: opts.internal ?? false,
        IPAM: { Driver: 'default', Config: [{ Subnet: `${base}.${n}.0/24`, Gateway: `${base}.${n}.1` }] },
        Options: opts.options ?? {}, Labels: opts.labels ?? {},
      });
      await recordBridges();
      return net.id;
    },
    async storageDriver() {
      return ((await docker.info()) as { Driver: string }).Driver;
    },
    logTail,
    cleanup,
  };
}

// ---------------------------------------------------------------------------------------------
// Clean-up of the host: what a private dockerd leaves beyond its directory.

/** Removes the directories of private dockerds whose test process no longer runs. */
async function removeStaleDirs(): Promise<void> {
  let names: string[] = [];
  try { names = readdirSync(TMP); } catch { return; }
  for (const name of names) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || processRuns(pid)) continue;
    await removeDir(join(TMP, name));
  }
}

/**
 * Stops whatever still runs from `dir` (dockerd first, so it stops its containers; then any
 * containerd or shim left), unmounts what is mounted under it, deletes the bridges of its networks
 * and the iptables rules that name them, then the directory. Never throws.
 */
async function removeDir(dir: string): Promise<void> {
  try {
    const pidText = readFileSafe(join(dir, 'dockerd.pid')).trim();
    const pid = Number(pidText);
    if (pidText && Number.isInteger(pid) && pid > 0 && cmdline(pid).includes(`${dir}/`)) {
      signal(pid, 'SIGTERM');
      const until = Date.now() + 30_000;
      while (processRuns(pid) && !isZombie(pid) && Date.now() < until) await sleep(100);
    }
    for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
      const left = processesUnder(dir);
      if (left.length === 0) break;
      for (const p of left) signal(p.pid, sig);
      const until = Date.now() + 5_000;
      while (processesUnder(dir).length > 0 && Date.now() < until) await sleep(100);
    }
    // Mounts (overlay2 trees, netns bind mounts, shm), deepest first.
    const mounts = readFileSafe('/proc/self/mountinfo').split('\n')
      .map((l) => unescapeMount(l.split(' ')[4] ?? ''))
      .filter((m) => m === dir || m.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await run('umount', ['-l', m]).catch(() => undefined);
    // Bridges: its default one (hpd<pid>), and the br-* devices of its networks. A device is only
    // deleted if its address is in this dir's pool: never one of the system engine's.
    const recorded = new Set(readFileSafe(join(dir, 'bridges')).split('\n').filter(Boolean));
    const own = readFileSafe(join(dir, 'bridge-device')).trim();
    if (/^hpd\d+$/.test(own)) recorded.add(own);
    const pool = readFileSafe(join(dir, 'pool')).trim();
    const inPool = pool ? await devicesInPool(pool) : [];
    for (const b of inPool) recorded.add(b);
    for (const b of inPool) await run('ip', ['link', 'delete', b]).catch(() => undefined);
    if (/^hpd\d+$/.test(own) && existsSync(`/sys/class/net/${own}`) && !(await hasAddress(own))) {
      await run('ip', ['link', 'delete', own]).catch(() => undefined);
    }
    await removeIptablesRules(recorded);
  } catch { /* best effort */ }
  try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
}

/** Deletes the INPUT rules that Hearth added for these bridges (`-i br-… …`). */
async function removeIptablesRules(bridges: Set<string>): Promise<void> {
  if (bridges.size === 0 || !findBinary('iptables')) return;
  let rules = '';
  try { rules = await run('iptables', ['-w', '-S', 'INPUT']); } catch { return; }
  for (const line of rules.split('\n')) {
    const m = /^-A INPUT (.*)$/.exec(line.trim());
    if (!m) continue;
    const spec = m[1]!.split(/\s+/);
    const i = spec.indexOf('-i');
    if (i < 0 || !bridges.has(spec[i + 1] ?? '')) continue;
    await run('iptables', ['-w', '-D', 'INPUT', ...spec]).catch(() => undefined);
  }
}

function bridgeName(n: { Id: string; Options?: Record<string, string> }): string {
  return n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`;
}

function addBridges(dir: string, names: string[]): void {
  const have = new Set(readFileSafe(join(dir, 'bridges')).split('\n').filter(Boolean));
  for (const n of names) have.add(n);
  try { writeFileSync(join(dir, 'bridges'), `${[...have].join('\n')}\n`); } catch { /* removed meanwhile */ }
}

/** Bridge devices (br-*, hpd*) with an IPv4 address inside `pool` (a.b.c.d/n). */
async function devicesInPool(pool: string): Promise<string[]> {
  const p = parseCidr(pool);
  if (!p) return [];
  let out = '';
  try { out = await run('ip', ['-o', '-4', 'addr', 'show']); } catch { return []; }
  const found: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\d+\.\d+\.\d+\.\d+)\//.exec(line);
    if (!m || !/^(br-[0-9a-f]{12}|hpd\d+)$/.test(m[1]!)) continue;
    if (((ipNum(m[2]!) & p.mask) >>> 0) === p.net) found.push(m[1]!);
  }
  return found;
}

async function hasAddress(device: string): Promise<boolean> {
  try {
    return /\binet\b/.test(await run('ip', ['-o', '-4', 'addr', 'show', 'dev', device]));
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// The address pool.

/** A 10.X.0.0/16 that no route of the host and no other private dockerd's pool overlaps. */
function pickAddressPool(): string {
  const taken: { net: number; mask: number }[] = [];
  for (const line of readFileSafe('/proc/net/route').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const dest = leHex(f[1]!), mask = leHex(f[7]!);
    if (mask === 0) continue; // the default route
    taken.push({ net: (dest & mask) >>> 0, mask });
  }
  try {
    for (const name of readdirSync(TMP)) {
      if (!name.startsWith(PREFIX)) continue;
      const c = parseCidr(readFileSafe(join(TMP, name, 'pool')).trim());
      if (c) taken.push(c);
    }
  } catch { /* no tmp listing: routes only */ }
  for (let k = 0; k < 50; k++) {
    const octet = 200 + ((process.pid + k) % 50);
    const cand = parseCidr(`10.${octet}.0.0/16`)!;
    const clash = taken.some((t) => {
      const m = (t.mask & cand.mask) >>> 0;
      return ((t.net & m) >>> 0) === ((cand.net & m) >>> 0);
    });
    if (!clash) return `10.${octet}.0.0/16`;
  }
  throw new Error('no free 10.200-249.0.0/16 range for the private dockerd\'s networks');
}

function parseCidr(s: string): { net: number; mask: number } | null {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(s);
  if (!m) return null;
  const bits = Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { net: (ipNum(m[1]!) & mask) >>> 0, mask };
}

function ipNum(ip: string): number {
  return ip.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
}

/** /proc/net/route's little-endian hex. */
function leHex(h: string): number {
  const n = parseInt(h, 16);
  return (((n & 0xff) << 24) | (((n >>> 8) & 0xff) << 16) | (((n >>> 16) & 0xff) << 8) | ((n >>> 24) & 0xff)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Small things.

function findBinary(name: string): string | null {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'])) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

async function pings(docker: Docker, ms: number): Promise<boolean> {
  try {
    await Promise.race([docker.ping(), sleep(ms).then(() => { throw new Error('timeout'); })]);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts connections on this unix socket. */
function socketAnswers(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const s = net.connect(path);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 2_000);
    s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(true); });
    s.once('error', () => { clearTimeout(t); resolve(false); });
  });
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isZombie(pid: number): boolean {
  return /\) Z /.test(readFileSafe(`/proc/${pid}/stat`));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone */ }
}

function cmdline(pid: number): string {
  return readFileSafe(`/proc/${pid}/cmdline`).replace(/\0/g, ' ');
}

/** The pids of a process's live (not zombie) children. */
function liveChildren(pid: number): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try { entries = readdirSync('/proc'); } catch { return out; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ")".
    const stat = readFileSafe(`/proc/${e}/stat`);
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(e));
  }
  return out;
}

/** Live (not zombie) processes whose command line names `dir`: its dockerd, containerd, shims. */
function processesUnder(dir: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  let entries: string[] = [];
  try { entries = readdirSync('/proc'); } catch { return out; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const cmd = cmdline(pid);
    if ((cmd.includes(`${dir}/`) || cmd.includes(`${dir} `)) && !isZombie(pid)) out.push({ pid, cmd: cmd.slice(0, 200) });
  }
  return out;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function readFileSafe(path: string): string {
  try { return readFileSync(path, 'utf8'); } catch { return ''; }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(findBinary(cmd) ?? cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
