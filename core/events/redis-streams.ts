// A Redis Streams trigger: one consumer group on a stream, shared by every replica that has the
// function (each reads as its own consumer, so replicas split the messages). A message becomes an
// async event through `deliver` and is acknowledged (XACK) only once stored: a replica that dies
// holding messages leaves them pending in the group, and after `claimIdleMs` another replica takes
// them over (XAUTOCLAIM) and stores them; those it had stored already are deduplicated by the
// queue when replicas share it (--queue redis), else run again (at least once). A server that goes
// away: the loop backs off (0.5 s doubling to 10 s) and reads again once it is back.
//
// Each trigger has its own connection (XREADGROUP blocks it for up to a second).

import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { log } from '../log.js';
import type { RedisTriggerSpec } from '../spec.js';
import { Unstorable, type Deliver, type EventSource, type TriggerHealth } from './source.js';

const BLOCK_MS = 1_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
/** A consumer of the group idle this long and holding nothing is a replica that is gone. */
const STALE_CONSUMER_MS = 60 * 60 * 1000;

type Entry = [id: string, fields: string[] | null];

export class RedisStreamsSource implements EventSource {
  private readonly redis: Redis;
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private state: TriggerHealth['state'] = 'connecting';
  private delivered = 0;
  private lag: number | null = null;
  private pending: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private groupMade = false;
  private nextClaim = 0;
  private claimCursor = '0-0';

  constructor(
    private readonly name: string,
    private readonly spec: RedisTriggerSpec,
    private readonly deliver: Deliver,
  ) {
    this.redis = new Redis(spec.url, {
      lazyConnect: true,
      // Commands fail while the server is away (the loop backs off), rather than queue without end.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(times, 5)),
    });
    this.redis.on('error', (err: Error) => this.failed(err));
    this.redis.on('ready', () => { this.groupMade = false; });
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    // Leaves the group when it holds nothing (a consumer with pending messages stays: its
    // messages are taken over from it after claimIdleMs).
    if (this.redis.status === 'ready') {
      try {
        const held = await this.redis.xpending(this.spec.stream, this.spec.group, '-', '+', 1, this.consumer) as unknown[];
        // DELCONSUMER drops what the consumer holds from the group's pending list: only when it holds nothing.
        if (held.length === 0) await this.redis.xgroup('DELCONSUMER', this.spec.stream, this.spec.group, this.consumer);
      } catch { /* stopping anyway */ }
    }
    this.redis.disconnect();
    await this.running;
  }

  health(): TriggerHealth {
    return {
      name: this.name, type: 'redis', state: this.state, lag: this.lag, pending: this.pending, delivered: this.delivered,
      lastError: this.lastError, lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }

  private failed(err: Error): void {
    if (this.stopped) return;
    this.lastError = err.message;
    this.lastErrorAt = Date.now();
    if (this.state === 'connected') this.state = 'reconnecting';
  }

  private async loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped) {
      try {
        if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
        if (this.redis.status !== 'ready') throw new Error(`not connected (${this.redis.status})`);
        await this.ensureGroup();
        if (Date.now() >= this.nextClaim) await this.claim();
        const read = await this.redis.xreadgroup('GROUP', this.spec.group, this.consumer, 'COUNT', this.spec.batch, 'BLOCK', BLOCK_MS,
          'STREAMS', this.spec.stream, '>') as [string, Entry[]][] | null;
        this.state = 'connected';
        backoff = BACKOFF_MIN_MS;
        if (read !== null) for (const [, entries] of read) await this.handle(entries);
      } catch (err) {
        if (this.stopped) break;
        this.failed(err as Error);
        this.state = 'reconnecting';
        await sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupMade) return;
    try {
      await this.redis.xgroup('CREATE', this.spec.stream, this.spec.group, this.spec.from === 'earliest' ? '0' : '$', 'MKSTREAM');
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.groupMade = true;
  }

  /** Takes over what a reader left unacknowledged past claimIdleMs (a dead replica's, or one not stored here), and measures the lag. */
  private async claim(): Promise<void> {
    this.nextClaim = Date.now() + Math.max(100, Math.floor(this.spec.claimIdleMs / 2));
    const [next, entries] = await this.redis.xautoclaim(this.spec.stream, this.spec.group, this.consumer, this.spec.claimIdleMs,
      this.claimCursor, 'COUNT', this.spec.batch) as [string, Entry[], ...unknown[]];
    this.claimCursor = next;
    await this.handle(entries);
    if (next !== '0-0') this.nextClaim = 0; // more to look at: again on the next turn
    // Consumers of replicas that are gone stay in the group; those holding nothing and idle for
    // long are removed (bounded: the group does not grow with every restart).
    const consumers = await this.redis.xinfo('CONSUMERS', this.spec.stream, this.spec.group) as unknown[][];
    for (const c of consumers) {
      const info = fields(c);
      if (info.name !== this.consumer && info.pending === 0 && typeof info.idle === 'number' && info.idle > STALE_CONSUMER_MS) {
        await this.redis.xgroup('DELCONSUMER', this.spec.stream, this.spec.group, String(info.name));
      }
    }
    const groups = await this.redis.xinfo('GROUPS', this.spec.stream) as unknown[][];
    for (const g of groups) {
      const info = fields(g);
      if (info.name !== this.spec.group) continue;
      this.pending = typeof info.pending === 'number' ? info.pending : null;
      this.lag = typeof info.lag === 'number' ? info.lag : null;
    }
  }

  /**
   * Stores the messages as events (together: the queue commits them together), then acknowledges
   * those stored; one that failed stays pending (taken over again after claimIdleMs).
   */
  private async handle(entries: Entry[]): Promise<void> {
    const stored = await Promise.all(entries.map(async ([id, raw]) => {
      if (raw === null) return id; // deleted from the stream meanwhile
      try {
        await this.deliver({
          id: createHash('sha256').update(`${this.spec.stream}\n${id}`).digest('hex'),
          event: { eventSource: 'redis:streams', stream: this.spec.stream, group: this.spec.group, id, fields: fieldsOf(raw) },
        });
        this.delivered++;
      } catch (err) {
        if (!(err instanceof Unstorable)) {
          this.lastError = `${this.spec.stream} ${id}: not stored, left pending: ${(err as Error).message}`;
          this.lastErrorAt = Date.now();
          return null;
        }
        this.lastError = `${this.spec.stream} ${id}: ${err.message}`;
        this.lastErrorAt = Date.now();
        log.warn({ stream: this.spec.stream, id, trigger: this.name }, err.message);
      }
      return id;
    }));
    const done = stored.filter((id): id is string => id !== null);
    if (done.length > 0) await this.redis.xack(this.spec.stream, this.spec.group, ...done);
  }
}

/** A stream entry's field list as an object (a repeated field: the last value). */
function fieldsOf(raw: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < raw.length; i += 2) out[raw[i]!] = raw[i + 1]!;
  return { ...out };
}

/** XINFO's flat [name, value, …] reply as an object. */
function fields(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
