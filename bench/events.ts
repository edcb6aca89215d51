// `npm run bench:events`: how many events a second Hearth accepts durably (the 202 waits until the
// async queue has them on disk), per event source, over HTTP: one Hearth (`serve --no-docker`, the
// embedded queue), a hello function, wrk (1 thread, 32 connections) for 5 s per row, rows in
// alternating order each round, medians [min - max] over the rounds, and each row's ratio to the
// Event call with an Idempotency-Key in the same round (the fair baseline: every source's event
// carries a deduplication key, which is one more write). The events also run meanwhile, as they
// would.
//
// Queue triggers (when redis-server, nats-server and rabbitmq-server are installed; scripts/setup-system.sh): a
// stream is filled with --messages messages first, then a function with a trigger on it is
// deployed, and the rate is how fast its replica stores them all (the trigger's `delivered`, from
// GET /v1/functions/{name}/triggers), once per round.
//
//   node --no-node-snapshot dist/bench/events.js [--rounds 3] [--seconds 5] [--connections 32] [--messages 20000]

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { startHearth } from './processes.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    messages: { type: 'string', default: '20000' },
  },
});
const MESSAGES = Number(args.messages);
const ROUNDS = Number(args.rounds);
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BATCH = 10;

interface Row {
  name: string;
  path: string;
  /** Events in one request. */
  events: number;
  /** Lua body of `request()`; `id()` gives a new unique string. */
  lua?: string;
  headers?: Record<string, string>;
  body?: string;
}

const ID = (run: string) => `local n = 0
local function id() n = n + 1; return "${run}-" .. n end`;

