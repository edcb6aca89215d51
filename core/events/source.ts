// The one interface between a queue a function consumes and Hearth (issue 17): a source reads
// messages, hands each to `deliver` (which resolves once the message is an async event on disk,
// or rejects), and acknowledges it to its queue only then. Adding a queue is one file that
// implements this (core/events/redis-streams.ts is the first); core/events/queue-triggers.ts
// starts and stops sources as functions are deployed and deleted.

import { log } from '../log.js';

/** What GET /v1/functions/{name}/triggers shows of one source. */
export interface TriggerHealth {
  name: string;
  type: string;
  /** connecting: not yet reading; connected: reading; reconnecting: its server went away (backing off); stopped. */
  state: 'connecting' | 'connected' | 'reconnecting' | 'stopped';
  /** Messages in the queue not yet read by the group (null: the server does not say). */
  lag: number | null;
  /** Messages read and not yet acknowledged, by every reader of the group. */
  pending: number | null;
  /** Messages this replica stored as events (duplicates of ones stored before included). */
  delivered: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

/** What a source hands over: one message, as the function's event, and its id in the queue. */
export interface Message {
  /** Unique in its queue: the event's idempotency key is made from it (null: the queue gave none; not deduplicated). */
  id: string | null;
  event: unknown;
}

/**
 * Stores a message as an async event; resolves `true` when it was stored before (a duplicate).
 * Rejects with Unstorable for a message that can never be stored (past the Event payload limit):
 * the source acknowledges it (it stays in its queue, for the operator), counts and reports it.
 */
export type Deliver = (m: Message) => Promise<boolean>;

export class Unstorable extends Error {}

export interface EventSource {
  start(): void;
  /** Stops reading; what was read and not stored stays unacknowledged (another reader takes it). */
  stop(): Promise<void>;
  health(): TriggerHealth;
}

/** What every source keeps of itself for health(): state, counts, the last error. */
export class SourceStatus {
  state: TriggerHealth['state'] = 'connecting';
  delivered = 0;
  lag: number | null = null;
  pending: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;

  constructor(private readonly name: string, private readonly type: string) {}

  /** Its server went away or refused: reconnecting, with the error (nothing once stopped). */
  failed(err: Error): void {
    if (this.state === 'stopped') return;
    this.note(err.message);
    this.state = 'reconnecting';
  }

  note(message: string): void {
    this.lastError = message;
    this.lastErrorAt = Date.now();
  }

  health(): TriggerHealth {
    return {
      name: this.name, type: this.type, state: this.state, lag: this.lag, pending: this.pending, delivered: this.delivered,
      lastError: this.lastError, lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }

  /**
   * Hands one message to `deliver`: true when it may be acknowledged (stored, or never storable:
   * then noted and logged, and left in its queue), false when it must come back later.
   */
  async store(deliver: Deliver, m: Message, where: string): Promise<boolean> {
    try {
      await deliver(m);
      this.delivered++;
      return true;
    } catch (err) {
      if (err instanceof Unstorable) {
        this.note(`${where}: ${err.message}`);
        log.warn({ trigger: this.name, message: where }, err.message);
        return true;
      }
      this.note(`${where}: not stored, it comes back later: ${(err as Error).message}`);
      return false;
    }
  }
}

/** A reconnecting loop's wait: 0.5 s, doubling to 10 s, back to 0.5 s once it works. */
export class Backoff {
  private ms = 500;

  reset(): void {
    this.ms = 500;
  }

  async wait(): Promise<void> {
    await sleep(this.ms);
    this.ms = Math.min(10_000, this.ms * 2);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
