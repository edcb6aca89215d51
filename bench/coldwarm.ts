// Cold against warm, end to end over HTTP, per tier: the first call of N freshly deployed
// functions against repeated calls of one warm function, through the same client (node:http, one
// kept-alive connection), as distributions. JS always; python3 and java17 when a Docker engine
// answers (bench/containers.ts measures those rows).

import http from 'node:http';
import { measureContainerTier } from './containers.js';
import { dockerAnswers, startHearth } from './processes.js';
import { dist, fmt, type BenchOptions, type Chart, type Dist, type SectionResult, type TargetRow } from './section.js';

const HELLO = JSON.stringify({ name: 'world' });

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function post(port: number, path: string, body: string, method = 'POST'): Promise<{ status: number; headers: http.IncomingHttpHeaders; ms: number }> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (r) => {
      r.resume();
      r.on('end', () => res({ status: r.statusCode ?? 0, headers: r.headers, ms: performance.now() - t0 }));
    });
    req.on('error', rej);
    req.end(body);
  });
}

export interface JsColdWarm {
  n: number;
  cold: Dist;
  /**
   * The same function's second call, AGAIN_MS after its first: what a warm call costs end to end
   * after client and server sat idle (caches cold, threads asleep), the cold call's baseline.
   */
  warmAfterPause: Dist;
  warm: Dist;
  /** The server's own X-Hearth-Init-Ms of the cold calls. */
  init: Dist;
  allCold: boolean;
}

/**
 * The pause before a function's second call. Longer than the one before its first (50 ms): the
 * first call took a blank isolate, and the reserve makes the next one 25 ms later (~30 ms of work,
 * some on the main thread), which the second call must not meet. (It made no visible difference:
 * p50 1.61 ms after 50 ms, 1.73 ms after 150, where calls in a row took 0.42–0.52: on this VM a
 * pause alone costs a call over 1 ms.)
 */
const AGAIN_MS = 150;

/** An event function (POST …/invoke), or a Workers module called on the web route. */
export type ColdKind = 'event' | 'web';

function coldFunction(kind: ColdKind, name: string, i: number): { spec: string; path: string; method: string; body: string } {
  if (kind === 'event') {
    return {
      spec: JSON.stringify({ runtime: 'js', handler: 'index.main_handler', code: { source: `exports.main_handler = async (e) => ({ hello: e.name, n: ${i} })` } }),
      path: `/v1/functions/${name}/invoke`, method: 'POST', body: HELLO,
    };
  }
  const source = `export default { async fetch(request) { const name = new URL(request.url).searchParams.get('name'); return new Response(JSON.stringify({ hello: name, n: ${i} }), { headers: { 'content-type': 'application/json' } }); } }`;
  return { spec: JSON.stringify({ runtime: 'js', handler: 'index.default', code: { source } }), path: `/v1/web/${name}/?name=world`, method: 'GET', body: '' };
}

/**
 * JS: the first call of `n` freshly deployed functions (deploy, `gapMs`, call; AGAIN_MS, call
 * again), then `warm` calls of the last one in a row. The build measured is `root`'s dist/.
 */
