// Server settings: defaults, then environment (HEARTH_*), then CLI flags; validated once at start.

import { z } from 'zod';

export const ConfigSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65_535).default(8080),
  dataDir: z.string().default('./.hearth'),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, invoke and web calls need it (or the admin token) as a Bearer token. */
  invokeToken: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Largest invoke body (Lambda's synchronous limit). */
  maxBodyBytes: z.number().int().min(1024).default(6 * 1024 * 1024),
  /** Largest management body (a spec with base64 code). */
  maxCodeBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  /** Blank isolates kept ready for the default memory size. */
  prewarmIsolates: z.number().int().min(0).max(256).default(4),
  /** Global budget across all functions: instances and memory (MiB, measured heap). */
  maxTotalInstances: z.number().int().min(1).default(2_000),
  memoryBudgetMb: z.number().int().min(64).default(4_096),
  /** Calls waiting for a busy function, per version, and how long one may wait. */
  waitQueueSize: z.number().int().min(0).default(1_000),
  waitQueueTimeoutMs: z.number().int().min(1).default(10_000),
  /** Start another instance when in-flight calls pass this share of a version's capacity. */
  scaleUpThreshold: z.number().gt(0).max(1).default(0.8),
  sweepIntervalMs: z.number().int().min(10).default(1_000),
  invocationRetention: z.number().int().min(1).default(10_000),
  logLinesPerFunction: z.number().int().min(1).default(5_000),
  deployDirs: z.array(z.string()).default([]),
  /** Coalesce the calls an isolate receives in one event-loop turn into one crossing. */
  batchCalls: z.boolean().default(true),
  /** Container tier: stem cells kept started per runtime image, and its own budget. */
  stemCells: z.number().int().min(0).max(64).default(1),
  maxContainers: z.number().int().min(1).default(32),
  containerMemoryBudgetMb: z.number().int().min(64).default(8_192),
  /** CPU share of each container, in cores. */
  containerCpus: z.number().gt(0).max(64).default(1),
  /** On SIGTERM: how long calls in flight get to finish before the instances are stopped. */
  drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** Talk to a Docker engine at all (off: container functions answer 503). */
  docker: z.boolean().default(true),
});

export type Config = z.output<typeof ConfigSchema>;

const ENV_KEYS: Record<string, keyof Config> = {
  HEARTH_HOST: 'host',
  HEARTH_PORT: 'port',
  HEARTH_DATA_DIR: 'dataDir',
  HEARTH_ADMIN_TOKEN: 'adminToken',
  HEARTH_INVOKE_TOKEN: 'invokeToken',
  HEARTH_PREWARM_ISOLATES: 'prewarmIsolates',
  HEARTH_MEMORY_BUDGET_MB: 'memoryBudgetMb',
  HEARTH_MAX_TOTAL_INSTANCES: 'maxTotalInstances',
  HEARTH_STEM_CELLS: 'stemCells',
  HEARTH_MAX_CONTAINERS: 'maxContainers',
  HEARTH_CONTAINER_CPUS: 'containerCpus',
  HEARTH_CONTAINER_MEMORY_BUDGET_MB: 'containerMemoryBudgetMb',
  HEARTH_DRAIN_TIMEOUT_MS: 'drainTimeoutMs',
};

const NUMERIC = new Set<keyof Config>(['port', 'prewarmIsolates', 'memoryBudgetMb', 'maxTotalInstances', 'stemCells', 'maxContainers', 'containerCpus', 'containerMemoryBudgetMb', 'drainTimeoutMs']);

export function loadConfig(flags: Partial<Record<keyof Config, unknown>>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[key] = NUMERIC.has(key) ? Number(v) : v;
  }
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) raw[k] = v;
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new Error('invalid configuration: ' + r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const c = r.data;
  if (!isLoopback(c.host) && !c.adminToken) {
    throw new Error(`refusing to listen on ${c.host} without an admin token: set HEARTH_ADMIN_TOKEN (or listen on 127.0.0.1)`);
  }
  return c;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
