// An Engine (container-fallback/engine.ts) without Docker, for the container tier's unit tests:
// each "container" is an in-process HTTP server on 127.0.0.1 (an ephemeral port) that answers as
// the runtime bootstraps do (GET /health, POST /init, POST /invoke: 200 with X-Hearth-Outcome and
// X-Hearth-Log-Bytes, the body the call's log lines as JSON then the result), or, for a custom
// image, as a small server of its own. The test moves the engine: away and back, a container's
// exit (reported, or silent while the engine is away), an image it does not have, output lines.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContainerSpec, Engine, OutputLine, RunningContainer } from '../../container-fallback/engine.js';

/** The body of POST /init, as the host sends it. */
export interface FakeInit {
  functionName: string;
  version: string;
  handler: string;
  code: { source?: string; filename?: string; zip?: string; jar?: string };
  env: Record<string, string>;
  timeoutMs: number;
  memoryMb: number;
}

export interface FakeCallContext {
  requestId: string;
  init: FakeInit;
  /** The container's id. */
  container: string;
  /** What the handler writes during the call (returned with it, as the bootstraps do). */
  print(line: string, stream?: 0 | 1): void;
}

/** A function's handler in a runtime container: its return value is the result; a throw is the function's error. */
export type FakeHandler = (event: unknown, ctx: FakeCallContext) => unknown;

export interface FakeAnswer { status: number; headers?: Record<string, string>; body: string }
/** A custom image's server. */
export type FakeImageServer = (req: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }, container: FakeContainer) => FakeAnswer;

export interface FakeContainer {
  readonly id: string;
  readonly spec: ContainerSpec;
  readonly runtime: string;
  readonly port: number;
  running: boolean;
  /** POST /invoke or /event-invoke calls it answered. */
  calls: number;
  init: FakeInit | null;
  /** The last limit() asked of it. */
  limits: { cpus: number; pids: number };
  /** The function whose egress network it was given after it started (joinEgress), or null. */
  egress: string | null;
  readonly server: Server;
}

export class FakeEngine implements Engine {
  available = true;
  epoch = 0;
  lastError = '';
  closed = false;
  readonly containers = new Map<string, FakeContainer>();
  /** Image references the engine does not have. */
  readonly missing = new Set<string>();
  /** What a runtime container's function does (default: returns {event, container}). */
  handler: FakeHandler = (event, ctx) => ({ event, container: ctx.container });
  /** A load failure's message for this /init, or null: it loads. */
  initError: (init: FakeInit) => string | null = () => null;
  /** A custom image's server (default: GET / answers; POST /event-invoke echoes; anything else says what it got). */
  imageServer: FakeImageServer = defaultImageServer;
  private reachable = true;
  private readonly listeners: ((up: boolean) => void)[] = [];
  private onExit: ((id: string) => void) | null = null;
  private onGap: (() => void) | null = null;
  private readonly outputs = new Map<string, OutputLine>();
  private readonly stopping = new Set<Promise<void>>();

  // ---- Engine ----------------------------------------------------------------------------------

  async ping(): Promise<boolean> {
    this.set(this.reachable, this.reachable ? '' : 'the fake engine is away');
    return this.available;
  }

  watch(): void {
    // The test moves the engine (goAway, comeBack): nothing to poll.
  }

  onChange(fn: (up: boolean) => void): void {
    this.listeners.push(fn);
  }

  watchExits(onExit: (id: string) => void, onGap: () => void): void {
    this.onExit = onExit;
    this.onGap = onGap;
  }

  lost(err: unknown): void {
    this.set(false, err instanceof Error ? err.message : String(err));
  }

  async network(): Promise<string> {
    this.check();
    return 'fake-network';
  }

  async joinEgress(id: string, functionName: string): Promise<void> {
    this.check();
    const c = this.containers.get(id);
    if (c === undefined || !c.running) throw new Error(`no such container: ${id}`);
    c.egress = functionName;
  }

