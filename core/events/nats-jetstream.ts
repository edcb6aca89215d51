// A NATS JetStream trigger: one durable pull consumer on a stream, shared by every replica that has
// the function (each fetches from it, so replicas split the messages). A message becomes an async
// event through `deliver` and is acknowledged only once stored; one a replica fetched and did not
// acknowledge (it died, or it could not be stored) is delivered again by JetStream after
// `ackWaitMs`, to whichever replica fetches next. The client reconnects by itself; while the
// server is away, fetches fail and the loop backs off (Backoff).

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import type { NatsTriggerSpec } from '../spec.js';
import { Backoff, SourceStatus, type Deliver, type EventSource, type TriggerHealth } from './source.js';
import { payload } from './payload.js';

const FETCH_EXPIRES_MS = 1_000;
const INFO_EVERY_MS = 5_000;

export class NatsJetStreamSource implements EventSource {
  private nc: NatsConnection | null = null;
  /** The shared consumer, once made or found (found again after an error). */
  private consumer: Consumer | null = null;
  private readonly status: SourceStatus;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private nextInfo = 0;

  constructor(name: string, private readonly spec: NatsTriggerSpec, private readonly deliver: Deliver) {
    this.status = new SourceStatus(name, 'nats');
  }

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.status.state = 'stopped';
    await this.nc?.close().catch(() => undefined);
    await this.running;
  }

  health(): TriggerHealth {
    return this.status.health();
  }

  private async connection(): Promise<NatsConnection> {
    if (this.nc !== null && !this.nc.isClosed()) return this.nc;
    const nc = await connect({
      servers: this.spec.url.split(',').map((s) => s.trim()), name: `hearth ${this.status.health().name}`,
      reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 500,
    });
    this.nc = nc;
    this.consumer = null;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.status.failed(new Error(`disconnected from ${this.spec.url.replace(/\/\/[^@/]*@/, '//')}`));
      }
    })().catch(() => undefined);
    return nc;
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff();
    while (!this.stopped) {
      try {
        const nc = await this.connection();
        if (this.stopped) break;
        const consumer = this.consumer ??= await this.ensureConsumer(nc);
        const fetched = [];
        for await (const m of await consumer.fetch({ max_messages: this.spec.batch, expires: FETCH_EXPIRES_MS })) fetched.push(m);
        // Stored together (the queue commits them together); each acknowledged once it may be.
        await Promise.all(fetched.map(async (m) => {
          const headers = m.headers ? Object.fromEntries([...m.headers.keys()].map((k) => [k, m.headers!.get(k)])) : {};
          const ack = await this.status.store(this.deliver, {
            id: createHash('sha256').update(`${this.spec.stream}\n${m.seq}`).digest('hex'),
            event: { eventSource: 'nats:jetstream', stream: this.spec.stream, consumer: this.spec.consumer, subject: m.subject, seq: m.seq, headers, ...payload(m.data) },
          }, `${this.spec.stream} ${m.seq}`);
          if (ack) m.ack();
        }));
        this.status.state = 'connected';
        backoff.reset();
        if (Date.now() >= this.nextInfo) {
          this.nextInfo = Date.now() + INFO_EVERY_MS;
          const info = await consumer.info();
          this.status.lag = info.num_pending;
          this.status.pending = info.num_ack_pending;
        }
      } catch (err) {
        if (this.stopped) break;
        this.status.failed(err as Error);
        this.consumer = null;
        await backoff.wait();
      }
    }
  }

  /** The durable pull consumer the replicas share: made if missing, left as it is if there. */
  private async ensureConsumer(nc: NatsConnection): Promise<Consumer> {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.consumers.info(this.spec.stream, this.spec.consumer);
    } catch {
      await jsm.consumers.add(this.spec.stream, {
        durable_name: this.spec.consumer, ack_policy: AckPolicy.Explicit, ack_wait: nanos(this.spec.ackWaitMs),
        deliver_policy: this.spec.from === 'earliest' ? DeliverPolicy.All : DeliverPolicy.New,
        max_ack_pending: Math.max(1_000, this.spec.batch * 4),
        ...(this.spec.subject !== undefined ? { filter_subject: this.spec.subject } : {}),
      });
    }
    return jetstream(nc).consumers.get(this.spec.stream, this.spec.consumer);
  }
}
