// The container tier behind the Backend interface: stem cells per runtime image (started ahead,
// refilled in the background), per-version warm containers in the same InstancePool as isolates
// (same policy code), and the call itself over HTTP to the container's server.
//
// Without a Docker engine, or without the runtime image, calls answer 503 with what to do; the
// engine is watched, and the tier works again when it is back.

import type { Backend, BackendStats, FunctionVersion, InstanceInfo, ReserveLevel } from '../core/backend.js';
import { SUPERSEDED, type CallOutcome, type CallRequest, type LogSink, type Superseded } from '../core/call.js';
import { HearthError, UndeliveredCall } from '../core/errors.js';
import { log } from '../core/log.js';
import { InstancePool, type InstanceFactory, type PoolSettings } from '../pool/instance-pool.js';
import { InstanceState } from '../pool/lifecycle.js';
import { Reserve } from '../pool/reserve.js';
import { DEFAULT_MAX_RESULT_BYTES, type Container } from './container.js';
import { CONTAINER_RUNTIMES, isContainerRuntime, type ContainerRuntime } from './contract.js';
import { NO_ENGINE_HELP, type Engine } from './engine.js';
import { urlEventCall, urlOutcome } from './function-url.js';
import { ImageContainer } from './image-container.js';
import { runtimeImageTag } from './images.js';
import { RuntimeContainer } from './runtime-container.js';

export interface ContainerBackendOptions extends PoolSettings {
  /** Stem cells kept ready per runtime image. */
  stemCells: number;
  defaultMemoryMb: number;
  /** CPU share of each container, in cores. */
  cpus: number;
  /** Largest result of a call (a container's answer past it fails the call: ResultTooLarge). */
  maxResultBytes?: number;
}

export interface CodeSource {
  getCode(digest: string): Buffer;
}

/** Processes and threads a container may have when its spec does not say (Docker's --pids-limit). */
export const DEFAULT_PIDS = 256;

export class ContainerBackend implements Backend {
  readonly tier = 'container' as const;
  readonly pool: InstancePool<Container>;
  /** Stem cells by runtime, at the default memory size (pool/reserve.ts). */
  private readonly stems: Reserve<RuntimeContainer>;
  private closed = false;
  /** Runtime images found in the engine (runtime → present). */
  private readonly images = new Map<ContainerRuntime, boolean>();
  /** Set while the instances are checked against the engine that came back; calls wait for it. */
  private reconciling: Promise<void> | null = null;

  constructor(
    private readonly opts: ContainerBackendOptions,
    private readonly engine: Engine,
    private readonly code: CodeSource,
    private readonly sink: LogSink,
  ) {
    const factory: InstanceFactory<Container> = {
      create: (fn, requestId, scratch) => this.create(fn, requestId, scratch),
      dispose: (inst) => inst.dispose(),
      // Never reached the function (its container refused the connection): sent to another container.
      undelivered: (err) => err instanceof UndeliveredCall,
      estimateMb: (fn) => fn.spec.memoryMb,
      measure: (inst) => {
        void inst.measure();
        return inst.measuredMb || inst.memoryMb;
      },
    };
    this.pool = new InstancePool(factory, opts, {});
    this.stems = new Reserve<RuntimeContainer>({
      next: (have) => {
        if (!this.engine.available || this.closed) return null;
        return CONTAINER_RUNTIMES.find((r) => have(r) < opts.stemCells && this.images.get(r) !== false) ?? null;
      },
      make: (runtime) => this.startStem(runtime as ContainerRuntime, opts.defaultMemoryMb),
      dispose: (inst) => inst.dispose(),
      failed: (runtime, err) => {
        // A missing image is not retried until the engine comes back or a call asks for it.
        if (this.images.get(runtime as ContainerRuntime) === false) return null;
        log.warn({ runtime, err: (err as Error).message }, 'could not start a stem cell');
        return 2_000;
      },
    }, 25);
    engine.onChange((up) => {
      if (up) {
        log.info('Docker engine is back: the container tier works again');
        this.images.clear();
        const done = this.reconcile().finally(() => {
          if (this.reconciling === done) this.reconciling = null;
          this.stems.fill();
        });
        this.reconciling = done;
      } else {
        log.warn({ err: engine.lastError }, 'Docker engine is gone: container functions answer 503 until it is back');
        this.stems.clear();
      }
    });
    engine.watchExits((id) => this.exited(id), () => void this.resync());
  }

  /**
   * A container of this process stopped (the engine said so). A warm one — a reserved one too —
   * is dropped now and, below minInstances, started again without waiting for a call; a stem cell
   * is dropped from the reserve, which refills. Containers Hearth removed itself are no longer
   * held, so their own "die" changes nothing.
   */
  private exited(id: string): void {
    let lost = false;
    for (const inst of this.pool.live()) {
      if (inst.containerId === id) { inst.lost(); lost = true; }
    }
    if (lost) {
      log.info({ container: id.slice(0, 12) }, 'a warm container stopped: it is replaced');
      this.pool.dropBroken('exited');
    }
    let stem = false;
    this.stems.clear((s) => s.containerId === id && (stem = true));
    if (stem) this.stems.soon();
  }

