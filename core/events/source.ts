// The one interface between a queue a function consumes and Hearth (issue 17): a source reads
// messages, hands each to `deliver` (which resolves once the message is an async event on disk,
// or rejects), and acknowledges it to its queue only then. Adding a queue is one file that
// implements this (core/events/redis-streams.ts is the first); core/events/queue-triggers.ts
// starts and stops sources as functions are deployed and deleted.

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
