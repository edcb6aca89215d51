// What every container of this tier is, whichever image it runs: started through the engine,
// ready once its server answers, measured, and, when it stops answering or is gone, broken
// (pool/lifecycle.ts) and removed. runtime-container.ts (python3, java17) and image-container.ts
// (a function's own image) are the two kinds, and say how a call is made.

import { randomBytes } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import type { CallRequest, LogSink, RunResult } from '../core/call.js';
import { HearthError, UndeliveredCall } from '../core/errors.js';
import { isOver, type EndCause } from '../pool/lifecycle.js';
import { PoolMember, type CallableInstance } from '../pool/pool-member.js';
import { countOversized } from './channel-counters.js';
import { RUNTIME_LABEL, type ContainerRuntime } from './contract.js';
import type { ContainerSpec, Engine } from './engine.js';

/**
 * Keep-alive connections to the containers' servers (readiness, /init, custom images' calls). An
 * answer's head is bounded here (undici refuses one past it); bodies by readBounded. A connection
 * not made in CONNECT_TIMEOUT_MS never will be (as BootstrapClient's): a custom image's call to a
 * container killed from outside, before its death is reported, goes to another container then
 * (UND_ERR_CONNECT_TIMEOUT: never connected) instead of waiting out undici's 10 s or its limit.
 */
export const CONNECT_TIMEOUT_MS = 2_000;
export const agent = new Agent({ keepAliveTimeout: 60_000, connections: 64, maxHeaderSize: 64 * 1024, connect: { timeout: CONNECT_TIMEOUT_MS } });

/** The result of `maxResultBytes` when the backend is not told (Lambda's 6 MB synchronous response). */
export const DEFAULT_MAX_RESULT_BYTES = 6 * 1024 * 1024;

/**
 * A container's answer body, taken as it arrives and never past `max` bytes (a declared
 * Content-Length over it is refused before a byte is read): null when over, the body destroyed,
 * which closes its connection.
 */
export async function readBounded(body: Dispatcher.ResponseData['body'], headers: Dispatcher.ResponseData['headers'], max: number): Promise<Buffer | null> {
  // Destroying it (below) emits an abort error: it is the point, not a fault.
  body.on('error', () => undefined);
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    body.destroy();
    return null;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** Errors of a connection that was never made (nothing written on it): refused, unreachable. */
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'UND_ERR_CONNECT_TIMEOUT']);

/** Whether an error of undici or node:net is a connection that was never made. */
export function neverConnected(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_CONNECTED.has(code);
}

let nextName = 0;

/** What a container is started with (the engine's spec, less what every container has). */
export interface Launch extends Omit<ContainerSpec, 'name' | 'labels'> {
  runtime: ContainerRuntime | 'image';
  labels?: Record<string, string>;
}

/** A started container, before its server answered. */
export interface Launched {
  launch: Launch;
  id: string;
  address: string;
  port: number;
  /** The engine's epoch when it was made (engine.ts). */
  epoch: number;
}

/** Starts a container through the engine (its server may not listen yet). */
export async function launch(engine: Engine, l: Launch): Promise<Launched> {
  // Random too: two Hearths on one engine may have the same pid (each pid 1 in its own container).
  const name = `hearth-${l.runtime}-${process.pid}-${Date.now().toString(36)}-${(++nextName).toString(36)}-${randomBytes(3).toString('hex')}`;
  const epoch = engine.epoch;
  const { runtime: _runtime, labels, ...spec } = l;
  const where = await engine.run({ ...spec, name, labels: { [RUNTIME_LABEL]: l.runtime, ...labels } });
  return { launch: l, ...where, epoch };
}

export abstract class Container extends PoolMember implements CallableInstance {
  readonly containerId: string;
  readonly address: string;
  readonly port: number;
  readonly runtime: ContainerRuntime | 'image';
  /** The memory limit, MiB. */
  readonly memoryMb: number;
  /** CPU share and pids limit the container has now (a stem cell's change when specialized). */
  cpus: number;
  pids: number;
  /**
   * Memory in use from the engine's stats, MiB (0 until measured). The pool moves it into
   * footprintMb, and its total, at a sweep; until then the footprint is the limit.
   */
  measuredMb = 0;
  private measuredAt = -Infinity;
  private readonly epoch: number;
  /** The engine's removal of the container, once asked for (by a kill or by dispose: once). */
  private removal: Promise<void> | null = null;

  protected constructor(protected readonly engine: Engine, c: Launched, protected readonly sink: LogSink) {
    super('c');
    this.containerId = c.id;
    this.address = c.address;
    this.port = c.port;
    this.runtime = c.launch.runtime;
    this.memoryMb = c.launch.memoryMb;
    this.cpus = c.launch.cpus;
    this.pids = c.launch.pids;
    this.epoch = c.epoch;
  }