  /** The exit events had a gap (the engine stayed up): the warm containers that stopped meanwhile go. */
  private async resync(): Promise<void> {
    const held = [...this.pool.live()];
    let running: Set<string>;
    try {
      running = await this.engine.running();
    } catch {
      return; // the engine is going: its watcher and reconcile() take it from here
    }
    for (const inst of held) if (!running.has(inst.containerId)) this.exited(inst.containerId);
  }

  /**
   * After the engine was gone: a warm container that is no longer running (a restarted engine
   * stops them all; one that only stalled keeps them) is dropped, so no call goes to its address,
   * which may be another container's by now.
   */
  private async reconcile(): Promise<void> {
    let running: Set<string>;
    try {
      running = await this.engine.running();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not list the containers after the Docker engine came back: dropping every warm container');
      running = new Set();
    }
    let lost = 0;
    for (const inst of this.pool.live()) {
      if (!running.has(inst.containerId)) { inst.lost(); lost++; }
    }
    this.pool.dropBroken('engine restarted');
    // A stem cell that finished starting as the engine went (after the reserve was cleared).
    this.stems.clear((s) => !running.has(s.containerId));
    if (lost > 0) log.info({ lost }, 'warm containers did not survive the Docker engine\'s absence: the next calls start new ones');
  }

  /**
   * The stem cells are started (or cannot be now: no engine, no runtime image). A stem cell that
   * fails for another reason is retried, and readiness waits for it: a replica that cannot start
   * containers should not be sent container calls.
   */
  ready(): Promise<void> {
    this.stems.fill();
    return this.stems.full();
  }

  private unavailable(): HearthError {
    return new HearthError('BackendUnavailable', `container functions cannot run: ${NO_ENGINE_HELP}${this.engine.lastError ? ` (${this.engine.lastError})` : ''}`);
  }

  private async imageFor(runtime: ContainerRuntime): Promise<string> {
    const tag = runtimeImageTag(runtime);
    if (this.images.get(runtime) !== true) {
      const id = await this.engine.imageId(tag).catch((err: unknown) => { this.engine.lost(err); throw this.unavailable(); });
      if (id === null) this.images.set(runtime, false);
      if (id === null) throw new HearthError('BackendUnavailable', `the ${runtime} runtime image (${tag}) is not in the Docker engine: run \`hearth images build\` (npm test's set-up does)`);
      this.images.set(runtime, true);
    }
    return tag;
  }

  /** Deploy-time: with an engine, load the code once in a fresh container (bad code is a 400 now). */
  async prepare(fn: FunctionVersion, code: Buffer): Promise<void> {
    if (!isContainerRuntime(fn.runtime)) return;
    if (!this.engine.available) return; // checked at the first call instead
    let inst: RuntimeContainer | null = null;
    try {
      // A container of its own: a deploy must not eat the stem cells that cold calls draw on.
      inst = await this.startStem(fn.runtime, fn.spec.memoryMb);
      await inst.specialize(fn, code, '', this.limits(fn));
    } catch (err) {
      if (err instanceof HearthError && err.type === 'FunctionInitError') {
        throw new HearthError('InitError', err.message, { functionStack: err.functionStack });
      }
      // The engine went away meanwhile: the function is stored, and its calls will say why.
      if (!this.engine.available) {
        log.warn({ function: fn.name, err: (err as Error).message }, 'could not check the code at deploy');
        return;
      }
      // The engine is there but the check could not run (no image, a container that did not start):
      // a deploy that cannot be checked is refused, not stored unchecked.
      throw err instanceof HearthError ? err : new HearthError('BackendUnavailable', `the code could not be checked: ${(err as Error).message}`);
    } finally {
      inst?.dispose();
    }
  }

  /** Deploy of runtime "image": the id of the image the reference names now. */
  async pinImage(reference: string): Promise<string> {
    if (!(await this.engine.ping())) {
      throw new HearthError('BackendUnavailable', `the image "${reference}" cannot be resolved: ${NO_ENGINE_HELP}`);
    }
    const id = await this.engine.imageId(reference);
    if (id === null) {
      throw new HearthError('InvalidSpec', `image: "${reference}" is not in the Docker engine (there is no registry to pull from: build or load it on this machine)`);
    }
    return id;
  }

