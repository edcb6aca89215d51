// Section "http" of `npm run bench`: HTTP load, warm. The same hello logic (decode the JSON body
// {name}, answer {"hello": name}) behind each system, under the same wrk load (bench/load.ts: wrk as
// its own process, 1 thread, opts.connections connections, opts.durationSec per round):
//
//   bare uWS echo                          the limit (core/measure/uws-echo.ts)
//   node:http                              a plain Node server (bench/node-hello.ts)
//   workerd                                Cloudflare's runtime, the logic as a Workers module
//   Hearth event function                  examples/hello, POST /v1/functions/hello/invoke
//   Hearth web function                    the workerd module's exact source, POST /v1/web/<name>/
//   Hearth, --no-batch-calls               the event function with one isolate crossing per call
//   Hearth python3 function                warm, one container (only with a Docker engine; not in tiny)
//   the same container's bootstrap         called directly at <container>:9000/invoke
//
// Every system is checked once (one request, the right body) before any load; then a 1 s warm-up
// each; then opts.rounds rounds, the systems taking turns within a round (the order rotates from
// round to round). Each figure is the median of the rounds [min – max].
//
// Run alone: node --no-node-snapshot dist/bench/http.js [--mode tiny|quick|full] [--rounds N]
//   [--duration S] [--connections C] [--root DIR] [--json FILE]

import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { cpuMeter, perCall, type CpuMeter, type CpuPerCall } from './cpu.js';
import { haveWrk, runLoad, type LoadResult } from './load.js';
import { childEnv, startChild, startHearth, type Child, type Hearth } from './processes.js';
import { cell, fmt, stat, type BenchOptions, type Chart, type Mode, type SectionResult, type Stat, type TargetRow } from './section.js';
import { COMPAT_DATE, COMPAT_FLAGS, startWorkerd } from './workerd.js';

/** The hello event every system answers. */
export const HELLO = JSON.stringify({ name: 'world' });
const JSON_HEADERS = { 'content-type': 'application/json' };
/** The Workers module run by workerd and deployed to Hearth as a web function: one source for both. */
export const WORKER_SOURCE = 'export default { async fetch(req) { const { name } = await req.json(); return Response.json({ hello: name }) } }\n';
export const PYTHON_SOURCE = 'def main_handler(event, context):\n    return {"hello": event.get("name")}\n';
const WEB_NAME = 'hello-fetch';
const PY_NAME = 'hello-py';
const WARMUP_SEC = 1;
/** The target's row (ARCHITECTURE.md, Targets); its figures are taken at this many connections. */
const TARGET_PATH = 'JS warm invoke over HTTP, hello event function, 32 connections';
const TARGET_CONNECTIONS = 32;
/** The tail-latency target holds at this many connections too: the echo and the event function are loaded at it in every round. */
const WIDE_CONNECTIONS = 256;

type Key = 'echo' | 'node' | 'workerd' | 'event' | 'web' | 'unbatched' | 'python' | 'pythonDirect';

const NAMES: Record<Key, string> = {
  echo: 'bare uWS echo (the limit)',
  node: 'node:http server',
  workerd: 'workerd, Workers module',
  event: 'Hearth event function (hello)',
  web: 'Hearth web function (same Workers module)',
  unbatched: 'Hearth, one crossing per call (--no-batch-calls)',
  python: 'Hearth python3 function (one warm container)',
  pythonDirect: 'the same container\'s bootstrap, called directly',
};

interface System {
  key: Key;
  url: string;
  headers: Record<string, string>;
  /** One request; throws unless the answer is the hello answer. */
  check(): Promise<void>;
  /** The CPU time of the processes that serve it (bench/cpu.ts). */
  cpu: CpuMeter;
}

export interface HttpRow {
  name: string;
  url: string;
  rps: Stat;
  p50Ms: Stat;
  p99Ms: Stat;
  /** wrk socket errors + non-2xx over the measured rounds: must be 0. */
  errors: number;
  /** The same over the warm-up. */
  warmupErrors: number;
  /** 'ok', or what was wrong with the one request sent after the load. */
  afterLoadCheck: string;
  rounds: LoadResult[];
  /** µs of CPU per request, per round: main thread, other threads, container processes, total. */
  cpuPerCall: { main: Stat; others: Stat; container: Stat; total: Stat };
  cpuRounds: CpuPerCall[];
}

