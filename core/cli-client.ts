// The `hearth` commands that talk to a running Hearth over its HTTP API: deploy, invoke, logs, ls,
// rm. The server is --url (env HEARTH_URL, default http://127.0.0.1:8080); the token comes from the
// environment only (HEARTH_ADMIN_TOKEN; invoke also takes HEARTH_INVOKE_TOKEN), never a flag, which
// `ps` would show.

import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { planDeploy } from './cli-deploy.js';
import { callTiming, timingLine } from './timing-line.js';
import { takeEvents, type ServerSentEvent } from './sse.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

/** A failure the command prints as one line (`hearth: …`) and exits with. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
}

export class HearthClient {
  constructor(readonly url: string, private readonly token: string | undefined) {}

  async request(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Reply> {
    const h: Record<string, string> = { ...headers };
    if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
    const res = await this.send(method, path, h, body);
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  }

  /** The response once its head is in (its body not read), the token sent; a CliError when Hearth cannot be reached. */
  private async send(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<Response> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    try {
      return await fetch(new URL(path, this.url), { method, headers: h, ...(body !== undefined ? { body } : {}) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError(`cannot reach Hearth at ${this.url} (${why}): is \`hearth serve\` running there? Point --url or HEARTH_URL at it`);
    }
  }

  /** A management call: the parsed JSON on 2xx; otherwise a CliError saying what to do. */
  async json(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const r = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body));
    if (r.status >= 200 && r.status < 300) return r.body.length === 0 ? {} : (JSON.parse(r.body.toString('utf8')) as Record<string, unknown>);
    throw this.failure(r);
  }

  /** A streaming GET (Server-Sent Events): the response once its head is in; a CliError unless 200. */
  async stream(path: string): Promise<Response> {
    const res = await this.send('GET', path, { accept: 'text/event-stream' });
    if (res.status !== 200) throw this.failure({ status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) });
    return res;
  }

  failure(r: Reply): CliError {
    let type = `HTTP ${r.status}`;
    let message = r.body.toString('utf8').slice(0, 500);
    try {
      const e = JSON.parse(message) as { errorType?: string; errorMessage?: string };
      if (e.errorType) type = e.errorType;
      if (e.errorMessage) message = e.errorMessage;
    } catch { /* not JSON: shown as it came */ }
    if (r.status === 401) {
      return new CliError(`${type}: ${message} (set HEARTH_ADMIN_TOKEN to the token the server was started with)`);
    }
    return new CliError(`${type}: ${message}`);
  }
}

/** --url, else HEARTH_URL, else the default; a CliError (exit 2) for one that is not a URL. */
export function serverUrl(opts: { url?: string }): string {
  const url = opts.url ?? process.env.HEARTH_URL ?? DEFAULT_URL;
  try {
    new URL(url);
  } catch {
    throw new CliError(`--url "${url}" is not a URL (e.g. ${DEFAULT_URL})`, 2);
  }
  return url;
}

function client(opts: { url?: string }, tokenEnv: string[] = ['HEARTH_ADMIN_TOKEN']): HearthClient {
  const url = serverUrl(opts);
  const token = tokenEnv.map((k) => process.env[k]).find((v) => v !== undefined && v !== '');
  return new HearthClient(url, token);
}

export const urlOption = () => new Option('--url <url>', `the Hearth server (env HEARTH_URL; default ${DEFAULT_URL})`);

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer`);
  return n;
};

const keyValue = (v: string, prev: Record<string, string> | undefined): Record<string, string> => {
  const i = v.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--env takes KEY=VALUE, got "${v}"`);
  return { ...prev, [v.slice(0, i)]: v.slice(i + 1) };
};

interface LogLine { time: number; requestId: string; stream: string; message: string }

/** The events of a Server-Sent Events response, as they come. */
async function* serverSentEvents(res: Response): AsyncGenerator<ServerSentEvent> {
  if (!res.body) return;
  const dec = new TextDecoder();
  let buf = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    const { events, rest } = takeEvents(buf + dec.decode(chunk, { stream: true }));
    buf = rest;
    yield* events;
  }
}

const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');
const err = (s: string) => process.stderr.write(s.endsWith('\n') ? s : s + '\n');

