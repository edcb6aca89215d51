// The Docker engine, through dockerode (the Engine of engine.ts): whether it answers (watched, so
// container functions answer 503 while it is gone and work again when it is back), the isolated
// network functions run on, containers made with the isolation settings, their exits and output,
// and the clean-up of what a previous run left. The only module that runs containers through
// dockerode.

import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { log } from '../core/log.js';
import { prepareCgroupParent } from './cgroup-parent.js';
import { EGRESS_LABEL, EGRESS_NETWORK_PREFIX, FUNCTION_PORT, MANAGED_LABEL, NETWORK_NAME, OWNER_LABEL, RUN_LABEL } from './contract.js';
import { logLines, LogRate } from './docker-log-lines.js';
import { engineIdentity, type EngineIdentity } from './engine-identity.js';
import type { ContainerSpec, Engine, OutputLine, RunningContainer } from './engine.js';

export interface DockerEngineOptions {
  /** Who this Hearth is on the engine (engine-identity.ts); a fresh run and owner when not given. */
  identity: EngineIdentity;
  /** Docker's json log of a container is rotated within this many bytes (two files of half each). */
  logFileBytes: number;
  /** Bytes a second of a container's followed output passed on; lines past it are dropped. */
  logBytesPerSec: number;
  /**
   * CPU weight (cgroup v1 cpu.shares) of the cgroup every container is made under
   * (cgroup-parent.ts), so that they together yield to Hearth's threads; 0: Docker's default cgroup.
   */
  cpuShares: number;
  /**
   * Host TCP ports containers on an egress network may open connections to (at HOST_NAME, the
   * engine's host gateway); every other connection to the host is dropped (hostRules).
   */
  hostPorts: readonly number[];
}

/** The name a container resolves to the host by (Docker's host-gateway: docker0's address). */
export const HOST_NAME = 'host.hearth.internal';

/** A function's egress network: made for its first container with egress, removed after its last. */
interface EgressNetwork {
  name: string;
  id: Promise<string>;
  /** The containers (ids, or names while being made) on it. */
  members: Set<string>;
}

export class DockerEngine implements Engine {
  private readonly docker: Docker;
  available = false;
  /**
   * Counts the times the engine went away. A container started in an earlier epoch may have gone
   * with it (a restarted engine without live-restore stops its containers).
   */
  epoch = 0;
  lastError = '';
  private watcher: NodeJS.Timeout | null = null;
  private networkId: string | null = null;
  /** The lookup of the functions network in progress (concurrent callers share it: settleNetwork). */
  private networkPending: Promise<string> | null = null;
  private readonly listeners: ((up: boolean) => void)[] = [];

  private readonly identity: EngineIdentity;
  private readonly logFileBytes: number;
  private readonly logBytesPerSec: number;
  private readonly cpuShares: number;
  private readonly hostPorts: readonly number[];
  /** The CgroupParent containers get (null: Docker's default), decided once, on the first container. */
  private cgroupParent: Promise<string | null> | null = null;
  /** Egress networks by function name, and the function of each container on one. */
  private readonly egressNets = new Map<string, EgressNetwork>();
  private readonly egressOf = new Map<string, string>();
  private egressSeq = 0;

  /** `networkName`: the functions network (tests use their own). */
  constructor(docker = new Docker(), private readonly networkName = NETWORK_NAME, opts: Partial<DockerEngineOptions> = {}) {
    this.docker = docker;
    this.identity = opts.identity ?? engineIdentity();
    this.logFileBytes = opts.logFileBytes ?? 8 * 1024 * 1024;
    this.logBytesPerSec = opts.logBytesPerSec ?? 256 * 1024;
    this.cpuShares = opts.cpuShares ?? 0;
    this.hostPorts = opts.hostPorts ?? [];
  }

  /** This process's run id: the value of RUN_LABEL on what it makes. */
  get runId(): string {
    return this.identity.runId;
  }

  /** Labels of every container and network this process makes. */
  private ownLabels(): Record<string, string> {
    return { [RUN_LABEL]: this.identity.runId, [OWNER_LABEL]: this.identity.owner };
  }

  /** Pings now; true when the engine answers. */
  async ping(): Promise<boolean> {
    try {
      await withTimeout(this.docker.ping(), 3_000, 'the Docker engine did not answer a ping in 3 s');
      this.set(true, '');
    } catch (err) {
      this.set(false, (err as Error).message);
    }
    return this.available;
  }

