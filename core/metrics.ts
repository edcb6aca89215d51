// Prometheus metrics (prom-client), served at GET /metrics. Names follow Prometheus' conventions:
// the hearth_ prefix, base units (seconds, bytes), _total for counters. Labels are bounded: the
// function's name, the runtime, the tier, an outcome or a state; never a request id.
//
// The per-call part is plain counting: one Map lookup (by the function's name), then increments
// of numbers and a bucket array made once per function. prom-client's own label children hash
// their labels on every inc/observe (measured: 12% less hello throughput over HTTP with them), so
// the per-call series are registered as metrics that prom-client asks for their values when
// Prometheus scrapes. Pool figures (instances, queue, evictions, memory) are read from the
// backends then too, and the async queue's depth from the queue.

import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { TriggerHealth } from './events/source.js';
import { containerChannels } from '../container-fallback/channel-counters.js';
import type { QueueStats } from './async/queue.js';
import type { Backend, FunctionVersion } from './backend.js';
import type { FunctionListener } from './registry/index.js';
import type { CallOutcome } from './call.js';
import { egressRefusals } from './egress.js';
import type { HttpCounters } from './http/http-counters.js';
import { LIMIT_METRICS, type LimitCounters, type LimitMetric } from './limit-counters.js';

/** What a call ended as, for hearth_invocations_total. */
export type Outcome = 'success' | 'function_error' | 'timeout' | 'throttled' | 'error';
const OUTCOMES: Outcome[] = ['success', 'function_error', 'timeout', 'throttled', 'error'];

export function outcomeOf(out: CallOutcome): number {
  const e = out.error;
  if (e === null) return 0;
  if (e.functionError) return 1;
  if (e.status === 504) return 2;
  if (e.status === 429) return 3;
  return 4;
}

/** How an async event's attempt ended: done, queued again for a retry, or a dead letter. */
export type AsyncAttemptOutcome = 'succeeded' | 'retried' | 'failed';
const ASYNC_OUTCOMES: AsyncAttemptOutcome[] = ['succeeded', 'retried', 'failed'];

/** How long a scrape waits for the async queue's figures. */
const QUEUE_STATS_TIMEOUT_MS = 1_000;

/** Where the scraped figures come from: the tiers' pools and the async queue. */
export interface MetricSources {
  backends(): Backend[];
  /** What the async queue holds, read at scrape time (none: no async gauges' values). */
  asyncQueue?(): Promise<QueueStats>;
  /** The HTTP front end's refusals and drops (none: those series stay out). */
  http?: HttpCounters;
  /** What the channel bounds dropped or refused (issue 15). */
  limits?: LimitCounters;
  /** The invocation records' log bytes held and dropped. */
  records?: { readonly logBytes: number; readonly droppedLogBytes: number };
}

/** Seconds: from 100 µs (a warm isolate call) to 30 s (a slow container call). */
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const INIT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds: an async event's age at an attempt, from 10 ms (taken at once) to 6 h (maxEventAgeMs' longest). */
const EVENT_AGE_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 10800, 21600];

/** One series of a metric as prom-client's text writer takes it (metricName: a histogram's _bucket etc.). */
interface SeriesValue { metricName?: string; labels: Record<string, string>; value: number }

/**
 * The q-quantile of a histogram's bucket counts (not cumulative; the last is +Inf), interpolated
 * within its bucket as Prometheus' histogram_quantile does; NaN when there is nothing counted.
 * In the +Inf bucket it answers the highest bound.
 */
export function bucketQuantile(bounds: readonly number[], counts: ArrayLike<number>, q: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  if (total === 0) return NaN;
  const rank = q * total;
  let acc = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (acc + c >= rank && c > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1]!;
      const lo = i === 0 ? 0 : bounds[i - 1]!;
      return lo + (bounds[i]! - lo) * ((rank - acc) / c);
    }
    acc += c;
  }
  return bounds[bounds.length - 1]!;
}

/** A histogram's state: a count per bucket (not cumulative; the last is +Inf), sum and count. */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(v: number): void {
    let i = 0;
    const b = this.bounds;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }

  /** Prometheus' series: cumulative _bucket by le, _sum, _count. */
  values(name: string, labels: Record<string, string>): SeriesValue[] {
    const out: SeriesValue[] = [];
    let acc = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      acc += this.counts[i]!;
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < this.bounds.length ? String(this.bounds[i]) : '+Inf' }, value: acc });
    }
    out.push({ metricName: `${name}_sum`, labels, value: this.sum }, { metricName: `${name}_count`, labels, value: this.count });
    return out;
  }
}

