// The function spec accepted by PUT /v1/functions/{name}: validated once, at the edge.

import { Cron } from 'croner';
import { z } from 'zod';
import { checkEgressPatterns, EgressPolicy } from './egress.js';
import { HearthError } from './errors.js';

export const Runtimes = ['js', 'python3', 'java17', 'image'] as const;
export type Runtime = (typeof Runtimes)[number];

/** The two tiers: V8 isolates and containers. */
export type Tier = 'isolate' | 'container';

/** Which tier runs a runtime (the one place that says it): js in isolates, the rest in containers. */
export function tierOf(runtime: Runtime): Tier {
  return runtime === 'js' ? 'isolate' : 'container';
}

export const FUNCTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** An environment variable's name (POSIX's portable names; "__proto__" is refused apart, see envProblems). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Env names and values together, in UTF-8 bytes: Lambda's 4 KB. Env is copied into every instance of every version. */
export const MAX_ENV_BYTES = 4 * 1024;

/** A time zone Intl (and so croner) can convert to: checked here, or a schedule fails only when it is armed. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * What a cron schedule's expression and time zone would fail on when armed (null: none). The one
 * check both the spec (before anything is stored) and a record loaded at start use: a paused Cron
 * does not convert to its time zone, so the next run is computed too.
 */
export function scheduleProblem(cron: string, timezone: string | undefined): string | null {
  if (timezone !== undefined && !isTimeZone(timezone)) return `timezone: "${timezone}" is not an IANA time zone this host knows (e.g. "Europe/Berlin", "UTC")`;
  try {
    const c = new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) });
    try {
      c.nextRun();
    } finally {
      c.stop();
    }
    return null;
  } catch (err) {
    return `cron: "${cron}" is not a cron expression this accepts: ${(err as Error).message}`;
  }
}

/**
 * Env problems a record of strings cannot show once parsed: JSON.parse makes "__proto__" an own
 * key, but any object it is copied into takes it as the prototype and the variable vanishes
 * without a word. Read from the raw body, before the schema copies it.
 */
function envProblems(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const env = (raw as { env?: unknown }).env;
  if (env === null || typeof env !== 'object' || Array.isArray(env)) return [];
  return Object.hasOwn(env, '__proto__') ? ['env.__proto__: "__proto__" is not a usable environment variable name'] : [];
}

const base64 = z.string().regex(/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/, 'must be base64');

/** A timer trigger: a cron expression (5 fields, or 6 with seconds first), in UTC unless a timezone is given. */
const Schedule = z.strictObject({
  cron: z.string().min(1).max(200),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_.-]').optional(),
  timezone: z.string().min(1).max(64).refine(isTimeZone, 'is not an IANA time zone this host knows (e.g. "Europe/Berlin", "UTC")').optional(),
  /** For event functions: the timer event's Message (as SCF's timer trigger carries one). */
  message: z.string().max(4096).optional(),
});