export async function jsColdWarm(root: string, n: number, warmCalls: number, gapMs = 50, kind: ColdKind = 'event'): Promise<JsColdWarm> {
  const h = await startHearth(root, 'hearth (cold starts)');
  try {
    const cold: number[] = [];
    const again: number[] = [];
    const init: number[] = [];
    let allCold = true;
    const call = async (f: { path: string; method: string; body: string }, what: string) => {
      const r = await post(h.port, f.path, f.body, f.method);
      if (r.status !== 200) throw new Error(`${what}: ${r.status}`);
      return r;
    };
    let last = coldFunction(kind, 'cold0', 0);
    for (let i = 0; i < n; i++) {
      const name = `cold${i}`;
      const f = (last = coldFunction(kind, name, i));
      const put = await post(h.port, `/v1/functions/${name}`, f.spec, 'PUT');
      if (put.status !== 201) throw new Error(`deploy ${name}: ${put.status}`);
      // A function is deployed, then called: the pre-warm reserve gets the moment it takes to
      // refill (the deploy used an isolate of its own to check the code).
      await new Promise((r) => setTimeout(r, gapMs));
      const r = await call(f, `cold call ${name}`);
      cold.push(r.ms);
      init.push(Number(r.headers['x-hearth-init-ms']));
      if (r.headers['x-hearth-cold'] !== 'true') allCold = false;
      await new Promise((r) => setTimeout(r, AGAIN_MS));
      const a = await call(f, `second call ${name}`);
      if (a.headers['x-hearth-cold'] !== 'false') allCold = false;
      again.push(a.ms);
    }
    const warm: number[] = [];
    for (let i = 0; i < warmCalls; i++) {
      const w = await call(last, 'warm call');
      if (w.headers['x-hearth-cold'] !== 'false') allCold = false;
      warm.push(w.ms);
    }
    return { n, cold: dist(cold), warmAfterPause: dist(again), warm: dist(warm), init: dist(init), allCold };
  } finally {
    await h.stop();
  }
}

const row = (name: string, d: Dist) => `| ${name} | ${fmt(d.p50)} | ${fmt(d.p90)} | ${fmt(d.p99)} | ${fmt(d.max)} | ${d.n} |`;
const HEAD = ['| path | p50 ms | p90 ms | p99 ms | max ms | n |', '| --- | --- | --- | --- | --- | --- |'];

