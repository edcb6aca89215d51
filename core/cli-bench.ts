// `hearth bench NAME[:QUALIFIER]`: measures a deployed function on a running Hearth, cold and warm
// (core/measure/run.ts), and reports it as a table, JSON, Markdown or a picture. Same conventions as
// the other client commands (cli-client.ts): --url / HEARTH_URL, tokens from the environment only,
// exit 0 when the run completed (failed calls are in the report), 1 when Hearth or the function
// could not be reached, 2 for bad flags.

import { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { CliError, serverUrl, urlOption } from './cli-client.js';
import { NeedsAdminToken } from './measure/cold.js';
import { markdownReport, terminalReport } from './measure/report.js';
import { BenchTargetError, runBench } from './measure/run.js';
import type { BenchResult, BenchSettings, Progress } from './measure/types.js';

interface BenchFlags {
  cold?: string;
  warm?: string;
  duration?: string;
  concurrency?: string;
  payload?: string;
  payloadFile?: string;
  web?: string;
  json?: boolean;
  svg?: string;
  md?: string;
  compare?: string;
  reserve: boolean;
  baseline: boolean;
  url?: string;
}

const DEFAULTS = { cold: 10, warm: 1000, concurrency: 8 };

/** A whole number within [min, max], else a CliError (exit 2) naming the flag. */
function intFlag(v: string | undefined, flag: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) throw new CliError(`${flag} must be a whole number from ${min} to ${max}, got "${v}"`, 2);
  return n;
}