/** A function's calls since start: by outcome (OUTCOMES' order), their durations, and how many were cold. */
export interface PerFunction {
  byOutcome: Float64Array;
  duration: Buckets;
  coldStarts: number;
}

/** A function's async events: enqueued, then attempts by outcome (ASYNC_OUTCOMES' order), and their age at each attempt. */
interface AsyncPerFunction {
  enqueued: number;
  attempts: Float64Array;
  age: Buckets;
}

/** A metric whose values are computed when Prometheus scrapes. */
function scraped(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => SeriesValue[]): void {
  const metric = {
    name, help, type, aggregator: 'sum' as const,
    get: async () => ({ name, help, type, aggregator: 'sum' as const, values: values() }),
    reset: () => undefined,
  };
  registry.registerMetric(metric as never);
}

/** What became of an event a source received. */
export type EventOutcome = 'queued' | 'duplicate' | 'refused';

/** Where an event source counts what it received (Metrics; null in tests that need none). */
export interface EventCounter {
  eventsReceived(source: string, outcome: EventOutcome, n?: number): void;
}

export class Metrics implements FunctionListener {
  readonly registry = new Registry();
  private readonly perFunction = new Map<string, PerFunction>();
  /** Cold starts by runtime: their init time (its count is the cold-start count). */
  private readonly init = new Map<string, Buckets>();
  private readonly asyncPerFunction = new Map<string, AsyncPerFunction>();
  /** Destination deliveries (HTTP POSTs) by attempt outcome. */
  private readonly deliveries = new Float64Array(ASYNC_OUTCOMES.length);
  /** Event calls refused because the async queue was full, by the bound that refused them. */
  private readonly asyncRefusals = { events: 0, bytes: 0 };
  /** Destination chains stopped at the depth limit, by the function whose destination was not run. */
  private readonly chainsStopped = new Map<string, number>();
  /** Events an event source received, by `source\0outcome`. */
  private readonly eventsIn = new Map<string, number>();
  /** Calls the dispatcher holds now (between CallHooks' begin and end). */
  private inFlight = 0;
  constructor(private readonly sources: MetricSources) {
    const backends = () => sources.backends();
    const registers = [this.registry];
    const calls = () => this.inFlight;
    new Gauge({
      name: 'hearth_invocations_in_flight', help: 'Calls this replica holds now, running or waiting for an instance (sync calls, async attempts, timer runs): the per-pod signal to scale replicas on.', registers,
      collect() { this.set(calls()); },
    });
    scraped(this.registry, 'hearth_invocations_total', 'Invocations that ended, by function and outcome (success, function_error, timeout, throttled, error).', 'counter', () => {
      const out: SeriesValue[] = [];
      for (const [name, f] of this.perFunction) OUTCOMES.forEach((outcome, i) => out.push({ labels: { function: name, outcome }, value: f.byOutcome[i]! }));
      return out;
    });
    scraped(this.registry, 'hearth_invocation_duration_seconds', 'Time the function ran (X-Hearth-Duration-Ms), by function.', 'histogram',
      () => [...this.perFunction].flatMap(([name, f]) => f.duration.values('hearth_invocation_duration_seconds', { function: name })));
    scraped(this.registry, 'hearth_init_duration_seconds', 'Time a cold start spent making the instance ready (X-Hearth-Init-Ms), by runtime.', 'histogram',
      () => [...this.init].flatMap(([runtime, b]) => b.values('hearth_init_duration_seconds', { runtime })));
    scraped(this.registry, 'hearth_cold_starts_total', 'Calls that started a new instance, by runtime.', 'counter',
      () => [...this.init].map(([runtime, b]) => ({ labels: { runtime }, value: b.count })));
    const stats = () => backends().map((b) => ({ tier: b.tier, s: b.stats() }));
    new Gauge({
      name: 'hearth_instances', help: 'Instances by tier and state (warm: holding a function; busy: of those, running calls now; prewarmed: blank isolates and stem cells made ahead).',
      labelNames: ['tier', 'state'], registers,
      collect() {
        this.reset();
        for (const { tier, s } of stats()) {
          this.set({ tier, state: 'warm' }, s.instances);
          this.set({ tier, state: 'busy' }, s.busy);
          this.set({ tier, state: 'prewarmed' }, s.prewarmed);
        }
      },
    });
    new Gauge({
      name: 'hearth_wait_queue_depth', help: 'Calls waiting for a free instance, by tier.', labelNames: ['tier'], registers,
      collect() { for (const { tier, s } of stats()) this.set({ tier }, s.waiting); },
    });
    new Gauge({
      name: 'hearth_instance_memory_bytes', help: 'Memory the warm instances hold as the pool counts it, by tier.', labelNames: ['tier'], registers,
      collect() { for (const { tier, s } of stats()) this.set({ tier }, s.memoryMb * 1024 * 1024); },
    });
    new Counter({
      name: 'hearth_evictions_total', help: 'Idle instances evicted to stay within the budgets, by tier.', labelNames: ['tier'], registers,
      collect() {
        this.reset();
        for (const { tier, s } of stats()) this.inc({ tier }, s.evictions);
      },
    });
    scraped(this.registry, 'hearth_async_events_enqueued_total', 'Async events accepted into the durable queue (a repeated Idempotency-Key not counted), by function.', 'counter',
      () => [...this.asyncPerFunction].map(([name, f]) => ({ labels: { function: name }, value: f.enqueued })));
    scraped(this.registry, 'hearth_async_attempts_total', 'Attempts of async events, by function and how they ended: succeeded, retried (queued again) or failed (a dead letter).', 'counter', () => {
      const out: SeriesValue[] = [];
      for (const [name, f] of this.asyncPerFunction) ASYNC_OUTCOMES.forEach((outcome, i) => out.push({ labels: { function: name, outcome }, value: f.attempts[i]! }));
      return out;
    });
    scraped(this.registry, 'hearth_async_event_age_seconds', 'How long async events had waited when an attempt of them started, from when they were accepted (Lambda\'s AsyncEventAge: it grows with a backlog and with retries), by function.', 'histogram',
      () => [...this.asyncPerFunction].flatMap(([name, f]) => f.age.values('hearth_async_event_age_seconds', { function: name })));
    scraped(this.registry, 'hearth_async_deliveries_total', 'POSTs of async outcomes to URL destinations, by how they ended: succeeded, retried or failed (a dead letter).', 'counter',
      () => ASYNC_OUTCOMES.map((outcome, i) => ({ labels: { outcome }, value: this.deliveries[i]! })));
    scraped(this.registry, 'hearth_container_oversized_responses_total', 'Container answers refused because their body or head was over its bound (--max-result-bytes), by runtime; the call failed with ResultTooLarge.', 'counter',
      () => [...containerChannels.oversized].map(([runtime, n]) => ({ labels: { runtime }, value: n })));
    scraped(this.registry, 'hearth_container_log_lines_dropped_total', 'Lines of containers\' output (Docker\'s log stream) dropped over --container-log-bytes-per-sec.', 'counter',
      () => [{ labels: {}, value: containerChannels.logLinesDropped }]);
    scraped(this.registry, 'hearth_container_calls_resent_total', 'Calls sent once more to another container because the first could not be reached at all (it refused the connection: it had died, unseen); the function never saw the first.', 'counter',
      () => [{ labels: {}, value: stats().find((x) => x.tier === 'container')?.s.resent ?? 0 }]);
    const extras = () => stats().find((x) => x.tier === 'isolate')?.s.runtimeExtras ?? [];
    scraped(this.registry, 'hearth_runtime_extra_loads_total', 'Runtime extras (heavy web APIs kept out of the runtime script: URL, crypto.subtle\'s algorithms, legacy text encodings) run into an isolate on its first use of them, by extra.', 'counter',
      () => extras().map((e) => ({ labels: { extra: e.extra }, value: e.loaded })));
    scraped(this.registry, 'hearth_runtime_extra_loads_refused_total', 'Runtime extras whose load was refused: their script threw or ran past 50 ms on the event loop (the function\'s call then failed to use the API), by extra.', 'counter',
      () => extras().map((e) => ({ labels: { extra: e.extra }, value: e.refused })));
    scraped(this.registry, 'hearth_isolate_idle_releases_total', 'Idle warm isolates that gave back the heap pages they held unused (V8\'s low-memory GC after --idle-release-ms without a call).', 'counter',
      () => [{ labels: {}, value: stats().find((x) => x.tier === 'isolate')?.s.idleReleases ?? 0 }]);
    const read = () => this.readAsyncQueue();
    const asyncGauge = (name: string, help: string, pick: (s: QueueStats) => number) => new Gauge({
      name, help, registers,
      async collect() {
        const s = await read();
        if (s !== null) this.set(pick(s));
      },
    });
    asyncGauge('hearth_async_queue_events', 'Async events queued or running in the durable queue (with Redis: across every replica sharing it).', (q) => q.pending);
    asyncGauge('hearth_async_running_events', 'Async events this process is running.', (q) => q.held);
    const triggers = () => this.triggerSource?.() ?? [];
    new Gauge({
      name: 'hearth_trigger_lag', help: 'Queue triggers: messages in the queue not yet read by the trigger\'s consumer group (as its server counts them), by function and trigger.', labelNames: ['function', 'trigger'], registers,
      collect() {
        this.reset();
        for (const [fn, list] of triggers()) for (const t of list) if (t.lag !== null) this.set({ function: fn, trigger: t.name }, t.lag);
      },
    });
    new Gauge({
      name: 'hearth_trigger_connected', help: 'Queue triggers: 1 while reading from their server, 0 otherwise (connecting, reconnecting), by function and trigger.', labelNames: ['function', 'trigger'], registers,
      collect() {
        this.reset();
        for (const [fn, list] of triggers()) for (const t of list) this.set({ function: fn, trigger: t.name }, t.state === 'connected' ? 1 : 0);
      },
    });
    const deploys = () => this.deploySource?.() ?? { running: 0, queued: 0, broken: 0 };
    new Gauge({
      name: 'hearth_deploy_builds', help: 'Deploy builds (inflate, bundle, in worker threads) by state: running or queued.', labelNames: ['state'], registers,
      collect() {
        const d = deploys();
        this.set({ state: 'running' }, d.running);
        this.set({ state: 'queued' }, d.queued);
      },
    });
    const refusals = this.deployRefusals;
    new Counter({
      name: 'hearth_deploys_refused_total', help: 'Deploys refused by a deploy limit, by reason (archive_too_large, too_many_files, code_too_large, queue_full, timeout).', labelNames: ['reason'], registers,
      collect() {
        this.reset();
        for (const [reason, n] of refusals) this.inc({ reason }, n);
      },
    });
    new Gauge({
      name: 'hearth_broken_functions', help: 'Stored functions that could not be loaded at start (GET /readyz lists them).', registers,
      collect() { this.set(deploys().broken); },
    });
    if (sources.http !== undefined) registerHttp(this.registry, sources.http);
    // Channel bounds (issue 15): what they dropped or refused, and the records' log bytes.
    const limits = sources.limits;
    if (limits !== undefined) {
      for (const [metric, [name, help]] of Object.entries(LIMIT_METRICS)) scraped(this.registry, name, help, 'counter', () => limits.series(metric as LimitMetric));
    }
    const records = sources.records;
    if (records !== undefined) {
      new Gauge({
        name: 'hearth_invocation_records_log_bytes', help: 'Log text all invocation records hold (bounded by --record-log-bytes).', registers,
        collect() { this.set(records.logBytes); },
      });
      scraped(this.registry, 'hearth_invocation_record_log_dropped_bytes_total', 'Log text not kept on invocation records (past a record\'s 64 KiB or 1,000 lines, or taken from the oldest records to stay within --record-log-bytes).', 'counter', () => [{ labels: {}, value: records.droppedLogBytes }]);
    }
    asyncGauge('hearth_async_queue_bytes', 'Payload bytes of the async events queued or running (what --async-queue-max-bytes bounds; with Redis: across every replica).', (q) => q.bytes);
    new Counter({
      name: 'hearth_async_dead_letters_expired_total', help: 'Async dead letters removed because they passed --async-dead-letter-retention-ms (by this process).', registers,
      async collect() {
        const s = await read();
        if (s === null) return;
        this.reset();
        this.inc(s.deadLettersExpired);
      },
    });
    asyncGauge('hearth_async_dead_letter_bytes', 'Bytes the async dead letters hold (what --async-dead-letter-max-bytes bounds; with Redis: across every replica).', (q) => q.deadLetterBytes);
    new Counter({
      name: 'hearth_async_dead_letters_dropped_total', help: 'Async dead letters removed before their retention, by reason: bytes (the oldest, to stay within --async-dead-letter-max-bytes and --async-dead-letter-max-bytes-per-function; by this process).', labelNames: ['reason'], registers,
      async collect() {
        const s = await read();
        if (s === null) return;
        this.reset();
        this.inc({ reason: 'bytes' }, s.deadLettersDropped);
      },
    });
    scraped(this.registry, 'hearth_async_enqueue_refused_total', 'Event calls refused (429) because the async queue was full, by the bound: events (--async-queue-size) or bytes (--async-queue-max-bytes).', 'counter',
      () => (['events', 'bytes'] as const).map((limit) => ({ labels: { limit }, value: this.asyncRefusals[limit] })));
    scraped(this.registry, 'hearth_async_chains_stopped_total', 'Destination chains stopped at the depth limit (the next event stored as a dead letter, ChainDepthExceeded), by the function whose destination was not run.', 'counter',
      () => [...this.chainsStopped].map(([name, n]) => ({ labels: { function: name }, value: n })));
    scraped(this.registry, 'hearth_events_received_total', 'Events the event sources received, by source (cloudevents, s3: POST /v1/events; redis, nats, amqp: queue triggers) and outcome: queued (in the durable queue), duplicate (the id its source gave seen within the idempotency window: not queued again), refused (invalid, or not stored: the sender may retry).', 'counter',
      () => [...this.eventsIn].map(([key, n]) => {
        const [source, outcome] = key.split('\0');
        return { labels: { source: source!, outcome: outcome! }, value: n };
      }));
    collectDefaultMetrics({ register: this.registry });
  }

