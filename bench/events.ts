// `npm run bench:events`: how many events a second Hearth accepts durably (the 202 waits until the
// async queue has them on disk), per event source, over HTTP: one Hearth (`serve --no-docker`, the
// embedded queue), a hello function, wrk (1 thread, 32 connections) for 5 s per row, rows in
// alternating order each round, medians [min - max] over the rounds, and each row's ratio to the
// Event call with an Idempotency-Key in the same round (the fair baseline: every source's event
// carries a deduplication key, which is one more write). The events also run meanwhile, as they
// would.
//
//   node --no-node-snapshot dist/bench/events.js [--rounds 3] [--seconds 5] [--connections 32]

import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runLoad } from './load.js';
import { startHearth } from './processes.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
  },
});
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
    process.stdout.write(`\nEvents accepted durably, events/s: ${ROUNDS} rounds of ${SECONDS} s a row, wrk 1 thread, ${CONNECTIONS} connections; median [min - max]; ratio to the Event call with an Idempotency-Key in the same round\n\n`);
    process.stdout.write('| source | events/s | ratio |\n| --- | --- | --- |\n');
    for (const [name, xs] of rates) {
      const rs = ratios.get(name)!;
      process.stdout.write(`| ${name} | ${fmt(median(xs))} [${fmt(Math.min(...xs))} - ${fmt(Math.max(...xs))}] | ${median(rs).toFixed(2)} [${Math.min(...rs).toFixed(2)} - ${Math.max(...rs).toFixed(2)}] |\n`);
    }
  } finally {
    await h.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
