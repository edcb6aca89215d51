// A deploy's heavy work (inflating a zip, bundling with esbuild, measuring a container archive)
// runs off the event loop, in worker threads, a bounded number at a time: a 1 MB zip bomb inflated
// on the main thread held every call for 2.4 s, and a 100,000-file zip for 6 s. Builds past the
// workers wait in a bounded queue (429 past it); one past its time has its worker stopped.
//
// Two implementations of one interface: WorkerDeployWork (Hearth's) and InlineDeployWork (the
// same work in-process, for unit tests and benches that construct a Registry by hand).

import { Worker } from 'node:worker_threads';
import { bundleFunction, type Bundle, type BundleInput } from '../bundler.js';
import { HearthError, type ErrorType, type Problem } from '../errors.js';
import { log } from '../log.js';
import { DEFAULT_ARCHIVE_LIMITS, unpackZip, type ArchiveLimits } from './archive.js';

export interface DeployWork {
  /** A js function's code (one source or a zip) → one script. */
  bundle(input: Omit<BundleInput, 'archive'>): Promise<Bundle>;
  /** A container runtime's zip or jar, inflated and measured only (its tier unpacks it later). */
  checkArchive(base64: string, what: string): Promise<void>;
  /** Figures for hearth_deploy_builds. */
  stats(): { running: number; queued: number };
  close(): Promise<void>;
}

export interface DeployWorkLimits {
  archive: ArchiveLimits;
  /** Builds at once (each its own worker thread). */
  concurrency: number;
  /** Builds waiting for a worker; past it a deploy is 429. */
  queueSize: number;
  timeoutMs: number;
}

/** A deploy worker's heap: a build past it is refused (413 ArchiveTooLarge). */
const WORKER_HEAP_MB = 512;

/** What a worker is asked, and answers. */
export type WorkOrder =
  | { op: 'bundle'; input: BundleInput }
  | { op: 'archive'; base64: string; what: string; limits: ArchiveLimits };
export type WorkRequest = WorkOrder & { id: number };
export type WorkReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; type: ErrorType | null; message: string; problems?: Problem[] };

/** The work itself, wherever it runs. */
export async function doWork(req: WorkOrder): Promise<unknown> {
  if (req.op === 'bundle') return bundleFunction(req.input);
  unpackZip(Buffer.from(req.base64, 'base64'), req.limits, req.what);
  return undefined;
}

/** In-process: the same work on the caller's thread (unit tests, benches). */
export class InlineDeployWork implements DeployWork {
  constructor(private readonly limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS) {}
  bundle(input: Omit<BundleInput, 'archive'>): Promise<Bundle> {
    return bundleFunction({ ...input, archive: this.limits });
  }
  async checkArchive(base64: string, what: string): Promise<void> {
    unpackZip(Buffer.from(base64, 'base64'), this.limits, what);
  }
  stats(): { running: number; queued: number } {
    return { running: 0, queued: 0 };
  }
  async close(): Promise<void> {}
}

interface Task {
  req: WorkOrder;
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

interface Slot {
  worker: Worker;
  task: (Task & { id: number; timer: NodeJS.Timeout }) | null;
}

/** The worker thread's script, beside this one in dist/. */
const WORKER_URL = new URL('./deploy-worker.js', import.meta.url);

export class WorkerDeployWork implements DeployWork {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly limits: DeployWorkLimits) {}

  bundle(input: Omit<BundleInput, 'archive'>): Promise<Bundle> {
    return this.run({ op: 'bundle', input: { ...input, archive: this.limits.archive } }) as Promise<Bundle>;
  }

  async checkArchive(base64: string, what: string): Promise<void> {
    await this.run({ op: 'archive', base64, what, limits: this.limits.archive });
  }

  stats(): { running: number; queued: number } {
    return { running: this.slots.filter((s) => s.task !== null).length, queued: this.queue.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new HearthError('Draining', 'Hearth is stopping'));
    await Promise.all(this.slots.splice(0).map((s) => {
      s.task?.reject(new HearthError('Draining', 'Hearth is stopping'));
      if (s.task) clearTimeout(s.task.timer);
      return s.worker.terminate();
    }));
  }

  private run(req: WorkOrder): Promise<unknown> {
    if (this.closed) return Promise.reject(new HearthError('Draining', 'Hearth is stopping'));
    return new Promise((resolve, reject) => {
      const task: Task = { req, resolve, reject };
      const slot = this.freeSlot();
      if (slot) return this.start(slot, task);
      if (this.queue.length >= this.limits.queueSize) {
        return reject(new HearthError('TooManyRequests', `${this.queue.length} deploy builds are waiting already (--deploy-queue-size); try again shortly`));
      }
      this.queue.push(task);
    });
  }

  /** An idle worker, or a new one while fewer than `concurrency` exist. */
  private freeSlot(): Slot | null {
    const idle = this.slots.find((s) => s.task === null);
    if (idle) return idle;
    if (this.slots.length >= this.limits.concurrency) return null;
    const slot: Slot = { worker: this.spawn(), task: null };
    this.slots.push(slot);
    this.watch(slot);
    return slot;
  }

  private spawn(): Worker {
    // Its heap is bounded (inflated bytes live in ArrayBuffers, bounded by the archive limits).
    return new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB }, stderr: false, stdout: false });
  }

  private watch(slot: Slot): void {
    slot.worker.on('message', (reply: WorkReply) => {
      const t = slot.task;
      if (!t || t.id !== reply.id) return;
      clearTimeout(t.timer);
      slot.task = null;
      slot.worker.unref();
      if (reply.ok) t.resolve(reply.value);
      else t.reject(reply.type ? new HearthError(reply.type, reply.message, reply.problems ? { problems: reply.problems } : {}) : new HearthError('InternalError', `deploy build failed: ${reply.message}`));
      this.next(slot);
    });
    const gone = (why: string, outOfMemory = false) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      const t = slot.task;
      slot.task = null;
      if (t) {
        clearTimeout(t.timer);
        log.warn({ why }, 'a deploy worker died');
        // Past its heap (WORKER_HEAP_MB): the code is too large to build here, a refusal like the archive limits.
        t.reject(outOfMemory
          ? new HearthError('ArchiveTooLarge', `the deploy build ran out of its ${WORKER_HEAP_MB} MiB of memory: the code is too large to bundle`)
          : new HearthError('InternalError', `the deploy build's worker stopped (${why})`));
      }
      // Waiting builds get a new worker.
      const task = this.queue.shift();
      if (task && !this.closed) this.start(this.freeSlot()!, task);
    };
    slot.worker.on('error', (err) => gone(err.message, (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY'));
    slot.worker.on('exit', (code) => gone(`exit ${code}`));
  }

  private start(slot: Slot, task: Task): void {
    const id = this.nextId++;
    const timer = setTimeout(() => {
      if (slot.task?.id !== id) return;
      slot.task = null;
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      void slot.worker.terminate();
      task.reject(new HearthError('DeployTimeout', `the deploy build ran past ${this.limits.timeoutMs} ms (--deploy-timeout-ms)`));
      const waiting = this.queue.shift();
      if (waiting) this.start(this.freeSlot()!, waiting);
    }, this.limits.timeoutMs);
    slot.task = { ...task, id, timer };
    slot.worker.ref();
    slot.worker.postMessage({ ...task.req, id });
  }

  private next(slot: Slot): void {
    const task = this.queue.shift();
    if (task) this.start(slot, task);
  }
}
