// One container: started from a runtime image as a stem cell (prewarmed: the bootstrap listens,
// no function code), specialized with one version's code (POST /init), then invoked over HTTP on
// its address on the functions network (POST /invoke). The bootstrap answers every call it
// handled with 200 and `X-Hearth-Outcome`; its body is the call's log lines, then the result.

import { Agent, request } from 'undici';
import type { FunctionVersion, Invocation } from '../core/backend.js';
import { HearthError } from '../core/errors.js';
import { log } from '../core/log.js';
import { InstanceState, PoolMember } from '../pool/states.js';
import { Encoding } from '../runtime/protocol.js';
import { BootstrapClient, BootstrapTimeout } from './bootstrap-client.js';
import { FUNCTION_PORT, type Engine } from './engine.js';

export type HostLog = (functionName: string, requestId: string, stream: number, timeMs: number, message: string) => void;

let nextId = 0;
const CONTENT_TYPE = ['application/json', 'application/msgpack'] as const;
/** Keep-alive connections to the containers' servers. */
const agent = new Agent({ keepAliveTimeout: 60_000, connections: 64 });

export class ContainerInstance extends PoolMember {
  private dead = false;
  /** The engine's epoch when this container was made (engine.ts). */
  private epoch = 0;
  /** Why it was stopped, once it is. */
  private killed: 'timeout' | 'crash' | 'shutdown' | null = null;

  private constructor(
    private readonly engine: Engine,
    readonly containerId: string,
    readonly address: string,
    readonly runtime: string,
    readonly memoryMb: number,
    private readonly hostLog: HostLog,
    /** CPU share and pids limit the container has now (a stem cell's change when specialized). */
    public cpus: number,
    public pids: number,
  ) {
    super('c');
    this.client = new BootstrapClient(address, FUNCTION_PORT);
  }

  /** Kept-alive connections for /invoke (runtime bootstraps; custom images use undici). */
  private readonly client: BootstrapClient;

  get base(): string {
    return `http://${this.address}:${FUNCTION_PORT}`;
  }

  /** A stem cell: a started container whose bootstrap answers /health. */
  static async start(engine: Engine, opts: { image: string; runtime: string; memoryMb: number; cpus: number; pids: number; hostLog: HostLog; user?: string; cmd?: string[]; entrypoint?: string[]; env?: Record<string, string>; egress?: boolean; labels?: Record<string, string>; readyTimeoutMs?: number; healthPath?: string }): Promise<ContainerInstance> {
    const name = `hearth-${opts.runtime}-${process.pid}-${Date.now().toString(36)}-${(++nextId).toString(36)}`;
    const epoch = engine.epoch;
    const { id, address } = await engine.run({
      image: opts.image, name, memoryMb: opts.memoryMb, cpus: opts.cpus, pids: opts.pids, env: opts.env ?? {},
      egress: opts.egress ?? false, labels: { 'hearth.runtime': opts.runtime, ...opts.labels },
      ...(opts.user ? { user: opts.user } : {}), ...(opts.cmd ? { cmd: opts.cmd } : {}), ...(opts.entrypoint ? { entrypoint: opts.entrypoint } : {}),
    });
    const inst = new ContainerInstance(engine, id, address, opts.runtime, opts.memoryMb, opts.hostLog, opts.cpus, opts.pids);
    inst.epoch = epoch;
    try {
      await inst.waitReady(opts.readyTimeoutMs ?? 30_000, opts.healthPath ?? '/health');
    } catch (err) {
      inst.dispose();
      throw err;
    }
    return inst;
  }

