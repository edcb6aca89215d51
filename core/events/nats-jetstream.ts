// A NATS JetStream trigger: one durable pull consumer on a stream, shared by every replica that
// has the function (each fetches from it, so replicas split the messages). A message becomes an
// async event through `deliver` and is acknowledged only once stored; one a replica fetched and
// did not acknowledge (it died) is delivered again by JetStream after `ackWaitMs`, to whichever
// replica fetches next. The client reconnects by itself; while the server is away, fetches fail
// and the loop backs off (0.5 s doubling to 10 s).

import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type Consumer, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { log } from '../log.js';
import type { NatsTriggerSpec } from '../spec.js';
import { Unstorable, type Deliver, type EventSource, type TriggerHealth } from './source.js';

const FETCH_EXPIRES_MS = 1_000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10_000;

const decoder = new TextDecoder('utf-8', { fatal: true });

export class NatsJetStreamSource implements EventSource {
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private jsm: JetStreamManager | null = null;
  /** The shared consumer, once made or found (found again after an error). */
  private consumer: Consumer | null = null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private state: TriggerHealth['state'] = 'connecting';
  private delivered = 0;
  private lag: number | null = null;
  private pending: number | null = null;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  private nextInfo = 0;

  constructor(
    private readonly name: string,
    private readonly spec: NatsTriggerSpec,
    private readonly deliver: Deliver,
  ) {}

  start(): void {
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    await this.nc?.close().catch(() => undefined);
    await this.running;
  }

  health(): TriggerHealth {
    return {
      name: this.name, type: 'nats', state: this.state, lag: this.lag, pending: this.pending, delivered: this.delivered,
      lastError: this.lastError, lastErrorAt: this.lastErrorAt === null ? null : new Date(this.lastErrorAt).toISOString(),
    };
  }

  private failed(err: Error): void {
    if (this.stopped) return;
    this.lastError = err.message;
    this.lastErrorAt = Date.now();
    this.state = 'reconnecting';
  }

  private async connect(): Promise<void> {
    if (this.nc !== null && !this.nc.isClosed()) return;
    const nc = await connect({
      servers: this.spec.url.split(',').map((s) => s.trim()), name: `hearth ${this.name}`,
      reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: BACKOFF_MIN_MS,
    });
    this.nc = nc;
    this.js = jetstream(nc);
    this.jsm = await jetstreamManager(nc);
    this.consumer = null;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect') this.failed(new Error(`disconnected from ${this.spec.url.replace(/\/\/[^@/]*@/, '//')}`));
      }
    })().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    let backoff = BACKOFF_MIN_MS;
    while (!this.stopped) {
      try {
        await this.connect();
        if (this.stopped) break;
        const consumer = this.consumer ??= await this.ensureConsumer();
        const fetched = [];
        for await (const m of await consumer.fetch({ max_messages: this.spec.batch, expires: FETCH_EXPIRES_MS })) fetched.push(m);
        // Stored together (the queue commits them together); each acknowledged once stored, one
        // that failed is not (JetStream delivers it again after ackWaitMs).
        await Promise.all(fetched.map(async (m) => {
          let data: { data: unknown } | { data_base64: string };
          try {
            data = { data: decoder.decode(m.data) };
          } catch {
            data = { data_base64: Buffer.from(m.data).toString('base64') };
          }
          const headers = m.headers ? Object.fromEntries([...m.headers.keys()].map((k) => [k, m.headers!.get(k)])) : {};
          try {
            await this.deliver({
              id: createHash('sha256').update(`${this.spec.stream}\n${m.seq}`).digest('hex'),
              event: { eventSource: 'nats:jetstream', stream: this.spec.stream, consumer: this.spec.consumer, subject: m.subject, seq: m.seq, headers, ...data },
            });
            this.delivered++;
          } catch (err) {
            this.lastError = `${this.spec.stream} ${m.seq}: ${err instanceof Unstorable ? err.message : `not stored, delivered again later: ${(err as Error).message}`}`;
            this.lastErrorAt = Date.now();
            if (!(err instanceof Unstorable)) return;
            log.warn({ stream: this.spec.stream, seq: m.seq, trigger: this.name }, err.message);
          }
          m.ack();
        }));
        this.state = 'connected';
        backoff = BACKOFF_MIN_MS;
        if (Date.now() >= this.nextInfo) {
          this.nextInfo = Date.now() + 5_000;
          const info = await consumer.info();
          this.lag = info.num_pending;
          this.pending = info.num_ack_pending;
        }
      } catch (err) {
        if (this.stopped) break;
        this.failed(err as Error);
        this.consumer = null;
        await sleep(backoff);
        backoff = Math.min(BACKOFF_MAX_MS, backoff * 2);
      }
    }
  }

  /** The durable pull consumer the replicas share: made if missing, left as it is if there. */
  private async ensureConsumer(): Promise<Consumer> {
    try {
      await this.jsm!.consumers.info(this.spec.stream, this.spec.consumer);
    } catch {
      await this.jsm!.consumers.add(this.spec.stream, {
        durable_name: this.spec.consumer, ack_policy: AckPolicy.Explicit, ack_wait: nanos(this.spec.ackWaitMs),
        deliver_policy: this.spec.from === 'earliest' ? DeliverPolicy.All : DeliverPolicy.New,
        max_ack_pending: Math.max(1_000, this.spec.batch * 4),
        ...(this.spec.subject !== undefined ? { filter_subject: this.spec.subject } : {}),
      });
    }
    return this.js!.consumers.get(this.spec.stream, this.spec.consumer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
