// The composition root: Hearth built from validated options (core/config.ts), in one place, in the
// order each part needs the others (ARCHITECTURE.md "Layers"). Nothing is wired after it is made:
// every part gets what it uses in its constructor, and nothing is global.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AsyncInvoker, eventBodyLimit } from './async/invoker.js';
import { EmbeddedQueue } from './async/embedded-queue.js';
import type { DeadLetterBounds, Queue } from './async/queue.js';
import { RedisQueue } from './async/redis-queue.js';
import { Tiers, type Backend } from './backend.js';
import type { LogSink } from './call.js';
import { CallRecorder } from './call-recorder.js';
import type { Config } from './config.js';
import { loadFunctionFolders } from './deploy-dir.js';
import { Dispatcher } from './dispatcher.js';
import { refuseEgressTo } from './egress.js';
import { CloudEventsRoute } from './http/events.js';
import { FrontEnd } from './http/front-end.js';
import { Gate } from './http/gate.js';
import { HttpCounters } from './http/http-counters.js';
import { LambdaApi } from './http/lambda.js';
import { managementRoutes } from './http/management.js';
import { pipeline, type PipelineDeps } from './http/pipeline.js';
import { mount, route, type Route } from './http/routes.js';
import { V1Invoke } from './http/v1-invoke.js';
import { WebRoute } from './http/web.js';
import { log } from './log.js';
import { FunctionLogs, logSink } from './logs.js';
import { InvocationRecords } from './records.js';
import { Metrics, type EventCounter } from './metrics.js';
import { LimitCounters } from './limit-counters.js';
import { Catalog, Registry } from './registry/index.js';
import { WorkerDeployWork } from './registry/deploy-work.js';
import { DataDir } from './store.js';
import { FunctionStats } from './function-stats.js';
import { TestPayloads } from './test-payloads.js';
import { FunctionSources } from './function-sources.js';
import { LogStreams } from './http/log-stream.js';
import { BenchRuns } from './measure/bench-runs.js';
import { ConsoleAssets, consoleRoutes } from './console/serve.js';
import { Triggers } from './triggers.js';
import { QueueTriggers } from './events/queue-triggers.js';
import { UnavailableBackend } from './unavailable-backend.js';
import type { PoolSettings } from '../pool/instance-pool.js';
import { IsolateBackend } from '../pool/isolate/backend.js';
import { ContainerBackend } from '../container-fallback/backend.js';
import { DockerEngine } from '../container-fallback/docker-engine.js';
import { engineIdentity } from '../container-fallback/engine-identity.js';

/** The in-isolate runtime, bundled by scripts/build-runtime.mjs. */
export const RUNTIME_PATH = fileURLToPath(new URL('../runtime/isolate-runtime.js', import.meta.url));

/** The dead letters' byte bounds (a per-function bound above the total is the total). */
function deadLetterBounds(config: Config): DeadLetterBounds {
  return { total: config.asyncDeadLetterMaxBytes, perFunction: Math.min(config.asyncDeadLetterMaxBytesPerFunction, config.asyncDeadLetterMaxBytes) };
}

/** The routes that run calls: each protocol through the one pipeline. */
export function callRoutes(deps: PipelineDeps, config: Config, events: EventCounter | null = null): Route[] {
  const web = pipeline(deps, new WebRoute(config, deps.gate, deps.frontEnd.counters));
  return [
    route('POST', '/v1/functions/:name/invoke', pipeline(deps, new V1Invoke(config, deps.gate))),
    route('ANY', '/v1/web/:name', web),
    route('ANY', '/v1/web/:name/*', web),
    route('POST', '/2015-03-31/functions/:name/invocations', pipeline(deps, new LambdaApi(config, deps.gate))),
    route('POST', '/v1/events/:name', pipeline(deps, new CloudEventsRoute(config, deps.gate, events))),
  ];
}

export class Hearth {
  private constructor(
    readonly port: number,
    readonly catalog: Catalog,
    readonly registry: Registry,
    readonly dispatcher: Dispatcher,
    readonly tiers: Tiers,
    private readonly stop: (deadlineMs: number) => Promise<void>,
  ) {}

  /** Graceful: stop listening, let calls in flight finish (up to deadlineMs), dispose instances. */
  close(deadlineMs = 10_000): Promise<void> {
    return this.stop(deadlineMs);
  }

