// `npm run bench:containers`: the container tier, per runtime (python3, java17), in one run:
//   cold without a stem cell  (HEARTH_STEM_CELLS=0: container start + /init + call)
//   cold from a stem cell     (a started container takes the code: /init + call)
//   warm                      (the same function again)
//   docker run per call       (a new container per call: the naive way, the baseline)
//   direct                    (a warm container's server called without Hearth: the limit)
// Each figure is client-side, end to end over HTTP (node:http, one kept-alive connection).
//
// Results: bench/results/containers-<timestamp>.md and .json.

import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ContainerRuntime } from '../container-fallback/contract.js';
import { runtimeImageTag } from '../container-fallback/images.js';
import { startHearth } from './processes.js';
import { dist, type Dist } from './section.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
/** The direct calls' own connection, so warm and direct calls can alternate. */
const directAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function req(port: number, host: string, path: string, body: string, method = 'POST', headers: Record<string, string> = {}, via = agent): Promise<{ status: number; body: string; ms: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const r = http.request({ host, port, path, method, agent: via, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (resp) => {
      let text = '';
      resp.setEncoding('utf8');
      resp.on('data', (d) => (text += d));
      resp.on('end', () => res({ status: resp.statusCode ?? 0, body: text, ms: performance.now() - t0, headers: resp.headers }));
    });
    r.on('error', rej);
    r.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The same small function per runtime: {hello: event.name}. */
function spec(runtime: ContainerRuntime, jar: string | null): Record<string, unknown> {
  if (runtime === 'python3') {
    return { runtime, handler: 'index.main_handler', code: { source: 'def main_handler(event, context):\n    return {"hello": event.get("name")}\n' } };
  }
  return { runtime, handler: 'bench.Hello::handle', code: { jar } };
}

/** Compiles bench.Hello against the runtime jar copied out of the java17 image. */
async function helloJar(): Promise<string> {
  const dir = mkdtempSync(join(os.tmpdir(), 'hearth-bench-jar-'));
  const image = runtimeImageTag('java17');
  await run('docker', ['create', '--name', `hearth-bench-cp-${process.pid}`, image]);
  try {
    await run('docker', ['cp', `hearth-bench-cp-${process.pid}:/opt/hearth/hearth-runtime.jar`, join(dir, 'hearth-runtime.jar')]);
  } finally {
    await run('docker', ['rm', '-f', `hearth-bench-cp-${process.pid}`]);
  }
  mkdirSync(join(dir, 'src/bench'), { recursive: true });
  writeFileSync(join(dir, 'src/bench/Hello.java'), `package bench;
import java.util.Map;
public class Hello {
  public Map<String, Object> handle(Map<String, Object> event, hearth.Context ctx) { return Map.of("hello", String.valueOf(event.get("name"))); }
}
`);
  await run('javac', ['--release', '17', '-cp', join(dir, 'hearth-runtime.jar'), '-d', join(dir, 'classes'), join(dir, 'src/bench/Hello.java')]);
  await run('jar', ['cf', join(dir, 'hello.jar'), '-C', join(dir, 'classes'), '.']);
  const { readFileSync } = await import('node:fs');
  const b64 = readFileSync(join(dir, 'hello.jar')).toString('base64');
  rmSync(dir, { recursive: true, force: true });
  return b64;
}

function run(cmd: string, argv: string[]): Promise<string> {
  return new Promise((res, rej) => execFile(cmd, argv, { maxBuffer: 1 << 24 }, (err, out, errOut) => (err ? rej(new Error(`${cmd} ${argv.join(' ')}: ${errOut || err.message}`)) : res(out))));
}

/** Every row for one runtime: `n` functions per cold row, `warm` calls per warm row. */
export async function measureContainerTier(runtime: ContainerRuntime, opts: { n: number; warm: number }): Promise<Record<string, Dist>> {
  const N = opts.n, WARM = opts.warm;
  const jar = runtime === 'java17' ? await helloJar() : null;
  const body = JSON.stringify({ name: 'world' });
  const out: Record<string, Dist> = {};

  // Cold without stem cells; then warm on the last function, and direct to its container.
  const bare = await startHearth(ROOT, 'hearth (no stem cells)', [], { HEARTH_STEM_CELLS: '0' });
  const cold: number[] = [];
  for (let i = 0; i < N; i++) {
    const put = await req(bare.port, '127.0.0.1', `/v1/functions/b${i}`, JSON.stringify(spec(runtime, jar)), 'PUT');
    if (put.status !== 201) throw new Error(`deploy: ${put.status} ${put.body}`);
    const r = await req(bare.port, '127.0.0.1', `/v1/functions/b${i}/invoke`, body);
    if (r.status !== 200 || r.headers['x-hearth-cold'] !== 'true') throw new Error(`cold call: ${r.status} ${r.body}`);
    cold.push(r.ms);
  }
  out['cold, no stem cell'] = dist(cold);
  // Warm through Hearth and direct to the same container, one of each in turn, so both see the
  // same machine noise; the overhead is the median of each pair's difference.
  const inst = JSON.parse((await req(bare.port, '127.0.0.1', `/v1/functions/b${N - 1}/instances`, '', 'GET')).body) as { instances: { detail: { address: string } }[] };
  const address = inst.instances[0]!.detail.address;
  const warm: number[] = [];
  const direct: number[] = [];
  const inHearth: number[] = [];
  for (let i = 0; i < WARM; i++) {
    const w = await req(bare.port, '127.0.0.1', `/v1/functions/b${N - 1}/invoke`, body);
    if (w.headers['x-hearth-cold'] !== 'false') throw new Error(`warm call: ${w.status} ${w.body}`);
    warm.push(w.ms);
    inHearth.push(Number(w.headers['x-hearth-duration-ms']));
    direct.push((await req(9000, address, '/invoke', body, 'POST', { 'x-hearth-request-id': `direct-${i}`, 'x-hearth-deadline-ms': String(Date.now() + 10_000) }, directAgent)).ms);
  }
  out['warm, through Hearth'] = dist(warm);
  out['warm, the container\'s server called directly (the limit)'] = dist(direct);
  out['warm overhead: through Hearth − direct, per pair'] = dist(warm.map((w, i) => w - direct[i]!));
  out['… of which the front end: client ms − X-Hearth-Duration-Ms'] = dist(warm.map((w, i) => w - inHearth[i]!));
  await bare.stop();

  // Cold from a stem cell: each new function's first call, once a stem cell is ready again.
  const stems = await startHearth(ROOT, 'hearth (stem cells)', [], { HEARTH_STEM_CELLS: '1' });
  const fromStem: number[] = [];
  for (let i = 0; i < N; i++) {
    const put = await req(stems.port, '127.0.0.1', `/v1/functions/s${i}`, JSON.stringify(spec(runtime, jar)), 'PUT');
    if (put.status !== 201) throw new Error(`deploy: ${put.status} ${put.body}`);
    await sleep(runtime === 'java17' ? 3_000 : 1_500); // the stem cell taken by the last call is replaced
    const r = await req(stems.port, '127.0.0.1', `/v1/functions/s${i}/invoke`, body);
    if (r.status !== 200) throw new Error(`cold call: ${r.status} ${r.body}`);
    fromStem.push(r.ms);
  }
  out['cold, from a stem cell'] = dist(fromStem);
  await stems.stop();

  // A new container per call (docker run --rm), running the same logic once.
  const image = runtimeImageTag(runtime);
  const perCall: number[] = [];
  const cmd = runtime === 'python3'
    ? ['python3', '-c', 'import json; print(json.dumps({"hello": "world"}))']
    : ['java', '-version'];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await run('docker', ['run', '--rm', '--network', 'none', image, ...cmd]);
    perCall.push(performance.now() - t0);
  }
  out[runtime === 'python3' ? '`docker run --rm` per call (python3 -c)' : '`docker run --rm` per call (java -version: JVM start only)'] = dist(perCall);
  return out;
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      n: { type: 'string', default: '8' },
      warm: { type: 'string', default: '200' },
      runtimes: { type: 'string', default: 'python3,java17' },
      out: { type: 'string', default: join(ROOT, 'bench/results') },
    },
  });
  const N = Number(args.n);
  const WARM = Number(args.warm);
  const started = new Date();
  const runtimes = args.runtimes!.split(',') as ContainerRuntime[];
  const results: Record<string, Record<string, Dist>> = {};
  for (const rt of runtimes) {
    console.error(`  ${rt}…`);
    results[rt] = await measureContainerTier(rt, { n: N, warm: WARM });
  }
  const f = (x: number) => x.toFixed(Math.abs(x) < 10 ? 2 : 1);
  const md = [
    `# Hearth container bench, ${started.toISOString()}`,
    '',
    `Machine: ${os.cpus().length} cores, Node ${process.version}. ${N} functions per cold row, ${WARM} calls per warm row; client-side ms, end to end over HTTP (one kept-alive connection).`,
    '',
    ...runtimes.flatMap((rt) => [
      `## ${rt}`,
      '',
      '| path | p50 ms | p90 ms | max ms | n |',
      '| --- | --- | --- | --- | --- |',
      ...Object.entries(results[rt]!).map(([k, d]) => `| ${k} | ${f(d.p50)} | ${f(d.p90)} | ${f(d.max)} | ${d.n} |`),
      '',
    ]),
  ].join('\n');
  mkdirSync(args.out!, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(args.out!, `containers-${stamp}.json`), JSON.stringify({ startedAt: started.toISOString(), results }, null, 2));
  writeFileSync(join(args.out!, `containers-${stamp}.md`), md);
  process.stdout.write(md + `\nwritten: bench/results/containers-${stamp}.md\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
}
