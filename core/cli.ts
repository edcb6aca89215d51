#!/usr/bin/env node
// The `hearth` command.

import { Command, InvalidArgumentError, Option } from 'commander';
import type Docker from 'dockerode';
import { CONTAINER_RUNTIMES, type ContainerRuntime } from '../container-fallback/contract.js';
import { buildRuntimeImages, DEFAULT_BASE_IMAGES } from '../container-fallback/image-build.js';
import { listRuntimeImages } from '../container-fallback/images.js';
import { addBenchCommand } from './cli-bench.js';
import { addClientCommands, CliError } from './cli-client.js';
import { CONFIG_FILE, DEFAULTS, envName, flagName, loadConfig, SETTINGS, type Config, type ConfigKey } from './config.js';
import { log } from './log.js';

const program = new Command('hearth')
  .description('A single-node function worker: uWebSockets.js in front of pre-warmed V8 isolates and Docker containers.')
  .showHelpAfterError('(add --help for usage)');

const serve = program
  .command('serve')
  .summary('start Hearth (settings: --help)')
  .description(`start Hearth. Settings come from defaults, then a config file (${CONFIG_FILE}), then HEARTH_* environment variables, then these flags, each overriding the one before`)
  .option('--config <file>', `a JSON config file whose keys are the settings' names below in camelCase (env HEARTH_CONFIG; default ./${CONFIG_FILE} when it exists)`);
for (const s of SETTINGS) {
  if (s.kind === 'secret') continue;
  const flag = s.kind === 'boolean' ? (DEFAULTS[s.key] === true ? `--no-${flagName(s.key).slice(2)}` : flagName(s.key)) : `${flagName(s.key)} <${s.arg ?? 'value'}>`;
  const env = s.kind === 'boolean' ? `${envName(s.key)}=${DEFAULTS[s.key] === true ? 'false' : 'true'}` : envName(s.key);
  const dflt = s.kind === 'boolean' ? '' : `; default ${describeDefault(DEFAULTS[s.key])}`;
  serve.addOption(new Option(flag, `${s.help} (env ${env}${dflt})`));
}
// The name this flag had before --functions; kept so existing scripts go on working.
serve.addOption(new Option('--deploy <dir...>', 'old name of --functions').hideHelp());
serve.addHelpText('after', `
Without a flag (environment or config file only): ${SETTINGS.filter((s) => s.kind === 'secret').map((s) => `${envName(s.key)} (${s.key}): ${s.help}`).join('; ')}.

A config file, e.g. ${CONFIG_FILE}:
  { "port": 8080, "functions": ["./functions"], "prewarmIsolates": 8, "drainTimeoutMs": 30000 }
Relative paths in it are taken from the file's folder. Unknown keys and bad values stop the start
with an error naming the key and where its value came from.`);

serve.action(async (opts: Record<string, unknown>) => {
  let config: Config;
  try {
    const flags: Partial<Record<ConfigKey, unknown>> = {};
    for (const s of SETTINGS) {
      if (serve.getOptionValueSource(s.key) === 'cli') flags[s.key] = opts[s.key];
    }
    if (opts.deploy !== undefined) flags.functions = [...(opts.deploy as string[]), ...((flags.functions as string[] | undefined) ?? [])];
    config = loadConfig({ flags, ...(typeof opts.config === 'string' ? { configFile: opts.config } : {}) });
  } catch (err) {
    process.stderr.write(`hearth: ${(err as Error).message}\n`);
    process.exit(2);
  }
  log.level = config.logLevel;
  // A bug must cost one request, not every tenant's: log it and keep serving.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  let server;
  try {
    // Loaded here: the client commands need none of the server (isolated-vm, uWS, dockerode).
    const { Hearth } = await import('./hearth.js');
    server = await Hearth.start(config);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'could not start');
    log.flush();
    process.stderr.write(`hearth: ${(err as Error).message}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, delayMs: config.drainDelayMs, deadlineMs: config.drainTimeoutMs }, 'draining');
    server.close(config.drainTimeoutMs).then(
      () => { log.info('stopped'); log.flush(); process.exit(0); },
      (err) => { log.error({ err }, 'drain failed'); log.flush(); process.exit(1); },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // For scripts and tests that start Hearth on port 0. Written only now: a write to a pipe is
  // synchronous, so a reader could signal before the handlers above existed (and the default
  // action of SIGTERM is to die on the spot).
  process.stdout.write(`hearth listening on http://${config.host}:${server.port}\n`);
});

function describeDefault(v: unknown): string {
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.join(',');
  if (typeof v === 'number' && v >= 1024 * 1024 && v % (1024 * 1024) === 0) return `${v} (${v / 1024 / 1024} MiB)`;
  return String(v);
}

addClientCommands(program);
addBenchCommand(program);

/** The Docker engine (DOCKER_HOST, else the local socket); exits 1 with what to do when none answers. */
async function engine(): Promise<Docker> {
  const [{ default: DockerClient }, { NO_ENGINE_HELP }] = await Promise.all([import('dockerode'), import('../container-fallback/engine.js')]);
  const docker = new DockerClient();
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
  process.exit(err instanceof CliError ? err.exitCode : 1);
});
