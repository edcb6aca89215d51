#!/usr/bin/env node
// The `hearth` command.

import { Command, InvalidArgumentError } from 'commander';
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
      log.info({ signal }, 'draining');
      server.close().then(
        () => { log.flush(); process.exit(0); },
        (err) => { log.error({ err }, 'drain failed'); process.exit(1); },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`hearth: ${(err as Error).message}\n`);
  process.exit(1);
});
