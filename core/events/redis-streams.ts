// A Redis Streams trigger: one consumer group on a stream, shared by every replica that has the
// function (each reads as its own consumer, so replicas split the messages). A message becomes an
// async event through `deliver` and is acknowledged (XACK) only once stored: a replica that dies
// holding messages leaves them pending in the group, and after `claimIdleMs` another replica takes
// them over (XAUTOCLAIM) and stores them; those it had stored already are deduplicated by the
// queue when replicas share it (--queue redis), else run again (at least once). A server that goes
// away: the loop backs off (Backoff) and reads again once it is back.
//
// Each trigger has its own connection (XREADGROUP blocks it for up to a second).

import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import type { RedisTriggerSpec } from '../spec.js';
import { Backoff, SourceStatus, type Deliver, type EventSource, type TriggerHealth } from './source.js';

const BLOCK_MS = 1_000;
/** A consumer of the group idle this long and holding nothing is a replica that is gone. */
const STALE_CONSUMER_MS = 60 * 60 * 1000;

type Entry = [id: string, fields: string[] | null];

export class RedisStreamsSource implements EventSource {
  private readonly redis: Redis;
  private readonly consumer = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly status: SourceStatus;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private groupMade = false;
  private nextClaim = 0;
  private claimCursor = '0-0';

  constructor(name: string, private readonly spec: RedisTriggerSpec, private readonly deliver: Deliver) {
    this.status = new SourceStatus(name, 'redis');
    this.redis = new Redis(spec.url, {
      lazyConnect: true,
      // Commands fail while the server is away (the loop backs off), rather than queue without end.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(10_000, 500 * 2 ** Math.min(times, 5)),
    });
    this.redis.on('error', (err: Error) => this.status.failed(err));
    this.redis.on('ready', () => { this.groupMade = false; });
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.status.state = 'stopped';
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
    return this.status.health();
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopped) {
      try {
        if (this.redis.status === 'wait' || this.redis.status === 'end') await this.redis.connect();
        if (this.redis.status !== 'ready') throw new Error(`not connected (${this.redis.status})`);
        await this.ensureGroup();
        if (Date.now() >= this.nextClaim) await this.claim();
        const read = await this.redis.xreadgroup('GROUP', this.spec.group, this.consumer, 'COUNT', this.spec.batch, 'BLOCK', BLOCK_MS,
          'STREAMS', this.spec.stream, '>') as [string, Entry[]][] | null;
        this.status.state = 'connected';
        backoff.reset();
        if (read !== null) for (const [, entries] of read) await this.handle(entries);
      } catch (err) {
        if (this.stopped) break;
        this.status.failed(err as Error);
        await backoff.wait();
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

  /**
   * Takes over what a reader left unacknowledged past claimIdleMs (a dead replica's, or one not
   * stored here), removes the consumers of replicas long gone, and measures the lag.
   */
  private async claim(): Promise<void> {
    this.nextClaim = Date.now() + Math.max(100, Math.floor(this.spec.claimIdleMs / 2));
    const [next, entries] = await this.redis.xautoclaim(this.spec.stream, this.spec.group, this.consumer, this.spec.claimIdleMs,
      this.claimCursor, 'COUNT', this.spec.batch) as [string, Entry[], ...unknown[]];
    this.claimCursor = next;
    await this.handle(entries);
    if (next !== '0-0') this.nextClaim = 0; // more to look at: again on the next turn
    const consumers = await this.redis.xinfo('CONSUMERS', this.spec.stream, this.spec.group) as unknown[][];
    for (const info of consumers.map(fields)) {
      if (info.name !== this.consumer && info.pending === 0 && typeof info.idle === 'number' && info.idle > STALE_CONSUMER_MS) {
        await this.redis.xgroup('DELCONSUMER', this.spec.stream, this.spec.group, String(info.name));
      }
    }
    const group = (await this.redis.xinfo('GROUPS', this.spec.stream) as unknown[][]).map(fields).find((g) => g.name === this.spec.group);
    this.status.pending = typeof group?.pending === 'number' ? group.pending : null;
    this.status.lag = typeof group?.lag === 'number' ? group.lag : null;
  }

  /**
   * Stores the messages as events (together: the queue commits them together), then acknowledges
   * those that may be; one that could not be stored stays pending (taken over after claimIdleMs).
   */
  private async handle(entries: Entry[]): Promise<void> {
    const acked = await Promise.all(entries.map(async ([id, raw]) => {
      if (raw === null) return id; // deleted from the stream meanwhile
      const stored = await this.status.store(this.deliver, {
        id: createHash('sha256').update(`${this.spec.stream}\n${id}`).digest('hex'),
        event: { eventSource: 'redis:streams', stream: this.spec.stream, group: this.spec.group, id, fields: fieldsOf(raw) },
      }, `${this.spec.stream} ${id}`);
      return stored ? id : null;
    }));
    const done = acked.filter((id): id is string => id !== null);
    if (done.length > 0) await this.redis.xack(this.spec.stream, this.spec.group, ...done);
  }
}

/** A stream entry's field list as an object (a repeated field: the last value). */
function fieldsOf(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) Object.defineProperty(out, raw[i]!, { value: raw[i + 1]!, enumerable: true, writable: true, configurable: true });
  return out;
}

/** XINFO's flat [name, value, …] reply as an object. */
function fields(reply: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
  return out;
}