// ---------------------------------------------------------------------------------------------
// Checks

async function request(url: string, body: string, headers: Record<string, string>, method = 'POST'): Promise<{ status: number; text: string; headers: Headers }> {
  const r = await fetch(url, { method, headers: { ...JSON_HEADERS, ...headers }, body, signal: AbortSignal.timeout(30_000) });
  return { status: r.status, text: await r.text(), headers: r.headers };
}

function expectHello(what: string, status: number, text: string): void {
  let hello: unknown;
  try { hello = (JSON.parse(text) as { hello?: unknown }).hello; } catch { /* reported below */ }
  if (status !== 200 || hello !== 'world') throw new Error(`${what}: expected 200 {"hello":"world"}, got ${status} ${text.slice(0, 500)}`);
}

const checkJson = (what: string, url: string, headers: Record<string, string> = {}) => async () => {
  const r = await request(url, HELLO, headers);
  expectHello(what, r.status, r.text);
};

// ---------------------------------------------------------------------------------------------
// Python: a Hearth with the container tier, one function, one container

interface PythonSetup { systems: System[]; stop(): Promise<void> }

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no answer in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(t);
  }
}

/** Returns the two python systems, or the reason they are left out. Never throws for a missing engine or image. */
async function setUpPython(opts: BenchOptions): Promise<PythonSetup | { skipped: string }> {
  const docker = new Docker();
  try {
    await withTimeout(docker.ping(), 5_000, 'docker ping');
  } catch (err) {
    return { skipped: `no Docker engine answers (${(err as Error).message.split('\n')[0]})` };
  }
  let hearth: Hearth;
  try {
    // No stem cells: the one container the function gets is the only one running while it is measured.
    hearth = await startHearth(opts.root, 'hearth (python)', ['--stem-cells', '0']);
  } catch (err) {
    return { skipped: `the python3 Hearth did not start: ${(err as Error).message.split('\n')[0]}` };
  }
  const stop = async () => {
    const pid = hearth.proc.pid;
    await hearth.stop();
    // Hearth removes its containers when it drains; if it could not, remove what this one made.
    try {
      const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`hearth.managed=${pid}`] }) });
      await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
      if (left.length > 0) opts.log(`  http: removed ${left.length} container(s) the python3 Hearth left behind`);
    } catch { /* the engine went away: nothing more to do */ }
  };
  try {
    const base = `http://127.0.0.1:${hearth.port}`;
    // One container, as many calls in flight on it as wrk has connections: the same setting as the
    // direct row, where wrk's connections all go to that container's threaded server.
    const spec = { runtime: 'python3', handler: 'index.main_handler', code: { source: PYTHON_SOURCE }, maxInstances: 1, concurrency: opts.connections };
    const put = await request(`${base}/v1/functions/${PY_NAME}`, JSON.stringify(spec), {}, 'PUT');
    if (put.status !== 201 && put.status !== 200) throw new Error(`deploy ${PY_NAME}: ${put.status} ${put.text.slice(0, 500)}`);
    const invokeUrl = `${base}/v1/functions/${PY_NAME}/invoke`;
    const first = await request(invokeUrl, HELLO, {});
    expectHello(`${NAMES.python} (first call)`, first.status, first.text);
    const list = (await (await fetch(`${base}/v1/functions/${PY_NAME}/instances`)).json()) as { instances?: { detail?: { address?: string; container?: string } }[] };
    const address = list.instances?.[0]?.detail?.address;
    const containerId = list.instances?.[0]?.detail?.container;
    if (!address || !containerId || (list.instances?.length ?? 0) !== 1) throw new Error(`expected one warm container, got ${JSON.stringify(list).slice(0, 500)}`);
    const containerPid = (await docker.getContainer(containerId).inspect()).State.Pid;
    // What Hearth sends with each call (bench/containers.ts); one request id and a far deadline for all of wrk's.
    const directHeaders = { 'x-hearth-request-id': 'bench-direct', 'x-hearth-deadline-ms': String(Date.now() + 24 * 3600_000) };
    const directUrl = `http://${address}:9000/invoke`;
    return {
      stop,
      systems: [
        { key: 'python', url: invokeUrl, headers: {}, check: checkJson(NAMES.python, invokeUrl), cpu: cpuMeter(hearth.proc.pid!, containerPid) },
        {
          key: 'pythonDirect', url: directUrl, headers: directHeaders, cpu: cpuMeter(null, containerPid),
          // The bootstrap answers 200 even when the handler failed: the outcome header says, and the
          // body is the call's log bytes followed by the result.
          check: async () => {
            const d = await request(directUrl, HELLO, directHeaders);
            const logBytes = Number(d.headers.get('x-hearth-log-bytes') ?? 0);
            const outcome = d.headers.get('x-hearth-outcome');
            if (outcome !== 'ok') throw new Error(`${NAMES.pythonDirect}: outcome ${outcome}: ${d.text.slice(0, 500)}`);
            expectHello(NAMES.pythonDirect, d.status, Buffer.from(d.text).subarray(logBytes).toString());
          },
        },
      ],
    };
  } catch (err) {
    await stop();
    return { skipped: `the python3 function could not be set up: ${(err as Error).message.split('\n')[0]}` };
  }
}

