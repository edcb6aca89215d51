// A container of a runtime image (python3, java17): started as a stem cell (prewarmed: the
// bootstrap listens, no function code), specialized with one version's code (POST /init), then
// called over kept-alive connections (POST /invoke, bootstrap-client.ts). The bootstrap answers
// every call it handled with 200 and `X-Hearth-Outcome`; its body is the call's log lines, then
// the result.

import { request } from 'undici';
import type { FunctionVersion } from '../core/backend.js';
import { functionError, type CallRequest, type LogSink, type RunResult } from '../core/call.js';
import { BootstrapTimeout, HearthError } from '../core/errors.js';
import { LOG_NOTICE } from '../core/logs.js';
import { CONTENT_TYPES, MAX_LOG_LINE } from '../runtime/protocol.js';
import { BootstrapAnswerTooLarge, BootstrapClient, BootstrapNotConnected } from './bootstrap-client.js';
import { agent, Container, launch, readBounded, type Launched } from './container.js';
import { RUNTIME_USER, type ContainerRuntime } from './contract.js';
import type { Engine } from './engine.js';

/** How long a stem cell's bootstrap may take to answer /health. */
const READY_MS = 30_000;

/** What the bootstraps keep of a call's log lines (their LOG_LIMIT, 1 MiB), with room for the JSON around them. */
const CALL_LOG_BYTES = (1 << 20) + 64 * 1024;
const CALL_LOG_LINES = 10_000;
/** An /init answer (its load error and stack) is at most this. */
const INIT_ANSWER_BYTES = 1 << 20;

interface ErrorBody { errorType?: string; errorMessage?: string; stackTrace?: string[] }

export class RuntimeContainer extends Container {
  /** Kept-alive connections for /invoke. */
  private readonly client: BootstrapClient;

  private constructor(engine: Engine, c: Launched, sink: LogSink, private readonly maxResultBytes: number) {
    super(engine, c, sink);
    // An answer is the call's log lines (bounded by the bootstrap) and then its result.
    this.client = new BootstrapClient(c.address, c.port, maxResultBytes + CALL_LOG_BYTES);
  }

  /** A stem cell: a started container of the runtime's image whose bootstrap answers /health. */
  static async start(engine: Engine, opts: { runtime: ContainerRuntime; image: string; memoryMb: number; cpus: number; pids: number; sink: LogSink; maxResultBytes: number }): Promise<RuntimeContainer> {
    const c = new RuntimeContainer(engine, await launch(engine, {
      runtime: opts.runtime, image: opts.image, memoryMb: opts.memoryMb, cpus: opts.cpus, pids: opts.pids,
      env: {}, egress: null, user: RUNTIME_USER,
    }), opts.sink, opts.maxResultBytes);
    await c.ready(READY_MS, '/health');
    return c;
  }

  /**
   * Loads the version's code (POST /init), after setting the CPU share and pids limit the spec asks
   * for if the stem cell was started with others. A load failure is a FunctionInitError with the
   * bootstrap's words.
   */
  async specialize(fn: FunctionVersion, code: Buffer, requestId: string, limits: { cpus: number; pids: number }): Promise<void> {
    this.specializeFor(fn);
    // Egress rules: the function's own egress network too (a stem cell has only the internal one).
    if (fn.spec.egress.allow.length > 0) {
      try {
        await this.engine.joinEgress(this.containerId, fn.name);
      } catch (err) {
        // Not the container's fault: the engine could not make or attach the network (e.g. its
        // address pools are used up). The caller disposes of the container.
        throw new HearthError('BackendUnavailable', `${fn.name}: the function's egress network could not be given to its container: ${(err as Error).message}`);
      }
    }
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
    let answer: Buffer | null;
    try {
      answer = await readBounded(r.body, r.headers, INIT_ANSWER_BYTES);
    } catch (err) {
      throw this.failure(err, 'init');
    }
    if (answer === null) throw this.tooLarge('the answer to /init', INIT_ANSWER_BYTES, true);
    const text = answer.toString('utf8');
    if (r.statusCode === 200) return;
    let e: ErrorBody = {};
    try { e = JSON.parse(text) as ErrorBody; } catch { e = { errorMessage: text.slice(0, 2000) }; }
    throw new HearthError('FunctionInitError', `${fn.name}: the code failed to load: ${e.errorMessage ?? `HTTP ${r.statusCode}`}`, { functionStack: e.stackTrace ?? [] });
  }