  /** Pings every `ms` and tells listeners when the engine goes or comes back. */
  watch(ms = 2_000): void {
    if (this.watcher) return;
    this.watcher = setInterval(() => void this.ping(), ms);
    this.watcher.unref();
  }

  onChange(fn: (up: boolean) => void): void {
    this.listeners.push(fn);
  }

  close(): void {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = null;
    this.closed = true;
    if (this.exitRetry) clearTimeout(this.exitRetry);
    this.exitRetry = null;
    this.exitStream?.destroy();
    this.exitStream = null;
  }

  /** Set at shutdown: a container whose start completes from now on is removed at once. */
  closed = false;
  /** Containers being made (run() in progress): awaited at shutdown (settled). */
  private readonly runs = new Set<Promise<unknown>>();
  private exitStream: NodeJS.ReadableStream & { destroy(): void } | null = null;
  private exitRetry: NodeJS.Timeout | null = null;
  private onExit: ((id: string) => void) | null = null;
  private onExitGap: (() => void) | null = null;

  /**
   * Tells `onExit` the id of every container of this process that stops — killed from outside,
   * out of memory, crashed, or removed by Hearth itself — as the engine reports it ("die" events),
   * so a dead warm container is noticed without waiting for a call. One event stream, reopened
   * when it breaks and when the engine is back; `onGap` runs when it was reopened while the engine
   * stayed up (exits in the gap were not reported: look for yourself). Call once.
   */
  watchExits(onExit: (id: string) => void, onGap: () => void): void {
    this.onExit = onExit;
    this.onExitGap = onGap;
    this.onChange((up) => { if (up) this.openExits(false); });
    this.openExits(false);
  }