  get base(): string {
    return `http://${this.address}:${this.port}`;
  }

  abstract call(req: CallRequest): Promise<RunResult>;

  /** Closes the kind's own connections to the container (its resources besides the container). */
  protected abstract disconnect(): void;

  /**
   * Polls the server until it answers (any HTTP answer counts for custom images). A container
   * that does not is disposed.
   */
  protected async ready(timeoutMs: number, path: string): Promise<void> {
    try {
      await this.waitReady(timeoutMs, path);
    } catch (err) {
      this.dispose();
      throw err;
    }
  }

  private async waitReady(timeoutMs: number, path: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      // The engine went away since the container was made, and the container with it: give up
      // now, not after the whole wait (the stem-cell reserve waits behind this start).
      // Hearth is stopping: the engine removes what it started (Engine.settled).
      if (this.engine.closed) throw new HearthError('Draining', `Hearth is shutting down: container ${this.containerId.slice(0, 12)} (${this.runtime}) is not waited for`);
      if (this.engine.epoch !== this.epoch) {
        throw new HearthError('BackendUnavailable', `the Docker engine went away while container ${this.containerId.slice(0, 12)} (${this.runtime}) started`);
      }
      try {
        const r = await request(`${this.base}${path}`, { dispatcher: agent, headersTimeout: 1_000, bodyTimeout: 1_000 });
        await r.body.dump();
        return;
      } catch (err) {
        last = (err as Error).message;
        await new Promise((r) => setTimeout(r, 15));
      }
    }
    throw new HearthError('BackendUnavailable', `container ${this.containerId.slice(0, 12)} (${this.runtime}) did not start listening on port ${this.port} in ${timeoutMs} ms: ${last}`);
  }

  /** A call ran past its time limit: the container is replaced (what runs in it cannot be stopped otherwise). */
  protected timedOut(): HearthError {
    this.kill('timeout');
    return new HearthError('Timeout', `${this.functionName}: task timed out after ${this.timeoutMs} ms (the container was replaced)`);
  }

  /**
   * The container answered more than its bound (maxResultBytes): the call fails with
   * ResultTooLarge. `replace`: what wrote it (the function, writing on its bootstrap's socket) may
   * have left the container in any state, so it is replaced.
   */
  protected tooLarge(what: string, max: number, replace: boolean): HearthError {
    countOversized(this.runtime);
    if (replace) this.kill('crash');
    return new HearthError('ResultTooLarge', `${this.functionName}: ${what} is over the limit of ${max} bytes (--max-result-bytes)${replace ? '; the container was replaced' : ''}`, { functionError: true });
  }

  /** A container that stopped answering: it crashed or was killed. */
  protected failure(err: unknown, what: string): HearthError {
    if (this.endCause === 'shutdown') return new HearthError('Draining', `${this.functionName}: the container was shut down during the call`);
    this.kill('crash');
    return new HearthError('InstanceFailed', `${this.functionName || this.runtime}: the container stopped answering during ${what} (${(err as Error)?.message ?? err}); it was replaced`);
  }

  /**
   * The call never reached the container (it refused the connection): it is dead, though its exit
   * was not reported yet. Broken and removed; the call may go to another one (UndeliveredCall).
   */
  protected undelivered(err: unknown): HearthError {
    if (this.endCause === 'shutdown') return new HearthError('Draining', `${this.functionName}: the container was shut down during the call`);
    this.kill('crash');
    return new UndeliveredCall(`${this.functionName || this.runtime}: the container could not be reached (${(err as Error)?.message ?? err}); it was replaced`);
  }

  /** Its container is gone (it exited, or the engine restarted without it): never handed out again. */
  lost(): void {
    this.kill('crash');
  }

  /** Broken: never routed again; the container goes now (the pool disposes the instance once its calls are accounted for). */
  private kill(cause: EndCause): void {
    if (this.markBroken(cause)) this.release();
  }

  /** Torn down (the pool moves it to disposed first; a stem cell or a deploy's check is not pooled). */
  dispose(): void {
    // Torn down with a call on it (Hearth is stopping): that call fails as Draining, not as a crash.
    if (this.endCause === null && this.inFlight > 0) this.endCause = 'shutdown';
    this.markDisposed();
    this.release();
  }

  private release(): void {
    if (this.removal !== null) return;
    this.disconnect();
    this.removal = this.engine.remove(this.containerId);
  }

  /** Asks the engine again, at most every 30 s (the pool's sweep asks every time it runs). */
  async measure(now = performance.now()): Promise<void> {
    if (now - this.measuredAt < 30_000 || isOver(this.state)) return;
    this.measuredAt = now;
    const mb = await this.engine.memoryMb(this.containerId);
    if (mb > 0) this.measuredMb = mb;
  }
}
