// A custom image's container (runtime "image"): made for its version (no stem cell: the image is
// the function's own), ready when its server answers on the function port. Event calls are
// POST /event-invoke; web calls pass through as they are. Its stdout/stderr are followed through
// the engine and each line goes to the call that had started when Docker read it (at concurrency
// 1 that is the call that wrote it, unless Docker reads the pipe only after the next call has
// started; the two streams are separate pipes, so their lines keep their order within each, not
// across).

import { request } from 'undici';
import type { FunctionVersion } from '../core/backend.js';
import { WebAnswer, type CallError, type CallRequest, type LogSink, type RunResult } from '../core/call.js';
import { HearthError } from '../core/errors.js';
import { log } from '../core/log.js';
import { CONTENT_TYPES } from '../runtime/protocol.js';
import { agent, Container, launch, neverConnected, readBounded, type Launched } from './container.js';
import { FUNCTION_LABEL } from './contract.js';
import type { Engine } from './engine.js';

/** Calls remembered for attributing log lines (the newest ones). */
const CALL_WINDOW = 64;

/** Request headers that belong to the hop to Hearth, not to the function's server. */
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export class ImageContainer extends Container {
  /**
   * The latest calls, oldest first: their request ids and when they started (ms). A log line goes
   * to the newest call that started at or before the engine's timestamp for it (Docker stamps a
   * line when it reads it from the container's pipe). The stream itself runs behind, sometimes
   * past the start of the next call, so its arrival time cannot say whose a line is. Lines before
   * the first call (the server starting) belong to no call. Docker's clock is taken to be Hearth's:
   * true of a local engine, not of a remote one whose clock is off.
   */
  private readonly callIds: string[] = [];
  private readonly callStarts: number[] = [];

  private constructor(engine: Engine, c: Launched, sink: LogSink, private readonly maxResultBytes: number) {
    super(engine, c, sink);
  }

  /** A started container of the version's image, its server answering, its output followed. */
  static async start(engine: Engine, fn: FunctionVersion, opts: { cpus: number; pids: number; sink: LogSink; maxResultBytes: number }): Promise<ImageContainer> {
    if (fn.imageId === null) throw new HearthError('InternalError', `${fn.name}: runtime "image" without a pinned image`);
    const c = new ImageContainer(engine, await launch(engine, {
      runtime: 'image', image: fn.imageId, memoryMb: fn.spec.memoryMb, cpus: opts.cpus, pids: opts.pids,
      env: fn.spec.env, egress: fn.spec.egress.allow.length > 0 ? fn.name : null,
      ...(fn.spec.command ? { entrypoint: fn.spec.command } : {}), ...(fn.spec.args ? { cmd: fn.spec.args } : {}),
      labels: { [FUNCTION_LABEL]: fn.name },
    }), opts.sink, opts.maxResultBytes);
    await c.ready(Math.max(10_000, fn.spec.timeoutMs), '/');
    c.specializeFor(fn);
    c.followLogs();
    return c;
  }

  private callAt(timeMs: number): string {
    for (let i = this.callStarts.length - 1; i >= 0; i--) if (this.callStarts[i]! <= timeMs) return this.callIds[i]!;
    return '';
  }

  private followLogs(): void {
    this.engine.followLogs(this.containerId, (stream, timeMs, line) => this.sink(this.functionName, this.callAt(timeMs), stream, timeMs, line)).catch((err: unknown) => {
      log.warn({ function: this.functionName, container: this.containerId.slice(0, 12), err: (err as Error | null)?.message }, "a custom image's output cannot be followed: its calls show no logs");
    });
  }

  /** Event calls POST /event-invoke; web calls pass through as they are. */
  async call(req: CallRequest): Promise<RunResult> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), this.timeoutMs);
    if (this.callIds.length === CALL_WINDOW) { this.callIds.shift(); this.callStarts.shift(); }
    this.callIds.push(req.requestId);
    this.callStarts.push(Date.now());
    try {
      const web = req.web;
      let path = '/event-invoke', method = 'POST';
      const headers: Record<string, string> = {
        'x-hearth-request-id': req.requestId, 'x-scf-request-id': req.requestId,
      };
      if (web !== null) {
        const u = new URL(web.url);
        path = u.pathname + u.search;
        method = web.method;
        for (let i = 0; i + 1 < web.headers.length; i += 2) {
          const k = web.headers[i]!, v = web.headers[i + 1]!;
          if (HOP_HEADERS.has(k)) continue;
          const had = headers[k];
          headers[k] = had === undefined ? v : `${had}, ${v}`;
        }
      } else {
        headers['content-type'] = CONTENT_TYPES[req.reqEnc];
      }
      const r = await request(`${this.base}${path}`, {
        method: method as 'POST', dispatcher: agent, signal: ac.signal, headers,
        ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.from(req.body) }),
      });
      const bytes = await readBounded(r.body, r.headers, this.maxResultBytes);
      clearTimeout(timer);
      // Its server is any server, not ours: the connection is closed (by readBounded), the
      // container stays.
      if (bytes === null) throw this.tooLarge("the image's answer", this.maxResultBytes, false);
      const result = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      if (web !== null) {
        const flat: string[] = [];
        for (const [k, v] of Object.entries(r.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) if (!/[\0\r\n]/.test(one)) flat.push(k.toLowerCase(), one);
        }
        return new WebAnswer({ status: r.statusCode < 200 || r.statusCode > 599 ? 502 : r.statusCode, statusText: '', headers: flat }, result, null);
      }
      if (r.statusCode >= 200 && r.statusCode < 300) return result;
      // No stack: the image's server is not the function's code that threw.
      const err: CallError = {
        errorType: 'FunctionError', errorMessage: `the image's server answered HTTP ${r.statusCode}: ${bytes.toString('utf8').slice(0, 2000)}`,
        status: 500, functionError: true,
      };
      return err;
    } catch (err) {
      clearTimeout(timer);
      if (err instanceof HearthError && err.type === 'ResultTooLarge') throw err;
      if (ac.signal.aborted) throw this.timedOut();
      if (neverConnected(err)) throw this.undelivered(err);
      throw this.failure(err, 'invoke');
    }
  }

  protected disconnect(): void {
    // Its calls share the tier's undici agent: nothing of its own to close.
  }
}
