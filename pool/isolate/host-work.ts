// Host work an isolate asks for through HostGlobal.host (HostOp): its timers (one wake-up per
// isolate), outbound fetches under the function's egress policy, and the ctx.waitUntil work of
// web calls that answered before it ended. Deliveries back into the isolate are fire and forget.

import type ivm from 'isolated-vm';
import { EgressPolicy, hostFetch } from '../../core/egress.js';
import { FetchFailure } from '../../core/errors.js';
import { Deliver, HostOp } from '../../runtime/protocol.js';
import type { RuntimeRefs } from './boot.js';
import { classifyV8Failure } from './v8-failure.js';

/** Outbound fetches one isolate may have in flight (each may buffer up to maxFetchBytes here). */
const MAX_FETCHES = 32;
/** An outbound request's URL, headers (pairs) and their bytes in all, at most. */
const MAX_FETCH_URL = 64 * 1024;
const MAX_FETCH_HEADERS = 1_000;
const MAX_FETCH_HEADER_BYTES = 256 * 1024;

/** What host work needs of its instance. */
export interface HostWorkOwner {
  /** Nothing runs in the isolate any more (it was killed or torn down). */
  readonly over: boolean;
  /** A delivery ran past the CPU limit or out of memory: the instance dies of it. */
  killFor(failure: 'timeout' | 'memory'): void;
  /** Writes a line to the function's stderr log for a call. */
  logError(requestId: string, message: string): void;
}

/** A web call answered while its ctx.waitUntil work goes on: the instance slot is held until then. */
interface Tail {
  timer: NodeJS.Timeout;
  done: () => void;
}

export class HostWork {
  /** The isolate's next timer wake-up. */
  private wake: NodeJS.Timeout | null = null;
  private readonly fetches = new Map<number, AbortController>();
  private readonly tails = new Map<string, Tail>();
  /** tailDone that arrived before the call's answer (HostOp and results are not ordered). */
  private readonly tailsDoneEarly = new Set<string>();
  private egress = EgressPolicy.denyAll;
  private timeoutMs = 0;
  private deliverOptions: ivm.ReferenceApplyOptions = {};

  constructor(
    private readonly isolate: ivm.Isolate,
    private readonly refs: RuntimeRefs,
    private readonly owner: HostWorkOwner,
    /** Largest body an outbound fetch may bring back. */
    private readonly maxFetchBytes: number,
  ) {}

  /** The version's limits: its egress allow-list and its per-call time. */
  bind(egressAllow: readonly string[], timeoutMs: number): void {
    this.egress = egressAllow.length > 0 ? new EgressPolicy([...egressAllow]) : EgressPolicy.denyAll;
    this.timeoutMs = timeoutMs;
    this.deliverOptions = { arguments: { copy: true }, timeout: timeoutMs };
  }

  /** A HostOp from the isolate. Everything is checked: user code can call the runtime's channel too. */
  op(a: unknown[]): void {
    if (this.isolate.isDisposed || this.owner.over) return;
    const op = a[0], id = a[1];
    switch (op) {
      case HostOp.timerSet: {
        // One wake-up per instance: the isolate keeps its timers and fires all that are due.
        const ms = typeof a[2] === 'number' && a[2] >= 0 ? Math.min(a[2], 2 ** 31 - 1) : 0;
        if (this.wake !== null) clearTimeout(this.wake);
        this.wake = setTimeout(() => {
          this.wake = null;
          this.deliver([Deliver.timer, 0]);
        }, ms);
        return;
      }
      case HostOp.timerClear: {
        if (this.wake !== null) { clearTimeout(this.wake); this.wake = null; }
        return;
      }
      case HostOp.fetch: return this.startFetch(a);
      case HostOp.fetchAbort: {
        const c = typeof id === 'number' ? this.fetches.get(id) : undefined;
        if (c !== undefined) { this.fetches.delete(id as number); c.abort(); }
        return;
      }
      case HostOp.tailDone: {
        if (typeof id !== 'string') return;
        // It can overtake the crossing's own answer (work that settled within the crossing).
        if (this.tails.has(id)) this.endTail(id, false);
        else if (this.tailsDoneEarly.size < 10_000) this.tailsDoneEarly.add(id);
        return;
      }
      case HostOp.cancelAll: return this.cancel();
    }
  }