  /**
   * One event call (a web call reaches a runtime container as its Lambda function URL event:
   * function-url.ts). The function's own error is the result; a broken container rejects.
   */
  async call(req: CallRequest): Promise<RunResult> {
    let r;
    try {
      r = await this.client.invoke(
        `content-type: ${CONTENT_TYPES[req.reqEnc]}\r\naccept: ${CONTENT_TYPES[req.resEnc]}\r\nx-hearth-request-id: ${req.requestId}\r\nx-hearth-deadline-ms: ${Date.now() + this.timeoutMs}\r\n`,
        new Uint8Array(req.body), this.timeoutMs,
      );
    } catch (err) {
      if (err instanceof BootstrapTimeout) throw this.timedOut();
      if (err instanceof BootstrapNotConnected) throw this.undelivered(err);
      if (err instanceof BootstrapAnswerTooLarge) throw this.tooLarge(`the container's answer (${err.message})`, this.maxResultBytes, true);
      throw this.failure(err, 'invoke');
    }
    const all = r.body;
    if (r.logBytes > all.length) throw this.failure(new Error(`X-Hearth-Log-Bytes ${r.logBytes} is over the body's ${all.length} bytes`), 'invoke');
    // The bootstrap keeps at most 1 MiB of a call's logs: more is the function writing on its socket.
    if (r.logBytes > CALL_LOG_BYTES) throw this.tooLarge(`the call's logs (${r.logBytes} bytes)`, CALL_LOG_BYTES, true);
    this.logs(req.requestId, all.subarray(0, r.logBytes));
    // An honest bootstrap with a result over the bound: the answer was read whole, the container is fine.
    if (all.length - r.logBytes > this.maxResultBytes) throw this.tooLarge(`the result (${all.length - r.logBytes} bytes)`, this.maxResultBytes, false);
    const rest = all.subarray(r.logBytes);
    if (r.status !== 200 || r.outcome === '') {
      throw this.failure(new Error(`the bootstrap answered HTTP ${r.status} without an outcome: ${rest.toString('utf8').slice(0, 300)}`), 'invoke');
    }
    if (r.outcome === 'ok') return rest.buffer.slice(rest.byteOffset, rest.byteOffset + rest.byteLength) as ArrayBuffer;
    let e: ErrorBody = {};
    try { e = JSON.parse(rest.toString('utf8')) as ErrorBody; } catch { e = { errorType: 'Error', errorMessage: rest.toString('utf8').slice(0, 2000) }; }
    if (r.outcome === 'bad-payload') throw new HearthError('InvalidRequestContent', e.errorMessage ?? 'the request body does not decode');
    return functionError(e.errorType ?? 'Error', e.errorMessage ?? '', e.stackTrace ?? []);
  }

  /** The call's log lines, as the bootstrap collected them: [[stream, timeMs, line], ...]. */
  private logs(requestId: string, bytes: Buffer): void {
    if (bytes.length === 0) return;
    let lines: unknown;
    try { lines = JSON.parse(bytes.toString('utf8')); } catch { return; }
    if (!Array.isArray(lines)) return;
    // As many lines a call as an isolate's call may write (--log-lines-per-call's default); the
    // bytes are bounded by CALL_LOG_BYTES above.
    const n = Math.min(lines.length, CALL_LOG_LINES);
    for (let i = 0; i < n; i++) {
      const l: unknown = lines[i];
      if (!Array.isArray(l)) continue;
      const [stream, time, text] = l as [unknown, unknown, unknown];
      this.sink(this.functionName, requestId, stream === 1 ? 1 : 0, typeof time === 'number' ? time : Date.now(), String(text).slice(0, MAX_LOG_LINE));
    }
    if (lines.length > n) this.sink(this.functionName, requestId, LOG_NOTICE, Date.now(), `… ${lines.length - n} lines dropped: log limit (${CALL_LOG_LINES} lines a call)`);
  }

  protected disconnect(): void {
    this.client.close();
  }
}
