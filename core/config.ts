// Server settings, from four places in rising precedence: defaults, a config file
// (hearth.config.json), environment variables (HEARTH_*), CLI flags. Every setting is described
// once, in SETTINGS: `hearth serve --help`, the environment names and the file's keys all come from
// it. Validated once at start; an error names the key and where its value came from.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const ConfigSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  dataDir: z.string().min(1).default('./.hearth'),
  /** Function folders loaded at start (each subfolder with a function.json), kept in step with the folder. */
  functions: z.array(z.string().min(1)).default([]),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, invoke and web calls need it (or the admin token) as a Bearer token. */
  invokeToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, GET /metrics takes it (or the admin token): a scraper needs no management rights. */
  metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** Largest invoke body (Lambda's synchronous limit). */
  maxBodyBytes: z.number().int().min(1024).default(6 * 1024 * 1024),
  /** Bytes all request bodies in flight may hold together; past it a new body is 503 (Retry-After). */
  maxBodyBytesInFlight: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024),
  /** How long a request body may take to arrive after its headers; past it 408 and the connection closed. */
  bodyTimeoutMs: z.number().int().min(100).max(3_600_000).default(30_000),
  /** Bytes (names and values) of the headers a function's web response may carry; the rest are dropped. */
  maxResponseHeaderBytes: z.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  /** Largest management body (a spec with base64 code). */
  maxCodeBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** A deploy's zip/jar: bytes inflated (all files), entries, bytes of one file; measured while inflating. */
  deployMaxUnzippedBytes: z.number().int().min(1024).default(250 * 1024 * 1024),
  deployMaxFiles: z.number().int().min(1).default(10_000),
  deployMaxFileBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Deploy builds (inflate, bundle) running at once in worker threads, builds waiting, and one build's time. */
  deployConcurrency: z.number().int().min(1).max(16).default(1),
  deployQueueSize: z.number().int().min(0).default(64),
  deployTimeoutMs: z.number().int().min(1_000).default(120_000),
  /** Blank isolates kept ready for the default memory size. */
  prewarmIsolates: z.number().int().min(0).max(256).default(4),
  /** Global budget across all functions: instances and memory (MiB, measured heap). */
  maxTotalInstances: z.number().int().min(1).default(2_000),
  memoryBudgetMb: z.number().int().min(64).default(4_096),
  /** Calls waiting for a busy function, per version, and how long one may wait. */
  waitQueueSize: z.number().int().min(0).default(1_000),
  waitQueueTimeoutMs: z.number().int().min(1).default(10_000),
  /** Start another instance when in-flight calls pass this share of a version's capacity (calls are packed up to it). */
  scaleUpThreshold: z.number().gt(0).max(1).default(0.8),
  /** Below this share of a version's capacity in use, it has surplus instances (released once idle for scaleDownDelayMs). */
  scaleDownThreshold: z.number().min(0).lt(1).default(0.5),
  /** How long a surplus instance must have been idle before it is released (the last one waits for keepAliveMs). */
  scaleDownDelayMs: z.number().int().min(0).default(10_000),
  sweepIntervalMs: z.number().int().min(10).default(1_000),
  /** After this long without a call, an idle warm isolate gives back the heap pages it holds unused (V8's low-memory GC); 0: never. */
  idleReleaseMs: z.number().int().min(0).default(10_000),
  invocationRetention: z.number().int().min(1).default(10_000),
  logLinesPerFunction: z.number().int().min(1).default(5_000),
  /** Coalesce the calls an isolate receives in one event-loop turn into one crossing. */
  batchCalls: z.boolean().default(true),
  /** CPU budget of a synchronous isolate crossing (pool/isolate/sync-mode.ts); 0: every call crosses asynchronously. */
  syncBudgetMs: z.number().int().min(0).max(50).default(5),
  /** Container tier: stem cells kept started per runtime image, and its own budget. */
  stemCells: z.number().int().min(0).max(64).default(1),
  maxContainers: z.number().int().min(1).default(32),
  containerMemoryBudgetMb: z.number().int().min(64).default(8_192),
  /** CPU share of each container, in cores. */
  containerCpus: z.number().gt(0).max(64).default(1),
  /** Container tier: Docker's json log of a container is rotated within this many bytes on disk. */
  containerLogFileBytes: z.number().int().min(64 * 1024).default(8 * 1024 * 1024),
  /** Container tier: bytes a second of a custom image's output Hearth reads into call logs; the rest is dropped. */
  containerLogBytesPerSec: z.number().int().min(1024).default(256 * 1024),
  /** Container tier: CPU weight (cgroup v1 cpu.shares) of the cgroup all containers run under; 0: Docker's default cgroup. */
  containerCpuShares: z.number().int().min(0).max(1024).default(128),
  containerHostPorts: z.array(z.coerce.number().int().min(1).max(65535)).max(64).default([]),
  /** On SIGTERM: how long calls in flight get to finish before the instances are stopped. */
  drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /**
   * On SIGTERM, before the listener closes: readiness already answers 503 and every response closes
   * its connection, but new connections are still taken, for this long. A load balancer that learns
   * of the stop only from readiness or its own API (Kubernetes removes the pod from the Service's
   * endpoints while SIGTERM is delivered) keeps sending for a few seconds; without the delay those
   * connections would be refused. 0 (default): close at once, for gateways that retry a refused
   * connection elsewhere (nginx).
   */
  drainDelayMs: z.number().int().min(0).max(600_000).default(0),
  /** Talk to a Docker engine at all (off: container functions answer 503). */
  docker: z.boolean().default(true),
  /** Async (Event) invocations: the queue (embedded: LMDB in the data dir; redis: Redis Streams shared by replicas). */
  queue: z.enum(['embedded', 'redis']).default('embedded'),
  /** The Redis queue's server: redis://[user:password@]host:port[/db]. */
  queueUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  /** Redis queue: an event held this long by a replica that stopped refreshing it is taken over. */
  queueClaimTimeoutMs: z.number().int().min(500).default(30_000),
  /** Largest Event payload (Lambda's async limit); the smaller of it and maxBodyBytes applies. */
  asyncMaxBodyBytes: z.number().int().min(1024).default(256 * 1024),
  /** Events queued or running at most; past it an Event call is 429. */
  asyncQueueSize: z.number().int().min(1).default(100_000),
  /** Async events of one function running at once, unless its spec says (asyncConcurrency). */
  asyncConcurrency: z.number().int().min(1).max(1_000).default(16),
  /** First retry's delay; doubled for each next one (with jitter), up to asyncRetryMaxMs. */
  asyncRetryBaseMs: z.number().int().min(1).default(1_000),
  asyncRetryMaxMs: z.number().int().min(1).default(300_000),
  /** How long an event that succeeded stays on record (failed ones stay as dead letters). */
  asyncRetentionMs: z.number().int().min(1_000).default(86_400_000),
  /** How long a dead letter (a failed async event, with its payload) is kept: SQS's longest retention. */
  asyncDeadLetterRetentionMs: z.number().int().min(1_000).default(14 * 24 * 60 * 60 * 1000),
  /** Bytes all dead letters hold at most; past it the oldest of the function holding the most go. */
  asyncDeadLetterMaxBytes: z.number().int().min(1024).default(1024 * 1024 * 1024),
  /** Bytes one function's dead letters hold at most; past it its oldest go. */
  asyncDeadLetterMaxBytesPerFunction: z.number().int().min(1024).default(256 * 1024 * 1024),
  /** Payload bytes of queued and running async events at most; past it an Event call is 429. */
  asyncQueueMaxBytes: z.number().int().min(1024).default(1024 * 1024 * 1024),
  /** An Idempotency-Key repeated for the same function within this window queues nothing. */
  idempotencyWindowMs: z.number().int().min(1_000).default(600_000),
  /** Log text one call may write (bytes, counted as characters plus 32 a line), and lines; past either its lines are dropped. */
  logBytesPerCall: z.number().int().min(1024).default(1024 * 1024),
  logLinesPerCall: z.number().int().min(1).default(10_000),
  /** Log text one instance may write a second (a bucket as deep as logBytesPerCall); past it lines are dropped. */
  logBytesPerSecond: z.number().int().min(1024).default(1024 * 1024),
  /** Largest result (or web response body) a function may answer with, in every tier (Lambda's 6 MB synchronous limit); counted as it arrives. */
  maxResultBytes: z.number().int().min(1024).default(6 * 1024 * 1024),
  /** An error's message and its stack trace are each cut to this many bytes. */
  maxErrorBytes: z.number().int().min(256).default(64 * 1024),
  /** Log text all invocation records hold together (each keeps at most 64 KiB); past it the oldest records' logs go. */
  recordLogBytes: z.number().int().min(64 * 1024).default(64 * 1024 * 1024),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