/** Where an async event's outcome goes: another function (an async event to it) or a URL (a POST). */
const Destination = z.union([
  z.strictObject({ function: z.string().regex(FUNCTION_NAME, `must match ${FUNCTION_NAME.source}`) }),
  z.strictObject({
    url: z.string().max(2048).refine((u) => /^https?:\/\//i.test(u) && URL.canParse(u), 'must be an http:// or https:// URL'),
    /** lambda (default): Lambda's destination record as JSON; cloudevents: a CloudEvent in binary mode. */
    format: z.enum(['lambda', 'cloudevents']).optional(),
  }),
]);

/**
 * A queue a function consumes (core/events/queue-triggers.ts): each message becomes an async event,
 * acknowledged to the queue once it is stored. Redis Streams: one consumer group shared by every
 * replica, so replicas split the messages.
 */
const RedisTrigger = z.strictObject({
  type: z.literal('redis'),
  /** Shown in GET /v1/functions/{name}/triggers and the metrics (default: redis-<n>). */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
  /** redis://[user:password@]host:port[/db] (rediss:// for TLS). */
  url: z.string().max(2048).refine((u) => /^rediss?:\/\//.test(u) && URL.canParse(u), 'must be a redis:// or rediss:// URL'),
  stream: z.string().min(1).max(256),
  group: z.string().min(1).max(256).default('hearth'),
  /** Where a group made now starts: new messages only (latest) or the stream's first (earliest). */
  from: z.enum(['latest', 'earliest']).default('latest'),
  /** Messages read at once. */
  batch: z.number().int().min(1).max(1_000).default(64),
  /** A message read but not acknowledged for this long (its reader died) is taken over by another. */
  claimIdleMs: z.number().int().min(100).max(3_600_000).default(30_000),
});

/** NATS JetStream: one durable pull consumer shared by every replica, so replicas split the messages. */
const NatsTrigger = z.strictObject({
  type: z.literal('nats'),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
  /** nats://[user:password@]host:port (several: comma-separated). */
  url: z.string().max(2048).refine((u) => u.split(',').every((x) => /^(nats|tls):\/\//.test(x.trim()) && URL.canParse(x.trim())), 'must be nats:// or tls:// URLs'),
  /** The stream (made by its operator; its subjects say which messages it keeps). */
  stream: z.string().regex(/^[^\s.*>]{1,256}$/, 'must be a stream name (no spaces, ., * or >)'),
  /** The durable consumer the replicas share (made if missing). */
  consumer: z.string().regex(/^[^\s.*>]{1,256}$/, 'must be a consumer name (no spaces, ., * or >)').default('hearth'),
  /** Only messages on these subjects (default: all the stream's). */
  subject: z.string().min(1).max(256).optional(),
  from: z.enum(['latest', 'earliest']).default('latest'),
  batch: z.number().int().min(1).max(1_000).default(64),
  /** A message delivered but not acknowledged for this long (its reader died) is delivered again. */
  ackWaitMs: z.number().int().min(1_000).max(3_600_000).default(30_000),
});

/** AMQP 0-9-1 (RabbitMQ): every replica consumes the queue (competing consumers), so they split the messages. */
const AmqpTrigger = z.strictObject({
  type: z.literal('amqp'),
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1-64 letters, digits, _ . or -').optional(),
  /** amqp://[user:password@]host:port[/vhost] (amqps:// for TLS). */
  url: z.string().max(2048).refine((u) => /^amqps?:\/\//.test(u) && URL.canParse(u), 'must be an amqp:// or amqps:// URL'),
  /** The queue (the broker's, bound to its exchanges by its operator). */
  queue: z.string().min(1).max(255),
  /** Messages delivered and not yet acknowledged at once (the channel's prefetch). */
  batch: z.number().int().min(1).max(1_000).default(64),
});

const Trigger = z.discriminatedUnion('type', [RedisTrigger, NatsTrigger, AmqpTrigger]);

const Code = z.union([
  z.strictObject({ source: z.string().min(1, 'must not be empty'), filename: z.string().optional() }),
  z.strictObject({ zip: base64.min(1) }),
  z.strictObject({ jar: base64.min(1) }),
]);

export const FunctionSpecSchema = z
  .strictObject({
    runtime: z.enum(Runtimes),
    handler: z
      .string()
      .regex(/^[A-Za-z0-9_./-]+\.[A-Za-z_$][A-Za-z0-9_$]*$|^[A-Za-z_$][\w$.]*::[A-Za-z_$][\w$]*$/, 'must be "file.export" (or "pkg.Class::method" for java17)')
      .optional(),
    code: Code.optional(),
    image: z.string().min(1).optional(),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: z.record(z.string().regex(ENV_NAME, 'names must match [A-Za-z_][A-Za-z0-9_]*'), z.string()).default({}),
    memoryMb: z.number().int().min(16).max(8192).default(128),
    /** Container runtimes: CPU share in cores (Docker's --cpus); default the server's containerCpus. */
    cpus: z.number().min(0.01).max(64).optional(),
    /** Container runtimes: most processes and threads at once (Docker's --pids-limit); default 256. */
    pids: z.number().int().min(16).max(32_768).optional(),
    timeoutMs: z.number().int().min(1).max(900_000).default(3_000),
    concurrency: z.number().int().min(1).max(1_000).optional(),
    minInstances: z.number().int().min(0).max(1_000).default(0),
    maxInstances: z.number().int().min(1).max(1_000).default(10),
    keepAliveMs: z.number().int().min(0).max(86_400_000).default(120_000),
    /** Outbound fetch from the function: denied unless the host is listed. */
    egress: z.strictObject({ allow: z.array(z.string()).max(100) }).default({ allow: [] }),
    /** Cron timer triggers. */
    schedules: z.array(Schedule).max(20).default([]),
    /** Queue triggers: each message an async event of this function. */
    triggers: z.array(Trigger).max(10).default([]),
    /** Async (Event) invocations: retries after a function error (default 2, as Lambda). */
    maxRetries: z.number().int().min(0).max(10).optional(),
    /** Async: an event older than this is not tried again (default 6 h, as Lambda). */
    maxEventAgeMs: z.number().int().min(1_000).max(21_600_000).optional(),
    /** Async: events of this function running at once (default: the server's asyncConcurrency). */
    asyncConcurrency: z.number().int().min(1).max(1_000).optional(),
    /** Async: where a success / a final failure is sent (Lambda's destination record). */
    onSuccess: Destination.optional(),
    onFailure: Destination.optional(),
  })
  .superRefine((s, ctx) => {
    const need = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (s.runtime === 'image') {
      if (!s.image) need('image', 'is required for runtime "image"');
    } else {
      if (!s.handler) need('handler', `is required for runtime "${s.runtime}"`);
      if (!s.code) need('code', `is required for runtime "${s.runtime}"`);
      else if (s.runtime === 'java17' && !('jar' in s.code)) need('code', 'must be {jar} for runtime "java17"');
      else if (s.runtime !== 'java17' && 'jar' in s.code) need('code', `must be {source} or {zip} for runtime "${s.runtime}"`);
    }
    if (tierOf(s.runtime) === 'isolate') {
      if (s.cpus !== undefined) need('cpus', 'applies to container runtimes (python3, java17, image); a js function runs in an isolate and gets one thread');
      if (s.pids !== undefined) need('pids', 'applies to container runtimes (python3, java17, image); a js function runs in an isolate and cannot start processes');
    }
    if (s.minInstances > s.maxInstances) need('minInstances', 'must not exceed maxInstances');
    const bad = checkEgressPatterns(s.egress.allow);
    if (bad !== null) need('egress.allow', bad);
    for (const key of ['onSuccess', 'onFailure'] as const) {
      const d = s[key];
      // A URL destination is egress like any fetch: its host must be in egress.allow (no SSRF by config).
      if (d && 'url' in d && bad === null && URL.canParse(d.url) && !new EgressPolicy(s.egress.allow).allows(new URL(d.url))) {
        need(key, `${new URL(d.url).host} is not in egress.allow: add it there to let this function's destination reach it`);
      }
    }
    const names = new Set<string>();
    const envBytes = Object.entries(s.env).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (envBytes > MAX_ENV_BYTES) need('env', `names and values are ${envBytes} bytes together, over the ${MAX_ENV_BYTES}-byte limit (as Lambda's)`);
    s.schedules.forEach((sc, i) => {
      // A bad time zone is the timezone field's own issue (its refine); the cron is checked in UTC then.
      const problem = scheduleProblem(sc.cron, sc.timezone !== undefined && isTimeZone(sc.timezone) ? sc.timezone : undefined);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'cron'], message: problem.slice('cron: '.length) });
      const name = sc.name ?? `schedule-${i}`;
      if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['schedules', i, 'name'], message: `"${name}" is used twice` });
      names.add(name);
    });
    const triggerNames = new Set<string>();
    s.triggers.forEach((t, i) => {
      const name = triggerName(t, i);
      if (triggerNames.has(name)) ctx.addIssue({ code: 'custom', path: ['triggers', i, 'name'], message: `"${name}" is used twice` });
      triggerNames.add(name);
    });
  });

