// Measurements Hearth runs on itself for the console (POST /v1/functions/{name}/bench): one at a
// time (a second is 409: two would measure each other), each in its own worker thread
// (bench-worker.ts) calling Hearth's own address over real HTTP, as `hearth bench` would from
// this machine. The last run is kept (its progress while it runs, then its result and picture)
// until the next one starts; a run past MAX_RUN_MS is stopped, and Hearth's stop ends a run first
// (its calls would otherwise hold the drain).

import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { Worker } from 'node:worker_threads';
import { HearthError } from '../errors.js';
import { log } from '../log.js';
import type { BenchWorkerData, BenchWorkerMessage } from './bench-worker.js';
import type { BenchResult, BenchSettings, Progress } from './types.js';

const WORKER_URL = new URL('./bench-worker.js', import.meta.url);
/** A run's longest life: 100 cold container starts and a 60 s warm phase fit well within it. */
export const MAX_RUN_MS = 10 * 60_000;
/** After 'stop', how long the worker has to sum up and draw what it measured before it is ended. */
const STOP_GRACE_MS = 10_000;
/** How long Hearth's stop waits for a measurement to end by itself before terminating its worker. */
const CLOSE_GRACE_MS = 2_000;

export interface BenchRun {
  id: string;
  functionName: string;
  state: 'running' | 'done' | 'stopped' | 'failed';
  settings: BenchSettings;
  startedAt: string;
  finishedAt: string | null;
  progress: Progress | null;
  error: { errorType: string; errorMessage: string } | null;
  result: BenchResult | null;
  svg: string | null;
}

/** The base URL of a listener on host:port, as a client on this machine reaches it. */
export function selfUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '') return `http://127.0.0.1:${port}`;
  if (host === '::') return `http://[::1]:${port}`;
  return isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

export class BenchRuns {
  private last: BenchRun | null = null;
  private worker: Worker | null = null;
  /** Asks the running measurement to stop (null: none runs). */
  private stopCurrent: (() => void) | null = null;
  private url: string | null = null;
  private closed = false;

  constructor(private readonly tokens: { adminToken?: string | undefined; invokeToken?: string | undefined }) {}

  /** Hearth listens now: where the runs' calls go. */
  listening(host: string, port: number): void {
    this.url = selfUrl(host, port);
  }

  get baseUrl(): string | null {
    return this.url;
  }

  get running(): boolean {
    return this.last?.state === 'running';
  }

  /** The function's last run (null: none since start, or another function's came after it). */
  get(functionName: string): BenchRun | null {
    return this.last?.functionName === functionName ? this.last : null;
  }

  /** Starts a run; 409 while one is running, 503 while Hearth stops. */
  start(functionName: string, settings: BenchSettings): BenchRun {
    if (this.closed || this.url === null) throw new HearthError('Draining', 'Hearth is stopping (or not listening yet): no measurement now');
    if (this.last?.state === 'running') {
      throw new HearthError('Conflict', `a measurement of "${this.last.functionName}" is running (started ${this.last.startedAt}); one runs at a time: wait for it or stop it (DELETE /v1/functions/${encodeURIComponent(this.last.functionName)}/bench)`);
    }
    const run: BenchRun = {
      id: randomUUID(), functionName, state: 'running', settings, startedAt: new Date().toISOString(), finishedAt: null,
      progress: null, error: null, result: null, svg: null,
    };
    const data: BenchWorkerData = {
      settings,
      ...(this.tokens.adminToken ? { adminToken: this.tokens.adminToken } : {}),
      ...(this.tokens.invokeToken ? { invokeToken: this.tokens.invokeToken } : {}),
    };
    const worker = new Worker(WORKER_URL, { workerData: data, stdout: false, stderr: false });
    this.worker = worker;
    this.last = run;
    let stopAsked = false;
    const requestStop = () => {
      if (stopAsked) return;
      stopAsked = true;
      worker.postMessage('stop');
      setTimeout(() => { void worker.terminate(); }, STOP_GRACE_MS).unref();
    };
    this.stopCurrent = requestStop;
    const deadline = setTimeout(requestStop, MAX_RUN_MS);
    deadline.unref();
    const end = (state: BenchRun['state'], error: BenchRun['error'] = null) => {
      if (run.state !== 'running') return;
      clearTimeout(deadline);
      run.state = state;
      run.error = error;
      run.finishedAt = new Date().toISOString();
      if (this.worker === worker) {
        this.worker = null;
        this.stopCurrent = null;
      }
    };
    worker.on('message', (m: BenchWorkerMessage) => {
      if (m.kind === 'progress') run.progress = m.progress;
      else if (m.kind === 'done') {
        run.result = m.result;
        run.svg = m.svg;
        end(stopAsked ? 'stopped' : 'done');
        void worker.terminate();
      } else {
        end('failed', { errorType: m.errorType, errorMessage: m.errorMessage });
        void worker.terminate();
      }
    });
    worker.on('error', (err) => {
      log.warn({ function: functionName, err: err.message }, 'a measurement\'s worker failed');
      end('failed', { errorType: 'InternalError', errorMessage: `the measurement's worker failed: ${err.message}` });
    });
    worker.on('exit', () => end(stopAsked ? 'stopped' : 'failed', stopAsked ? null : { errorType: 'InternalError', errorMessage: 'the measurement\'s worker ended without a result' }));
    log.info({ function: functionName, run: run.id, cold: settings.cold, warm: settings.warm, durationS: settings.durationS, concurrency: settings.concurrency }, 'measurement started');
    return run;
  }

  /** Asks the function's running measurement to stop (its result is what was measured so far); false when none runs. */
  stop(functionName: string): boolean {
    const run = this.get(functionName);
    if (run?.state !== 'running' || this.stopCurrent === null) return false;
    this.stopCurrent();
    return true;
  }

  /**
   * Hearth stops: the running measurement ends now (its calls would hold the drain). Asked to stop
   * first, so it cleans up after itself (its uWS echo child, its sockets); terminated if it has not
   * ended within CLOSE_GRACE_MS.
   */
  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((r) => w.once('exit', () => r()));
    this.stopCurrent?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => { timer = setTimeout(r, CLOSE_GRACE_MS); })]);
    clearTimeout(timer);
    await w.terminate();
  }
}