type Kind = 'int' | 'number' | 'string' | 'boolean' | 'list' | 'secret';

export interface Setting {
  key: ConfigKey;
  kind: Kind;
  help: string;
  /** The flag's value name in help (`--port <port>`); boolean settings that default to on get `--no-…`. */
  arg?: string;
}

/** Every setting, in the order `hearth serve --help` lists them. Secrets have no flag (a flag shows in `ps`). */
export const SETTINGS: readonly Setting[] = [
  { key: 'host', kind: 'string', arg: 'host', help: 'address to listen on; beyond loopback needs an admin token' },
  { key: 'port', kind: 'int', arg: 'port', help: 'port to listen on, 0 for any free one' },
  { key: 'dataDir', kind: 'string', arg: 'dir', help: 'where code and function records live' },
  { key: 'functions', kind: 'list', arg: 'dir...', help: 'function folders (each subfolder with a function.json) loaded at start; a function since removed from DIR is deleted' },
  { key: 'adminToken', kind: 'secret', help: 'Bearer token for management calls (16+ characters)' },
  { key: 'invokeToken', kind: 'secret', help: 'Bearer token for invoke and web calls (16+ characters; the admin token works too)' },
  { key: 'metricsToken', kind: 'secret', help: 'Bearer token for GET /metrics only, for a Prometheus scrape job (16+ characters; the admin token works too)' },
  { key: 'logLevel', kind: 'string', arg: 'level', help: `Hearth's own log level (${LOG_LEVELS.join(', ')})` },
  { key: 'prewarmIsolates', kind: 'int', arg: 'n', help: 'blank isolates kept ready' },
  { key: 'memoryBudgetMb', kind: 'int', arg: 'mb', help: 'memory budget for warm isolates' },
  { key: 'maxTotalInstances', kind: 'int', arg: 'n', help: 'isolate budget across functions' },
  { key: 'waitQueueSize', kind: 'int', arg: 'n', help: 'calls that may wait for a busy function, per version' },
  { key: 'waitQueueTimeoutMs', kind: 'int', arg: 'ms', help: 'longest wait for a free instance' },
  { key: 'scaleUpThreshold', kind: 'number', arg: 'share', help: 'start another instance past this share of a version\'s capacity (instances × concurrency) in use; calls are packed onto instances up to it' },
  { key: 'scaleDownThreshold', kind: 'number', arg: 'share', help: 'below this share of capacity in use a version has surplus instances, released down to what its calls need (never below minInstances; the last one waits for its keepAliveMs); less than --scale-up-threshold; 0: off, instances go only at their keepAliveMs' },
  { key: 'scaleDownDelayMs', kind: 'int', arg: 'ms', help: 'how long a surplus instance must have been idle before it is released (much shorter than keepAliveMs)' },
  { key: 'sweepIntervalMs', kind: 'int', arg: 'ms', help: 'how often idle instances are checked' },
  { key: 'idleReleaseMs', kind: 'int', arg: 'ms', help: 'after this long without a call, an idle warm isolate gives back the heap pages it holds unused (V8\'s low-memory GC, a few ms of the isolate\'s own thread, one isolate at a time; its next call grows the heap again); 0: never' },
  { key: 'maxBodyBytes', kind: 'int', arg: 'bytes', help: 'largest invoke body' },
  { key: 'maxCodeBytes', kind: 'int', arg: 'bytes', help: 'largest deploy body' },
  { key: 'deployMaxUnzippedBytes', kind: 'int', arg: 'bytes', help: 'a deploy\'s zip or jar: most bytes inflated, all files together (counted while inflating; 413 ArchiveTooLarge)' },
  { key: 'deployMaxFiles', kind: 'int', arg: 'n', help: 'a deploy\'s zip or jar: most entries (413 TooManyFiles)' },
  { key: 'deployMaxFileBytes', kind: 'int', arg: 'bytes', help: 'a deploy\'s zip or jar: most bytes inflated of one file (413 ArchiveTooLarge)' },
  { key: 'deployConcurrency', kind: 'int', arg: 'n', help: 'deploy builds (inflate, bundle) running at once, each in a worker thread' },
  { key: 'deployQueueSize', kind: 'int', arg: 'n', help: 'deploy builds waiting for a worker; past it a deploy is 429' },
  { key: 'deployTimeoutMs', kind: 'int', arg: 'ms', help: 'longest deploy build; past it the worker is stopped (504 DeployTimeout)' },
  { key: 'maxBodyBytesInFlight', kind: 'int', arg: 'bytes', help: 'bytes all request bodies in flight may hold together; past it new bodies are answered 503 with Retry-After' },
  { key: 'bodyTimeoutMs', kind: 'int', arg: 'ms', help: 'how long a request body may take to arrive after its headers; past it 408 and the connection is closed' },
  { key: 'maxResponseHeaderBytes', kind: 'int', arg: 'bytes', help: 'bytes of headers (names and values) a function\'s web response may carry; headers past it are dropped' },
  { key: 'invocationRetention', kind: 'int', arg: 'n', help: 'invocation records kept' },
  { key: 'logLinesPerFunction', kind: 'int', arg: 'n', help: 'function log lines kept per function' },
  { key: 'drainTimeoutMs', kind: 'int', arg: 'ms', help: 'on SIGTERM, how long calls in flight get to finish' },
  { key: 'drainDelayMs', kind: 'int', arg: 'ms', help: 'on SIGTERM, how long to keep taking new connections first (readiness 503, responses close their connections), so a load balancer (Kubernetes endpoints) stops sending before the listener closes; 0: close at once' },
  { key: 'stemCells', kind: 'int', arg: 'n', help: 'container tier: stem cells kept started per runtime image' },
  { key: 'maxContainers', kind: 'int', arg: 'n', help: 'container tier: warm containers across functions' },
  { key: 'containerMemoryBudgetMb', kind: 'int', arg: 'mb', help: 'container tier: memory budget for warm containers' },
  { key: 'containerCpus', kind: 'number', arg: 'cores', help: 'container tier: CPU share of a container whose spec sets none' },
  { key: 'containerLogFileBytes', kind: 'int', arg: 'bytes', help: 'container tier: Docker json log of a container rotated within this many bytes on disk (2 files)' },
  { key: 'containerHostPorts', kind: 'list', arg: 'port,...', help: 'container tier: host TCP ports that containers of functions with egress rules may reach, at the name host.hearth.internal (a store or database on this machine, listening beyond loopback); without it no container reaches the host at all (needs root for the iptables rules that enforce it)' },
  { key: 'containerCpuShares', kind: 'int', arg: 'shares', help: 'container tier: CPU weight (cgroup cpu.shares, 2-1024) of the cgroup /hearth all containers run under, so under contention they yield to Hearth (a core is 1024); 0: Docker\'s default cgroup' },
  { key: 'containerLogBytesPerSec', kind: 'int', arg: 'bytes', help: 'container tier: output of a custom image read into call logs per second; lines past it are dropped (counted, with a marker line)' },
  { key: 'docker', kind: 'boolean', help: 'no container tier: python3, java17 and image functions answer 503' },
  { key: 'batchCalls', kind: 'boolean', help: 'one isolate crossing per call instead of one per event-loop turn (for A/B benchmarks)' },
  { key: 'syncBudgetMs', kind: 'int', arg: 'ms', help: 'JS calls known to be short cross into their isolate synchronously, on the main thread, stopped (and run again asynchronously) past this many ms; the longest any other call waits behind one. 0: always asynchronously' },
  { key: 'queue', kind: 'string', arg: 'kind', help: 'async event queue: embedded (LMDB in the data dir) or redis (Redis Streams, shared by replicas; needs --queue-url)' },
  { key: 'queueUrl', kind: 'string', arg: 'url', help: 'the Redis queue: redis://[user:password@]host:port[/db] (a password is better in the environment: flags show in ps)' },
  { key: 'queueClaimTimeoutMs', kind: 'int', arg: 'ms', help: 'redis queue: an event held this long by a replica that stopped answering is taken over by another' },
  { key: 'asyncMaxBodyBytes', kind: 'int', arg: 'bytes', help: 'largest Event (async) payload (the smaller of this and --max-body-bytes applies)' },
  { key: 'asyncQueueSize', kind: 'int', arg: 'n', help: 'async events queued or running at most; past it Event calls are 429' },
  { key: 'asyncConcurrency', kind: 'int', arg: 'n', help: 'async events of one function running at once (a spec\'s asyncConcurrency overrides)' },
  { key: 'asyncRetryBaseMs', kind: 'int', arg: 'ms', help: 'delay before an async event\'s first retry; doubled for each next one, with jitter' },
  { key: 'asyncRetryMaxMs', kind: 'int', arg: 'ms', help: 'longest delay between retries of an async event' },
  { key: 'asyncRetentionMs', kind: 'int', arg: 'ms', help: 'how long a succeeded async event stays on record (without its payload)' },
  { key: 'asyncDeadLetterRetentionMs', kind: 'int', arg: 'ms', help: 'how long a failed async event (a dead letter, with its payload) is kept unless redriven or deleted' },
  { key: 'asyncDeadLetterMaxBytes', kind: 'int', arg: 'bytes', help: 'bytes all dead letters hold at most; past it the oldest of the function holding the most are removed' },
  { key: 'asyncDeadLetterMaxBytesPerFunction', kind: 'int', arg: 'bytes', help: 'bytes one function\'s dead letters hold at most; past it its oldest are removed' },
  { key: 'asyncQueueMaxBytes', kind: 'int', arg: 'bytes', help: 'payload bytes of async events queued or running at most; past it Event calls are 429' },
  { key: 'idempotencyWindowMs', kind: 'int', arg: 'ms', help: 'an Idempotency-Key repeated for a function within this window queues nothing' },
  { key: 'logBytesPerCall', kind: 'int', arg: 'bytes', help: 'log text one call may write (characters, plus 32 a line); later lines are dropped, with a marker line' },
  { key: 'logLinesPerCall', kind: 'int', arg: 'n', help: 'log lines one call may write; later lines are dropped, with a marker line' },
  { key: 'logBytesPerSecond', kind: 'int', arg: 'bytes', help: 'log text one instance may write a second (bursts up to --log-bytes-per-call); past it lines are dropped' },
  { key: 'maxResultBytes', kind: 'int', arg: 'bytes', help: 'largest result or web response body of a function, any tier; past it the call fails with ResultTooLarge (502)' },
  { key: 'maxErrorBytes', kind: 'int', arg: 'bytes', help: 'a function error\'s message and stack trace are each cut to this many bytes' },
  { key: 'recordLogBytes', kind: 'int', arg: 'bytes', help: 'log text all invocation records hold together; past it the oldest records lose their lines' },
];

