// An AMQP 0-9-1 trigger (RabbitMQ): every replica that has the function consumes the queue, so
// the broker splits the messages between them (competing consumers, at most `batch` unacknowledged
// each: the channel's prefetch). A message becomes an async event through `deliver` and is
// acknowledged only once stored; the broker gives one a replica held unacknowledged (it died, its
// connection closed) to another at once. One that could not be stored (the queue full) is given
// back (nack, requeue) after a second. A lost connection: the loop backs off (Backoff) and
// consumes again once the broker is back. The event's idempotency key is the message's
// `message_id` when its publisher set one (without it, a message given again runs again).

import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { createHash } from 'node:crypto';
import type { AmqpTriggerSpec } from '../spec.js';
import { payload } from './payload.js';
import { Backoff, sleep, SourceStatus, type Deliver, type EventSource, type TriggerHealth } from './source.js';

const REQUEUE_AFTER_MS = 1_000;
const INFO_EVERY_MS = 5_000;

export class AmqpSource implements EventSource {
  private model: ChannelModel | null = null;
  private readonly status: SourceStatus;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;

  constructor(name: string, private readonly spec: AmqpTriggerSpec, private readonly deliver: Deliver) {
    this.status = new SourceStatus(name, 'amqp');
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.status.state = 'stopped';
    await this.model?.close().catch(() => undefined);
    this.wake?.();
    await this.running;
  }

  health(): TriggerHealth {
    return this.status.health();
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopped) {
      let info: NodeJS.Timeout | undefined;
      try {
        const model = await connect(this.spec.url);
        this.model = model;
        const closed = new Promise<void>((resolve) => {
          this.wake = resolve;
          model.on('close', () => resolve());
          model.on('error', (err: Error) => this.status.failed(err));
        });
        if (this.stopped) { await model.close().catch(() => undefined); break; }
        const ch = await model.createChannel();
        ch.on('error', (err: Error) => this.status.failed(err));
        await ch.prefetch(this.spec.batch);
        await ch.checkQueue(this.spec.queue);
        await ch.consume(this.spec.queue, (m) => { if (m !== null) void this.handle(ch, m); }, { noAck: false });
        this.status.state = 'connected';
        backoff.reset();
        info = setInterval(() => {
          ch.checkQueue(this.spec.queue).then((q) => { this.status.lag = q.messageCount; }, () => undefined);
        }, INFO_EVERY_MS);
        info.unref();
        await closed;
        if (!this.stopped) throw new Error('the connection to the broker closed');
      } catch (err) {
        if (this.stopped) break;
        this.status.failed(err as Error);
        await backoff.wait();
      } finally {
        clearInterval(info);
      }
    }
  }

  private async handle(ch: Channel, m: ConsumeMessage): Promise<void> {
    const p = m.properties;
    const messageId = typeof p.messageId === 'string' && p.messageId !== '' ? p.messageId : null;
    const ack = await this.status.store(this.deliver, {
      id: messageId === null ? null : createHash('sha256').update(`${this.spec.queue}\n${messageId}`).digest('hex'),
      event: {
        eventSource: 'amqp', queue: this.spec.queue, exchange: m.fields.exchange, routingKey: m.fields.routingKey,
        redelivered: m.fields.redelivered, messageId, contentType: p.contentType ?? null, headers: p.headers ?? {}, ...payload(m.content),
      },
    }, `${this.spec.queue} ${messageId ?? m.fields.deliveryTag}`);
    try {
      if (ack) ch.ack(m);
      else {
        await sleep(REQUEUE_AFTER_MS);
        ch.nack(m, false, true);
      }
    } catch { /* the channel closed: the broker gives the message again itself */ }
  }
}