  /** Polls the server until it answers (any HTTP answer counts for custom images). */
  private async waitReady(timeoutMs: number, path: string): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < until) {
      // The engine went away since the container was made, and the container with it: give up
      // now, not after the whole wait (the stem-cell reserve waits behind this start).
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
    throw new HearthError('BackendUnavailable', `container ${this.containerId.slice(0, 12)} (${this.runtime}) did not start listening on port ${FUNCTION_PORT} in ${timeoutMs} ms: ${last}`);
  }

  /**
   * Loads the version's code (POST /init), after setting the CPU share and pids limit the spec asks
   * for if the stem cell was started with others. A load failure is a FunctionInitError with the
   * bootstrap's words.
   */
  async specialize(fn: FunctionVersion, code: Buffer, requestId: string, limits: { cpus: number; pids: number }): Promise<void> {
    this.take(fn);
    if (limits.cpus !== this.cpus || limits.pids !== this.pids) {
      try {
        await this.engine.limit(this.containerId, limits.cpus, limits.pids);
      } catch (err) {
        throw this.failure(err, 'setting its limits');
      }
      this.cpus = limits.cpus;
      this.pids = limits.pids;
    }
    const isZip = code.length >= 4 && code[0] === 0x50 && code[1] === 0x4b && code[2] === 0x03 && code[3] === 0x04;
    const codeField = fn.runtime === 'java17' ? { jar: code.toString('base64') }
      : isZip ? { zip: code.toString('base64') }
      : { source: code.toString('utf8'), filename: `${fn.handler.slice(0, fn.handler.lastIndexOf('.')).replace(/\./g, '/')}.py` };
    const body = JSON.stringify({
      functionName: fn.name, version: fn.version, handler: fn.handler, code: codeField,
      env: fn.spec.env, timeoutMs: fn.spec.timeoutMs, memoryMb: fn.spec.memoryMb,
    });
    let r;
    try {
      r = await request(`${this.base}/init`, {
        method: 'POST', dispatcher: agent, body, headers: { 'content-type': 'application/json', 'x-hearth-request-id': requestId },
        headersTimeout: fn.spec.timeoutMs, bodyTimeout: fn.spec.timeoutMs,
      });
    } catch (err) {
      throw this.failure(err, 'init');
    }
    const text = await r.body.text();
    if (r.statusCode === 200) return;
    let e: { errorType?: string; errorMessage?: string; stackTrace?: string[] } = {};
    try { e = JSON.parse(text); } catch { e = { errorMessage: text.slice(0, 2000) }; }
    throw new HearthError('FunctionInitError', `${fn.name}: the code failed to load: ${e.errorMessage ?? `HTTP ${r.statusCode}`}`, { functionStack: e.stackTrace ?? [] });
  }

  /**
   * A custom image's container (runtime "image"): made for its version (no stem cell: the image is
   * the function's own), ready when its server answers on port 9000. Its stdout/stderr are followed
   * and each line goes to the call that had started when Docker read it (at concurrency 1 that is
   * the call that wrote it, unless Docker reads the pipe only after the next call has started; the
   * two streams are separate pipes, so their lines keep their order within each, not across).
   */
  static async forImage(engine: Engine, fn: FunctionVersion, opts: { cpus: number; pids: number; hostLog: HostLog }): Promise<ContainerInstance> {
    const inst = await ContainerInstance.start(engine, {
      image: fn.imageId!, runtime: 'image', memoryMb: fn.spec.memoryMb, cpus: opts.cpus, pids: opts.pids, hostLog: opts.hostLog,
      env: fn.spec.env, egress: fn.spec.egress.allow.length > 0,
      ...(fn.spec.command ? { entrypoint: fn.spec.command } : {}), ...(fn.spec.args ? { cmd: fn.spec.args } : {}),
      labels: { 'hearth.function': fn.name }, healthPath: '/', readyTimeoutMs: Math.max(10_000, fn.spec.timeoutMs),
    });
    inst.take(fn);
    inst.custom = true;
    inst.followLogs();
    return inst;
  }

  private custom = false;
  /**
   * The latest custom-image calls, oldest first: their request ids and when they started (ms).
   * A log line goes to the newest call that started at or before the engine's timestamp for it
   * (Docker stamps a line when it reads it from the container's pipe). The stream itself runs
   * behind, sometimes past the start of the next call, so its arrival time cannot say whose a
   * line is. Lines before the first call (the server starting) belong to no call. Docker's clock
   * is taken to be Hearth's: true of a local engine, not of a remote one whose clock is off.
   */
  private readonly callIds: string[] = [];
  private readonly callStarts: number[] = [];

  private callAt(timeMs: number): string {
    for (let i = this.callStarts.length - 1; i >= 0; i--) if (this.callStarts[i]! <= timeMs) return this.callIds[i]!;
    return '';
  }

  private followLogs(): void {
    const c = this.engine.docker.getContainer(this.containerId);
    c.logs({ follow: true, stdout: true, stderr: true, since: 0, timestamps: true }, (err, stream) => {
      if (err || !stream) {
        log.warn({ function: this.functionName, container: this.containerId.slice(0, 12), err: (err as Error | null)?.message }, "a custom image's output cannot be followed: its calls show no logs");
        return;
      }
      // One write per frame, and with timestamps every frame is "<RFC 3339 nano> <bytes>": a line,
      // or a 16 KiB piece of a longer one (its pieces each stamped; the line takes the first's).
      const line = [new LineBuffer(), new LineBuffer()];
      const frame = (streamNo: number, b: Buffer) => {
        const buf = line[streamNo]!;
        const sp = b.indexOf(0x20);
        const at = sp > 0 && sp < 40 ? Date.parse(b.toString('latin1', 0, sp)) : NaN;
        const stamped = !Number.isNaN(at);
        const time = stamped ? at : Date.now();
        if (!buf.started) buf.time = time;
        let rest = stamped ? b.subarray(sp + 1) : b;
        let nl: number;
        while ((nl = rest.indexOf(0x0a)) >= 0) {
          buf.add(rest.subarray(0, nl));
          this.hostLog(this.functionName, this.callAt(buf.time), streamNo, buf.time, buf.take());
          rest = rest.subarray(nl + 1);
          buf.time = time;
        }
        if (rest.length > 0) buf.add(rest);
      };
      const out = { write: (b: Buffer) => { frame(0, b); return true; } };
      const errOut = { write: (b: Buffer) => { frame(1, b); return true; } };
      this.engine.docker.modem.demuxStream(stream as NodeJS.ReadableStream, out as unknown as NodeJS.WritableStream, errOut as unknown as NodeJS.WritableStream);
      (stream as NodeJS.ReadableStream).on('error', () => undefined);
    });
  }

  /** A custom image's call: event calls POST /event-invoke; web calls pass through as they are. */
  private async callImage(inv: Invocation): Promise<void> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    if (this.callIds.length === 64) { this.callIds.shift(); this.callStarts.shift(); }
    this.callIds.push(inv.requestId);
    this.callStarts.push(Date.now());
    try {
      const web = inv.web;
      let path = '/event-invoke', method = 'POST';
      const headers: Record<string, string> = {
        'x-hearth-request-id': inv.requestId, 'x-scf-request-id': inv.requestId,
      };
      if (web !== undefined) {
        const u = new URL(web.url);
        path = u.pathname + u.search;
        method = web.method;
        for (let i = 0; i < web.headers.length; i += 2) {
          const k = web.headers[i]!;
          if (k === 'host' || k === 'connection' || k === 'content-length' || k === 'transfer-encoding' || k === 'keep-alive') continue;
          headers[k] = headers[k] === undefined ? web.headers[i + 1]! : `${headers[k]}, ${web.headers[i + 1]!}`;
        }
      } else {
        headers['content-type'] = CONTENT_TYPE[inv.reqEnc];
      }
      const r = await request(`${this.base}${path}`, {
        method: method as 'POST', dispatcher: agent, signal: ac.signal, headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.from(inv.body) }),
      });
      const bytes = Buffer.from(await r.body.arrayBuffer());
      clearTimeout(timer);
      inv.body = new ArrayBuffer(0);
      const result = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      if (web !== undefined) {
        const flat: string[] = [];
        for (const [k, v] of Object.entries(r.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) if (!/[\0\r\n]/.test(one)) flat.push(k.toLowerCase(), one);
        }
        inv.response = { status: r.statusCode < 200 || r.statusCode > 599 ? 502 : r.statusCode, statusText: '', headers: flat };
        inv.result = result;
        return;
      }
      if (r.statusCode >= 200 && r.statusCode < 300) {
        inv.result = result;
        return;
      }
      inv.error = {
        errorType: 'FunctionError', errorMessage: `the image's server answered HTTP ${r.statusCode}: ${bytes.toString('utf8').slice(0, 2000)}`,
        status: 500, functionError: true,
      };
    } catch (err) {
      clearTimeout(timer);
      if (ac.signal.aborted) {
        this.kill('timeout');
        throw new HearthError('Timeout', `${this.functionName}: task timed out after ${this.timeoutMs} ms (the container was replaced)`);
      }
      throw this.failure(err, 'invoke');
    }
  }

  /** Runs one invocation. Function errors land in inv.error; a broken container rejects. */
  async call(inv: Invocation): Promise<void> {
    if (this.custom) return this.callImage(inv);
    let r;
    try {
      r = await this.client.invoke(
        `content-type: ${CONTENT_TYPE[inv.reqEnc]}\r\naccept: ${CONTENT_TYPE[inv.resEnc]}\r\nx-hearth-request-id: ${inv.requestId}\r\nx-hearth-deadline-ms: ${Date.now() + this.timeoutMs}\r\n`,
        new Uint8Array(inv.body), this.timeoutMs,
      );
    } catch (err) {
      if (err instanceof BootstrapTimeout) {
        this.kill('timeout');
        throw new HearthError('Timeout', `${this.functionName}: task timed out after ${this.timeoutMs} ms (the container was replaced)`);
      }
      throw this.failure(err, 'invoke');
    }
    const all = r.body;
    this.logs(inv.requestId, all.subarray(0, r.logBytes));
    const rest = all.subarray(r.logBytes);
    if (r.status !== 200 || r.outcome === '') {
      throw this.failure(new Error(`the bootstrap answered HTTP ${r.status} without an outcome: ${rest.toString('utf8').slice(0, 300)}`), 'invoke');
    }
    inv.body = new ArrayBuffer(0);
    if (r.outcome === 'ok') {
      inv.result = rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.byteLength) as ArrayBuffer;
      return;
    }
    let e: { errorType?: string; errorMessage?: string; stackTrace?: string[] } = {};
    try { e = JSON.parse(rest.toString('utf8')); } catch { e = { errorType: 'Error', errorMessage: rest.toString('utf8').slice(0, 2000) }; }
    if (r.outcome === 'bad-payload') throw new HearthError('InvalidRequestContent', e.errorMessage ?? 'the request body does not decode');
    inv.error = {
      errorType: e.errorType ?? 'Error', errorMessage: e.errorMessage ?? '', stackTrace: e.stackTrace ?? [],
      status: 500, functionError: true,
    };
  }

  /** The call's log lines, as the bootstrap collected them: [[stream, timeMs, line], ...]. */
  private logs(requestId: string, bytes: Buffer): void {
    if (bytes.length === 0) return;
    let lines: unknown;
    try { lines = JSON.parse(bytes.toString('utf8')); } catch { return; }
    if (!Array.isArray(lines)) return;
    for (const l of lines) {
      if (!Array.isArray(l)) continue;
      const [stream, time, text] = l as [unknown, unknown, unknown];
      this.hostLog(this.functionName, requestId, stream === 1 ? 1 : 0, typeof time === 'number' ? time : Date.now(), String(text).slice(0, 16 * 1024));
    }
  }

  /** A container that stopped answering: it crashed or was killed. */
  private failure(err: unknown, what: string): HearthError {
    if (this.killed === 'shutdown') return new HearthError('Draining', `${this.functionName}: the container was shut down during the call`);
    this.kill('crash');
    return new HearthError('InstanceFailed', `${this.functionName || this.runtime}: the container stopped answering during ${what} (${(err as Error)?.message ?? err}); it was replaced`);
  }

  get broken(): boolean {
    return this.dead;
  }

  /** Its container is gone (the engine restarted without it): never handed out again. */
  lost(): void {
    this.kill('crash');
  }

  private kill(why: 'timeout' | 'crash' | 'shutdown'): void {
    if (this.killed === null) this.killed = why;
    this.dead = true;
    if (this.state !== InstanceState.disposed) this.state = InstanceState.draining;
    this.client.close();
    void this.engine.remove(this.containerId);
  }

  dispose(): void {
    if (this.killed === null) this.killed = 'shutdown';
    this.dead = true;
    this.state = InstanceState.disposed;
    this.client.close();
    void this.engine.remove(this.containerId);
  }

  /**
   * Memory in use from the engine's stats, MiB (0 until measured). The pool moves it into
   * footprintMb, and its total, at a sweep; until then the footprint is the limit.
   */
  measuredMb = 0;
  private measuredAt = -Infinity;

  /** Asks the engine again, at most every 30 s (the pool's sweep asks every time it runs). */
  async measure(now = performance.now()): Promise<void> {
    if (now - this.measuredAt < 30_000 || this.dead) return;
    this.measuredAt = now;
    const mb = await this.engine.memoryMb(this.containerId);
    if (mb > 0) this.measuredMb = mb;
  }
}

export { Encoding };

/** One stream's line being read: its first 16 KiB (the rest is dropped) and when it began. */
class LineBuffer {
  private static readonly MAX = 16 * 1024;
  private parts: Buffer[] = [];
  private size = 0;
  time = 0;

  get started(): boolean {
    return this.size > 0 || this.parts.length > 0;
  }

  add(b: Buffer): void {
    if (this.size < LineBuffer.MAX) this.parts.push(Buffer.from(b.subarray(0, LineBuffer.MAX - this.size)));
    this.size += b.length;
  }

  /** The line as text (a code point cut at the limit becomes U+FFFD); empties the buffer. */
  take(): string {
    const text = Buffer.concat(this.parts).toString('utf8');
    this.parts = [];
    this.size = 0;
    return text;
  }
}