const ROWS = (run: string): Row[] => [
  { name: 'Event call (X-Hearth-Invocation-Type: Event)', path: '/v1/functions/hello/invoke', events: 1, headers: { 'X-Hearth-Invocation-Type': 'Event' }, body: '{"name":"x"}' },
  {
    name: 'Event call with an Idempotency-Key (baseline)', path: '/v1/functions/hello/invoke', events: 1,
    lua: `${ID(run)}
request = function() return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["X-Hearth-Invocation-Type"] = "Event", ["Idempotency-Key"] = id() }, '{"name":"x"}') end`,
  },
  {
    name: 'CloudEvent, binary mode', path: '/v1/events/hello', events: 1,
    lua: `${ID(run)}
request = function() return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["ce-specversion"] = "1.0", ["ce-id"] = id(), ["ce-source"] = "/bench", ["ce-type"] = "bench" }, '{"name":"x"}') end`,
  },
  {
    name: 'CloudEvent, structured mode', path: '/v1/events/hello', events: 1,
    lua: `${ID(run)}
request = function() return wrk.format("POST", nil, { ["Content-Type"] = "application/cloudevents+json" }, '{"specversion":"1.0","id":"' .. id() .. '","source":"/bench","type":"bench","data":{"name":"x"}}') end`,
  },
  {
    name: `CloudEvents, a batch of ${BATCH}`, path: '/v1/events/hello', events: BATCH,
    lua: `${ID(run)}
request = function()
  local parts = {}
  for i = 1, ${BATCH} do parts[i] = '{"specversion":"1.0","id":"' .. id() .. '","source":"/bench","type":"bench","data":{"name":"x"}}' end
  return wrk.format("POST", nil, { ["Content-Type"] = "application/cloudevents-batch+json" }, "[" .. table.concat(parts, ",") .. "]")
end`,
  },
  {
    name: 'S3 event notification (one record)', path: '/v1/events/hello', events: 1,
    lua: `${ID(run)}
request = function() return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"Records":[{"eventVersion":"2.2","eventSource":"ceph:s3","awsRegion":"","eventTime":"2026-12-04T10:00:00Z","eventName":"ObjectCreated:Put","s3":{"s3SchemaVersion":"1.0","bucket":{"name":"photos","arn":"arn:aws:s3:::photos"},"object":{"key":"in/cat.jpg","size":1234,"eTag":"e","sequencer":"' .. id() .. '"}}}]}') end`,
  },
];

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const h = await startHearth(ROOT, "hearth (events bench)", ['--no-docker', '--async-queue-size', '100000000', '--async-queue-max-bytes', String(8 * 1024 ** 3)]);
  const base = `http://127.0.0.1:${h.port}`;
  try {
    const put = await fetch(`${base}/v1/functions/hello`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async (e) => ({ ok: true })' } }) });
    if (put.status !== 201) throw new Error(`deploy: ${put.status} ${await put.text()}`);
    const rates = new Map<string, number[]>();
    const ratios = new Map<string, number[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const rows = ROWS(randomUUID().slice(0, 8));
      const order = round % 2 === 0 ? rows : [...rows].reverse();
      const got = new Map<string, number>();
      for (const row of order) {
        const r = await runLoad({
          url: `${base}${row.path}`, method: 'POST', connections: CONNECTIONS, durationSec: SECONDS,
          ...(row.lua !== undefined ? { luaRequest: row.lua } : { headers: { 'Content-Type': 'application/json', ...row.headers }, body: row.body! }),
        });
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${row.name}: ${r.non2xx} non-2xx, ${r.errors} socket errors of ${r.total}`);
        const eps = r.requestsPerSec * row.events;
        got.set(row.name, eps);
        (rates.get(row.name) ?? rates.set(row.name, []).get(row.name)!).push(eps);
        process.stderr.write(`  round ${round + 1}: ${row.name}: ${fmt(eps)} events/s (p99 ${r.p99Ms.toFixed(1)} ms)\n`);
      }
      const baseline = got.get(rows[1]!.name)!;
      for (const [name, eps] of got) (ratios.get(name) ?? ratios.set(name, []).get(name)!).push(eps / baseline);
    }
    const triggers = await triggerRates(base);
    process.stdout.write(`\nEvents accepted durably, events/s: ${ROUNDS} rounds of ${SECONDS} s a row, wrk 1 thread, ${CONNECTIONS} connections; median [min - max]; ratio to the Event call with an Idempotency-Key in the same round\n\n`);
    process.stdout.write('| source | events/s | ratio |\n| --- | --- | --- |\n');
    for (const [name, xs] of rates) {
      const rs = ratios.get(name)!;
      process.stdout.write(`| ${name} | ${fmt(median(xs))} [${fmt(Math.min(...xs))} - ${fmt(Math.max(...xs))}] | ${median(rs).toFixed(2)} [${Math.min(...rs).toFixed(2)} - ${Math.max(...rs).toFixed(2)}] |\n`);
    }
    if (typeof triggers === 'string') process.stdout.write(`\nQueue triggers: not measured (${triggers})\n`);
    else {
      process.stdout.write(`\nQueue triggers: a stream of ${fmt(MESSAGES)} messages drained into the async queue by one replica (the trigger's delivered count), ${ROUNDS} rounds; events/s median [min - max]\n\n| source | events/s |\n| --- | --- |\n`);
      for (const [name, xs] of triggers) process.stdout.write(`| ${name} | ${fmt(median(xs))} [${fmt(Math.min(...xs))} - ${fmt(Math.max(...xs))}] |\n`);
    }
  } finally {
    await h.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

function binary(name: string): string | null {
  const which = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
  return which || (existsSync(`/usr/sbin/${name}`) ? `/usr/sbin/${name}` : existsSync(`/usr/bin/${name}`) ? `/usr/bin/${name}` : null);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const p = (srv.address() as { port: number }).port; srv.close(() => resolve(p)); });
  });
}

/** A server as a child process group, ready once its output matches `ready`. */
async function server(cmd: string, args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ proc: ChildProcess; stop: () => Promise<void> }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
  const kill = (signal: NodeJS.Signals) => { try { process.kill(-proc.pid!, signal); } catch { /* gone */ } };
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const deadline = Date.now() + 60_000;
  while (!ready.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) { kill('SIGKILL'); throw new Error(`${cmd} did not start: ${out.slice(-500)}`); }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    proc,
    stop: async () => {
      kill('SIGTERM');
      const t = setTimeout(() => kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
      kill('SIGKILL'); // what of the group outlived its leader (an Erlang VM)
    },
  };
}