export async function runColdWarm(opts: BenchOptions): Promise<SectionResult> {
  const sizes = { tiny: { jsN: 5, warm: 20, ctN: 0, ctWarm: 0 }, quick: { jsN: 60, warm: 300, ctN: 5, ctWarm: 200 }, full: { jsN: 200, warm: 1_000, ctN: 12, ctWarm: 500 } }[opts.mode];
  opts.log(`  cold vs warm: js (${sizes.jsN} functions)…`);
  const js = await jsColdWarm(opts.root, sizes.jsN, sizes.warm);
  opts.log(`  cold vs warm: js Workers modules on the web route (${sizes.jsN} functions)…`);
  const web = await jsColdWarm(opts.root, sizes.jsN, sizes.warm, 50, 'web');
  const jsRows = (c: JsColdWarm) => [
    ...HEAD,
    row('cold, end to end', c.cold),
    row(`warm after a ${AGAIN_MS} ms pause (its second call), end to end`, c.warmAfterPause),
    row('warm, calls in a row, end to end', c.warm),
    row('cold, server-side init (X-Hearth-Init-Ms)', c.init),
    '',
    `Every first call was cold and every repeat warm: ${c.allCold}. Cold / warm p50: ${fmt(c.cold.p50 / c.warm.p50, 1)}×; cold − warm after a pause, p50: ${fmt(c.cold.p50 - c.warmAfterPause.p50)} ms.`,
    '',
  ];
  const md: string[] = [
    `First call of each of N freshly deployed functions (cold, 50 ms after its deploy), its second call ${AGAIN_MS} ms later (warm after a pause; the reserve has made its next blank meanwhile), and ${sizes.warm} calls in a row of one (warm), end to end over HTTP through one kept-alive node:http connection; client-side ms. After a pause client and server both start cold (caches, sleeping threads): the second call's row is what that alone costs, so cold minus it is about what the cold start adds.`,
    '',
    '### js (isolates), event function',
    '',
    ...jsRows(js),
    '### js (isolates), Workers module on the web route (GET /v1/web/{name}/)',
    '',
    ...jsRows(web),
  ];
  const targets: TargetRow[] = [
    { path: 'JS cold start, first call of a new function, end to end', target: 'p50 ≤ 1.5 ms', measured: `p50 ${fmt(js.cold.p50)} ms (server-side init p50 ${fmt(js.init.p50)} ms)`, ratio: js.cold.p50 / 1.5, met: js.cold.p50 <= 1.5 },
    { path: 'JS cold start, first call of a new function, end to end', target: 'p99 ≤ 5 ms', measured: `p99 ${fmt(js.cold.p99)} ms`, ratio: js.cold.p99 / 5, met: js.cold.p99 <= 5 },
  ];
  targets.push(
    { path: 'JS cold start, a new Workers module\'s first web call, end to end', target: 'p50 ≤ 1.5 ms', measured: `p50 ${fmt(web.cold.p50)} ms (server-side init p50 ${fmt(web.init.p50)} ms)`, ratio: web.cold.p50 / 1.5, met: web.cold.p50 <= 1.5 },
  );
  const charts: Chart[] = [
    { kind: 'distribution', id: 'coldwarm-js', title: 'js: cold (first call) vs warm, end to end', unit: 'ms', series: [{ name: 'cold', samples: js.cold.samples }, { name: 'warm after a pause', samples: js.warmAfterPause.samples }, { name: 'warm', samples: js.warm.samples }] },
    { kind: 'distribution', id: 'coldwarm-js-web', title: 'js Workers module: cold (first web call) vs warm, end to end', unit: 'ms', series: [{ name: 'cold', samples: web.cold.samples }, { name: 'warm after a pause', samples: web.warmAfterPause.samples }, { name: 'warm', samples: web.warm.samples }] },
  ];
  const containers: Record<string, Record<string, Dist>> = {};
  let skippedContainers: string | null = null;
  if (sizes.ctN === 0) skippedContainers = 'not in the tiny run';
  else if (!(await dockerAnswers())) skippedContainers = 'no Docker engine answers';
  if (skippedContainers === null) {
    for (const rt of ['python3', 'java17'] as const) {
      opts.log(`  cold vs warm: ${rt} (${sizes.ctN} functions)…`);
      const rows = await measureContainerTier(rt, { n: sizes.ctN, warm: sizes.ctWarm });
      containers[rt] = rows;
      md.push(`### ${rt} (containers)`, '', ...HEAD, ...Object.entries(rows).map(([k, d]) => row(k, d)), '');
      const noStem = rows['cold, no stem cell']!, stem = rows['cold, from a stem cell']!, warm = rows['warm, through Hearth']!;
      const overhead = rows['warm overhead: through Hearth − direct, per pair']!;
      charts.push({ kind: 'distribution', id: `coldwarm-${rt}`, title: `${rt}: cold without / from a stem cell vs warm, end to end`, unit: 'ms', series: [{ name: 'cold, no stem cell', samples: noStem.samples }, { name: 'cold, from a stem cell', samples: stem.samples }, { name: 'warm', samples: warm.samples }] });
      if (rt === 'python3') {
        targets.push(
          { path: 'Python cold start from a stem cell', target: 'p50 ≤ 10 ms', measured: `p50 ${fmt(stem.p50)} ms`, ratio: stem.p50 / 10, met: stem.p50 <= 10 },
          { path: 'Python cold start without a stem cell', target: 'p50 ≤ 400 ms', measured: `p50 ${fmt(noStem.p50, 0)} ms`, ratio: noStem.p50 / 400, met: noStem.p50 <= 400 },
        );
      } else {
        targets.push({ path: 'Java cold start from a stem cell', target: 'p50 ≤ 25 ms', measured: `p50 ${fmt(stem.p50)} ms`, ratio: stem.p50 / 25, met: stem.p50 <= 25 });
      }
      targets.push({ path: `container warm overhead over calling the container directly (${rt})`, target: 'p50 ≤ 0.25 ms', measured: `p50 ${fmt(overhead.p50)} ms`, ratio: overhead.p50 / 0.25, met: overhead.p50 <= 0.25 });
    }
  } else {
    md.push(`### python3 and java17 (containers)`, '', `Not measured: ${skippedContainers}.`, '');
    for (const path of ['Python cold start from a stem cell / without', 'Java cold start from a stem cell', 'container warm overhead over calling the container directly']) {
      targets.push({ path, target: '(see ARCHITECTURE.md, Targets)', measured: `not measured: ${skippedContainers}`, met: null });
    }
  }
  return { id: 'coldwarm', title: 'Cold versus warm, end to end', data: { js, web, containers, skippedContainers }, markdown: md.join('\n'), targets, charts };
}
