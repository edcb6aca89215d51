// An AMQP 0-9-1 trigger (RabbitMQ): every replica that has the function consumes the queue, so
// the broker splits the messages between them (competing consumers, at most `batch` unacknowledged
// each: the channel's prefetch). A message becomes an async event through `deliver` and is
// acknowledged only once stored; the broker gives one a replica held unacknowledged (it died, its
// connection closed) to another at once. One that could not be stored (the queue full) is given
// back (nack, requeue) after a second. A lost connection: the loop backs off (0.5 s doubling to
// 10 s) and consumes again once the broker is back. The event's idempotency key is the message's
// `message_id` when its publisher set one (without it, a message given again runs again).

import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { createHash } from 'node:crypto';
import { log } from '../log.js';
import type { AmqpTriggerSpec } from '../spec.js';
import { Unstorable, type Deliver, type EventSource, type TriggerHealth } from './source.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;
const REQUEUE_AFTER_MS = 1_000;
const INFO_EVERY_MS = 5_000;

const decoder = new TextDecoder('utf-8', { fatal: true });

export class AmqpSource implements EventSource {
  private model: ChannelModel | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  private state: TriggerHealth['state'] = 'connecting';
  private delivered = 0;
  private lag: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private info: NodeJS.Timeout | null = null;

  constructor(
    private readonly name: string,
    private readonly spec: AmqpTriggerSpec,
    private readonly deliver: Deliver,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    if (this.info) clearInterval(this.info);
    await this.model?.close().catch(() => undefined);
    this.wake?.();
    await this.running;
  }

  health(): TriggerHealth {
    return {
      name: this.name, type: 'amqp', state: this.state, lag: this.lag, pending: null, delivered: this.delivered,
      lastError: this.lastError, lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }

  private failed(err: Error): void {
    if (this.stopped) return;
    this.lastError = err.message;
    this.lastErrorAt = Date.now();
    this.state = 'reconnecting';
  }

  private async loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped) {
      try {
        const model = await connect(this.spec.url);
        this.model = model;
        const closed = new Promise<void>((resolve) => {
          this.wake = resolve;
          model.on('close', () => resolve());
          model.on('error', (err: Error) => this.failed(err));
        });
        if (this.stopped) { await model.close().catch(() => undefined); break; }
        const ch = await model.createChannel();
        ch.on('error', (err: Error) => this.failed(err));
        await ch.prefetch(this.spec.batch);
        await ch.checkQueue(this.spec.queue);
        await ch.consume(this.spec.queue, (m) => { if (m !== null) void this.handle(ch, m); }, { noAck: false });
        this.state = 'connected';
        backoff = BACKOFF_MIN_MS;
        this.info = setInterval(() => {
          ch.checkQueue(this.spec.queue).then((q) => { this.lag = q.messageCount; }, () => undefined);
        }, INFO_EVERY_MS);
        this.info.unref();
        await closed;
        clearInterval(this.info);
        if (!this.stopped) throw new Error('the connection to the broker closed');
      } catch (err) {
        if (this.stopped) break;
        this.failed(err as Error);
        await sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  private async handle(ch: Channel, m: ConsumeMessage): Promise<void> {
    const p = m.properties;
    let data: { data: unknown } | { data_base64: string };
    try {
      data = { data: decoder.decode(m.content) };
    } catch {
      data = { data_base64: m.content.toString('base64') };
    }
    const messageId = typeof p.messageId === 'string' && p.messageId !== '' ? p.messageId : null;
    try {
      await this.deliver({
        id: messageId === null ? null : createHash('sha256').update(`${this.spec.queue}\n${messageId}`).digest('hex'),
        event: {
          eventSource: 'amqp', queue: this.spec.queue, exchange: m.fields.exchange, routingKey: m.fields.routingKey,
          redelivered: m.fields.redelivered, messageId, contentType: p.contentType ?? null, headers: p.headers ?? {}, ...data,
        },
      });
      this.delivered++;
    } catch (err) {
      this.lastError = `${this.spec.queue}: ${err instanceof Unstorable ? err.message : `not stored, given back: ${(err as Error).message}`}`;
      this.lastErrorAt = Date.now();
      if (!(err instanceof Unstorable)) {
        await sleep(REQUEUE_AFTER_MS);
        try { ch.nack(m, false, true); } catch { /* the channel closed: the broker gives it back itself */ }
        return;
      }
      log.warn({ queue: this.spec.queue, messageId, trigger: this.name }, err.message);
    }
    try { ch.ack(m); } catch { /* the channel closed: the broker gives it again; stored already, it is a duplicate */ }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