  static async start(config: Config): Promise<Hearth> {
    // Where things are kept, and where functions' output goes.
    const data = new DataDir(config.dataDir);
    const records = new InvocationRecords(config.invocationRetention, config.recordLogBytes);
    // What the channel bounds (logs, results, errors, wasm memory) dropped or refused.
    const counters = new LimitCounters();
    const functionLogs = new FunctionLogs(config.logLinesPerFunction);
    const sink = logSink(functionLogs, records);

    // The two tiers.
    const pool = {
      maxTotalInstances: config.maxTotalInstances, memoryBudgetMb: config.memoryBudgetMb,
      waitQueueSize: config.waitQueueSize, waitQueueTimeoutMs: config.waitQueueTimeoutMs,
      scaleUpThreshold: config.scaleUpThreshold, scaleDownThreshold: config.scaleDownThreshold,
      scaleDownDelayMs: config.scaleDownDelayMs, sweepIntervalMs: config.sweepIntervalMs,
    };
    const isolates = new IsolateBackend({
      ...pool, idleReleaseMs: config.idleReleaseMs, prewarmIsolates: config.prewarmIsolates, defaultMemoryMb: 128, runtimePath: RUNTIME_PATH,
      batching: config.batchCalls, maxFetchBytes: config.maxBodyBytes, sink, counters,
      logLimits: { bytesPerCall: config.logBytesPerCall, linesPerCall: config.logLinesPerCall, bytesPerSecond: config.logBytesPerSecond },
      maxResultBytes: config.maxResultBytes, maxErrorBytes: config.maxErrorBytes, syncBudgetMs: config.syncBudgetMs,
    }, data);
    const containers = await startContainerTier(config, data, sink, pool);
    const tiers = new Tiers(isolates, containers);
    // The stem cells start now, while the functions load; they count for readiness, not for start-up:
    // an engine that keeps failing to start them must not keep Hearth (and its JS functions) down.
    let containersReady = false;
    void containers.ready().then(() => { containersReady = true; });

    // Async events' durable queue (opened below: events a previous run held become runnable again).
    const queue: Queue = config.queue === 'redis'
      ? new RedisQueue({
        url: config.queueUrl!, retentionMs: config.asyncRetentionMs, claimTimeoutMs: config.queueClaimTimeoutMs, deadLetterRetentionMs: config.asyncDeadLetterRetentionMs,
        deadLetterBounds: deadLetterBounds(config),
      })
      : new EmbeddedQueue(join(data.root, 'queue'), config.asyncRetentionMs, config.asyncDeadLetterRetentionMs, deadLetterBounds(config));
    const httpCounters = new HttpCounters();
    const metrics = new Metrics({ backends: () => tiers.all(), asyncQueue: () => queue.stats(), http: httpCounters, limits: counters, records });

    // What calls resolve to, how they run, and what tells them apart when they change.
    const catalog = new Catalog();
    const dispatcher = new Dispatcher(tiers, catalog, new CallRecorder(records, metrics));
    const triggers = new Triggers(catalog, dispatcher);
    const queueTriggers = new QueueTriggers(catalog, eventBodyLimit(config), metrics);
    metrics.watchTriggers(() => queueTriggers.all());
    const deployWork = new WorkerDeployWork({
      archive: { maxUnzippedBytes: config.deployMaxUnzippedBytes, maxFiles: config.deployMaxFiles, maxFileBytes: config.deployMaxFileBytes },
      concurrency: config.deployConcurrency, queueSize: config.deployQueueSize, timeoutMs: config.deployTimeoutMs,
    });
    // The console's figures (sampled from the metrics' counts) and saved test payloads.
    const stats = new FunctionStats(metrics);
    const testPayloads = new TestPayloads(data.root);
    const sources = new FunctionSources(data.root);
    const registry = new Registry({
      catalog, data, tiers, limits: { maxCodeBytes: config.maxCodeBytes }, listeners: [triggers, queueTriggers, metrics, functionLogs, stats, testPayloads, sources],
      work: deployWork, onRefused: (reason) => metrics.deployRefused(reason),
    });
    metrics.watchDeploys(() => ({ ...deployWork.stats(), broken: registry.broken().length }));
    // A stored record that cannot be loaded is reported (GET /v1/functions/{name}, /readyz), never a failed start.
    registry.restore();
    await queue.open();
    const asyncInvoker = new AsyncInvoker(queue, catalog, dispatcher, records, {
      maxQueued: config.asyncQueueSize, maxQueuedBytes: config.asyncQueueMaxBytes, maxEventBytes: eventBodyLimit(config),
      concurrency: config.asyncConcurrency, idempotencyWindowMs: config.idempotencyWindowMs,
      retryBaseMs: config.asyncRetryBaseMs, retryMaxMs: config.asyncRetryMaxMs, maxFetchBytes: config.maxBodyBytes,
    }, metrics);

    // HTTP: the call protocols through the pipeline, and the management API.
    let isolatesReady = false;
    const frontEnd = new FrontEnd(config, httpCounters);
    const gate = new Gate(config);
    const logStreams = new LogStreams(functionLogs);
    metrics.watchLogStreams(logStreams);
    const benchRuns = new BenchRuns({ adminToken: config.adminToken, invokeToken: config.invokeToken });
    mount(frontEnd, [
      ...consoleRoutes(frontEnd, config, new ConsoleAssets()),
      ...callRoutes({ frontEnd, gate, catalog, dispatcher, asyncInvoker, records }, config, metrics),
      ...managementRoutes({
        config, frontEnd, gate, registry, records, functionLogs, tiers, triggers, queueTriggers, metrics, asyncInvoker, stats, logStreams, testPayloads, sources, benchRuns,
        isReady: () => isolatesReady && containersReady,
      }),
    ]);

    // The functions folder is loaded before the port opens: a gateway sends calls as soon as a
    // connection is accepted, and a restarted replica must not answer them 404 meanwhile.
    if (config.functions.length > 0) {
      const r = await loadFunctionFolders(registry, config.functions, (name, folder, changed) => log.info({ function: name, folder, changed }, 'loaded from the functions folder'));
      if (r.deleted.length > 0) log.info({ deleted: r.deleted }, 'deleted: gone from the functions folder');
    }
    const port = await frontEnd.listen(config.host, config.port);
    benchRuns.listening(config.host, port);
    // Functions' fetches may not lead back here (egress-self.ts), whatever their egress.allow says.
    // A host given by name is refused at every address it resolves to (egress compares addresses).
    const hostAddresses = isIP(config.host) !== 0 || config.host === 'localhost'
      ? [config.host]
      : [config.host, ...(await lookup(config.host, { all: true }).catch(() => [])).map((a) => a.address)];
    const undos = hostAddresses.map((a) => refuseEgressTo(a, port));
    const allowEgressAgain = () => { for (const undo of undos) undo(); };
    log.info({ host: config.host, port, dataDir: data.root, functions: registry.list().length, queue: queue.kind }, 'listening');
    asyncInvoker.start();
    queueTriggers.start(asyncInvoker);
    stats.start();
    // Start-up waits for the pre-warmed isolates.
    await isolates.ready();
    isolatesReady = true;

    return new Hearth(port, catalog, registry, dispatcher, tiers, async (deadlineMs) => {
      triggers.close();
      stats.close();
      // Live log streams never end by themselves: ended first, so the drain waits only for calls.
      logStreams.closeAll();
      // A measurement's calls would hold the drain too: it ends first.
      await benchRuns.close();
      // Queues: nothing more is read (what was read and not stored stays unacknowledged there).
      await queueTriggers.close();
      // Async: no new events are taken; running ones get the same deadline; the rest stay queued.
      // (--drain-delay-ms: the front end keeps listening that long first; the async invoker takes
      // nothing new from now, and its running events get the delay too.)
      const delayMs = config.drainDelayMs;
      await Promise.all([frontEnd.drain(deadlineMs, delayMs), asyncInvoker.stop(delayMs + deadlineMs)]);
      await deployWork.close();
      await queue.close();
      await isolates.close();
      await containers.close();
      frontEnd.close();
      allowEgressAgain();
    });
  }
}

/**
 * The container tier: with a Docker engine (DOCKER_HOST or the local socket), containers; without
 * one, the same backend answers 503 with what to do, and starts working when an engine appears.
 */
async function startContainerTier(config: Config, data: DataDir, sink: LogSink, pool: PoolSettings): Promise<Backend> {
  if (!config.docker) {
    return new UnavailableBackend('the container tier is switched off (--no-docker); only runtime "js" runs');
  }
  const engine = new DockerEngine(undefined, undefined, {
    identity: engineIdentity(data.root), logFileBytes: config.containerLogFileBytes, logBytesPerSec: config.containerLogBytesPerSec,
    cpuShares: config.containerCpuShares, hostPorts: config.containerHostPorts,
  });
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
  return new ContainerBackend(
    {
      ...pool, stemCells: config.stemCells, defaultMemoryMb: 128, cpus: config.containerCpus, maxResultBytes: config.maxResultBytes,
      maxTotalInstances: config.maxContainers, memoryBudgetMb: config.containerMemoryBudgetMb,
    },
    engine, data, sink,
  );
}
