// The host's bound on request bodies across connections: bytes held for bodies in flight (taken as
// they arrive, never from a declared Content-Length) under one global cap, and a deadline for a
// body to arrive. Past the cap a body is answered 503 with Retry-After; past the deadline 408; both
// close the connection (the rest of the body is not read) and are counted (HttpCounters).
//
// Why a deadline of our own: while uWS waits for a request's body its idle timeout is off (a
// request is pending), so a client that declares 6 MiB and sends one byte would hold the
// connection, and whatever it sent, forever (slowloris).

import { HearthError } from '../errors.js';
import type { HttpCounters } from './http-counters.js';

export interface BodyIntakeSettings {
  /** Bytes all request bodies in flight may hold together. */
  readonly maxBodyBytesInFlight: number;
  /** How long a request's body may take to arrive, from its headers. */
  readonly bodyTimeoutMs: number;
}

/** One body being read: its deadline, and what to do when it passes. */
export interface PendingBody {
  readonly deadline: number;
  expire(): void;
}

/** Seconds a 503 for a full intake tells the client to wait (bodies in flight are short-lived). */
export const BODY_RETRY_AFTER_S = 1;

export class BodyIntake {
  private held = 0;
  private readonly pending = new Set<PendingBody>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(readonly settings: BodyIntakeSettings, readonly counters: HttpCounters) {}

  /** Takes `n` more bytes for a body, or false when they would pass the cap (`anyway`: counted, never refused). */
  take(n: number, anyway = false): boolean {
    if (!anyway && this.held + n > this.settings.maxBodyBytesInFlight) return false;
    this.held += n;
    this.counters.bodyBytesInFlight = this.held;
    return true;
  }

  give(n: number): void {
    this.held -= n;
    this.counters.bodyBytesInFlight = this.held;
  }

  refused(why: 'capacity' | 'timeout'): HearthError {
    this.counters.bodiesRefused[why]++;
    if (why === 'timeout') {
      return new HearthError('RequestTimeout', `the request body did not arrive within ${this.settings.bodyTimeoutMs} ms (--body-timeout-ms)`);
    }
    return new HearthError('BodyCapacity',
      `request bodies in flight hold ${this.settings.maxBodyBytesInFlight} bytes, the server's limit (--max-body-bytes-in-flight): retry shortly`,
      { retryAfterS: BODY_RETRY_AFTER_S });
  }

  /** Watches a body's deadline (one sweep for all: a timer per request would cost the hot path). */
  watch(p: PendingBody): void {
    this.pending.add(p);
    if (this.sweeper === null) {
      const every = Math.max(10, Math.min(1000, Math.floor(this.settings.bodyTimeoutMs / 4)));
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
  }

  unwatch(p: PendingBody): void {
    this.pending.delete(p);
    if (this.pending.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private sweep(): void {
    const now = Date.now();
    for (const p of this.pending) if (p.deadline <= now) p.expire();
  }
}
