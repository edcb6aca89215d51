#!/usr/bin/env node
// The `hearth` command.

import { Command, InvalidArgumentError } from 'commander';
import Docker from 'dockerode';
import { NO_ENGINE_HELP } from '../container-fallback/engine.js';
import { buildRuntimeImages, CONTAINER_RUNTIMES, DEFAULT_BASE_IMAGES, listRuntimeImages, type ContainerRuntime } from '../container-fallback/images.js';
import { loadConfig } from './config.js';
import { log } from './log.js';
import { startServer } from './server.js';

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};

const program = new Command('hearth').description('A single-node function worker: uWebSockets.js in front of pre-warmed V8 isolates.');

program
  .command('serve')
  .description('start Hearth (HTTP API on --host:--port)')
  .option('--host <host>', 'address to listen on (env HEARTH_HOST)')
  .option('--port <port>', 'port to listen on, 0 for any free one (env HEARTH_PORT)', int('--port'))
  .option('--data-dir <dir>', 'where code and function records live (env HEARTH_DATA_DIR; default ./.hearth)')
  .option('--deploy <dir...>', 'deploy the function folders in DIR at start (each with a function.json)')
  .option('--prewarm-isolates <n>', 'blank isolates kept ready (env HEARTH_PREWARM_ISOLATES; default 4)', int('--prewarm-isolates'))
  .option('--memory-budget-mb <mb>', 'memory budget for warm instances (default 4096)', int('--memory-budget-mb'))
  .option('--max-total-instances <n>', 'instance budget across functions (default 2000)', int('--max-total-instances'))
  .option('--wait-queue-size <n>', 'calls that may wait per version (default 1000)', int('--wait-queue-size'))
  .option('--wait-queue-timeout-ms <ms>', 'longest wait for a free instance (default 10000)', int('--wait-queue-timeout-ms'))
  .option('--sweep-interval-ms <ms>', 'how often idle instances are checked (default 1000)', int('--sweep-interval-ms'))
  .option('--max-body-bytes <n>', 'largest invoke body (default 6 MiB)', int('--max-body-bytes'))
  .option('--drain-timeout-ms <ms>', 'on SIGTERM, how long calls in flight get to finish (env HEARTH_DRAIN_TIMEOUT_MS; default 10000)', int('--drain-timeout-ms'))
  .option('--stem-cells <n>', 'container tier: stem cells kept started per runtime image (env HEARTH_STEM_CELLS; default 1)', int('--stem-cells'))
  .option('--max-containers <n>', 'container tier: warm containers across functions (env HEARTH_MAX_CONTAINERS; default 32)', int('--max-containers'))
  .option('--container-memory-budget-mb <mb>', 'container tier: memory budget for warm containers (env HEARTH_CONTAINER_MEMORY_BUDGET_MB; default 8192)', int('--container-memory-budget-mb'))
  .option('--container-cpus <cores>', 'container tier: CPU share of a container whose spec sets none (env HEARTH_CONTAINER_CPUS; default 1)', (v: string) => {
    const n = Number(v);
    if (!(n > 0)) throw new InvalidArgumentError('--container-cpus must be a number of cores above 0');
    return n;
  })
  .option('--no-docker', 'no container tier: python3, java17 and image functions answer 503')
  .option('--no-batch-calls', 'one isolate crossing per call instead of one per event-loop turn (for A/B benchmarks)')
  .action(async (opts) => {
    let config;
    try {
      config = loadConfig({
        host: opts.host, port: opts.port, dataDir: opts.dataDir, deployDirs: opts.deploy,
        prewarmIsolates: opts.prewarmIsolates, memoryBudgetMb: opts.memoryBudgetMb,
        maxTotalInstances: opts.maxTotalInstances, waitQueueSize: opts.waitQueueSize,
        waitQueueTimeoutMs: opts.waitQueueTimeoutMs, sweepIntervalMs: opts.sweepIntervalMs,
        maxBodyBytes: opts.maxBodyBytes, batchCalls: opts.batchCalls,
        drainTimeoutMs: opts.drainTimeoutMs, stemCells: opts.stemCells, maxContainers: opts.maxContainers,
        containerMemoryBudgetMb: opts.containerMemoryBudgetMb, containerCpus: opts.containerCpus, docker: opts.docker,
      });
    } catch (err) {
      process.stderr.write(`hearth: ${(err as Error).message}\n`);
      process.exit(2);
    }
    // A bug must cost one request, not every tenant's: log it and keep serving.
    process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
    const server = await startServer(config);
    // For scripts and tests that start Hearth on port 0.
    process.stdout.write(`hearth listening on http://${config.host}:${server.port}\n`);
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal, deadlineMs: config.drainTimeoutMs }, 'draining');
      server.close(config.drainTimeoutMs).then(
        () => { log.flush(); process.exit(0); },
        (err) => { log.error({ err }, 'drain failed'); process.exit(1); },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

/** The Docker engine (DOCKER_HOST, else the local socket); exits 1 with what to do when none answers. */
async function engine(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    process.stderr.write(`hearth: ${NO_ENGINE_HELP} (${(err as Error).message})\n`);
    process.exit(1);
  }
  return docker;
}