export function addClientCommands(program: Command): void {
  program
    .command('deploy')
    .description('deploy a function from a file or a folder (a folder with a function.json is taken as --functions takes it)')
    .argument('<path>', 'a folder, a .js/.mjs/.cjs/.ts or .py file, a .zip, a .jar, or a spec .json with its code')
    .option('--name <name>', 'function name (default: the folder\'s or file\'s name, or function.json\'s "name")')
    .option('--runtime <runtime>', 'js, python3, java17 (default: from the files)')
    .option('--handler <handler>', '"file.export" or "pkg.Class::method" (default: index.main_handler / index.handler / index.default, from the code)')
    .option('--memory-mb <mb>', 'memory limit', int('--memory-mb'))
    .option('--timeout-ms <ms>', 'call timeout', int('--timeout-ms'))
    .option('--concurrency <n>', 'calls one instance runs at once', int('--concurrency'))
    .option('--env <KEY=VALUE>', 'an environment variable for the function (repeatable)', keyValue)
    .addOption(urlOption())
    .action(async (path: string, opts) => {
      const plan = planDeploy(path, opts);
      const view = await client(opts).json('PUT', `/v1/functions/${encodeURIComponent(plan.name)}`, plan.spec);
      const digest = String(view.digest ?? '').slice(0, 12);
      out(`${plan.name}\t${view.runtime}\t${view.handler ?? view.image ?? ''}\t${digest}`);
    });

  program
    .command('invoke')
    .description('call a function once: the result on stdout; cold or warm and the timings on stderr')
    .argument('<name>', 'function name')
    .argument('[payload]', 'the event as JSON (default {}); @FILE reads a file, - reads stdin')
    .option('--qualifier <q>', 'version or alias (default $LATEST)')
    .option('--tail', 'print the call\'s log lines on stderr')
    .option('--msgpack', 'send the payload as msgpack bytes (the payload must then be a file or stdin holding msgpack)')
    .option('-q, --quiet', 'only the result')
    .addOption(urlOption())
    .action(async (name: string, payload: string | undefined, opts) => {
      const body = readPayload(payload ?? '{}');
      if (!opts.msgpack) {
        try {
          JSON.parse(body.toString('utf8'));
        } catch (e) {
          throw new CliError(`the payload is not JSON (${(e as Error).message}); give JSON, @FILE or -`, 2);
        }
      }
      const c = client(opts, ['HEARTH_INVOKE_TOKEN', 'HEARTH_ADMIN_TOKEN']);
      const q = opts.qualifier ? `?qualifier=${encodeURIComponent(opts.qualifier)}` : '';
      const r = await c.request('POST', `/v1/functions/${encodeURIComponent(name)}/invoke${q}`, body, {
        'content-type': opts.msgpack ? 'application/msgpack' : 'application/json',
        accept: 'application/json',
        ...(opts.tail ? { 'x-hearth-log-type': 'Tail' } : {}),
      });
      const h = r.headers;
      if (opts.tail && h.get('x-hearth-log-result')) err(Buffer.from(h.get('x-hearth-log-result')!, 'base64').toString('utf8').trimEnd());
      const ran = r.status === 200 || h.get('x-hearth-function-error') !== null;
      if (!opts.quiet && ran) {
        err(timingLine(callTiming(h)));
      }
      if (r.status === 200 && !h.get('x-hearth-function-error')) {
        out(r.body.toString('utf8'));
        return;
      }
      // The function failed (its error is the body) or the call was refused.
      if (h.get('x-hearth-function-error')) {
        out(r.body.toString('utf8'));
        throw new CliError(`the function failed (${h.get('x-hearth-function-error')})`);
      }
      throw c.failure(r);
    });

  program
    .command('logs')
    .description('a function\'s recent log lines (stdout and stderr), with request ids')
    .argument('<name>', 'function name')
    .option('--since <time>', 'from this time on (ISO 8601, or milliseconds since the epoch)')
    .option('--limit <n>', 'at most this many lines (default 100)', int('--limit'))
    .option('--request-id <id>', 'only this call\'s lines')
    .option('-f, --follow', 'keep printing new lines as they are written (the live stream; Ctrl-C to stop)')
    .addOption(urlOption())
    .action(async (name: string, opts) => {
      const c = client(opts);
      const since = opts.since === undefined ? 0 : parseSince(opts.since);
      const limit = opts.limit ?? 100;
      const print = (l: LogLine) => out(`${new Date(l.time).toISOString()}  ${l.requestId || '-'}  ${l.stream === 'stderr' ? 'ERR' : 'OUT'}  ${l.message}`);
      if (!opts.follow) {
        const qs = new URLSearchParams({ limit: String(limit), ...(since > 0 ? { since: String(since) } : {}), ...(opts.requestId ? { requestId: opts.requestId } : {}) });
        const r = await c.json('GET', `/v1/functions/${encodeURIComponent(name)}/logs?${qs}`);
        for (const l of r.lines as LogLine[]) print(l);
        return;
      }
      // --follow: the live stream (Server-Sent Events), which starts with the last `limit` lines kept;
      // with --since, the lines since then first (as without --follow), then the stream's new ones.
      let tail = Math.min(limit, 1_000);
      if (since > 0) {
        const first = new URLSearchParams({ limit: String(limit), since: String(since), ...(opts.requestId ? { requestId: opts.requestId } : {}) });
        for (const l of (await c.json('GET', `/v1/functions/${encodeURIComponent(name)}/logs?${first}`)).lines as LogLine[]) print(l);
        tail = 0;
      }
      const qs = new URLSearchParams({ tail: String(tail), ...(opts.requestId ? { requestId: opts.requestId } : {}) });
      const res = await c.stream(`/v1/functions/${encodeURIComponent(name)}/logs/stream?${qs}`);
      for await (const ev of serverSentEvents(res)) {
        if (ev.type === 'dropped') err(`hearth: ${(JSON.parse(ev.data) as { lines: number }).lines} lines skipped: this terminal read them slower than they came`);
        else {
          print(JSON.parse(ev.data) as LogLine);
        }
      }
      throw new CliError('the log stream ended: Hearth stopped or restarted');
    });

  program
    .command('ls')
    .description('the functions deployed')
    .option('--json', 'as JSON, as the API gives them')
    .addOption(urlOption())
    .action(async (opts) => {
      const r = await client(opts).json('GET', '/v1/functions');
      const fns = r.functions as Record<string, unknown>[];
      if (opts.json) {
        out(JSON.stringify(fns, null, 2));
        return;
      }
      const rows = [['NAME', 'RUNTIME', 'HANDLER', 'MEMORY', 'DIGEST', 'UPDATED'],
        ...fns.map((f) => [String(f.name), String(f.runtime), String(f.handler ?? f.image ?? ''), `${f.memoryMb} MB`, String(f.digest).slice(0, 12), String(f.updatedAt)])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
      for (const row of rows) out(row.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd());
    });

  program
    .command('publish')
    .description('publish $LATEST as the next numbered version (the last one back if $LATEST has not changed)')
    .argument('<name>', 'function name')
    .option('--description <text>', 'what this version is')
    .addOption(urlOption())
    .action(async (name: string, opts) => {
      const v = await client(opts).json('POST', `/v1/functions/${encodeURIComponent(name)}/versions`, opts.description ? { description: opts.description } : undefined);
      out(`${name}\tversion ${v.version}\t${String(v.digest).slice(0, 12)}`);
    });

  program
    .command('alias')
    .description('point an alias at a version (created or moved; new calls follow at once), optionally splitting calls with one more version')
    .argument('<name>', 'function name')
    .argument('<alias>', 'alias name (not only digits)')
    .argument('<version>', 'a published version number, or $LATEST')
    .option('--extra <version=weight>', 'send this share (0..1) of calls to another published version, e.g. 3=0.1', (v: string) => {
      const m = /^(\d+)=(\d*\.?\d+)$/.exec(v);
      if (!m) throw new InvalidArgumentError('--extra takes VERSION=WEIGHT, e.g. 3=0.1');
      return { [m[1]!]: Number(m[2]) };
    })
    .option('--min-instances <n>', 'reserved instances kept warm for the alias', int('--min-instances'))
    .option('--description <text>', 'what the alias is for')
    .addOption(urlOption())
    .action(async (name: string, alias: string, version: string, opts) => {
      const a = await client(opts).json('PUT', `/v1/functions/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`, {
        version,
        ...(opts.extra ? { additionalVersionWeights: opts.extra } : {}),
        ...(opts.minInstances !== undefined ? { minInstances: opts.minInstances } : {}),
        ...(opts.description ? { description: opts.description } : {}),
      });
      const extra = Object.entries(a.additionalVersionWeights as Record<string, number>).map(([v, w]) => ` + version ${v} at ${w}`).join('');
      out(`${name}:${alias}\t→ version ${a.version}${extra}`);
    });

  program
    .command('rm')
    .description('delete functions (their warm instances go too)')
    .argument('<name...>', 'function names')
    .addOption(urlOption())
    .action(async (names: string[], opts) => {
      const c = client(opts);
      let failed = 0;
      for (const name of names) {
        try {
          await c.json('DELETE', `/v1/functions/${encodeURIComponent(name)}`);
          out(`deleted ${name}`);
        } catch (e) {
          if (!(e instanceof CliError)) throw e;
          err(`hearth: ${name}: ${e.message}`);
          failed++;
        }
      }
      if (failed > 0) throw new CliError(`${failed} of ${names.length} not deleted`);
    });
}

function readPayload(arg: string): Buffer {
  if (arg === '-') return readFileSync(0);
  if (arg.startsWith('@')) {
    try {
      return readFileSync(arg.slice(1));
    } catch (e) {
      throw new CliError(`cannot read the payload file ${arg.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
    }
  }
  return Buffer.from(arg);
}

function parseSince(v: string): number {
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new CliError(`--since "${v}" is neither an ISO 8601 time nor milliseconds since the epoch`, 2);
  return n;
}
