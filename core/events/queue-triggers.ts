// Queue triggers: a function's `triggers` (spec) each run one event source (core/events/source.ts)
// while the function exists; a redeploy that changes them restarts them, a delete stops them.
// Every message goes into the async queue as the function's event (the same retries, dead
// letters, destinations and records as an Event call), with an idempotency key made from the
// message's id in its queue, and the source acknowledges it only once stored.
//
// Sources start with start() (once the queue is open), not while functions are restored.

import type { AsyncInvoker } from '../async/invoker.js';
import type { FunctionVersion } from '../backend.js';
import { log } from '../log.js';
import type { EventCounter } from '../metrics.js';
import type { Catalog, FunctionListener } from '../registry/index.js';
import { triggerName } from '../spec.js';
import { AmqpSource } from './amqp.js';
import { NatsJetStreamSource } from './nats-jetstream.js';
import { RedisStreamsSource } from './redis-streams.js';
import { Unstorable, type Deliver, type EventSource, type TriggerHealth } from './source.js';
import { randomUUID } from 'node:crypto';

interface Running {
  digest: string;
  sources: EventSource[];
}

export class QueueTriggers implements FunctionListener {
  private readonly running = new Map<string, Running>();
  /** The $LATEST of each function with triggers, as the registry last said. */
  private readonly wanted = new Map<string, FunctionVersion>();
  private invoker: AsyncInvoker | null = null;
  private closed = false;

  constructor(
    private readonly catalog: Catalog,
    /** The largest Event payload (eventBodyLimit): a bigger message is not stored. */
    private readonly maxEventBytes: number,
    private readonly counter: EventCounter | null = null,
  ) {}

  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null || latest.spec.triggers.length === 0) this.wanted.delete(name);
    else this.wanted.set(name, latest);
    if (this.invoker !== null) this.sync(name);
  }

  /** The queue is open: sources start, and follow deploys from now on. */
  start(invoker: AsyncInvoker): void {
    this.invoker = invoker;
    for (const name of this.wanted.keys()) this.sync(name);
  }

  /** What GET /v1/functions/{name}/triggers shows. */
  describe(name: string): TriggerHealth[] {
    return this.running.get(name)?.sources.map((s) => s.health()) ?? [];
  }

  /** Every source's health, by function (the metrics' lag gauges). */
  all(): [string, TriggerHealth[]][] {
    return [...this.running].map(([name, r]) => [name, r.sources.map((s) => s.health())]);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.flatMap((r) => r.sources.map((s) => s.stop())));
  }

  private sync(name: string): void {
    const fn = this.closed ? undefined : this.wanted.get(name);
    const old = this.running.get(name);
    if (fn !== undefined && old?.digest === fn.digest) return;
    if (old) {
      this.running.delete(name);
      for (const s of old.sources) void s.stop();
    }
    if (fn === undefined) return;
    const sources = fn.spec.triggers.map((t, i): EventSource => {
      const deliver = this.deliverTo(name, t.type);
      const n = triggerName(t, i);
      const source = t.type === 'redis' ? new RedisStreamsSource(n, t, deliver)
        : t.type === 'nats' ? new NatsJetStreamSource(n, t, deliver)
        : new AmqpSource(n, t, deliver);
      source.start();
      return source;
    });
    this.running.set(name, { digest: fn.digest, sources });
    log.info({ function: name, triggers: sources.map((s) => s.health().name) }, 'queue triggers started');
  }

  /** Stores a message as the function's async event (its $LATEST when it is stored). */
  private deliverTo(name: string, type: string): Deliver {
    return async (m) => {
      const invoker = this.invoker!;
      const fn = this.catalog.resolve(name, '');
      const body = Buffer.from(JSON.stringify(m.event));
      if (body.byteLength > this.maxEventBytes) {
        this.counter?.eventsReceived(type, 'refused');
        throw new Unstorable(`a message of ${body.byteLength} bytes as an event, over the ${this.maxEventBytes} an Event payload may be (--async-max-body-bytes): acknowledged, not run`);
      }
      try {
        const r = await invoker.enqueue({
          fn, qualifier: '', body: body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer, enc: 0,
          source: 'trigger', requestId: randomUUID(), ...(m.id === null ? {} : { idempotencyKey: `${type}:${m.id}`, sameAs: m.id }),
        });
        this.counter?.eventsReceived(type, r.duplicate ? 'duplicate' : 'queued');
        return r.duplicate;
      } catch (err) {
        this.counter?.eventsReceived(type, 'refused');
        throw err;
      }
    };
  }
}