/** A queue trigger's name: its own, or its type and place in the list. */
export function triggerName(t: { type: string; name?: string | undefined }, i: number): string {
  return t.name ?? `${t.type}-${i}`;
}

export type TriggerSpec = z.output<typeof Trigger>;
export type RedisTriggerSpec = z.output<typeof RedisTrigger>;
export type NatsTriggerSpec = z.output<typeof NatsTrigger>;
export type AmqpTriggerSpec = z.output<typeof AmqpTrigger>;

export type FunctionSpecInput = z.input<typeof FunctionSpecSchema>;
export type FunctionSpec = z.output<typeof FunctionSpecSchema> & { concurrency: number };

/** Isolates take many calls at once (like Workers); containers one (like Lambda and SCF). */
export function defaultConcurrency(runtime: Runtime): number {
  return tierOf(runtime) === 'isolate' ? 16 : 1;
}

/** Validates a parsed JSON body; a bad spec is a 400 that names the field. `name`: the function's own (it may not be its own destination). */
export function parseSpec(value: unknown, name?: string): FunctionSpec {
  const r = FunctionSpecSchema.safeParse(value);
  const early = envProblems(value);
  if (!r.success || early.length > 0) {
    const msg = [...early, ...(r.success ? [] : r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(spec)'}: ${i.message}`))]
      .join('; ');
    const problems = [
      ...early.map((m) => ({ path: 'env', message: m.slice(m.indexOf(': ') + 2) })),
      ...(r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))),
    ];
    throw new HearthError('InvalidSpec', msg, { problems });
  }
  for (const key of ['onSuccess', 'onFailure'] as const) {
    const d = r.data[key];
    if (name !== undefined && d && 'function' in d && d.function === name) {
      throw new HearthError('InvalidSpec', `${key}.function: a function cannot be its own destination (every event would cause another)`);
    }
  }
  return { ...r.data, concurrency: r.data.concurrency ?? defaultConcurrency(r.data.runtime) };
}

export function checkFunctionName(name: string): void {
  if (!FUNCTION_NAME.test(name)) {
    throw new HearthError('InvalidSpec', `name: "${name}" must match ${FUNCTION_NAME.source}`);
  }
}