const images = program.command('images').description('the container tier\'s runtime images (python3, java17), built on this machine');

images
  .command('build')
  .description('build the runtime images that are missing (as root: debootstrap, or a Debian bookworm base image the engine has; ~1-2 min the first time)')
  .option('--force', 'rebuild even when the image for the current bootstraps exists')
  .option('--base <image>', `build from this Debian bookworm image in the engine (default: $HEARTH_BASE_IMAGE, else the first of ${DEFAULT_BASE_IMAGES.join(', ')} the engine has, else debootstrap)`)
  .option('--no-base', 'always debootstrap, even when the engine has a base image')
  .option('--runtime <runtime...>', `only these runtimes (${CONTAINER_RUNTIMES.join(', ')})`, (v: string, prev: ContainerRuntime[] | undefined) => {
    if (!(CONTAINER_RUNTIMES as readonly string[]).includes(v)) throw new InvalidArgumentError(`--runtime must be one of ${CONTAINER_RUNTIMES.join(', ')}`);
    return [...(prev ?? []), v as ContainerRuntime];
  })
  .action(async (opts: { force?: boolean; runtime?: ContainerRuntime[]; base?: string | boolean }) => {
    const docker = await engine();
    const built = await buildRuntimeImages({
      docker, force: opts.force === true, ...(opts.runtime ? { runtimes: opts.runtime } : {}),
      ...(opts.base === false ? { base: false } : typeof opts.base === 'string' ? { base: opts.base } : {}),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    for (const img of built) process.stdout.write(`${img.tag}\t${img.built ? 'built' : 'present'}\t${Math.round(img.sizeBytes / 1e6)} MB\n`);
  });

images
  .command('list')
  .description('the runtime images in the Docker engine (current: the ones this build of Hearth uses)')
  .action(async () => {
    const docker = await engine();
    const list = await listRuntimeImages(docker);
    const rows = [['RUNTIME', 'TAG', 'IMAGE ID', 'SIZE', 'CREATED', 'CURRENT'],
      ...list.map((i) => [i.runtime, i.tag, i.id.replace(/^sha256:/, '').slice(0, 12), `${Math.round(i.sizeBytes / 1e6)} MB`, i.created.toISOString(), i.current ? 'yes' : 'no'])];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) process.stdout.write(`${r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd()}\n`);
    const missing = CONTAINER_RUNTIMES.filter((rt) => !list.some((i) => i.runtime === rt && i.current));
    if (missing.length > 0) process.stderr.write(`hearth: not built for the current bootstraps: ${missing.join(', ')} (run \`hearth images build\`)\n`);
  });

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`hearth: ${(err as Error).message}\n`);
  process.exit(1);
});
