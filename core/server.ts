// Wires Hearth together: data dir, registry, both tiers, dispatcher, HTTP front end.

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncInvoker } from './async/invoker.js';
import { EmbeddedQueue } from './async/embedded-queue.js';
import type { Queue } from './async/queue.js';
import { RedisQueue } from './async/redis-queue.js';
import type { Config } from './config.js';
import { loadFunctionFolders } from './deploy-dir.js';
import { Dispatcher } from './dispatcher.js';
import { FrontEnd } from './http.js';
import { mountLambda } from './lambda-api.js';
import { log } from './log.js';
import { FunctionLogs, InvocationRecords, logSink } from './logs.js';
import { mountManagement } from './management.js';
import { Metrics } from './metrics.js';
import { mountWeb } from './web-route.js';
import { Triggers } from './triggers.js';
import { Registry } from './registry.js';
import { DataDir } from './store.js';
import { UnavailableBackend } from './unavailable-backend.js';
import { IsolateBackend } from '../pool/isolate-backend.js';
import { IsolateInstance } from '../pool/isolate-instance.js';
import { ContainerBackend } from '../container-fallback/container-backend.js';
import { Engine } from '../container-fallback/engine.js';
import type { Backend } from './backend.js';
import type { HostLog } from '../pool/isolate-instance.js';

export interface Server {
  port: number;
  registry: Registry;
  dispatcher: Dispatcher;
  isolates: IsolateBackend;
  /** Graceful: stop listening, let calls in flight finish (up to deadlineMs), dispose instances. */
  close(deadlineMs?: number): Promise<void>;
}

export const RUNTIME_PATH = fileURLToPath(new URL('../runtime/isolate-runtime.js', import.meta.url));

export async function startServer(config: Config): Promise<Server> {
  const data = new DataDir(config.dataDir);
  const records = new InvocationRecords(config.invocationRetention);
  const functionLogs = new FunctionLogs(config.logLinesPerFunction);
  const sink = logSink(functionLogs, records);

  IsolateInstance.batching = config.batchCalls;
  IsolateInstance.maxFetchBytes = config.maxBodyBytes;
  const isolates = new IsolateBackend(
    {
      prewarmIsolates: config.prewarmIsolates,
      defaultMemoryMb: 128,
      runtimePath: RUNTIME_PATH,
      maxTotalInstances: config.maxTotalInstances,
      memoryBudgetMb: config.memoryBudgetMb,
      waitQueueSize: config.waitQueueSize,
      waitQueueTimeoutMs: config.waitQueueTimeoutMs,
      scaleUpThreshold: config.scaleUpThreshold,
      scaleDownThreshold: config.scaleDownThreshold,
      scaleDownDelayMs: config.scaleDownDelayMs,
      sweepIntervalMs: config.sweepIntervalMs,
    },
    data,
    sink,
  );
  const containers = await startContainerTier(config, data, sink);
  // The stem cells start now, while the functions load; they count for readiness, not for start-up:
  // an engine that keeps failing to start them must not keep Hearth (and its JS functions) down.
  let containersReady = false;
  void containers.ready().then(() => { containersReady = true; });
  const metrics = new Metrics(() => [isolates, containers]);
  const dispatcher = new Dispatcher(isolates, containers, records, metrics);
  const registry = new Registry(data, (rt) => dispatcher.backendFor(rt), { maxCodeBytes: config.maxCodeBytes });
  const triggers = new Triggers((name) => (registry.has(name) ? registry.resolve(name, '') : null), dispatcher);
  dispatcher.resolveAgain = (name, version) => registry.resolve(name, version);
  registry.onChange = (name) => {
    triggers.sync(name);
    if (!registry.has(name)) metrics.forget(name);
  };

  registry.restore();

  // Async events: the durable queue (events a previous run held become runnable again).
  const queue: Queue = config.queue === 'redis'
    ? new RedisQueue({ url: config.queueUrl!, retentionMs: config.asyncRetentionMs, claimTimeoutMs: config.queueClaimTimeoutMs })
    : new EmbeddedQueue(join(data.root, 'queue'), config.asyncRetentionMs);
  await queue.open();
  const asyncInvoker = new AsyncInvoker(queue, registry, dispatcher, records, {
    maxQueued: config.asyncQueueSize, concurrency: config.asyncConcurrency, idempotencyWindowMs: config.idempotencyWindowMs,
    retryBaseMs: config.asyncRetryBaseMs, retryMaxMs: config.asyncRetryMaxMs, maxFetchBytes: config.maxBodyBytes,
  }, metrics);

  let isolatesReady = false;
  const fe = new FrontEnd({ config, registry, dispatcher, asyncInvoker });
  mountWeb(fe, { config, registry, dispatcher });
  mountLambda(fe, { config, registry, dispatcher, asyncInvoker });
  mountManagement(fe, { config, registry, records, functionLogs, triggers, isReady: () => isolatesReady && containersReady, backendFor: (rt) => dispatcher.backendFor(rt), isolateStats: () => isolates.stats(), metrics, asyncInvoker });
  // The functions folder is loaded before the port opens: a gateway sends calls as soon as a
  // connection is accepted, and a restarted replica must not answer them 404 meanwhile.
  if (config.functions.length > 0) {
    const r = await loadFunctionFolders(registry, config.functions, (name, folder, changed) => log.info({ function: name, folder, changed }, 'loaded from the functions folder'));
    if (r.deleted.length > 0) log.info({ deleted: r.deleted }, 'deleted: gone from the functions folder');
  }
  const port = await fe.listen(config.host, config.port);
  log.info({ host: config.host, port, dataDir: data.root, functions: registry.list().length, queue: queue.kind }, 'listening');
  asyncInvoker.start();
  // Start-up waits for the pre-warmed isolates.
  await isolates.ready();
  isolatesReady = true;

  return {
    port, registry, dispatcher, isolates,
    async close(deadlineMs = 10_000) {
      triggers.close();
      // Async: no new events are taken; running ones get the same deadline; the rest stay queued.
      await Promise.all([fe.drain(deadlineMs), asyncInvoker.stop(deadlineMs)]);
      await queue.close();
      await isolates.close();
      await containers.close();
      fe.close();
    },
  };
}

/**
 * The container tier: with a Docker engine (DOCKER_HOST or the local socket), containers; without
 * one, the same backend answers 503 with what to do, and starts working when an engine appears.
 */
async function startContainerTier(config: Config, data: DataDir, sink: HostLog): Promise<Backend> {
  if (!config.docker) {
    return new UnavailableBackend('the container tier is switched off (--no-docker); only runtime "js" runs');
  }
  const engine = new Engine();
  if (await engine.ping()) {
    try {
      const removed = await engine.removeLeftovers();
      if (removed > 0) log.info({ removed }, 'removed containers a previous run left behind');
      await engine.network();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not prepare the Docker engine');
    }
  } else {
    log.warn({ err: engine.lastError }, 'no Docker engine: container functions answer 503 until one answers');
  }
  engine.watch();
  const backend = new ContainerBackend(
    {
      stemCells: config.stemCells, defaultMemoryMb: 128, cpus: config.containerCpus,
      maxTotalInstances: config.maxContainers, memoryBudgetMb: config.containerMemoryBudgetMb,
      waitQueueSize: config.waitQueueSize, waitQueueTimeoutMs: config.waitQueueTimeoutMs,
      scaleUpThreshold: config.scaleUpThreshold, sweepIntervalMs: config.sweepIntervalMs,
      scaleDownThreshold: config.scaleDownThreshold, scaleDownDelayMs: config.scaleDownDelayMs,
    },
    engine, data, sink,
  );
  return backend;
}
