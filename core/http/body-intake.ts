// The host's bound on request bodies across connections: bytes held for bodies in flight (taken as
// they arrive, never from a declared Content-Length) under one global cap, and a deadline for a
// body to arrive. Past the cap a body is answered 503 with Retry-After; past the deadline 408; both
// close the connection (the rest of the body is not read) and are counted (HttpCounters).
//
// A body that is dropped before it is delivered (refused, timed out, its client gone) leaves its
// buffer to V8's collector; after an attack nothing else may allocate enough for V8 to collect
// soon, so the intake asks for one full collection at most once a second (RECLAIM_EVERY_MS) after
// a body is dropped (hearth_request_body_collections_total counts them). Delivered bodies
// are not counted: their buffers move into an isolate, or die with normal allocation pressure.
//
// Why a deadline of our own: while uWS waits for a request's body its idle timeout is off (a
// request is pending), so a client that declares 6 MiB and sends one byte would hold the
// connection, and whatever it sent, forever (slowloris).

import { HearthError } from '../errors.js';
import type { HttpCounters } from './http-counters.js';
import { collectGarbage } from '../v8-collect.js';

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

/** At most one collection for dropped bodies per this many ms. */
export const RECLAIM_EVERY_MS = 1000;

/**
 * A body that arrives whole in its first read and is no larger than this is taken past the cap,
 * into a reserve of an eighth of it: its bytes are already in (refusing saves nothing), and small
 * calls keep working while large bodies hold the cap. Larger first reads (uWS hands up to ~512 KiB
 * at once) are held to the cap like any body.
 */
export const WHOLE_BODY_EXEMPT_BYTES = 64 * 1024;

/**
 * How a body's bytes are charged: `plain`, a body whose caller is authenticated or needs no
 * authentication; `small-whole`, one that arrived whole in one small read (WHOLE_BODY_EXEMPT_BYTES),
 * which may use the reserve; `unverified`, one read before its caller could be checked (a SigV4
 * signature over the body, without a signed payload hash): all such bodies together hold at most a
 * quarter of the cap, so that forged signatures cannot take it from authenticated callers.
 */
export type BodyCharge = 'plain' | 'small-whole' | 'unverified';

export class BodyIntake {
  private held = 0;
  /** Of `held`, the bytes of bodies whose callers are not yet verified. */
  private unverified = 0;
  /** The collection asked for after a dropped body, not yet run. */
  private reclaimer: NodeJS.Timeout | null = null;
  private lastReclaim = 0;
  private readonly pending = new Set<PendingBody>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly settings: BodyIntakeSettings,
    readonly counters: HttpCounters,
    private readonly collect: () => void = collectGarbage,
  ) {}

  /** Takes `n` more bytes for a body, or false when they would pass its bound (BodyCharge). */
  take(n: number, charge: BodyCharge = 'plain'): boolean {
    const cap = this.settings.maxBodyBytesInFlight;
    if (charge === 'small-whole') {
      if (this.held + n > cap + Math.floor(cap / 8)) return false;
    } else {
      if (this.held + n > cap) return false;
      if (charge === 'unverified') {
        if (this.unverified + n > Math.floor(cap / 4)) return false;
        this.unverified += n;
      }
    }
    this.held += n;
    this.counters.bodyBytesInFlight = this.held;
    return true;
  }

  /**
   * Gives back `n` bytes taken as `unverified` or not; `dropped`: the body was never used, its
   * buffer is garbage now.
   */
  give(n: number, dropped = false, unverified = false): void {
    this.held -= n;
    if (unverified) this.unverified -= n;
    this.counters.bodyBytesInFlight = this.held;
    if (dropped && n > 0 && this.reclaimer === null) {
      const wait = Math.max(0, this.lastReclaim + RECLAIM_EVERY_MS - Date.now());
      this.reclaimer = setTimeout(() => this.reclaim(), wait);
      this.reclaimer.unref();
    }
  }

  private reclaim(): void {
    this.reclaimer = null;
    this.lastReclaim = Date.now();
    this.collect();
    this.counters.bodyCollections++;
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
  }

  /** Expires the late bodies; the sweeper stops at a sweep that finds none pending (not per request). */
  private sweep(): void {
    if (this.pending.size === 0) {
      clearInterval(this.sweeper!);
      this.sweeper = null;
      return;
    }
    const now = Date.now();
    for (const p of this.pending) if (p.deadline <= now) p.expire();
  }
}
