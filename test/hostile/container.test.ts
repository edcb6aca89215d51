// Hostile tenants of the container tier (issue 15: points 2, 4, 6, 13, 15, 16), against a real
// Hearth process and the real Docker engine with the python3 runtime image, while a neighbour
// function is called at a steady rate: every neighbour call must succeed, and where memory is the
// point Hearth's RSS must settle back within 64 MiB of where it was before the attack.
//
// Hearth listens on all addresses here (with an admin token, as it must), so that "a container
// cannot reach Hearth's port" is tested where it could: through the bridge gateway and the host's
// own address.

import Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeImageTag } from '../../container-fallback/images.js';
import { startHearth, type Hearth } from '../support/hearth.js';
import { deployNeighbour, settledRssMiB, startNeighbour } from '../support/neighbour.js';
import { py } from '../support/python.js';
import { until, waitFor } from '../support/until.js';

const docker = new Docker();
const TOKEN = 'hostile-container-admin-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
/** Docker's json log of a container is rotated within this (two files of half each). */
const LOG_FILE_BYTES = 1024 * 1024;
const IMAGE = `hearth-test-hostile-img:${process.pid}`;
let h: Hearth;
/** Containers and images this file made itself (Hearth's own are Hearth's to remove). */
const forged: string[] = [];
const imageDir = mkdtempSync(join(tmpdir(), 'hearth-hostile-img-'));