/** The flags checked and resolved into the engine's settings. */
export function benchSettings(target: string, f: BenchFlags): BenchSettings {
  if (!/^[^:\s]+(:[^:\s]+)?$/.test(target)) throw new CliError(`"${target}" is not NAME or NAME:QUALIFIER`, 2);
  if (f.warm !== undefined && f.duration !== undefined) throw new CliError('give --warm N (calls) or --duration S (seconds), not both', 2);
  if (f.payload !== undefined && f.payloadFile !== undefined) throw new CliError('give --payload JSON or --payload-file F, not both', 2);
  let durationS: number | null = null;
  if (f.duration !== undefined) {
    durationS = Number(f.duration);
    if (f.duration.trim() === '' || !Number.isFinite(durationS) || durationS <= 0 || durationS > 3600) throw new CliError(`--duration must be seconds above 0 and at most 3600, got "${f.duration}"`, 2);
  }
  let payload: string | undefined = f.payload;
  if (f.payloadFile !== undefined) {
    try {
      payload = readFileSync(f.payloadFile, 'utf8');
    } catch (e) {
      throw new CliError(`cannot read --payload-file ${f.payloadFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
    }
  }
  if (payload !== undefined) {
    try {
      JSON.parse(payload);
    } catch (e) {
      throw new CliError(`the payload is not JSON (${(e as Error).message})`, 2);
    }
  }
  // A path goes on the request line as it is: visible ASCII only (a space or a control character
  // would make the HTTP client throw; percent-encode them).
  if (f.web !== undefined && !/^[\x21-\x7e]*$/.test(f.web)) throw new CliError(`--web "${f.web.slice(0, 80)}": a path of visible ASCII characters (percent-encode the rest)`, 2);
  if (f.compare !== undefined && !/^[^:\s]+$/.test(f.compare)) throw new CliError(`--compare takes a version number or an alias, got "${f.compare}"`, 2);
  const [name, qualifier] = target.split(':');
  if (f.compare !== undefined && f.compare === (qualifier ?? '$LATEST')) throw new CliError(`--compare ${f.compare} is the target itself: name another version or alias`, 2);
  return {
    url: serverUrl(f),
    target: qualifier === undefined ? name! : target,
    compare: f.compare ?? null,
    cold: intFlag(f.cold, '--cold', DEFAULTS.cold, 0, 10_000),
    warm: durationS === null ? intFlag(f.warm, '--warm', DEFAULTS.warm, 0, 100_000_000) : 0,
    durationS,
    concurrency: intFlag(f.concurrency, '--concurrency', DEFAULTS.concurrency, 1, 1_000),
    // Invoke sends {} when no payload is given; the web route then sends a GET without a body.
    payload: payload ?? (f.web !== undefined ? '' : '{}'),
    web: f.web ?? null,
    reserve: f.reserve,
  };
}

const env = (k: string): string | undefined => (process.env[k] ? process.env[k] : undefined);

/** A one-line progress bar on a terminal's stderr; one line per phase on a pipe. */
function progressView(settings: BenchSettings): { update(p: Progress): void; end(): void } {
  const tty = process.stderr.isTTY === true;
  let last = '';
  let drawn = false;
  return {
    update(p) {
      const key = `${p.phase} ${p.target}`;
      if (!tty) {
        if (key !== last) process.stderr.write(`hearth bench: ${p.phase === 'baseline' ? 'the load generator alone (bare uWS echo)' : `${p.phase} ${p.target}`}…\n`);
        last = key;
        return;
      }
      const share = p.total !== null && p.total > 0
        ? p.done / p.total
        : p.phase === 'warm' && settings.durationS !== null ? p.elapsedMs / (settings.durationS * 1000) : 0; // S seconds each target
      const width = 30;
      const fill = Math.max(0, Math.min(width, Math.round(share * width)));
      const count = p.phase === 'baseline' ? '' : p.total !== null ? `${p.done}/${p.total}` : `${p.done} calls`;
      const line = `${p.phase.padEnd(8)} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${p.phase === 'baseline' ? 'uWS echo' : p.target} ${count} ${(p.elapsedMs / 1000).toFixed(1)} s`;
      process.stderr.write(`\r${line}\x1b[K`);
      drawn = true;
    },
    end() {
      if (tty && drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

/** The picture (core/measure/chart.ts: Vega-Lite, as bench/report.ts); vega is loaded only for --svg. */
async function writeSvg(result: BenchResult, file: string): Promise<void> {
  const { benchSvg } = await import('./measure/chart.js');
  writeFileSync(file, await benchSvg(result));
}

export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure a function on a running Hearth: cold calls (each on a fresh instance) and warm load; latency percentiles, throughput, errors by type, and the init/queue/run split')
    .argument('<name[:qualifier]>', 'function name, optionally with a version number or alias')
    .option('--cold <n>', `cold calls, each on a fresh instance (X-Hearth-Force-Cold; needs HEARTH_ADMIN_TOKEN when Hearth has one; default ${DEFAULTS.cold}; 0: none)`)
    .option('--warm <n>', `warm calls in all (default ${DEFAULTS.warm})`)
    .option('--duration <s>', 'warm load for this many seconds instead of --warm calls')
    .option('--concurrency <c>', `warm calls in flight at once (default ${DEFAULTS.concurrency})`)
    .option('--payload <json>', 'the event as JSON (default {}; with --web, the POST body: none means GET)')
    .option('--payload-file <file>', 'read the payload from a file')
    .option('--web <path>', 'call the web route /v1/web/NAME[:QUALIFIER]/PATH instead of invoke')
    .option('--compare <qualifier>', 'also measure this version or alias of the same function, in alternating rounds, and report the ratios')
    .option('--no-reserve', 'cold calls boot from scratch instead of taking a pre-made blank isolate or stem cell (X-Hearth-Force-Cold: scratch)')
    .option('--no-baseline', 'skip measuring the load generator alone against a bare uWS echo')
    .option('--json', 'print the whole result (every call) as JSON instead of the table')
    .option('--svg <file>', 'write a picture: the latency CDF of cold against warm, and the init/queue/run split')
    .option('--md <file>', 'write a Markdown report to paste in an issue')
    .addOption(urlOption())
    // An unknown option or a missing value is a bad flag like the ones checked below: exit 2 (commander says 1).
    .exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2))
    .action(async (target: string, flags: BenchFlags) => {
      const settings = benchSettings(target, flags);
      const view = progressView(settings);
      const stop = new AbortController();
      // The first Ctrl-C ends the run and reports what was measured; a second one leaves at once.
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      let result: BenchResult;
      try {
        result = await runBench(settings, {
          ...(env('HEARTH_ADMIN_TOKEN') ? { adminToken: env('HEARTH_ADMIN_TOKEN')! } : {}),
          ...(env('HEARTH_INVOKE_TOKEN') ? { invokeToken: env('HEARTH_INVOKE_TOKEN')! } : {}),
          baseline: flags.baseline,
          signal: stop.signal,
          onProgress: (p) => view.update(p),
        });
      } catch (e) {
        if (e instanceof BenchTargetError) throw new CliError(e.message, 1);
        if (e instanceof NeedsAdminToken) throw new CliError(e.message, 2);
        throw e;
      } finally {
        view.end();
        process.off('SIGINT', onSigint);
      }
      process.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : terminalReport(result));
      if (flags.md !== undefined) writeFileSync(flags.md, markdownReport(result));
      if (flags.svg !== undefined) await writeSvg(result, flags.svg);
    });
}