  /** Events an event source received (a handful of sources × three outcomes: the map stays small). */
  eventsReceived(source: string, outcome: EventOutcome, n = 1): void {
    const key = `${source}\0${outcome}`;
    this.eventsIn.set(key, (this.eventsIn.get(key) ?? 0) + n);
  }

  private readonly deployRefusals = new Map<string, number>();
  private deploySource: (() => { running: number; queued: number; broken: number }) | null = null;

  /** Where the deploy figures come from (the registry, made after the metrics). */
  private triggerSource: (() => [string, TriggerHealth[]][]) | null = null;

  /** Where the queue triggers' gauges come from (core/events/queue-triggers.ts). */
  watchTriggers(source: () => [string, TriggerHealth[]][]): void {
    this.triggerSource = source;
  }

  watchDeploys(source: () => { running: number; queued: number; broken: number }): void {
    this.deploySource = source;
  }

  /** A deploy refused by a deploy limit (reason: a bounded set, see hearth_deploys_refused_total). */
  deployRefused(reason: string): void {
    this.deployRefusals.set(reason, (this.deployRefusals.get(reason) ?? 0) + 1);
  }

  private asyncRead: Promise<QueueStats | null> | null = null;

  /**
   * The queue's figures for one scrape: its gauges share one read. A queue that fails or does not
   * answer within a second (Redis away, or a half-open connection) gives null: the gauges stay
   * as they were and the scrape still answers.
   */
  private readAsyncQueue(): Promise<QueueStats | null> {
    const sources = this.sources;
    if (sources.asyncQueue === undefined) return Promise.resolve(null);
    const stats = () => sources.asyncQueue!();
    if (this.asyncRead === null) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => { timer = setTimeout(resolve, QUEUE_STATS_TIMEOUT_MS, null); });
      this.asyncRead = Promise.race([stats().catch(() => null), late]).finally(() => {
        clearTimeout(timer);
        this.asyncRead = null;
      });
    }
    return this.asyncRead;
  }

  private asyncOf(functionName: string): AsyncPerFunction {
    let f = this.asyncPerFunction.get(functionName);
    if (f === undefined) this.asyncPerFunction.set(functionName, (f = { enqueued: 0, attempts: new Float64Array(ASYNC_OUTCOMES.length), age: new Buckets(EVENT_AGE_BUCKETS) }));
    return f;
  }

  asyncEnqueued(functionName: string): void {
    this.asyncOf(functionName).enqueued++;
  }

  /** As an attempt of a function's async event starts: how long ago the event was accepted. */
  asyncAttemptStarted(functionName: string, ageMs: number): void {
    this.asyncOf(functionName).age.observe(Math.max(0, ageMs) / 1000);
  }

  /** After an async attempt ended; `delivery`: a POST to a URL destination, not a function's event. */
  asyncAttempt(functionName: string, delivery: boolean, outcome: AsyncAttemptOutcome): void {
    const i = ASYNC_OUTCOMES.indexOf(outcome);
    if (delivery) this.deliveries[i]!++;
    else this.asyncOf(functionName).attempts[i]!++;
  }

  asyncRefused(limit: 'events' | 'bytes'): void {
    this.asyncRefusals[limit]++;
  }

  asyncChainStopped(functionName: string): void {
    this.chainsStopped.set(functionName, (this.chainsStopped.get(functionName) ?? 0) + 1);
  }

  /** As a call begins (core/call-recorder.ts: the one place); observe() is its end. */
  callStarted(): void {
    this.inFlight++;
  }

  /** After a call ended (core/call-recorder.ts: the one place). */
  observe(runtime: string, functionName: string, out: CallOutcome): void {
    this.inFlight--;
    let f = this.perFunction.get(functionName);
    if (f === undefined) {
      f = { byOutcome: new Float64Array(OUTCOMES.length), duration: new Buckets(DURATION_BUCKETS), coldStarts: 0 };
      this.perFunction.set(functionName, f);
    }
    f.byOutcome[outcomeOf(out)]!++;
    f.duration.observe(out.durationMs / 1000);
    if (out.cold) {
      f.coldStarts++;
      let b = this.init.get(runtime);
      if (b === undefined) this.init.set(runtime, (b = new Buckets(INIT_BUCKETS)));
      b.observe(out.initMs / 1000);
    }
  }

  /** Live log streams (core/http/log-stream.ts): how many are open, and the lines slow readers missed. */
  watchLogStreams(streams: { readonly count: number; readonly droppedLines: number }): void {
    const registers = [this.registry];
    new Gauge({ name: 'hearth_log_streams', help: 'Live log streams open (GET /v1/functions/{name}/logs/stream; the console\'s Watch view).', registers, collect() { this.set(streams.count); } });
    scraped(this.registry, 'hearth_log_stream_dropped_lines_total', 'Log lines not sent to a live log stream whose reader was behind (its socket had bytes unsent).', 'counter', () => [{ labels: {}, value: streams.droppedLines }]);
  }

  /** Each function's calls since start (read by core/function-stats.ts, never written). */
  functions(): ReadonlyMap<string, PerFunction> {
    return this.perFunction;
  }

  /** A deleted function's series go (its name would otherwise stay in every scrape). */
  functionChanged(name: string, latest: FunctionVersion | null): void {
    if (latest === null) this.forget(name);
  }

  forget(functionName: string): void {
    this.perFunction.delete(functionName);
    this.asyncPerFunction.delete(functionName);
    this.sources.limits?.forget(functionName);
    this.chainsStopped.delete(functionName);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The HTTP front end's bounds: bodies in flight, bodies refused, response headers dropped; egress refused. */
function registerHttp(registry: Registry, http: HttpCounters): void {
  const registers = [registry];
  new Gauge({
    name: 'hearth_request_body_bytes_in_flight', help: 'Bytes held for request bodies in flight (bounded by --max-body-bytes-in-flight).', registers,
    collect() { this.set(http.bodyBytesInFlight); },
  });
  scraped(registry, 'hearth_request_bodies_refused_total', 'Request bodies refused by the front end: capacity (503, the in-flight cap) or timeout (408, not arrived within --body-timeout-ms).', 'counter',
    () => (['capacity', 'timeout'] as const).map((reason) => ({ labels: { reason }, value: http.bodiesRefused[reason] })));
  scraped(registry, 'hearth_request_body_collections_total', 'Full V8 collections the front end asked for to give back the memory of request bodies it dropped (refused, timed out, client gone); at most one a second.', 'counter',
    () => [{ labels: {}, value: http.bodyCollections }]);
  scraped(registry, 'hearth_response_headers_dropped_total', 'Headers of functions\' web responses the host dropped: reserved (framing, hop-by-hop, X-Hearth-*), invalid (not an RFC 9110 name or value), limit (past the count or bytes bound).', 'counter',
    () => (['reserved', 'invalid', 'limit'] as const).map((reason) => ({ labels: { reason }, value: http.headersDropped[reason] })));
  scraped(registry, 'hearth_egress_refused_total', 'Outbound fetches refused after DNS resolution because they lead to one of Hearth\'s own listening addresses.', 'counter',
    () => [{ labels: { reason: 'hearth_address' }, value: egressRefusals.hearthAddress }]);
}