/** Each queue trigger's drain rate, events/s per round (or why it was not measured). */
async function triggerRates(base: string): Promise<Map<string, number[]> | string> {
  const redisBin = binary('redis-server');
  const natsBin = binary('nats-server');
  const rabbitBin = existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin/rabbitmq-server' : null;
  if (redisBin === null || natsBin === null || rabbitBin === null) return 'redis-server, nats-server or rabbitmq-server is not installed: bash scripts/setup-system.sh';
  const dir = mkdtempSync(join(tmpdir(), 'hearth-bench-queues-'));
  const redisPort = await freePort();
  const natsPort = await freePort();
  const redis = await server(redisBin, ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], /Ready to accept connections/);
  const nats = await server(natsBin, ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', join(dir, 'nats')], /Server is ready/);
  const amqpPort = await freePort();
  const rabbitDir = join(dir, 'rabbit');
  mkdirSync(join(rabbitDir, 'log'), { recursive: true });
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const epmdPort = await freePort();
  const rabbit = await server(rabbitBin, [], /completed with \d+ plugins/, {
    HOME: dir, ERL_EPMD_PORT: String(epmdPort), RABBITMQ_NODENAME: `hearthbench${amqpPort}@localhost`, RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1', RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(await freePort()), RABBITMQ_MNESIA_BASE: join(rabbitDir, 'mnesia'), RABBITMQ_LOG_BASE: join(rabbitDir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'), RABBITMQ_PID_FILE: join(rabbitDir, 'pid'),
    RABBITMQ_CONFIG_FILE: join(rabbitDir, 'rabbitmq'), RABBITMQ_ADVANCED_CONFIG_FILE: join(rabbitDir, 'advanced.config'),
  });
  const amqpUrl = `amqp://guest:guest@127.0.0.1:${amqpPort}`;
  const rates = new Map<string, number[]>([['Redis Streams trigger', []], ['NATS JetStream trigger', []], ['AMQP (RabbitMQ) trigger', []]]);
  try {
    const r = new Redis(`redis://127.0.0.1:${redisPort}`);
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const amqp = await amqpConnect(amqpUrl);
    const ch = await amqp.createConfirmChannel();
    for (let round = 0; round < ROUNDS; round++) {
      const tag = `r${round}`;
      for (let i = 0; i < MESSAGES; i += 500) {
        const p = r.pipeline();
        for (let n = i; n < Math.min(MESSAGES, i + 500); n++) p.xadd(`bench-${tag}`, '*', 'n', String(n));
        await p.exec();
      }
      await jsm.streams.add({ name: `BENCH_${tag}`, subjects: [`bench.${tag}`] });
      for (let i = 0; i < MESSAGES; i += 500) {
        await Promise.all(Array.from({ length: Math.min(500, MESSAGES - i) }, (_, k) => js.publish(`bench.${tag}`, JSON.stringify({ n: i + k }))));
      }
      await ch.assertQueue(`bench-${tag}`, { durable: true });
      for (let n = 0; n < MESSAGES; n++) ch.sendToQueue(`bench-${tag}`, Buffer.from(JSON.stringify({ n })), { persistent: true, messageId: `${tag}-${n}` });
      await ch.waitForConfirms();
      const sources: [string, Record<string, unknown>][] = [
        ['Redis Streams trigger', { type: 'redis', url: `redis://127.0.0.1:${redisPort}`, stream: `bench-${tag}`, from: 'earliest', batch: 256 }],
        ['NATS JetStream trigger', { type: 'nats', url: `nats://127.0.0.1:${natsPort}`, stream: `BENCH_${tag}`, from: 'earliest', batch: 256 }],
        ['AMQP (RabbitMQ) trigger', { type: 'amqp', url: amqpUrl, queue: `bench-${tag}`, batch: 256 }],
      ];
      for (const [label, trigger] of round % 2 === 0 ? sources : [...sources].reverse()) {
        const name = `drain-${String(trigger.type)}-${tag}`;
        const started = performance.now();
        const put = await fetch(`${base}/v1/functions/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => 1' }, triggers: [trigger] }) });
        if (put.status !== 201) throw new Error(`deploy ${name}: ${put.status} ${await put.text()}`);
        for (;;) {
          const t = await (await fetch(`${base}/v1/functions/${name}/triggers`)).json() as { triggers: { delivered: number }[] };
          if ((t.triggers[0]?.delivered ?? 0) >= MESSAGES) break;
          if (performance.now() - started > 300_000) throw new Error(`${label}: not drained in 300 s`);
          await new Promise((res) => setTimeout(res, 20));
        }
        const eps = MESSAGES / ((performance.now() - started) / 1000);
        rates.get(label)!.push(eps);
        process.stderr.write(`  round ${round + 1}: ${label}: ${fmt(eps)} events/s\n`);
        await fetch(`${base}/v1/functions/${name}`, { method: 'DELETE' });
      }
    }
    r.disconnect();
    await nc.close();
    await amqp.close();
  } finally {
    await redis.stop();
    await nats.stop();
    await rabbit.stop();
    spawnSync('epmd', ['-port', String(epmdPort), '-kill'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  return rates;
}