  private startFetch(a: unknown[]): void {
    const [, id, , deadline, method, url, headers, body, redirect] = a;
    if (typeof id !== 'number' || this.fetches.has(id)) return;
    if (this.fetches.size >= MAX_FETCHES) {
      this.deliver([Deliver.fetchFail, id, 'TypeError', `too many fetches in flight in this instance (${MAX_FETCHES})`]);
      return;
    }
    const latest = Date.now() + this.timeoutMs;
    const controller = new AbortController();
    this.fetches.set(id, controller);
    const ok = typeof method === 'string' && typeof url === 'string' && Array.isArray(headers) && headers.every((h) => typeof h === 'string')
      && (body === null || body instanceof ArrayBuffer) && (redirect === 'follow' || redirect === 'manual' || redirect === 'error');
    // What the isolate sends out crosses through the host: bounded like what comes back.
    const tooLarge = ok && ((body !== null && (body as ArrayBuffer).byteLength > this.maxFetchBytes)
      || (url as string).length > MAX_FETCH_URL || (headers as string[]).length > 2 * MAX_FETCH_HEADERS
      || (headers as string[]).reduce((n, h) => n + h.length, 0) > MAX_FETCH_HEADER_BYTES);
    if (tooLarge) {
      this.fetches.delete(id);
      this.deliver([Deliver.fetchFail, id, 'TypeError', `fetch: the request is too large (body at most ${this.maxFetchBytes} bytes, URL ${MAX_FETCH_URL}, ${MAX_FETCH_HEADERS} headers of ${MAX_FETCH_HEADER_BYTES} bytes in all)`]);
      return;
    }
    const request = ok
      ? { method: method as string, url: url as string, headers: headers as string[], body: body === null ? null : new Uint8Array(body as ArrayBuffer), redirect: redirect as 'follow' | 'manual' | 'error' }
      : null;
    const limits = {
      deadline: typeof deadline === 'number' && deadline > 0 ? Math.min(deadline, latest) : latest,
      maxResponseBytes: this.maxFetchBytes,
      signal: controller.signal,
    };
    (request === null ? Promise.reject(new FetchFailure('TypeError', 'fetch: malformed request')) : hostFetch(this.egress, request, limits)).then(
      (r) => {
        if (this.fetches.get(id) !== controller) return; // aborted or cancelled meanwhile
        this.fetches.delete(id);
        this.deliver([Deliver.fetchOk, id, r.status, r.statusText, r.headers, r.body, r.url, r.redirected]);
      },
      (err: unknown) => {
        if (this.fetches.get(id) !== controller) return;
        this.fetches.delete(id);
        const kind = err instanceof FetchFailure ? err.kind : 'TypeError';
        this.deliver([Deliver.fetchFail, id, kind, err instanceof Error ? err.message : String(err)]);
      },
    );
  }

  /** Runs a delivery in the isolate (fire and forget); a delivery that runs too long kills it. */
  private deliver(args: unknown[]): void {
    if (this.isolate.isDisposed || this.owner.over) return;
    (this.refs.deliver.apply(undefined, args, this.deliverOptions) as Promise<unknown>).catch((err: unknown) => {
      if (this.owner.over) return;
      const f = classifyV8Failure(err);
      if (f === 'timeout') this.owner.killFor('timeout');
      else if (f === 'memory' || this.isolate.isDisposed) this.owner.killFor('memory');
      // Anything else is a bug in the runtime's deliver; the work it carried is lost, not the isolate.
    });
  }

  /**
   * A web call answered but its waitUntil work goes on: resolves when it ends (HostOp.tailDone)
   * or when the call's deadline passes (the work is then cancelled in the isolate).
   */
  holdTail(requestId: string, remainingMs: number): Promise<void> {
    return new Promise<void>((done) => {
      if (this.tailsDoneEarly.delete(requestId)) return done();
      const timer = setTimeout(() => this.endTail(requestId, true), Math.max(0, remainingMs));
      this.tails.set(requestId, { timer, done });
    });
  }

  private endTail(requestId: string, cancelled: boolean): void {
    const t = this.tails.get(requestId);
    if (t === undefined) return;
    this.tails.delete(requestId);
    clearTimeout(t.timer);
    if (cancelled) {
      this.owner.logError(requestId, `ctx.waitUntil work was still running at the call's deadline (${this.timeoutMs} ms) and was cancelled`);
      this.deliver([Deliver.tailCancel, requestId]);
    }
    t.done();
  }

  /** Nothing in the isolate waits for host work any more: drop every timer and fetch. */
  cancel(): void {
    if (this.wake !== null) { clearTimeout(this.wake); this.wake = null; }
    for (const c of this.fetches.values()) c.abort();
    this.fetches.clear();
  }

  /** The isolate is gone: drop every timer and fetch, and let every held slot go. */
  end(): void {
    this.cancel();
    for (const id of [...this.tails.keys()]) this.endTail(id, false);
    this.tailsDoneEarly.clear();
  }
}