  async limit(id: string, cpus: number, pids: number): Promise<void> {
    this.check();
    const c = this.containers.get(id);
    if (c === undefined || !c.running) throw new Error(`no such container: ${id}`);
    c.limits = { cpus, pids };
  }

  async run(spec: ContainerSpec): Promise<RunningContainer> {
    this.check();
    if (this.missing.has(spec.image)) throw new Error(`No such image: ${spec.image}`);
    const id = randomBytes(32).toString('hex');
    const runtime = spec.labels['hearth.runtime'] ?? '';
    const server = createServer((req, res) => this.answer(id, req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    this.containers.set(id, { id, spec, runtime, port, running: true, calls: 0, init: null, limits: { cpus: spec.cpus, pids: spec.pids }, egress: null, server });
    return { id, address: '127.0.0.1', port };
  }

  async running(): Promise<Set<string>> {
    this.check();
    return new Set([...this.containers.values()].filter((c) => c.running).map((c) => c.id));
  }

  /** Stops it; as the real engine does, its exit is reported (a "die" event) while the engine is there. */
  remove(id: string): Promise<void> {
    return this.stop(id, true);
  }

  async settled(): Promise<void> {
    await Promise.all([...this.stopping]);
  }

  async removeLeftovers(): Promise<number> {
    return 0;
  }

  async imageId(ref: string): Promise<string | null> {
    this.check();
    return this.missing.has(ref) ? null : `sha256:${Buffer.from(ref).toString('hex').padEnd(64, '0').slice(0, 64)}`;
  }

  async memoryMb(id: string): Promise<number> {
    return this.containers.get(id)?.running ? 12 : 0;
  }

  async followLogs(id: string, onLine: OutputLine): Promise<void> {
    if (!this.containers.get(id)?.running) throw new Error(`no such container: ${id}`);
    this.outputs.set(id, onLine);
  }

  close(): void {
    this.closed = true;
    this.listeners.length = 0;
    this.onExit = null;
  }

  // ---- what the test does ------------------------------------------------------------------------

  /** The engine stops answering (its containers stay, as after a stall; stop them with die()). */
  goAway(why = 'connect ECONNREFUSED /var/run/docker.sock'): void {
    this.reachable = false;
    this.set(false, why);
  }

  comeBack(): void {
    this.reachable = true;
    this.set(true, '');
  }

  /** The container stops: reported as an exit while the engine is there, unnoticed while it is away. */
  die(id: string): Promise<void> {
    return this.stop(id, this.available);
  }

  /** The container stops and no exit is reported (the exit events had a gap). */
  dieUnreported(id: string): Promise<void> {
    return this.stop(id, false);
  }

  /** The exit events were interrupted while the engine stayed up. */
  gap(): void {
    this.onGap?.();
  }

  /** A line of the container's output, as the engine stamped it. */
  output(id: string, stream: 0 | 1, line: string, timeMs = Date.now()): void {
    this.outputs.get(id)?.(stream, timeMs, line);
  }

  /** The running containers of a runtime (python3, java17, image), oldest first. */
  runningOf(runtime: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.running && c.runtime === runtime);
  }

  /** POST /invoke and /event-invoke calls answered, in every container. */
  get calls(): number {
    let n = 0;
    for (const c of this.containers.values()) n += c.calls;
    return n;
  }

  // ---- inside ------------------------------------------------------------------------------------

  private check(): void {
    if (!this.reachable) throw new Error(this.lastError || 'the fake engine is away');
  }

  private set(up: boolean, error: string): void {
    this.lastError = error;
    if (up === this.available) return;
    this.available = up;
    if (!up) this.epoch++;
    for (const l of [...this.listeners]) l(up);
  }

  private stop(id: string, report: boolean): Promise<void> {
    const c = this.containers.get(id);
    if (c === undefined || !c.running) return Promise.resolve();
    c.running = false;
    this.outputs.delete(id);
    const p = new Promise<void>((resolve) => {
      c.server.close(() => resolve());
      c.server.closeAllConnections();
    });
    this.stopping.add(p);
    void p.finally(() => this.stopping.delete(p));
    if (report) setImmediate(() => this.onExit?.(id));
    return p;
  }

  private answer(id: string, req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const c = this.containers.get(id);
      if (c === undefined || !c.running) { res.destroy(); return; }
      const body = Buffer.concat(chunks);
      const path = (req.url ?? '/').split('?')[0]!;
      if (c.runtime === 'image') {
        if (path !== '/' || req.method !== 'GET') c.calls++;
        const a = this.imageServer({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body }, c);
        send(res, a.status, Buffer.from(a.body), a.headers ?? {});
        return;
      }
      if (req.method === 'GET' && path === '/health') return send(res, 200, Buffer.from('ok'), { 'content-type': 'text/plain' });
      if (req.method === 'POST' && path === '/init') return this.init(c, body, res);
      if (req.method === 'POST' && path === '/invoke') return void this.invoke(c, req, body, res);
      send(res, 404, errorJson('NotFound', `no route ${req.method} ${path}`));
    });
  }

  private init(c: FakeContainer, body: Buffer, res: ServerResponse): void {
    if (c.init !== null) return send(res, 409, errorJson('AlreadyInitialized', '/init was already called'));
    const init = JSON.parse(body.toString('utf8')) as FakeInit;
    const failed = this.initError(init);
    if (failed !== null) return send(res, 400, errorJson('InitError', failed));
    c.init = init;
    send(res, 200, Buffer.from('{"ok":true}'));
  }

  private async invoke(c: FakeContainer, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    if (c.init === null) return send(res, 409, errorJson('NotInitialized', 'the function is not initialized (new)'));
    c.calls++;
    const requestId = String(req.headers['x-hearth-request-id'] ?? '');
    const lines: string[] = [];
    const answer = (outcome: 'ok' | 'error' | 'bad-payload', payload: Buffer) => {
      const logs = lines.length > 0 ? Buffer.from(`[${lines.join(',')}]`) : Buffer.alloc(0);
      send(res, 200, Buffer.concat([logs, payload]), { 'content-type': 'application/json', 'x-hearth-outcome': outcome, 'x-hearth-log-bytes': String(logs.length) });
    };
    let event: unknown;
    try {
      if (String(req.headers['content-type'] ?? '').includes('msgpack')) throw new Error('the fake bootstrap reads JSON only');
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch (err) {
      return answer('bad-payload', errorJson((err as Error).name, `the request body is not valid JSON: ${(err as Error).message}`));
    }
    const ctx: FakeCallContext = {
      requestId, init: c.init, container: c.id,
      print: (line, stream = 0) => { lines.push(JSON.stringify([stream, Date.now(), line])); },
    };
    let result: unknown;
    try {
      result = await this.handler(event, ctx);
    } catch (err) {
      const e = err as Error;
      return answer('error', errorJson(e.name, e.message, ['  File "index.py", line 1, in handler']));
    }
    answer('ok', Buffer.from(JSON.stringify(result ?? null)));
  }
}

function send(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }): void {
  // The container may have been stopped (a timed-out call's) while the handler ran.
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { ...headers, 'content-length': String(body.length) });
  res.end(body);
}

function errorJson(errorType: string, errorMessage: string, stackTrace: string[] = []): Buffer {
  return Buffer.from(JSON.stringify({ errorType, errorMessage, stackTrace }));
}

function defaultImageServer(req: { method: string; path: string; headers: IncomingMessage['headers']; body: Buffer }): FakeAnswer {
  if (req.method === 'GET' && req.path === '/') return { status: 200, body: 'ok' };
  if (req.method === 'POST' && req.path === '/event-invoke') {
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ event: JSON.parse(req.body.toString('utf8') || 'null'), requestId: req.headers['x-hearth-request-id'] }) };
  }
  return {
    status: 200, headers: { 'content-type': 'application/json', 'x-image': 'yes' },
    body: JSON.stringify({ method: req.method, path: req.path, body: req.body.toString('utf8'), header: req.headers['x-client'] ?? null }),
  };
}