export const CONFIG_FILE = 'hearth.config.json';

/** `dataDir` → `--data-dir`. */
export function flagName(key: ConfigKey): string {
  return '--' + key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

/** `dataDir` → `HEARTH_DATA_DIR`. */
export function envName(key: ConfigKey): string {
  return 'HEARTH_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

export const DEFAULTS: Config = ConfigSchema.parse({});

/** The keys whose values are paths (resolved against the config file's folder when they come from it). */
const PATH_KEYS = new Set<ConfigKey>(['dataDir', 'functions']);

export interface ConfigSources {
  /** Flags given on the command line (keys of Config; strings as typed, arrays for lists, booleans). */
  flags?: Partial<Record<ConfigKey, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** An explicit config file (`--config`); else HEARTH_CONFIG; else ./hearth.config.json if present. */
  configFile?: string;
  cwd?: string;
}

/** Defaults < file < environment < flags, validated. Throws an Error whose message names the key and its source. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const raw: Record<string, unknown> = {};
  const from = new Map<string, string>();

  const explicit = sources.configFile ?? (env.HEARTH_CONFIG || undefined);
  const filePath = explicit !== undefined ? resolve(cwd, explicit) : resolve(cwd, CONFIG_FILE);
  if (explicit !== undefined || existsSync(filePath)) {
    for (const [k, v] of Object.entries(readConfigFile(filePath))) {
      raw[k] = PATH_KEYS.has(k as ConfigKey) ? resolvePaths(v, dirname(filePath)) : v;
      from.set(k, filePath);
    }
  }
  for (const s of SETTINGS) {
    const v = env[envName(s.key)];
    if (v === undefined || v === '') continue;
    raw[s.key] = fromText(s.kind, v);
    from.set(s.key, envName(s.key));
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    if (v === undefined) continue;
    const s = SETTINGS.find((x) => x.key === k);
    raw[k] = s && typeof v === 'string' ? fromText(s.kind, v) : v;
    from.set(k, flagName(k as ConfigKey));
  }

  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const key = i.path.length > 0 ? String(i.path[0]) : i.code === 'unrecognized_keys' ? (i as { keys: string[] }).keys.join(', ') : '(config)';
      const source = from.get(key) ?? (i.code === 'unrecognized_keys' ? filePath : undefined);
      // Secrets, and settings that may carry one (a URL's password), are never echoed.
      const secret = SETTINGS.find((s) => s.key === key)?.kind === 'secret' || key === 'queueUrl';
      const given = source !== undefined && !secret && key in raw ? ` = ${JSON.stringify(raw[key])}` : '';
      return `${i.path.length > 0 ? i.path.join('.') : key}: ${i.message} (from ${source ?? 'the defaults'}${given})`;
    });
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  const c = r.data;
  if (c.scaleDownThreshold >= c.scaleUpThreshold) {
    const src = (k: ConfigKey) => `${from.get(k) ?? 'the defaults'} = ${c[k]}`;
    throw new Error(`invalid configuration: scaleDownThreshold: must be below scaleUpThreshold (from ${src('scaleDownThreshold')}; scaleUpThreshold from ${src('scaleUpThreshold')})`);
  }
  if (c.queue === 'redis' && !c.queueUrl) {
    throw new Error(`invalid configuration: queueUrl: is required with queue "redis" (from ${from.get('queue') ?? 'the defaults'})`);
  }
  if (!isLoopback(c.host) && !c.adminToken) {
    throw new Error(`refusing to listen on ${c.host} without an admin token: set HEARTH_ADMIN_TOKEN (or listen on 127.0.0.1)`);
  }
  return c;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`the config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`the config file ${path} must hold one JSON object (keys: ${SETTINGS.map((s) => s.key).join(', ')})`);
  }
  return parsed as Record<string, unknown>;
}

function resolvePaths(v: unknown, base: string): unknown {
  if (typeof v === 'string') return resolve(base, v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? resolve(base, x) : x));
  return v;
}

/** A value typed as text (environment, flag) → what the schema expects; left as is when it cannot be, so the error names it. */
function fromText(kind: Kind, v: string): unknown {
  switch (kind) {
    case 'int':
    case 'number': {
      const n = Number(v);
      return v.trim() !== '' && Number.isFinite(n) ? n : v;
    }
    case 'boolean':
      return /^(true|1|yes|on)$/i.test(v) ? true : /^(false|0|no|off)$/i.test(v) ? false : v;
    case 'list':
      return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
    default:
      return v;
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