// ---------------------------------------------------------------------------------------------
// The section

export async function runHttp(opts: BenchOptions): Promise<SectionResult> {
  const id = 'http';
  const title = 'HTTP load, warm';
  if (!haveWrk()) {
    const why = 'wrk is not installed (apt-get install -y wrk)';
    return { id, title, data: {}, markdown: `Skipped: ${why}.\n`, targets: [], charts: [], skipped: why };
  }
  const t0 = performance.now();
  const here = fileURLToPath(new URL('.', import.meta.url));
  const stops: (() => Promise<void>)[] = [];
  const skippedRows: { rows: string[]; reason: string }[] = [];
  const withPython = opts.mode !== 'tiny';
  try {
    opts.log(`  http: starting the systems (${opts.rounds} rounds × ${opts.durationSec} s, ${opts.connections} connections)…`);
    const examples = join(opts.root, 'examples');
    const js = ['--no-docker', '--functions', examples];
    const started = await Promise.allSettled([
      startChild('uws-echo', [process.execPath, join(here, '../core/measure/uws-echo.js'), '0'], /LISTENING (\d+)/, childEnv(), here),
      startChild('node-hello', [process.execPath, join(here, 'node-hello.js'), '0'], /LISTENING (\d+)/, childEnv(), here),
      startWorkerd([{ name: 'hello', source: WORKER_SOURCE }]),
      startHearth(opts.root, 'hearth', js),
      startHearth(opts.root, 'hearth --no-batch-calls', [...js, '--no-batch-calls']),
      withPython ? setUpPython(opts) : Promise.resolve({ skipped: 'tiny mode (a container cold start and two more rows; run quick or full for them)' }),
    ] as const);
    for (const s of started) if (s.status === 'fulfilled' && 'stop' in s.value) stops.push(s.value.stop);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    const [echo, node, workerd, hearth, unbatched, python] = started.map((s) => (s as PromiseFulfilledResult<unknown>).value) as
      [Child, Child, Awaited<ReturnType<typeof startWorkerd>>, Hearth, Hearth, PythonSetup | { skipped: string }];

    // The web function: the workerd module's source, deployed as it is.
    const hearthBase = `http://127.0.0.1:${hearth.port}`;
    const put = await request(`${hearthBase}/v1/functions/${WEB_NAME}`, JSON.stringify({ runtime: 'js', handler: 'index.default', code: { source: WORKER_SOURCE } }), {}, 'PUT');
    if (put.status !== 201 && put.status !== 200) throw new Error(`deploy ${WEB_NAME}: ${put.status} ${put.text.slice(0, 500)}`);

    const url = (port: number, path: string) => `http://127.0.0.1:${port}${path}`;
    const systems: System[] = [
      { key: 'echo', url: url(echo.port, '/'), headers: {}, check: checkJson(NAMES.echo, url(echo.port, '/')), cpu: cpuMeter(echo.proc.pid!) },
      { key: 'node', url: url(node.port, '/'), headers: {}, check: checkJson(NAMES.node, url(node.port, '/')), cpu: cpuMeter(node.proc.pid!) },
      { key: 'workerd', url: `${workerd.url('hello')}/`, headers: {}, check: checkJson(NAMES.workerd, `${workerd.url('hello')}/`), cpu: cpuMeter(workerd.pid) },
      { key: 'event', url: `${hearthBase}/v1/functions/hello/invoke`, headers: {}, check: checkJson(NAMES.event, `${hearthBase}/v1/functions/hello/invoke`), cpu: cpuMeter(hearth.proc.pid!) },
      { key: 'web', url: `${hearthBase}/v1/web/${WEB_NAME}/`, headers: {}, check: checkJson(NAMES.web, `${hearthBase}/v1/web/${WEB_NAME}/`), cpu: cpuMeter(hearth.proc.pid!) },
      { key: 'unbatched', url: url(unbatched.port, '/v1/functions/hello/invoke'), headers: {}, check: checkJson(NAMES.unbatched, url(unbatched.port, '/v1/functions/hello/invoke')), cpu: cpuMeter(unbatched.proc.pid!) },
    ];
    if ('systems' in python) systems.push(...python.systems);
    else skippedRows.push({ rows: [NAMES.python, NAMES.pythonDirect], reason: python.skipped });
    for (const s of skippedRows) opts.log(`  http: skipping ${s.rows.join(' and ')}: ${s.reason}`);

    // One request each: never benchmark an error page.
    for (const s of systems) await s.check();

    const load = (s: System, durationSec: number, connections = opts.connections) => runLoad({ url: s.url, method: 'POST', body: HELLO, headers: { ...JSON_HEADERS, ...s.headers }, connections, durationSec, threads: 1 });
    // The p99 target at WIDE_CONNECTIONS: the echo and the event function only, after each round.
    const wideSystems = systems.filter((s) => s.key === 'echo' || s.key === 'event');
    const wide = new Map<Key, LoadResult[]>(wideSystems.map((s) => [s.key, []]));
    const warmupErrors = new Map<Key, number>();
    for (const s of systems) {
      const w = await load(s, WARMUP_SEC);
      warmupErrors.set(s.key, w.errors + w.non2xx);
    }
    const results = new Map<Key, LoadResult[]>(systems.map((s) => [s.key, []]));
    const cpu = new Map<Key, CpuPerCall[]>(systems.map((s) => [s.key, []]));
    for (let r = 0; r < opts.rounds; r++) {
      for (let i = 0; i < systems.length; i++) {
        const s = systems[(i + r) % systems.length]!;
        const c0 = s.cpu();
        const lr = await load(s, opts.durationSec);
        const c = perCall(c0, s.cpu(), lr.total);
        results.get(s.key)!.push(lr);
        cpu.get(s.key)!.push(c);
        const bad = lr.errors + lr.non2xx;
        opts.log(`  http: round ${r + 1}/${opts.rounds} ${NAMES[s.key]}: ${Math.round(lr.requestsPerSec)} req/s, p50 ${lr.p50Ms} ms, p99 ${lr.p99Ms} ms, CPU ${fmt(c.total, 1)} µs/call (main ${fmt(c.main, 1)}, other threads ${fmt(c.others, 1)}${c.container ? `, container ${fmt(c.container, 1)}` : ''})${bad ? `, ERRORS ${lr.errors} + non-2xx ${lr.non2xx}` : ''}`);
      }
      for (let i = 0; i < wideSystems.length; i++) {
        const s = wideSystems[(i + r) % wideSystems.length]!;
        const lr = await load(s, opts.durationSec, WIDE_CONNECTIONS);
        wide.get(s.key)!.push(lr);
        opts.log(`  http: round ${r + 1}/${opts.rounds} ${NAMES[s.key]} at ${WIDE_CONNECTIONS} connections: ${Math.round(lr.requestsPerSec)} req/s, p50 ${lr.p50Ms} ms, p99 ${lr.p99Ms} ms${lr.errors + lr.non2xx ? `, ERRORS ${lr.errors} + non-2xx ${lr.non2xx}` : ''}`);
      }
    }
    // Still the right answer after the load (a failure here is reported, not thrown: the figures stay).
    const afterLoad = new Map<Key, string>();
    for (const s of systems) {
      try { await s.check(); } catch (err) {
        afterLoad.set(s.key, (err as Error).message.split('\n')[0]!);
        opts.log(`  http: ${NAMES[s.key]}: WRONG ANSWER AFTER THE LOAD: ${afterLoad.get(s.key)}`);
      }
    }

    const rows = {} as Record<Key, HttpRow>;
    for (const s of systems) {
      const rs = results.get(s.key)!;
      rows[s.key] = {
        name: NAMES[s.key], url: s.url,
        rps: stat(rs.map((x) => x.requestsPerSec)), p50Ms: stat(rs.map((x) => x.p50Ms)), p99Ms: stat(rs.map((x) => x.p99Ms)),
        errors: rs.reduce((n, x) => n + x.errors + x.non2xx, 0), warmupErrors: warmupErrors.get(s.key) ?? 0,
        afterLoadCheck: afterLoad.get(s.key) ?? 'ok', rounds: rs,
        cpuPerCall: (() => {
          const cs = cpu.get(s.key)!;
          return { main: stat(cs.map((c) => c.main)), others: stat(cs.map((c) => c.others)), container: stat(cs.map((c) => c.container)), total: stat(cs.map((c) => c.total)) };
        })(),
        cpuRounds: cpu.get(s.key)!,
      };
    }
    /** a's figure over b's, round by round (rounds pair up by index), from `rs`; null when either is missing. */
    const perRoundOf = <T>(rs: Map<Key, T[]>, a: Key, b: Key, f: (x: T) => number): Stat | null => {
      const ra = rs.get(a);
      const rb = rs.get(b);
      if (!ra || !rb) return null;
      return stat(ra.map((x, i) => f(x) / f(rb[i]!)));
    };
    const perRound = (a: Key, b: Key) => perRoundOf(results, a, b, (x) => x.requestsPerSec);
    const p99 = (x: LoadResult) => x.p99Ms;
    const ratios = {
      eventP99ToEcho: perRoundOf(results, 'event', 'echo', p99)!,
      eventP99ToEchoWide: perRoundOf(wide, 'event', 'echo', p99)!,
      eventCpuToWorkerd: perRoundOf(cpu, 'event', 'workerd', (c) => c.total)!,
      eventToWorkerd: perRound('event', 'workerd')!,
      eventToEcho: perRound('event', 'echo')!,
      webToWorkerd: perRound('web', 'workerd')!,
      eventToNode: perRound('event', 'node')!,
      batchedToUnbatched: perRound('event', 'unbatched')!,
      pythonToDirect: perRound('python', 'pythonDirect'),
    };

    const result = build(opts, rows, ratios, { echo: wide.get('echo')!, event: wide.get('event')! }, skippedRows, (performance.now() - t0) / 1000);
    opts.log(`  http: done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return result;
  } finally {
    await Promise.allSettled(stops.reverse().map((s) => s()));
  }
}

type Ratios = {
  /** Per round: the event function's p99 over the echo's, at opts.connections and at WIDE_CONNECTIONS. */
  eventP99ToEcho: Stat; eventP99ToEchoWide: Stat;
  /** Per round: the event function's CPU a call (whole process) over workerd's. */
  eventCpuToWorkerd: Stat;
  eventToWorkerd: Stat; eventToEcho: Stat; webToWorkerd: Stat; eventToNode: Stat; batchedToUnbatched: Stat; pythonToDirect: Stat | null;
};

const x = (s: Stat, d = 2) => `${fmt(s.median, d)}× (rounds ${fmt(s.min, d)}–${fmt(s.max, d)}×)`;
const pc = (s: Stat) => `${fmt(s.median * 100, 1)}% (rounds ${fmt(s.min * 100, 1)}–${fmt(s.max * 100, 1)}%)`;

function build(opts: BenchOptions, rows: Partial<Record<Key, HttpRow>>, ratios: Ratios, wide: { echo: LoadResult[]; event: LoadResult[] }, skippedRows: { rows: string[]; reason: string }[], seconds: number): SectionResult {
  const event = rows.event!;
  const workerd = rows.workerd!;
  const echo = rows.echo!;
  const bad = Object.values(rows).filter((r) => r.errors + r.warmupErrors > 0);
  const wrong = Object.values(rows).filter((r) => r.afterLoadCheck !== 'ok');
  const atTarget = opts.connections === TARGET_CONNECTIONS;
  const note = atTarget ? '' : ` — at ${opts.connections} connections, not ${TARGET_CONNECTIONS}: not comparable to the target`;
  const eventBad = event.errors > 0 || event.afterLoadCheck !== 'ok';
  const eventErr = eventBad ? ` — ${event.errors} ERRORS under load${event.afterLoadCheck !== 'ok' ? ', wrong answer after it' : ''}` : '';
  const judge = (ok: boolean, bad = eventBad) => (atTarget ? ok && !bad : null);
  const web = rows.web!;
  const webBad = web.errors > 0 || web.afterLoadCheck !== 'ok';
  const wideBad = [...wide.echo, ...wide.event].some((r) => r.errors + r.non2xx > 0);
  const wideErr = wideBad ? ` — ERRORS under load at ${WIDE_CONNECTIONS} connections` : '';
  const targets: TargetRow[] = [
    {
      path: TARGET_PATH, target: '≥ 3× workerd\'s throughput on the same hello logic',
      measured: `${x(ratios.eventToWorkerd)}: ${fmt(event.rps.median, 0)} vs ${fmt(workerd.rps.median, 0)} req/s${note}${eventErr}`,
      ratio: ratios.eventToWorkerd.median, met: judge(ratios.eventToWorkerd.median >= 3),
    },
    {
      path: TARGET_PATH, target: '≥ 50% of a bare uWS echo',
      measured: `${pc(ratios.eventToEcho)}: ${fmt(event.rps.median, 0)} vs ${fmt(echo.rps.median, 0)} req/s${note}${eventErr}`,
      ratio: ratios.eventToEcho.median, met: judge(ratios.eventToEcho.median >= 0.5),
    },
    {
      path: TARGET_PATH, target: 'p99 ≤ 2× the echo\'s p99 in the same run',
      measured: `${x(ratios.eventP99ToEcho)}: p99 ${cell(event.p99Ms)} ms vs ${cell(echo.p99Ms)} ms${note}${eventErr}`,
      ratio: ratios.eventP99ToEcho.median / 2, met: judge(ratios.eventP99ToEcho.median <= 2),
    },
    {
      path: `JS warm invoke over HTTP, hello event function, ${WIDE_CONNECTIONS} connections`, target: 'p99 ≤ 2× the echo\'s p99 in the same run',
      measured: `${x(ratios.eventP99ToEchoWide)}: p99 ${cell(stat(wide.event.map((r) => r.p99Ms)))} ms vs ${cell(stat(wide.echo.map((r) => r.p99Ms)))} ms${wideErr}`,
      ratio: ratios.eventP99ToEchoWide.median / 2, met: wideBad ? false : ratios.eventP99ToEchoWide.median <= 2,
    },
    {
      path: 'web function (a Workers module) over HTTP', target: '≥ 2× workerd on the same module',
      measured: `${x(ratios.webToWorkerd)}: ${fmt(web.rps.median, 0)} vs ${fmt(workerd.rps.median, 0)} req/s${note}${webBad ? ' — ERRORS under load, or a wrong answer after it' : ''}`,
      ratio: ratios.webToWorkerd.median / 2, met: judge(ratios.webToWorkerd.median >= 2, webBad),
    },
    {
      path: 'CPU per call, Hearth event function against workerd (whole process)', target: 'Hearth\'s total ≤ ⅓ of workerd\'s',
      measured: `${x(ratios.eventCpuToWorkerd)}: ${cell(event.cpuPerCall.total, 1)} vs ${cell(workerd.cpuPerCall.total, 1)} µs a call`,
      ratio: ratios.eventCpuToWorkerd.median * 3, met: ratios.eventCpuToWorkerd.median <= 1 / 3,
    },
    ...(ratios.pythonToDirect && rows.python && rows.pythonDirect
      ? [{
          path: 'container warm throughput over calling the container directly (python3)', target: '≥ 95% of direct',
          measured: `${pc(ratios.pythonToDirect)}: ${fmt(rows.python.rps.median, 0)} vs ${fmt(rows.pythonDirect.rps.median, 0)} req/s`,
          ratio: ratios.pythonToDirect.median / 0.95, met: ratios.pythonToDirect.median >= 0.95,
        }]
      : []),
  ];
  const order: Key[] = ['echo', 'node', 'workerd', 'event', 'web', 'unbatched', 'python', 'pythonDirect'];
  const present = order.filter((k) => rows[k]);
  const charts: Chart[] = [
    { kind: 'bars', id: 'http-rps', title: `Throughput, hello logic, ${opts.connections} connections (median of ${opts.rounds} rounds, min–max)`, unit: 'req/s',
      bars: present.map((k) => ({ name: NAMES[k], value: rows[k]!.rps.median, min: rows[k]!.rps.min, max: rows[k]!.rps.max })) },
    { kind: 'bars', id: 'http-cpu', title: `CPU per request, all threads and container processes (median of ${opts.rounds} rounds, min–max)`, unit: 'µs',
      bars: present.map((k) => ({ name: NAMES[k], value: rows[k]!.cpuPerCall.total.median, min: rows[k]!.cpuPerCall.total.min, max: rows[k]!.cpuPerCall.total.max })) },
    { kind: 'bars', id: 'http-p99', title: `p99 latency, hello logic, ${opts.connections} connections (median of ${opts.rounds} rounds, min–max)`, unit: 'ms',
      bars: present.map((k) => ({ name: NAMES[k], value: rows[k]!.p99Ms.median, min: rows[k]!.p99Ms.min, max: rows[k]!.p99Ms.max })) },
  ];
  const md: string[] = [];
  if (bad.length > 0) {
    md.push(`> **ERRORS UNDER LOAD — the figures of these rows are not valid:** ${bad.map((r) => `${r.name}: ${r.errors} in the rounds, ${r.warmupErrors} in the warm-up`).join('; ')} (wrk socket errors + responses ≥ 400).`, '');
  }
  if (wrong.length > 0) {
    md.push(`> **WRONG ANSWER AFTER THE LOAD:** ${wrong.map((r) => `${r.name}: ${r.afterLoadCheck}`).join('; ')}.`, '');
  }
  md.push(
    `${opts.rounds} round(s) of ${opts.durationSec} s per system after a ${WARMUP_SEC} s warm-up each, systems taking turns within a round; wrk with 1 thread as its own process, ${opts.connections} connections; body \`${HELLO}\`. Each cell: median of the rounds [min – max]. Every system was checked with one request (200, \`{"hello":"world"}\`) before and after the load.`,
    '',
    '| system | req/s | p50 ms | p99 ms | errors |',
    '| --- | --- | --- | --- | --- |',
    ...present.map((k) => { const r = rows[k]!; const e = r.errors + r.warmupErrors; return `| ${r.name} | ${cell(r.rps, 0)} | ${cell(r.p50Ms)} | ${cell(r.p99Ms)} | ${e === 0 ? '0' : `**${e}**`} |`; }),
    ...skippedRows.flatMap((s) => s.rows.map((name) => `| ${name} | skipped: ${s.reason} | | | |`)),
    '',
    'CPU per request, µs (issue 16): the serving processes\' CPU time over each round (the scheduler\'s per-thread accounting, `/proc/PID/task/*/schedstat`; for containers their cgroup\'s `cpu.stat`) divided by the requests wrk completed; median of the rounds [min – max]. Unlike req/s, this does not swing with what else the machine runs. wrk\'s own CPU is not counted.',
    '',
    '| system | main thread | other threads | container processes | total | total / echo\'s |',
    '| --- | --- | --- | --- | --- | --- |',
    ...present.map((k) => {
      const c = rows[k]!.cpuPerCall;
      const vsEcho = rows.echo ? c.total.median / rows.echo.cpuPerCall.total.median : NaN;
      return `| ${rows[k]!.name} | ${k === 'pythonDirect' ? '—' : cell(c.main, 1)} | ${k === 'pythonDirect' ? '—' : cell(c.others, 1)} | ${c.container.median > 0 ? cell(c.container, 1) : '—'} | ${cell(c.total, 1)} | ${fmt(vsEcho, 2)}× |`;
    }),
    '',
    'Throughput ratios (median of the per-round ratios, min–max over rounds):',
    '',
    `- Hearth event function / workerd: **${x(ratios.eventToWorkerd)}** (target ≥ 3×).`,
    `- Hearth event function / bare uWS echo: **${pc(ratios.eventToEcho)}** (target ≥ 50%).`,
    `- Hearth event function's p99 / the echo's p99: **${x(ratios.eventP99ToEcho)}** at ${opts.connections} connections, **${x(ratios.eventP99ToEchoWide)}** at ${WIDE_CONNECTIONS} (target ≤ 2×; at ${WIDE_CONNECTIONS}: echo ${cell(stat(wide.echo.map((r) => r.requestsPerSec)), 0)} req/s, p99 ${cell(stat(wide.echo.map((r) => r.p99Ms)))} ms; event function ${cell(stat(wide.event.map((r) => r.requestsPerSec)), 0)} req/s, p99 ${cell(stat(wide.event.map((r) => r.p99Ms)))} ms).`,
    `- Hearth event function's CPU a call / workerd's: **${x(ratios.eventCpuToWorkerd)}** (target ≤ 0.33×).`,
    `- Hearth web function / workerd, the same Workers module behind the same API (the fairest comparison): **${x(ratios.webToWorkerd)}** (target ≥ 2×).`,
    `- Hearth event function / node:http: ${x(ratios.eventToNode)}.`,
    `- Calls coalesced per event-loop turn / one crossing per call (--no-batch-calls): ${x(ratios.batchedToUnbatched)}.`,
    ...(ratios.pythonToDirect ? [`- Hearth python3 function / the same container called directly: ${pc(ratios.pythonToDirect)}.`] : []),
    '',
    'Notes:',
    '',
    '- The event function is `examples/hello`: it also returns the call\'s `requestId` (`{"hello":"world","requestId":…}`); every other system answers `{"hello":"world"}`.',
    `- workerd: \`@cloudflare/workerd-linux-64\`, compatibility date ${COMPAT_DATE}, flags ${COMPAT_FLAGS.join(', ')}; one worker, its own socket. The web function is that module's exact source, deployed with handler \`index.default\` and called at \`/v1/web/${WEB_NAME}/\`.`,
    '- The JS Hearths run with `--no-docker` (no stem cells starting beside the load).',
    ...(rows.python
      ? [`- Python: a separate Hearth (\`--stem-cells 0\`) with one function, \`maxInstances: 1\`, \`concurrency: ${opts.connections}\`, so both python rows load the same single container (its threaded bootstrap, 1 CPU) with ${opts.connections} connections. The direct row sends Hearth's headers (\`X-Hearth-Request-Id\`, \`X-Hearth-Deadline-Ms\`); the bootstrap answers 200 even when a handler fails, so for that row the checks before and after the load are what prove the answers right.`]
      : skippedRows.map((s) => `- Python rows skipped: ${s.reason}.`)),
    `- Section time: ${fmt(seconds, 1)} s.`,
    '',
  );
  return {
    id: 'http', title: 'HTTP load, warm',
    data: {
      settings: { mode: opts.mode, rounds: opts.rounds, durationSec: opts.durationSec, warmupSec: WARMUP_SEC, connections: opts.connections, wideConnections: WIDE_CONNECTIONS, loadGenerator: 'wrk -t1', payload: HELLO, workerdCompatDate: COMPAT_DATE, workerdCompatFlags: COMPAT_FLAGS },
      rows, ratios, wide, skippedRows, seconds,
    },
    markdown: md.join('\n'), targets, charts,
  };
}

// ---------------------------------------------------------------------------------------------
// CLI, for running this section alone

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'quick' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '32' },
      root: { type: 'string', default: resolve(fileURLToPath(new URL('../..', import.meta.url))) },
      json: { type: 'string' },
    },
  });
  const mode = values.mode as Mode;
  const defaults: Record<Mode, { rounds: number; durationSec: number }> = { tiny: { rounds: 1, durationSec: 1 }, quick: { rounds: 3, durationSec: 5 }, full: { rounds: 5, durationSec: 10 } };
  if (!(mode in defaults)) throw new Error('--mode must be tiny, quick or full');
  const opts: BenchOptions = {
    mode, root: resolve(values.root!),
    rounds: values.rounds ? Number(values.rounds) : defaults[mode].rounds,
    durationSec: values.duration ? Number(values.duration) : defaults[mode].durationSec,
    connections: Number(values.connections),
    log: (line) => process.stderr.write(`${line}\n`),
  };
  const t0 = performance.now();
  runHttp(opts).then((r) => {
    process.stdout.write(`## ${r.title}\n\n${r.markdown}\n`);
    for (const t of r.targets) process.stdout.write(`target: ${t.path} | ${t.target} | ${t.measured} | met ${t.met}\n`);
    if (values.json) writeFileSync(values.json, JSON.stringify(r, null, 2));
    process.stderr.write(`http section (${mode}): ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    process.exit(0);
  }, (err) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