  /**
   * One call. A web call to a python3 or java17 function runs as an event call of its own (the
   * Lambda function URL event, function-url.ts), and its outcome is made the web call's.
   */
  async invoke(fn: FunctionVersion, req: CallRequest): Promise<CallOutcome | Superseded> {
    if (!this.engine.available) throw this.unavailable();
    if (this.reconciling !== null) await this.reconciling;
    if (req.web === null || fn.runtime === 'image') return this.pool.serve(fn, req);
    const out = await this.pool.serve(fn, urlEventCall(req));
    return out === SUPERSEDED ? out : urlOutcome(fn, out);
  }

  private get maxResultBytes(): number {
    return this.opts.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES;
  }

  /** A cold start; `scratch`: a container started now, not a stem cell from the reserve. Custom images have no reserve: always from scratch. */
  private async create(fn: FunctionVersion, requestId: string, scratch: boolean): Promise<Container> {
    if (!this.engine.available) throw this.unavailable();
    if (fn.runtime === 'image') {
      try {
        const inst = await ImageContainer.start(this.engine, fn, { ...this.limits(fn), sink: this.sink, maxResultBytes: this.maxResultBytes });
        inst.footprintMb = inst.memoryMb; // the limit, until measured
        void inst.measure();
        return inst;
      } catch (err) {
        if (err instanceof HearthError) throw err;
        if (!(await this.engine.ping())) throw this.unavailable();
        throw new HearthError('BackendUnavailable', `could not start a container of ${fn.spec.image} (${fn.imageId}): ${(err as Error).message}`);
      }
    }
    if (!isContainerRuntime(fn.runtime)) throw new HearthError('InternalError', `${fn.name}: runtime ${fn.runtime} does not run in a container`);
    // Read before the first await: a redeploy meanwhile may drop this code from the store.
    const code = this.code.getCode(fn.codeDigest);
    const inst = await this.stemCell(fn.runtime, fn.spec.memoryMb, scratch);
    try {
      await inst.specialize(fn, code, requestId, this.limits(fn));
    } catch (err) {
      inst.dispose();
      throw err;
    }
    inst.footprintMb = inst.memoryMb; // the limit, until measured
    void inst.measure();
    return inst;
  }

  /** The CPU share and pids limit of the function's containers. */
  private limits(fn: FunctionVersion): { cpus: number; pids: number } {
    return { cpus: fn.spec.cpus ?? this.opts.cpus, pids: fn.spec.pids ?? DEFAULT_PIDS };
  }

  /** A ready stem cell of this runtime and memory size: from the reserve (unless `scratch`), else started now. */
  private async stemCell(runtime: ContainerRuntime, memoryMb: number, scratch: boolean): Promise<RuntimeContainer> {
    const ready = scratch ? undefined : this.stems.take(runtime, (s) => s.memoryMb === memoryMb && s.state === InstanceState.prewarmed);
    if (ready === undefined) return this.startStem(runtime, memoryMb);
    ready.startedFrom = 'reserve';
    return ready;
  }

  private async startStem(runtime: ContainerRuntime, memoryMb: number): Promise<RuntimeContainer> {
    const image = await this.imageFor(runtime);
    try {
      return await RuntimeContainer.start(this.engine, { runtime, image, memoryMb, cpus: this.opts.cpus, pids: DEFAULT_PIDS, sink: this.sink, maxResultBytes: this.maxResultBytes });
    } catch (err) {
      if (err instanceof HearthError) throw err;
      // The engine refused: is it still there?
      if (!(await this.engine.ping())) throw this.unavailable();
      throw new HearthError('BackendUnavailable', `could not start a ${runtime} container: ${(err as Error).message}`);
    }
  }

  retire(digest: string, gone = false): void {
    this.pool.retire(digest, gone);
  }

  reserve(fn: FunctionVersion): void {
    if (this.engine.available) this.pool.reserve(fn);
  }

  instances(digest?: string): InstanceInfo[] {
    return this.pool.describe('container', (i) => ({ container: i.containerId.slice(0, 12), address: i.address, memoryLimitMb: i.memoryMb, cpus: i.cpus, pids: i.pids }), digest);
  }

  stats(): BackendStats {
    return this.pool.stats(this.stems.size);
  }

  /** Stem cells per runtime (at the default memory size); none are kept without an engine or the runtime's image. */
  reserveLevels(): Record<string, ReserveLevel> {
    const out: Record<string, ReserveLevel> = {};
    for (const r of CONTAINER_RUNTIMES) {
      const target = !this.engine.available || this.closed || this.images.get(r) === false ? 0 : this.opts.stemCells;
      out[r] = { ready: Math.min(target, this.stems.count(r)), target, memoryMb: this.opts.defaultMemoryMb };
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    // First: containers still starting are given up (and removed by the engine), so the stem cell
    // or reserved instance being started does not hold the stop, nor outlive it.
    this.engine.close();
    await this.stems.close();
    await this.pool.close();
    await this.engine.settled();
  }
}