/** `h` with management calls that carry the admin token. */
function authed(x: Hearth): Hearth {
  return {
    ...x,
    deploy: (name, spec) => fetch(`${x.url}/v1/functions/${name}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', ...AUTH }, body: JSON.stringify(spec),
    }),
  };
}

async function deploy(x: Hearth, name: string, spec: unknown): Promise<void> {
  const r = await authed(x).deploy(name, spec);
  if (r.status !== 200 && r.status !== 201) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
}

interface Inst { id: string; detail: { container: string; address: string } }
async function instances(x: Hearth, name: string): Promise<Inst[]> {
  const r = await fetch(`${x.url}/v1/functions/${name}/instances`, { headers: AUTH });
  return ((await r.json()) as { instances: Inst[] }).instances;
}

async function call(x: Hearth, name: string, event: unknown): Promise<{ status: number; body: Record<string, unknown>; cold: string | null }> {
  const r = await x.invoke(name, event);
  return { status: r.status, cold: r.headers.get('x-hearth-cold'), body: await r.json() as Record<string, unknown> };
}

async function metric(x: Hearth, line: RegExp): Promise<number> {
  const text = await (await fetch(`${x.url}/metrics`, { headers: AUTH })).text();
  const m = line.exec(text);
  return m ? Number(m[1]) : 0;
}

/** The host's address on its first non-loopback, non-Docker interface (where Hearth also listens). */
function hostAddress(): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name === 'lo' || name.startsWith('docker') || name.startsWith('br-') || name.startsWith('veth')) continue;
    const a = addrs?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return a.address;
  }
  return '127.0.0.1';
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 2_000 });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('timeout', () => { s.destroy(); resolve(false); });
    s.once('error', () => resolve(false));
  });
}

/** A python snippet: tries each [host, port] and says "connected" or the error's name. */
const PROBE = `
import socket
def probe(targets):
    out = []
    for host, port in targets:
        try:
            s = socket.create_connection((host, port), timeout=1.5)
            s.close()
            out.append("connected")
        except Exception as e:
            out.append(type(e).__name__)
    return out
def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        f = line.split()
        if f[1] == "00000000":
            g = int(f[2], 16)
            return ".".join(str((g >> s) & 255) for s in (0, 8, 16, 24))
    return "0.0.0.0"
`;

/** A custom image's server: /event-invoke answers its env secret, probes, or floods its output in the background. */
function buildImage(): void {
  mkdirSync(imageDir, { recursive: true });
  writeFileSync(join(imageDir, 'server.py'), `
import json, os, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
${PROBE}
def flood():
    line = ("z" * 500 + "\\n").encode()
    while True:
        os.write(1, line)
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self.reply({"secret": os.environ.get("SECRET")})
    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        event = json.loads(self.rfile.read(n) or b"{}")
        if event.get("flood"):
            threading.Thread(target=flood, daemon=True).start()
            return self.reply({"flooding": True})
        if event.get("big"):
            # Declares 1 GiB and sends it.
            self.send_response(200)
            self.send_header("content-length", str(1 << 30))
            self.end_headers()
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(1024):
                    self.wfile.write(chunk)
            except Exception:
                pass
            return
        if "probe" in event:
            return self.reply({"probe": probe(event["probe"]), "gateway": gateway()})
        self.reply({"secret": os.environ.get("SECRET")})
ThreadingHTTPServer(("0.0.0.0", 9000), H).serve_forever()
`);
  writeFileSync(join(imageDir, 'Dockerfile'), `FROM ${runtimeImageTag('python3')}\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n`);
  execFileSync('docker', ['build', '-q', '-t', IMAGE, imageDir], { stdio: 'pipe' });
}

beforeAll(async () => {
  buildImage();
  h = await startHearth({
    args: ['--host', '0.0.0.0', '--container-log-file-bytes', String(LOG_FILE_BYTES), '--container-log-bytes-per-sec', String(64 * 1024)],
    env: { HEARTH_ADMIN_TOKEN: TOKEN, HEARTH_STEM_CELLS: '1' },
  });
  await deployNeighbour(authed(h));
}, 180_000);

afterAll(async () => {
  if (process.env.HEARTH_TEST_LOG) writeFileSync(process.env.HEARTH_TEST_LOG, h?.log() ?? '');
  await h?.stop();
  await Promise.all(forged.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
  rmSync(imageDir, { recursive: true, force: true });
  try { execFileSync('docker', ['rmi', '-f', IMAGE], { stdio: 'pipe' }); } catch { /* gone */ }
}, 60_000);

describe('container answers are bounded as they arrive (point 2)', () => {
  it('a handler writing a 1 GiB answer on its bootstrap socket: ResultTooLarge, the container replaced, the neighbour fine, RSS back', async () => {
    await deploy(h, 'pybig', py(`
import sys
def main_handler(event, context):
    if event.get("mode") == "flood":
        f = sys._getframe()
        while f is not None and not hasattr(f.f_locals.get("self"), "wfile"):
            f = f.f_back
        w = f.f_locals["self"].wfile
        w.write(b"HTTP/1.1 200 OK\\r\\nX-Hearth-Outcome: ok\\r\\nX-Hearth-Log-Bytes: 0\\r\\nContent-Length: 1073741824\\r\\n\\r\\n")
        chunk = b"x" * (1 << 20)
        for _ in range(1024):
            w.write(chunk)
        return "never"
    if event.get("mode") == "big":
        return "x" * (7 << 20)
    return {"ok": True}
`, { timeoutMs: 60_000 }));
    expect((await call(h, 'pybig', {})).status).toBe(200);
    const [first] = await instances(h, 'pybig');
    const before = await settledRssMiB(h);
    const neighbour = startNeighbour(h);

    const flood = await call(h, 'pybig', { mode: 'flood' });
    expect(flood.status).toBe(502);
    expect(flood.body.errorType).toBe('ResultTooLarge');
    // The container that wrote it is replaced; the function works again.
    await until(async () => !(await instances(h, 'pybig')).some((i) => i.id === first!.id), 20_000, 'the flooding container replaced');
    expect(await call(h, 'pybig', {})).toMatchObject({ status: 200, body: { ok: true } });

    // An honest result over the bound: the same error; the container stays (the answer was read whole).
    const [kept] = await instances(h, 'pybig');
    const big = await call(h, 'pybig', { mode: 'big' });
    expect(big.status).toBe(502);
    expect(big.body.errorType).toBe('ResultTooLarge');
    expect(await call(h, 'pybig', {})).toMatchObject({ status: 200, cold: 'false' });
    expect((await instances(h, 'pybig')).map((i) => i.id)).toContain(kept!.id);

    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
    expect(report.calls).toBeGreaterThan(0);
    expect(await settledRssMiB(h)).toBeLessThan(before + 64);
    expect(await metric(h, /^hearth_container_oversized_responses_total\{runtime="python3"\} (\d+)/m)).toBeGreaterThanOrEqual(2);
  }, 120_000);

  it('a custom image answering 1 GiB: ResultTooLarge, its connection closed, the neighbour fine, RSS back', async () => {
    await deploy(h, 'imgbig', { runtime: 'image', image: IMAGE, timeoutMs: 60_000 });
    expect((await call(h, 'imgbig', {})).status).toBe(200);
    const before = await settledRssMiB(h);
    const neighbour = startNeighbour(h);
    const big = await call(h, 'imgbig', { big: true });
    expect(big.status).toBe(502);
    expect(big.body.errorType).toBe('ResultTooLarge');
    expect((await call(h, 'imgbig', {})).status).toBe(200);
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
    expect(await settledRssMiB(h)).toBeLessThan(before + 64);
    expect(await metric(h, /^hearth_container_oversized_responses_total\{runtime="image"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    await fetch(`${h.url}/v1/functions/imgbig`, { method: 'DELETE', headers: AUTH });
  }, 120_000);
});

describe('container output is bounded (point 4)', () => {
  it('a python3 background thread flooding fd 1 outside calls reaches neither Docker nor its log; a custom image\'s log file is rotated within its bound and its lines past the rate are dropped and counted', async () => {
    const neighbour = startNeighbour(h);
    // The flood runs from a thread, a forked child and a shell; the call answers once 64 MiB went
    // out (os.write returned for every byte: /dev/null, not a pipe Docker reads).
    await deploy(h, 'pyflood', py(`
import os, subprocess, threading, time
written = [0]
def flood():
    line = ("y" * 1000 + "\\n").encode() * 1024
    while True:
        written[0] += os.write(1, line)
def main_handler(event, context):
    threading.Thread(target=flood, daemon=True).start()
    subprocess.Popen(["sh", "-c", "while :; do echo from-a-child; done"])
    if os.fork() == 0:
        while True:
            os.write(2, b"from-a-fork " * 100)
    while written[0] < 64 << 20:
        time.sleep(0.05)
    return {"written": written[0]}
`, { cpus: 0.5, timeoutMs: 30_000 }));
    const r = await call(h, 'pyflood', {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.written).toBeGreaterThanOrEqual(64 << 20);
    const [inst] = await instances(h, 'pyflood');
    const info = await docker.getContainer(inst!.detail.container).inspect();
    expect(info.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': String(LOG_FILE_BYTES / 2), 'max-file': '2' } });
    // Docker's log holds the bootstrap's start-up line and nothing of the 64 MiB and more.
    await new Promise((res) => setTimeout(res, 500));
    expect(existsSync(`${info.LogPath}.1`)).toBe(false);
    expect(statSync(info.LogPath).size).toBeLessThan(16 * 1024);
    const dockerLog = readFileSync(info.LogPath, 'utf8');
    expect(dockerLog).toContain('listening on');
    expect(dockerLog).not.toMatch(/yyyy|from-a-child|from-a-fork/);
    expect((await fetch(`${h.url}/v1/functions/pyflood`, { method: 'DELETE', headers: AUTH })).status).toBe(204);

    // A custom image's output is followed into call logs: at most --container-log-bytes-per-sec;
    // what it writes is in Docker's json log, rotated within --container-log-file-bytes.
    const dropped = await metric(h, /^hearth_container_log_lines_dropped_total (\d+)/m);
    await deploy(h, 'imgflood', { runtime: 'image', image: IMAGE, timeoutMs: 10_000, cpus: 0.5 });
    expect((await call(h, 'imgflood', { flood: true })).status).toBe(200);
    const [img] = await instances(h, 'imgflood');
    const imgInfo = await docker.getContainer(img!.detail.container).inspect();
    expect(imgInfo.HostConfig.LogConfig).toEqual({ Type: 'json-file', Config: { 'max-size': String(LOG_FILE_BYTES / 2), 'max-file': '2' } });
    await until(() => existsSync(`${imgInfo.LogPath}.1`), 30_000, 'the log file rotated');
    for (let i = 0; i < 5; i++) {
      // A file Docker renames between a check and a stat is one that does not exist (as the check meant).
      const sizeOf = (p: string) => { try { return statSync(p).size; } catch (e) { if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0; throw e; } };
      const size = [imgInfo.LogPath, `${imgInfo.LogPath}.1`].reduce((n, p) => n + sizeOf(p), 0);
      expect(size).toBeLessThan(LOG_FILE_BYTES + 64 * 1024);
      await new Promise((res) => setTimeout(res, 200));
    }
    await waitFor(async () => (await metric(h, /^hearth_container_log_lines_dropped_total (\d+)/m)) > dropped + 100, 30_000, 'lines dropped over the rate');
    expect((await fetch(`${h.url}/v1/functions/imgflood`, { method: 'DELETE', headers: AUTH })).status).toBe(204);
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 120_000);
});

describe('networks (points 6, 13, 15)', () => {
  it('functions cannot reach each other\'s containers, egress or not; egress rules give a route out, none gives none; no container reaches Hearth\'s port', async () => {
    const neighbour = startNeighbour(h);
    const EGRESS = { egress: { allow: ['example.com'] } };
    await deploy(h, 'imga', { runtime: 'image', image: IMAGE, timeoutMs: 10_000, env: { SECRET: 's3cret-a' }, ...EGRESS });
    await deploy(h, 'imgb', { runtime: 'image', image: IMAGE, timeoutMs: 10_000, ...EGRESS });
    await deploy(h, 'pyplain', py(`${PROBE}\ndef main_handler(event, context):\n    return {"probe": probe(event["probe"]), "gateway": gateway()}\n`, { timeoutMs: 20_000 }));
    await deploy(h, 'pyeg', py(`${PROBE}\ndef main_handler(event, context):\n    return {"probe": probe(event["probe"]), "gateway": gateway()}\n`, { timeoutMs: 20_000, ...EGRESS }));
    expect((await call(h, 'imga', {})).body).toEqual({ secret: 's3cret-a' });
    const addr = async (name: string) => (await instances(h, name))[0]!.detail.address;
    const a = await addr('imga');
    // The host reaching 1.1.1.1 says whether this machine has a way out at all.
    const outside = await canConnect('1.1.1.1', 80);

    const probeFrom = async (name: string, targets: [string, number][]) => {
      const r = await call(h, name, { probe: targets });
      expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
      return r.body as { probe: string[]; gateway: string };
    };
    // Warm pyplain, then every function probes the others, the host and Hearth's port.
    await probeFrom('pyplain', []);
    const plain = await addr('pyplain');
    const host = hostAddress();
    for (const [name, others, egress] of [['imgb', [a, plain], true], ['pyeg', [a, plain], true], ['pyplain', [a], false]] as const) {
      const gw = (await probeFrom(name, [])).gateway;
      const out = await probeFrom(name, [...others.map((o) => [o, 9000] as [string, number]), [gw, h.port], [host, h.port], ['1.1.1.1', 80]]);
      const n = others.length;
      expect(out.probe.slice(0, n), `${name} reaching another function`).not.toContain('connected');
      expect(out.probe[n], `${name} reaching Hearth on its gateway ${gw}`).not.toBe('connected');
      expect(out.probe[n + 1], `${name} reaching Hearth on ${host}`).not.toBe('connected');
      if (egress && outside) expect(out.probe[n + 2], `${name} going out`).toBe('connected');
      if (!egress) expect(out.probe[n + 2], `${name} going out`).not.toBe('connected');
    }

    // One network per function with egress rules, not Docker's default bridge: internal off, inter-container traffic off.
    const netsOf = async (name: string) => Object.keys((await docker.getContainer((await instances(h, name))[0]!.detail.container).inspect()).NetworkSettings.Networks);
    const [na, nb, neg, nplain] = [await netsOf('imga'), await netsOf('imgb'), await netsOf('pyeg'), await netsOf('pyplain')];
    expect(nplain).toEqual(['hearth-functions']);
    expect(na).toHaveLength(1);
    expect(na[0]).toMatch(/^hearth-egress-/);
    expect(nb[0]).toMatch(/^hearth-egress-/);
    expect(nb[0]).not.toBe(na[0]);
    expect(neg).toHaveLength(2);
    expect(neg).toContain('hearth-functions');
    expect(neg.find((n) => n !== 'hearth-functions')).toMatch(/^hearth-egress-/);
    const egressNet = await docker.getNetwork(na[0]!).inspect() as { Internal: boolean; Options: Record<string, string>; Labels: Record<string, string> };
    expect(egressNet.Internal).toBe(false);
    expect(egressNet.Options['com.docker.network.bridge.enable_icc']).toBe('false');
    expect(egressNet.Labels['hearth.egress']).toBe('imga');

    // Each function's network goes with its containers.
    for (const name of ['imga', 'imgb', 'pyeg']) expect((await fetch(`${h.url}/v1/functions/${name}`, { method: 'DELETE', headers: AUTH })).status).toBe(204);
    await until(async () => (await docker.listNetworks({ filters: JSON.stringify({ label: ['hearth.egress'] }) }))
      .filter((n) => ['imga', 'imgb', 'pyeg'].includes(n.Labels?.['hearth.egress'] ?? '') && [na[0], nb[0], ...neg].includes(n.Name)).length === 0, 30_000, 'the egress networks removed');
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 180_000);
});

describe('two Hearths on one engine (point 16)', () => {
  it('a Hearth never removes or adopts another\'s containers (whatever their pid), and removes what its own earlier run left', async () => {
    // Another Hearth's container, labelled with pid 1 as a Hearth in a container would be.
    const other = await docker.createContainer({
      Image: runtimeImageTag('python3'), Cmd: ['sleep', '600'],
      Labels: { 'hearth.managed': '1', 'hearth.run': randomUUID(), 'hearth.owner': randomUUID(), 'hearth.runtime': 'python3' },
      HostConfig: { NetworkMode: 'none', Init: true },
    });
    forged.push(other.id);
    await other.start();
    await deploy(h, 'pymine', py('def main_handler(event, context):\n    return "mine"\n'));
    expect((await call(h, 'pymine', {})).status).toBe(200);
    const [mine] = await instances(h, 'pymine');

    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-hostile-second-'));
    try {
      const second = await startHearth({ dataDir, env: { HEARTH_STEM_CELLS: '1' } });
      // With an egress rule: its network is left behind too.
      await deploy(second, 'pysecond', py('def main_handler(event, context):\n    return "second"\n', { egress: { allow: ['example.com'] } }));
      expect((await call(second, 'pysecond', {})).status).toBe(200);
      const left = (await instances(second, 'pysecond'))[0]!.detail.container;
      const leftNet = Object.keys((await docker.getContainer(left).inspect()).NetworkSettings.Networks).find((n) => n.startsWith('hearth-egress-'));
      expect(leftNet).toBeDefined();
      // Killed: what it made stays behind.
      second.proc.kill('SIGKILL');
      await second.stop();
      const third = await startHearth({ dataDir, env: { HEARTH_STEM_CELLS: '0' } });
      try {
        // The same data dir's next run removed its leftovers at start ...
        await until(async () => !(await docker.listContainers({ all: true })).some((c) => c.Id.startsWith(left)), 20_000, 'the killed run\'s container removed');
        await until(async () => !(await docker.listNetworks()).some((n) => n.Name === leftNet), 20_000, 'the killed run\'s egress network removed');
        // ... and nothing of the other Hearths.
        expect((await other.inspect()).State.Running).toBe(true);
        expect((await docker.getContainer(mine!.detail.container).inspect()).State.Running).toBe(true);
      } finally {
        await third.stop();
      }
      // The first Hearth still serves from the same warm container.
      expect(await call(h, 'pymine', {})).toMatchObject({ status: 200, cold: 'false' });
      expect((await other.inspect()).State.Running).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('limits containers already hold', () => {
  it('fork and memory bombs stay in their container; the neighbour is fine and the function works again', async () => {
    const neighbour = startNeighbour(h);
    await deploy(h, 'pybomb', py(`
import os, time
def main_handler(event, context):
    if event.get("fork"):
        n = 0
        try:
            while True:
                if os.fork() == 0:
                    time.sleep(1)
                    os._exit(0)
                n += 1
        except OSError:
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    break
            return {"forked": n}
    if event.get("memory"):
        hog = []
        while True:
            hog.append(bytearray(16 << 20))
    return "fine"
`, { pids: 32, memoryMb: 64, timeoutMs: 20_000 }));
    // Every container runs under Hearth's low-CPU-weight cgroup (where the engine uses cgroupfs
    // and Hearth may write the weight: root, as here on cgroup v1), so under contention a bomb
    // yields the CPU to Hearth's threads.
    expect((await call(h, 'pybomb', {})).status).toBe(200);
    const [inst] = await instances(h, 'pybomb');
    const parent = (await docker.getContainer(inst!.detail.container).inspect()).HostConfig.CgroupParent;
    const engineInfo = await docker.info() as { CgroupDriver: string; CgroupVersion: string };
    if (process.getuid?.() === 0 && engineInfo.CgroupDriver === 'cgroupfs' && engineInfo.CgroupVersion === '1') {
      expect(parent).toBe('/hearth');
      expect(readFileSync('/sys/fs/cgroup/cpu/hearth/cpu.shares', 'utf8').trim()).toBe('128');
    }
    const fork = await call(h, 'pybomb', { fork: true });
    expect(fork.status, JSON.stringify(fork.body)).toBe(200);
    expect(fork.body.forked).toBeLessThan(32);
    const mem = await call(h, 'pybomb', { memory: true });
    expect(mem.status, JSON.stringify(mem.body)).toBe(500);
    const after = await call(h, 'pybomb', {});
    expect(after.status, JSON.stringify(after.body)).toBe(200);
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 120_000);
});

/** The running containers of the Hearth that made `known` (its run label), by id. */
async function runContainers(known: string): Promise<Map<string, Record<string, string>>> {
  const run = (await docker.getContainer(known).inspect()).Config.Labels['hearth.run']!;
  const list = await docker.listContainers({ filters: JSON.stringify({ label: [`hearth.run=${run}`], status: ['running'] }) });
  return new Map(list.map((c) => [c.Id, c.Labels]));
}

/** Whether the engine has no such container any more (removed, not only stopped). */
async function removed(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return false;
  } catch (err) {
    return (err as { statusCode?: number }).statusCode === 404;
  }
}

describe('a container that dies unseen takes no later call with it (soak: a python3 call after `docker kill` failed ECONNREFUSED)', () => {
  it('killed with docker kill: every call after it succeeds, the dead instance goes, nothing leaks', async () => {
    const neighbour = startNeighbour(h);
    await deploy(h, 'pykill', py('import os\ndef main_handler(event, context):\n    return {"pid": os.getpid(), "n": event.get("n")}\n'));
    for (let round = 0; round < 3; round++) {
      // Warm, with kept-alive connections to its bootstrap.
      for (let i = 0; i < 3; i++) expect((await call(h, 'pykill', { n: i })).status).toBe(200);
      const [warm] = await instances(h, 'pykill');
      const id = warm!.detail.container;
      execFileSync('docker', ['kill', id], { stdio: 'pipe' });
      // At once, before or after Hearth heard of the death: each one answers.
      for (let i = 0; i < 20; i++) {
        const r = await call(h, 'pykill', { n: i });
        expect(r.status, JSON.stringify(r.body)).toBe(200);
        expect(r.body.n).toBe(i);
      }
      await until(async () => !(await instances(h, 'pykill')).some((x) => x.detail.container === id), 20_000, 'the killed instance gone from the instances');
      await until(() => removed(id), 20_000, 'the killed container removed');
    }
    // Nothing of this Hearth runs but its functions' instances and its stem cells (HEARTH_STEM_CELLS=1, per runtime).
    const [any] = await instances(h, 'pykill');
    let stray: string[] = [];
    await until(async () => {
      const fns = ((await (await fetch(`${h.url}/v1/functions`, { headers: AUTH })).json()) as { functions: { name: string }[] }).functions;
      const held: string[] = [];
      for (const f of fns) for (const x of await instances(h, f.name)) held.push(x.detail.container);
      const all = await runContainers(any!.detail.container);
      stray = [...all.keys()].filter((c) => !held.some((p) => c.startsWith(p)));
      return stray.length <= 2;
    }, 30_000, () => `no container of this run leaked: ${stray.length} are no instance's`);
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 180_000);

  it('a container that stops listening while idle (no exit to report): the next call goes to another container, the dead one is removed', async () => {
    const neighbour = startNeighbour(h);
    // "deafen": after answering, the bootstrap closes the connections it has, then stops taking
    // new ones (refused), while the container keeps running: no "die" event ever tells Hearth.
    // The listener goes last: once the test sees a refusal, Hearth's kept-alive connection is
    // closed too (in the other order, a slow gc scan under load left it open for a while, and the
    // next call went on it to the deaf bootstrap: warm, or "the connection closed").
    await deploy(h, 'pydeaf', py(`
import gc, socket, socketserver, threading, time
def deafen():
    time.sleep(0.3)
    objs = gc.get_objects()
    servers = [o for o in objs if isinstance(o, socketserver.BaseServer)]
    conns = [o for o in objs if isinstance(o, socket.socket) and o.fileno() >= 0 and all(o is not s.socket for s in servers)]
    for s in servers:
        s.service_actions = lambda: time.sleep(3600)
    for o in conns:
        try:
            o.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    for s in servers:
        s.socket.shutdown(socket.SHUT_RD)
def main_handler(event, context):
    if event.get("deafen"):
        threading.Thread(target=deafen, daemon=True).start()
    return {"n": event.get("n")}
`));
    expect((await call(h, 'pydeaf', { n: 0 })).status).toBe(200);
    const [deaf] = await instances(h, 'pydeaf');
    const resentBefore = await metric(h, /^hearth_container_calls_resent_total (\d+)/m);
    expect((await call(h, 'pydeaf', { deafen: true, n: 1 })).status).toBe(200);
    await until(async () => !(await canConnect(deaf!.detail.address, 9000)), 20_000, 'the bootstrap refuses connections');
    const r = await call(h, 'pydeaf', { n: 2 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.n).toBe(2);
    expect(r.cold).toBe('true');
    expect(await metric(h, /^hearth_container_calls_resent_total (\d+)/m)).toBe(resentBefore + 1);
    expect((await instances(h, 'pydeaf')).some((x) => x.detail.container === deaf!.detail.container)).toBe(false);
    await until(() => removed(deaf!.detail.container), 20_000, 'the deaf container removed');
    expect((await call(h, 'pydeaf', { n: 3 })).status).toBe(200);
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 120_000);
});

describe('a stop during start-up leaves no container (twice, SIGTERM ~1 s after start left both reserved containers running)', () => {
  it('SIGTERM while a python3 function\'s minInstances containers start: no container of the data dir\'s runs remains', async () => {
    const neighbour = startNeighbour(h);
    const dataDir = mkdtempSync(join(tmpdir(), 'hearth-hostile-stop-'));
    const owner = async (): Promise<string[]> => {
      const id = readFileSync(join(dataDir, 'engine-owner'), 'utf8').trim();
      const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.owner=${id}`] }) });
      return list.map((c) => `${c.Id.slice(0, 12)} ${c.State} ${c.Labels['hearth.run']}`);
    };
    try {
      // Deployed, then every later start restores it and starts its 2 reserved containers (and a stem cell).
      const first = await startHearth({ dataDir, env: { HEARTH_STEM_CELLS: '1' } });
      await deploy(first, 'pyreserved', py('def main_handler(event, context):\n    return "ok"\n', { minInstances: 2 }));
      expect(await first.stop()).toBe(0);
      expect(await owner()).toEqual([]);
      // Stopped at different points of the reserved starts (at once, and later on).
      for (const delayMs of [0, 300, 1_000]) {
        const again = await startHearth({ dataDir, env: { HEARTH_STEM_CELLS: '1' } });
        await new Promise((r) => setTimeout(r, delayMs));
        expect(await again.stop('SIGTERM')).toBe(0);
        expect(await owner(), `stopped ${delayMs} ms after listening:\n${again.log().slice(-3000)}`).toEqual([]);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    const report = await neighbour.stop();
    expect(report.failures).toEqual([]);
  }, 180_000);
});