  private openExits(gap: boolean): void {
    if (this.exitStream !== null || this.closed || !this.available || this.onExit === null) return;
    const epoch = this.epoch;
    const filters = JSON.stringify({ type: ['container'], event: ['die'], label: [`${RUN_LABEL}=${this.identity.runId}`] });
    (this.docker.getEvents({ filters }) as Promise<NodeJS.ReadableStream & { destroy(): void }>).then((stream) => {
      if (this.closed || this.exitStream !== null) return stream.destroy();
      this.exitStream = stream;
      let buf = '';
      stream.on('data', (chunk: Buffer | string) => {
        buf += chunk.toString();
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let id: unknown;
          try {
            const e = JSON.parse(line) as { id?: string; Actor?: { ID?: string } };
            id = e.Actor?.ID ?? e.id;
          } catch {
            continue;
          }
          if (typeof id === 'string' && id !== '') this.onExit?.(id);
        }
      });
      const ended = () => {
        if (this.exitStream !== stream) return;
        this.exitStream = null;
        this.retryExits();
      };
      stream.on('end', ended);
      stream.on('error', ended);
      stream.on('close', ended);
      if (gap && this.epoch === epoch) this.onExitGap?.();
    }, () => this.retryExits());
  }

  /** The stream broke or could not open: again in a second (while the engine answers; else when it is back). */
  private retryExits(): void {
    if (this.closed || this.exitRetry !== null) return;
    this.exitRetry = setTimeout(() => {
      this.exitRetry = null;
      this.openExits(true);
    }, 1_000);
    this.exitRetry.unref();
  }

  /** Marks the engine gone after a failed call (the watcher finds out when it is back). */
  lost(err: unknown): void {
    this.set(false, (err as Error)?.message ?? String(err));
  }

  private set(up: boolean, error: string): void {
    this.lastError = error;
    if (up === this.available) return;
    this.available = up;
    if (!up) {
      this.networkId = null;
      this.epoch++;
      // A restarted engine may have lost them with the containers; made again when needed.
      this.egressNets.clear();
      this.egressOf.clear();
    } else {
      // Removals that failed while it was gone.
      for (const id of this.unremoved) void this.remove(id);
      void this.removeStrayEgressNetworks();
    }
    for (const l of this.listeners) l(up);
  }

  /**
   * The network function containers join: a bridge that is internal (no route out) and with
   * inter-container traffic off (a function cannot reach another's container). The host reaches
   * each container by its address on it. As root, the host's own addresses on the bridge are
   * closed to the containers too (only replies to the host's connections pass).
   */
  async network(): Promise<string> {
    if (this.networkId) return this.networkId;
    this.networkPending ??= this.settleNetwork().finally(() => { this.networkPending = null; });
    return this.networkPending;
  }

  private async settleNetwork(): Promise<string> {
    const epoch = this.epoch;
    let found = await this.findNetworks();
    const made = found.length === 0;
    if (made) {
      await this.docker.createNetwork({
        Name: this.networkName, Driver: 'bridge', Internal: true, CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        Labels: { [MANAGED_LABEL]: 'network' },
      }).catch((err: { statusCode?: number }) => { if (err?.statusCode !== 409) throw err; });
      found = await this.findNetworks();
      if (found.length === 0) throw new Error(`the network ${this.networkName} was created but is not listed`);
    }
    // Just made (by this process or another starting beside it), or seen twice: another process's
    // create may still be in flight, and its network may turn out the older one. Every process keeps
    // the oldest, so the choice holds once two lists a while apart agree on a single network.
    if (made || found.length > 1 || Date.now() - Date.parse(found[0]!.created) < NETWORK_SETTLE_MS) {
      for (let i = 0; i < NETWORK_SETTLE_TRIES; i++) {
        await new Promise((r) => setTimeout(r, NETWORK_SETTLE_MS / 4));
        const again = await this.findNetworks();
        if (again.length === 0) throw new Error(`the network ${this.networkName} was removed while Hearth started`);
        const settled = found.length === 1 && again.length === 1 && again[0]!.id === found[0]!.id;
        found = again;
        if (settled) break;
      }
    }
    const id = found[0]!.id;
    // The engine went away meanwhile: the id may be of a network it no longer has; found again next time.
    if (this.epoch === epoch) this.networkId = id;
    await closeHostToContainers(id).catch(() => undefined);
    return id;
  }

  /**
   * The functions networks, oldest first (ties by id); all but the first are removed. The engine's
   * duplicate check on create is best effort: two Hearth processes starting at once on a fresh
   * engine each made one (seen in a CI run: 12 ms apart), and a container on a name with two
   * networks is refused ("network hearth-functions is ambiguous") from then on. Every process
   * keeps the oldest and removes the others; one still in use stays, and is not used.
   */
  private async findNetworks(): Promise<{ id: string; created: string }[]> {
    const found = (await this.docker.listNetworks({ filters: JSON.stringify({ name: [this.networkName] }) }))
      .filter((n) => n.Name === this.networkName)
      .sort((a, b) => (Date.parse(a.Created) - Date.parse(b.Created)) || a.Id.localeCompare(b.Id));
    for (const extra of found.slice(1)) {
      await this.docker.getNetwork(extra.Id).remove().catch(() => undefined);
    }
    return found.map((n) => ({ id: n.Id, created: n.Created }));
  }

  /** Changes a running container's CPU share and pids limit (a stem cell taken by a function that asks for others). */
  async limit(id: string, cpus: number, pids: number): Promise<void> {
    await this.docker.getContainer(id).update({ NanoCpus: Math.round(cpus * 1e9), PidsLimit: pids });
  }

  /** Creates and starts a container with the isolation settings; its server is on FUNCTION_PORT. */
  async run(spec: ContainerSpec): Promise<RunningContainer> {
    if (this.closed) throw new Error('Hearth is shutting down: no container is started');
    const p = this.runRetried(spec);
    this.runs.add(p);
    void p.then(() => this.runs.delete(p), () => this.runs.delete(p));
    return p;
  }

  private async runRetried(spec: ContainerSpec): Promise<RunningContainer> {
    try {
      return await this.runOnce(spec);
    } catch (err) {
      // The functions network was removed or duplicated by another Hearth starting at the same
      // moment (see findNetwork): look it up again, once.
      if (this.closed || spec.egress !== null || !/network .*(not found|ambiguous)/i.test((err as Error).message)) throw err;
      this.networkId = null;
      return this.runOnce(spec);
    }
  }

  private async runOnce(spec: ContainerSpec): Promise<RunningContainer> {
    let container;
    try {
      // Inside the try: a network that cannot be made (address pools used up) leaves no member behind.
      const networkId = spec.egress === null ? await this.network() : await this.joinEgressNetwork(spec.egress, spec.name);
      container = await this.createContainer(spec, networkId);
    } catch (err) {
      this.leaveEgressNetwork(spec.name);
      throw err;
    }
    if (spec.egress !== null) this.renameMember(spec.name, container.id);
    try {
      // Shutdown began while the engine made it: nobody would remove it (the catch below does).
      if (this.closed) throw new Error('Hearth is shutting down: the container is removed');
      await container.start();
      const info = await container.inspect();
      if (this.closed) throw new Error('Hearth is shutting down: the container is removed');
      const nets = info.NetworkSettings.Networks;
      const address = Object.values(nets).map((n) => n.IPAddress).find((ip) => ip) ?? '';
      if (!address) throw new Error(`container ${container.id.slice(0, 12)} has no address`);
      return { id: container.id, address, port: FUNCTION_PORT };
    } catch (err) {
      await this.remove(container.id);
      throw err;
    }
  }

  /** Where containers go in the cgroup tree: asked of the engine once and logged once (cgroup-parent.ts). */
  private parentCgroup(): Promise<string | null> {
    if (this.cgroupParent === null) {
      const shares = this.cpuShares;
      this.cgroupParent = (async () => {
        if (shares <= 0) return null;
        const info = await this.docker.info() as { CgroupDriver?: string; CgroupVersion?: string };
        const choice = prepareCgroupParent({ driver: info.CgroupDriver ?? '', version: info.CgroupVersion ?? '1' }, shares);
        if (choice.parent === null) log.warn({ cpuShares: shares }, choice.note);
        else log.info({ cpuShares: shares }, choice.note);
        return choice.parent;
      })().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, "the engine's cgroup set-up is unknown: containers run in Docker's default cgroup");
        return null;
      });
    }
    return this.cgroupParent;
  }

  private async createContainer(spec: ContainerSpec, networkId: string): Promise<Docker.Container> {
    const cgroupParent = await this.parentCgroup();
    return this.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      ...(spec.cmd ? { Cmd: spec.cmd } : {}),
      ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      ...(spec.user ? { User: spec.user } : {}),
      Labels: { ...spec.labels, [MANAGED_LABEL]: String(process.pid), ...this.ownLabels() },
      ExposedPorts: { [`${FUNCTION_PORT}/tcp`]: {} },
      HostConfig: {
        NetworkMode: networkId,
        // Under Hearth's low-weight cgroup: CPU-bound containers yield to Hearth's threads.
        ...(cgroupParent !== null ? { CgroupParent: cgroupParent } : {}),
        // What reaches the container's stdout/stderr is Docker's json log on the engine's disk:
        // rotated, two files within logFileBytes, so no container can fill the disk. A custom
        // image's output comes here; a python3 runtime points its fds 1/2 at /dev/null once
        // listening (copying output costs dockerd and the shim CPU outside the container's
        // cgroup), but a function can still reopen the pipes through /proc/1/fd/1 (docker-init's,
        // same uid): for that, and for java17 (whose fds stay on the pipes), only this bound holds.
        LogConfig: { Type: 'json-file', Config: { 'max-size': String(Math.max(32 * 1024, Math.floor(this.logFileBytes / 2))), 'max-file': '2' } },
        // The host by name, for --container-host-ports (reachable only from an egress network, only on those ports).
        ...(this.hostPorts.length > 0 ? { ExtraHosts: [`${HOST_NAME}:host-gateway`] } : {}),
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,nosuid,nodev,size=${Math.max(16, Math.min(512, spec.memoryMb))}m` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        PidsLimit: spec.pids,
        Memory: spec.memoryMb * 1024 * 1024,
        MemorySwap: spec.memoryMb * 1024 * 1024,
        NanoCpus: Math.round(spec.cpus * 1e9),
        AutoRemove: false,
        Init: true,
      },
    });
  }

  /**
   * Gives a running container (a stem cell taken by a function with egress rules) the function's
   * egress network besides the internal one: its default route goes out through it; the host
   * still reaches it at its internal address.
   */
  async joinEgress(id: string, functionName: string): Promise<void> {
    try {
      const networkId = await this.joinEgressNetwork(functionName, id);
      await this.docker.getNetwork(networkId).connect({ Container: id });
    } catch (err) {
      this.leaveEgressNetwork(id);
      throw err;
    }
  }

  /**
   * The function's egress network (made now if it has none): a bridge with a route out, with
   * inter-container traffic off, only ever for this function's containers, and, as root, closed
   * to the host as the functions network is. `member` is counted on it until it leaves.
   */
  private joinEgressNetwork(functionName: string, member: string): Promise<string> {
    let net = this.egressNets.get(functionName);
    if (net === undefined) {
      const hash = createHash('sha256').update(functionName).digest('hex').slice(0, 12);
      const name = `${EGRESS_NETWORK_PREFIX}${this.identity.runId.slice(0, 8)}-${hash}-${(++this.egressSeq).toString(36)}`;
      const made: EgressNetwork = { name, members: new Set(), id: Promise.resolve('') };
      made.id = this.docker.createNetwork({
        Name: name, Driver: 'bridge', Internal: false, CheckDuplicate: true,
        Options: { 'com.docker.network.bridge.enable_icc': 'false' },
        Labels: { [MANAGED_LABEL]: 'network', ...this.ownLabels(), [EGRESS_LABEL]: functionName },
      }).then(async (n) => {
        await closeHostToContainers(n.id, this.hostPorts).catch(() => undefined);
        return n.id;
      });
      made.id.catch(() => { if (this.egressNets.get(functionName) === made) this.egressNets.delete(functionName); });
      this.egressNets.set(functionName, made);
      net = made;
    }
    net.members.add(member);
    this.egressOf.set(member, functionName);
    return net.id;
  }

  private renameMember(from: string, to: string): void {
    const fn = this.egressOf.get(from);
    if (fn === undefined) return;
    this.egressOf.delete(from);
    this.egressOf.set(to, fn);
    const net = this.egressNets.get(fn);
    if (net?.members.delete(from)) net.members.add(to);
  }

  /** `member` is off its egress network; the network goes with its last member. */
  private leaveEgressNetwork(member: string): void {
    const fn = this.egressOf.get(member);
    if (fn === undefined) return;
    this.egressOf.delete(member);
    const net = this.egressNets.get(fn);
    if (net === undefined || !net.members.delete(member) || net.members.size > 0) return;
    this.egressNets.delete(fn);
    const p = net.id.then((id) => this.removeNetwork(id), () => undefined);
    this.removing.add(p);
    void p.finally(() => this.removing.delete(p));
  }

  /**
   * This run's egress networks that it no longer holds (forgotten when the engine went away, or
   * whose removal failed then): removed once the engine is back. One still in use stays (its
   * removal is refused), and goes at the next start's sweep.
   */
  private async removeStrayEgressNetworks(): Promise<void> {
    try {
      const held = new Set([...this.egressNets.values()].map((n) => n.name));
      const nets = await this.docker.listNetworks({ filters: JSON.stringify({ label: [`${RUN_LABEL}=${this.identity.runId}`] }) });
      await Promise.all(nets.filter((n) => !held.has(n.Name) && n.Name.startsWith(EGRESS_NETWORK_PREFIX)).map((n) => this.removeNetwork(n.Id)));
    } catch {
      // The engine went again: the next time it is back.
    }
  }

  /** Removes a network and its host rules; never throws (what stays, the next start's sweep removes). */
  private async removeNetwork(id: string): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.docker.getNetwork(id).remove();
        break;
      } catch (err) {
        const code = (err as { statusCode?: number }).statusCode;
        if (code === 404) break;
        // 403/409 "has active endpoints": a container's removal is still being finished.
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await openHostToContainers(id, this.hostPorts).catch(() => undefined);
  }

  private readonly removing = new Set<Promise<void>>();
  /** Containers whose removal failed (the engine was gone): tried again when it is back. */
  private readonly unremoved = new Set<string>();

  /** The ids of the running containers this process made. */
  async running(): Promise<Set<string>> {
    const list = await this.docker.listContainers({ filters: JSON.stringify({ label: [`${RUN_LABEL}=${this.identity.runId}`], status: ['running'] }) });
    return new Set(list.map((c) => c.Id));
  }

  /** Removes a container (killing it first); never throws. */
  remove(id: string): Promise<void> {
    const p = this.docker.getContainer(id).remove({ force: true, v: true }).then(
      () => { this.unremoved.delete(id); this.leaveEgressNetwork(id); },
      async (err: { statusCode?: number }) => {
        // 404: already gone. 409: the engine is removing it already (an earlier call, or its own
        // clean-up of a container a stop killed): done once that ends. Otherwise the engine is gone
        // (or refused): again when it is back, and at Hearth's stop; what is left then, the
        // leftover sweep at the next start removes.
        if (err?.statusCode === 404 || (err?.statusCode === 409 && await this.gone(id, REMOVAL_WAIT_MS))) {
          this.unremoved.delete(id);
          this.leaveEgressNetwork(id);
        } else this.unremoved.add(id);
      },
    );
    this.removing.add(p);
    void p.finally(() => this.removing.delete(p));
    return p;
  }

  /** Whether the container is gone within `ms` (asked every 100 ms). */
  private async gone(id: string, ms: number): Promise<boolean> {
    const until = Date.now() + ms;
    for (;;) {
      try {
        await this.docker.getContainer(id).inspect();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode === 404) return true;
      }
      if (Date.now() >= until) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * At shutdown: resolves when the removals asked for so far are done, after asking once more
   * for those that failed while the engine was gone.
   */
  async settled(): Promise<void> {
    if (this.closed) {
      // Starts in flight remove their containers as they complete (runOnce); waited for, within a
      // bound (what an engine that hangs leaves, the next start on this data dir sweeps).
      await withTimeout(Promise.allSettled([...this.runs]), START_WAIT_MS, '').catch(() => undefined);
      // Whatever of this run is still there (a container whose owner was still starting it, e.g.
      // waiting for its server or loading its code, when the pool let go): removed too. At
      // shutdown every container of this run goes.
      await this.removeOwnRun();
    }
    if (this.available) for (const id of this.unremoved) void this.remove(id);
    // A container's removal may start its egress network's: wait for those too.
    while (this.removing.size > 0) await Promise.all([...this.removing]);
  }

  /** Removes every container of this run (at shutdown); never throws. */
  private async removeOwnRun(): Promise<void> {
    try {
      const list = await withTimeout(
        this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [`${RUN_LABEL}=${this.identity.runId}`] }) }),
        START_WAIT_MS, 'the Docker engine did not list the containers',
      );
      await Promise.all(list.map((c) => this.remove(c.Id)));
    } catch {
      // The engine is gone: the next start on this data dir sweeps what is left.
    }
  }

  /**
   * Removes the containers and egress networks an earlier run on this data dir left behind: its
   * owner's, of another run. What other Hearths on this engine made (another owner) is never
   * touched, whatever their pids; containers of Hearths before run ids (labelled with a pid) go
   * when no process of that pid runs here. Returns how many containers.
   */
  async removeLeftovers(): Promise<number> {
    const list = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [MANAGED_LABEL] }) });
    const stale = list.filter((c) => this.isLeftover(c.Labels)
      || (c.Labels[OWNER_LABEL] === undefined && /^\d+$/.test(c.Labels[MANAGED_LABEL] ?? '') && !processRuns(Number(c.Labels[MANAGED_LABEL]))));
    await Promise.all(stale.map((c) => this.remove(c.Id)));
    const nets = await this.docker.listNetworks({ filters: JSON.stringify({ label: [`${OWNER_LABEL}=${this.identity.owner}`] }) });
    await Promise.all(nets.filter((n) => this.isLeftover(n.Labels ?? {})).map((n) => this.removeNetwork(n.Id)));
    await dropRulesOfGoneBridges().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'could not look for the host rules of removed networks'));
    return stale.length;
  }

  private isLeftover(labels: Record<string, string>): boolean {
    return labels[OWNER_LABEL] === this.identity.owner && labels[RUN_LABEL] !== this.identity.runId;
  }

  /** The image's id (sha256:…), or null when the engine has no such image. */
  async imageId(ref: string): Promise<string | null> {
    try {
      return (await this.docker.getImage(ref).inspect()).Id;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw err;
    }
  }

  /** Memory a container uses now, MiB (0 when unknown). */
  async memoryMb(id: string): Promise<number> {
    try {
      const s = await this.docker.getContainer(id).stats({ stream: false }) as { memory_stats?: { usage?: number } };
      return (s.memory_stats?.usage ?? 0) / (1024 * 1024);
    } catch {
      return 0;
    }
  }

  /**
   * Follows a container's stdout and stderr (docker-log-lines.ts cuts Docker's stamped frames back
   * into lines). Ends when the container is removed.
   */
  followLogs(id: string, onLine: OutputLine): Promise<void> {
    return new Promise((resolve, reject) => {
      this.docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, since: 0, timestamps: true }, (err, stream) => {
        if (err || !stream) {
          reject(err instanceof Error ? err : new Error(`no log stream for container ${id.slice(0, 12)}`));
          return;
        }
        const rate = new LogRate(this.logBytesPerSec, (ms) => {
          // Over the rate: Docker is not read for a while (its log file rotates meanwhile).
          (stream as NodeJS.ReadableStream).pause();
          setTimeout(() => (stream as NodeJS.ReadableStream).resume(), ms).unref();
        });
        const frame = logLines(onLine, rate);
        const out = { write: (b: Buffer) => { frame(0, b); return true; } };
        const errOut = { write: (b: Buffer) => { frame(1, b); return true; } };
        this.docker.modem.demuxStream(stream as NodeJS.ReadableStream, out as unknown as NodeJS.WritableStream, errOut as unknown as NodeJS.WritableStream);
        (stream as NodeJS.ReadableStream).on('error', () => undefined);
        resolve();
      });
    });
  }
}

/** How long shutdown waits for the containers being started (each then removed). */
const START_WAIT_MS = 10_000;
/** A functions network younger than this may have a twin still being made by another process (see settleNetwork). */
const NETWORK_SETTLE_MS = 1_000;
/** Lists NETWORK_SETTLE_MS / 4 apart until two agree on one network: at most this many (2 s). */
const NETWORK_SETTLE_TRIES = 8;

/** How long a removal the engine has in progress is waited for. */
const REMOVAL_WAIT_MS = 15_000;

/** Whether a process with this id runs on this machine (the containers' owner). */
function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(message)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e) => { clearTimeout(t); reject(e); });
  });
}

/**
 * Containers on the functions network may not open connections to the host (e.g. Hearth's API
 * when it listens beyond loopback): iptables INPUT rules on the bridge, replies excepted, and on an
 * egress network the --container-host-ports. Needs root and iptables; without them it does nothing
 * (Hearth on 127.0.0.1 is out of reach anyway).
 */
function hostRules(networkId: string, ports: readonly number[] = []): string[][] {
  const bridge = `br-${networkId.slice(0, 12)}`;
  return [
    ['-i', bridge, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ...ports.map((p) => ['-i', bridge, '-p', 'tcp', '--dport', String(p), '-j', 'ACCEPT']),
    ['-i', bridge, '-j', 'DROP'],
  ];
}

/** Takes a removed network's host rules away (they would name a bridge that is gone). */
async function openHostToContainers(networkId: string, ports: readonly number[] = []): Promise<void> {
  if (process.getuid?.() !== 0) return;
  for (const r of hostRules(networkId, ports)) {
    while (await iptables(['-C', 'INPUT', ...r]).then(() => true, () => false)) await iptables(['-D', 'INPUT', ...r]);
  }
}

async function closeHostToContainers(networkId: string, ports: readonly number[] = []): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const rules = hostRules(networkId, ports);
  for (const r of rules) {
    const exists = await iptables(['-C', 'INPUT', ...r]).then(() => true, () => false);
    if (!exists) await iptables([r[r.length - 1] === 'DROP' ? '-A' : '-I', 'INPUT', ...r]);
  }
}

/**
 * Host rules (hostRules) of bridges that no longer exist: a Hearth killed before it removed its
 * networks leaves them, and nothing else would ever take them away. Only rules on an interface
 * named like a Docker bridge (br-<12 hex>) that is gone are removed.
 */
export async function dropRulesOfGoneBridges(): Promise<number> {
  if (process.getuid?.() !== 0) return 0;
  const listed = await new Promise<string>((resolve, reject) => {
    execFile('iptables', ['-w', '-S', 'INPUT'], (err, out) => (err ? reject(err) : resolve(out)));
  });
  let dropped = 0;
  for (const line of listed.split('\n')) {
    const m = /^-A INPUT -i (br-[0-9a-f]{12}) (.*)$/.exec(line.trim());
    if (m === null || existsSync(`/sys/class/net/${m[1]}`)) continue;
    await iptables(['-D', 'INPUT', '-i', m[1]!, ...m[2]!.split(' ')]).then(() => { dropped++; }, () => undefined);
  }
  return dropped;
}

function iptables(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('iptables', ['-w', ...args], (err) => (err ? reject(err) : resolve()));
  });
}
