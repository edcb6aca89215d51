// Management routes (a table for routes.ts): functions (deploy, read, list, delete), versions and
// aliases, instances, schedules, logs, invocation records, dead letters, metrics, health.

import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { AsyncInvoker } from '../async/invoker.js';
import type { Tiers } from '../backend.js';
import type { Config } from '../config.js';
import { HearthError, toHearthError } from '../errors.js';
import { log } from '../log.js';
import type { FunctionLogs } from '../logs.js';
import { invocationView, type InvocationRecords } from '../records.js';
import type { Metrics } from '../metrics.js';
import type { Registry } from '../registry/index.js';
import type { Triggers } from '../triggers.js';
import type { QueueTriggers } from '../events/queue-triggers.js';
import type { FunctionStats } from '../function-stats.js';
import type { ReserveState } from '../measure/types.js';
import type { TestPayloads } from '../test-payloads.js';
import type { FunctionSources } from '../function-sources.js';
import type { LogStreams } from './log-stream.js';
import { benchSettings } from '../measure/bench-request.js';
import type { BenchRun, BenchRuns } from '../measure/bench-runs.js';
import { readJson, sendJson, sendText, type Exchange } from './exchange.js';
import type { FrontEnd } from './front-end.js';
import type { Gate } from './gate.js';
import { v1Error } from './render-v1.js';
import { route, type Route } from './routes.js';

export interface ManagementDeps {
  config: Config;
  frontEnd: FrontEnd;
  gate: Gate;
  registry: Registry;
  records: InvocationRecords;
  functionLogs: FunctionLogs;
  isReady: () => boolean;
  tiers: Tiers;
  triggers: Triggers;
  queueTriggers: QueueTriggers;
  metrics: Metrics;
  asyncInvoker: AsyncInvoker;
  stats: FunctionStats;
  logStreams: LogStreams;
  testPayloads: TestPayloads;
  sources: FunctionSources;
  benchRuns: BenchRuns;
}

/** A measurement as GET …/bench answers it: every call's sample only when asked (?samples=true: at most bench-worker.ts's MAX_SAMPLES_SENT, 20,000). */
function benchView(run: BenchRun, samples: boolean): Record<string, unknown> {
  return { ...run, result: run.result && !samples ? { ...run.result, samples: [] } : run.result };
}

export function managementRoutes(deps: ManagementDeps): Route[] {
  const fe = deps.frontEnd;
  const { registry, records, functionLogs, config } = deps;
  const routes: Route[] = [];
  const sendError = (ex: Exchange, err: HearthError, headers?: Record<string, string>, close = false) => v1Error(ex, err, { ...(headers ? { headers } : {}), close });
  const failBody = (ex: Exchange) => (err: HearthError, close: boolean) => sendError(ex, err, undefined, close);

  /** An admin route: token checked, errors mapped, headers read before anything async. */
  const admin = (method: Route['method'], path: string, handler: (ex: Exchange, req: HttpRequest) => void, scrape = false) => routes.push(route(method, path, (res: HttpResponse, req: HttpRequest) => {
    const ex = fe.track(res);
    if (!deps.gate.hostAllowed(req.getHeader('host'))) {
      return sendError(ex, new HearthError('ForbiddenHost', `Host "${req.getHeader('host').slice(0, 100)}" is not this machine: without an admin token, management calls are taken only for localhost or a loopback address`));
    }
    const authorization = req.getHeader('authorization');
    if (scrape ? !deps.gate.mayScrape(authorization) : !deps.gate.isAdmin(authorization)) {
      const want = scrape ? '<HEARTH_METRICS_TOKEN or HEARTH_ADMIN_TOKEN>' : '<HEARTH_ADMIN_TOKEN>';
      return sendError(ex, new HearthError('Unauthorized', `${scrape ? 'GET /metrics needs' : 'management calls need'} "Authorization: Bearer ${want}"`), { 'WWW-Authenticate': 'Bearer' });
    }
    try {
      handler(ex, req);
    } catch (err) {
      sendError(ex, toHearthError(err));
    }
  }));

  /**
   * If-Match: the digest the client last saw (a quoted or bare digest, or *): 412 when $LATEST is
   * another now, so an editor does not undo a change it never saw. If-None-Match: *: 412 when the
   * function exists (create, never replace).
   */
  const precondition = (name: string, ifMatch: string, ifNoneMatch: string): HearthError | null => {
    const current = registry.catalog.latest(name)?.digest ?? null;
    if (ifNoneMatch.trim() === '*' && current !== null) return new HearthError('PreconditionFailed', `function "${name}" exists already (If-None-Match: *)`);
    if (ifMatch === '') return null;
    const wanted = ifMatch.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''));
    if (current === null) return new HearthError('PreconditionFailed', `function "${name}" does not exist (If-Match)`);
    if (!wanted.includes('*') && !wanted.includes(current)) return new HearthError('PreconditionFailed', `function "${name}" changed since digest ${wanted[0]!.slice(0, 12)} (it is ${current.slice(0, 12)} now): reload it, then apply your change again`);
    return null;
  };

  const putSpec = (path: string, apply: (name: string, body: unknown) => Promise<{ created: boolean; view: Record<string, unknown> }>, onDone: (name: string, body: unknown, view: Record<string, unknown>) => void) =>
    admin('PUT', path, (ex, req) => {
      const name = req.getParameter(0)!;
      const contentType = req.getHeader('content-type');
      if (contentType !== '' && !contentType.startsWith('application/json')) {
        return sendError(ex, new HearthError('UnsupportedMediaType', `Content-Type "${contentType}" is not supported; send the spec as application/json`));
      }
      const ifMatch = req.getHeader('if-match');
      const ifNoneMatch = req.getHeader('if-none-match');
      readJson(ex, req.getHeader('content-length'), config.maxCodeBytes, (body) => {
        const refused = precondition(name, ifMatch, ifNoneMatch);
        if (refused) return sendError(ex, refused);
        apply(name, body).then(
          (r) => {
            try {
              onDone(name, body, r.view);
            } catch (err) {
              // The deploy is done and stored; only the console's copy of its source is missing.
              log.warn({ function: name, err: (err as Error).message }, 'the deployed source could not be kept for the console');
            }
            sendJson(ex, r.created ? 201 : 200, r.view, { ETag: `"${String(r.view.digest)}"` });
          },
          (err) => sendError(ex, toHearthError(err)),
        );
      }, failBody(ex));
    });

  putSpec('/v1/functions/:name', (name, body) => registry.deploy(name, body), (name, body, view) => deps.sources.deployed(name, body, String(view.digest)));
  // The settings without the code (Lambda's UpdateFunctionConfiguration): the code $LATEST runs stays.
  putSpec('/v1/functions/:name/configuration', (name, body) => {
    const was = registry.catalog.latest(name)?.digest;
    return registry.configure(name, body).then((r) => {
      if (was !== undefined) deps.sources.carried(name, was, String(r.view.digest));
      return r;
    });
  }, () => undefined);

  admin('GET', '/v1/functions', (ex) => sendJson(ex, 200, { functions: registry.list() }));
  admin('GET', '/v1/functions/:name', (ex, req) => sendJson(ex, 200, registry.get(req.getParameter(0)!)));
  // The source $LATEST was deployed from, when it came as text (the console's editor opens it).
  admin('GET', '/v1/functions/:name/code', (ex, req) => {
    const name = req.getParameter(0)!;
    const fn = registry.catalog.latest(name);
    if (fn === null) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    const kept = deps.sources.get(name, fn.digest);
    if (kept === null) throw new HearthError('NotFound', `function "${name}" was not deployed from source text (an archive, a folder, a jar or an image): edit its files and deploy them again`);
    sendJson(ex, 200, { functionName: name, runtime: fn.runtime, ...kept });
  });
  admin('DELETE', '/v1/functions/:name', (ex, req) => {
    const name = req.getParameter(0)!;
    // Waits for the name's deploy in flight, if any (the registry serializes them): 204 means gone.
    registry.delete(name).then(() => sendJson(ex, 204, null), (err) => sendError(ex, toHearthError(err)));
  });

  // Versions: POST publishes $LATEST as the next number (or answers the last one if unchanged).
  admin('POST', '/v1/functions/:name/versions', (ex, req) => {
    const name = req.getParameter(0)!;
    readJson(ex, req.getHeader('content-length'), 64 * 1024, (body) => {
      registry.publish(name, body).then(
        (r) => sendJson(ex, r.created ? 201 : 200, r.view),
        (err) => sendError(ex, toHearthError(err)),
      );
    }, failBody(ex));
  });
  admin('GET', '/v1/functions/:name/versions', (ex, req) => sendJson(ex, 200, { versions: registry.versions(req.getParameter(0)!) }));
  admin('DELETE', '/v1/functions/:name/versions/:version', (ex, req) => {
    registry.deleteVersion(req.getParameter(0)!, req.getParameter(1)!).then(() => sendJson(ex, 204, null), (err) => sendError(ex, toHearthError(err)));
  });

  // Aliases: {version, additionalVersionWeights: {"N": weight}, minInstances, description}.
  admin('PUT', '/v1/functions/:name/aliases/:alias', (ex, req) => {
    const name = req.getParameter(0)!;
    const alias = req.getParameter(1)!;
    readJson(ex, req.getHeader('content-length'), 64 * 1024, (body) => {
      registry.putAlias(name, alias, body).then(
        (r) => sendJson(ex, r.created ? 201 : 200, r.view),
        (err) => sendError(ex, toHearthError(err)),
      );
    }, failBody(ex));
  });
  admin('GET', '/v1/functions/:name/aliases', (ex, req) => sendJson(ex, 200, { aliases: registry.aliases(req.getParameter(0)!) }));
  admin('GET', '/v1/functions/:name/aliases/:alias', (ex, req) => sendJson(ex, 200, registry.alias(req.getParameter(0)!, req.getParameter(1)!)));
  admin('DELETE', '/v1/functions/:name/aliases/:alias', (ex, req) => {
    registry.deleteAlias(req.getParameter(0)!, req.getParameter(1)!).then(() => sendJson(ex, 204, null), (err) => sendError(ex, toHearthError(err)));
  });

  admin('GET', '/v1/functions/:name/instances', (ex, req) => {
    const name = req.getParameter(0)!;
    // No qualifier: every version's instances; an alias: those of the versions it routes to.
    const versions = registry.catalog.versionsFor(name, req.getQuery('qualifier') ?? '');
    const digests = new Map(versions.map((v) => [v.digest, v]));
    sendJson(ex, 200, { functionName: name, instances: [...digests.values()].flatMap((fn) => deps.tiers.for(fn.runtime).instances(fn.digest)) });
  });

  admin('GET', '/v1/functions/:name/schedules', (ex, req) => {
    const name = req.getParameter(0)!;
    registry.get(name); // 404 for an unknown function
    sendJson(ex, 200, { schedules: deps.triggers.describe(name) });
  });
  admin('GET', '/v1/functions/:name/triggers', (ex, req) => {
    const name = req.getParameter(0)!;
    registry.get(name); // 404 for an unknown function
    sendJson(ex, 200, { functionName: name, triggers: deps.queueTriggers.describe(name) });
  });
  admin('GET', '/v1/functions/:name/logs', (ex, req) => {
    const name = req.getParameter(0)!;
    const since = parseTime(req.getQuery('since'));
    const limit = clampInt(req.getQuery('limit'), 100, 1, 10_000, 'limit');
    const requestId = req.getQuery('requestId') || undefined;
    if (!registry.catalog.has(name)) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    sendJson(ex, 200, { functionName: name, lines: functionLogs.query(name, since, limit, requestId) });
  });

  // Live logs (Server-Sent Events): the last `tail` lines kept, then each new one.
  admin('GET', '/v1/functions/:name/logs/stream', (ex, req) => {
    const name = req.getParameter(0)!;
    const tail = clampInt(req.getQuery('tail'), 50, 0, 1_000, 'tail');
    const requestId = req.getQuery('requestId') || undefined;
    if (!registry.catalog.has(name)) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    deps.logStreams.start(ex, name, { tail, ...(requestId ? { requestId } : {}) });
  });

  // Figures for people (the console): calls since start and the last minutes, from the metrics' counts.
  admin('GET', '/v1/stats', (ex) => {
    // Every instance once (one pass over each tier's pool), counted by digest: the page polls this
    // every few seconds, and a scan of the pool per function would be functions × instances.
    const byDigest = new Map<string, { instances: number; busy: number }>();
    for (const backend of deps.tiers.all()) {
      for (const i of backend.instances()) {
        let c = byDigest.get(i.digest);
        if (c === undefined) byDigest.set(i.digest, (c = { instances: 0, busy: 0 }));
        c.instances++;
        if (i.inFlight > 0) c.busy++;
      }
    }
    const functions: Record<string, unknown> = {};
    for (const name of registry.catalog.names()) {
      const fn = registry.catalog.latest(name);
      const versions = new Map(registry.catalog.versionsFor(name, '').map((v) => [v.digest, v]));
      let instances = 0;
      let busy = 0;
      let published: number | null = null;
      for (const v of versions.values()) {
        const c = byDigest.get(v.digest);
        if (c) { instances += c.instances; busy += c.busy; }
        if (/^\d+$/.test(v.version)) published = Math.max(published ?? 0, Number(v.version));
      }
      functions[name] = {
        ...deps.stats.summary(name),
        instances, busy,
        tier: fn ? deps.tiers.for(fn.runtime).tier : null,
        /** The highest published version (null: none published). */
        published,
      };
    }
    sendJson(ex, 200, { intervalMs: deps.stats.intervalMs, functions });
  });
  admin('GET', '/v1/functions/:name/stats', (ex, req) => {
    const name = req.getParameter(0)!;
    if (!registry.catalog.has(name)) throw new HearthError('FunctionNotFound', `function "${name}" does not exist`);
    sendJson(ex, 200, { functionName: name, summary: deps.stats.summary(name), series: deps.stats.series(name) });
  });

  // Saved test payloads (the console's Test tab), per function.
  admin('GET', '/v1/functions/:name/test-payloads', (ex, req) => {
    const name = req.getParameter(0)!;
    registry.get(name); // 404 for an unknown function
    sendJson(ex, 200, { functionName: name, payloads: deps.testPayloads.list(name) });
  });
  admin('PUT', '/v1/functions/:name/test-payloads/:payload', (ex, req) => {
    const name = req.getParameter(0)!;
    const payload = decodedParameter(req, 1, 'payload name');
    registry.get(name);
    readJson(ex, req.getHeader('content-length'), 512 * 1024, (body) => {
      try {
        const r = deps.testPayloads.put(name, payload, body);
        sendJson(ex, r.created ? 201 : 200, r.payload);
      } catch (err) {
        sendError(ex, toHearthError(err));
      }
    }, failBody(ex));
  });
  admin('DELETE', '/v1/functions/:name/test-payloads/:payload', (ex, req) => {
    const name = req.getParameter(0)!;
    const payload = decodedParameter(req, 1, 'payload name');
    registry.get(name);
    if (!deps.testPayloads.delete(name, payload)) throw new HearthError('NotFound', `function "${name}" has no saved test payload "${payload}"`);
    sendJson(ex, 204, null);
  });

  // Measurements (the console's Measure panel, `hearth bench` run by Hearth on itself in a worker
  // thread): start one (202; 409 while one runs), follow it (GET, polled), stop it (DELETE).
  admin('POST', '/v1/functions/:name/bench', (ex, req) => {
    const name = req.getParameter(0)!;
    readJson(ex, req.getHeader('content-length'), 512 * 1024, (body) => {
      try {
        registry.get(name); // 404 for an unknown function
        const run = deps.benchRuns.start(name, benchSettings(name, body, deps.benchRuns.baseUrl ?? ''));
        sendJson(ex, 202, benchView(run, false), { Location: `/v1/functions/${encodeURIComponent(name)}/bench` });
      } catch (err) {
        sendError(ex, toHearthError(err));
      }
    }, failBody(ex));
  });
  admin('GET', '/v1/functions/:name/bench', (ex, req) => {
    const name = req.getParameter(0)!;
    registry.get(name); // 404 for an unknown function
    const run = deps.benchRuns.get(name);
    // None kept (none since start, or another function's ran since: only the last is kept) is a state, not an error: the console asks when it opens.
    sendJson(ex, 200, run === null ? { functionName: name, state: 'none' } : benchView(run, req.getQuery('samples') === 'true'), { 'Cache-Control': 'no-store' });
  });
  admin('DELETE', '/v1/functions/:name/bench', (ex, req) => {
    const name = req.getParameter(0)!;
    if (!deps.benchRuns.stop(name)) throw new HearthError('NotFound', `no measurement of function "${name}" is running`);
    sendJson(ex, 202, { functionName: name, state: 'stopping' });
  });

  // An async event's record comes from the queue (it survives restarts and is shared by
  // replicas); sync calls' from memory.
  admin('GET', '/v1/invocations/:id', (ex, req) => {
    const id = req.getParameter(0)!;
    const fromMemory = (cause: unknown) => {
      // The queue is unreachable (e.g. Redis is down): a sync call's record is still in memory.
      const inv = records.get(id);
      if (inv && inv.source !== 'async') return sendJson(ex, 200, invocationView(inv));
      sendError(ex, toHearthError(cause));
    };
    deps.asyncInvoker.view(id).then((view) => {
      if (view) return sendJson(ex, 200, view);
      const inv = records.get(id);
      // An async event the queue no longer has (discarded, expired) is gone, whatever memory holds.
      if (!inv || inv.source === 'async') throw new HearthError('InvocationNotFound', `no invocation "${id}" on record (sync calls are kept for the last ${config.invocationRetention}; async events for --async-retention-ms once they succeed)`);
      sendJson(ex, 200, invocationView(inv));
    }, fromMemory).catch((err) => sendError(ex, toHearthError(err)));
  });

  // Dead letters: async events that failed for good (retries exhausted, too old, not retryable).
  admin('GET', '/v1/functions/:name/dead-letters', (ex, req) => {
    const name = req.getParameter(0)!;
    const limit = clampInt(req.getQuery('limit'), 100, 1, 10_000, 'limit');
    deps.asyncInvoker.deadLetters(name, limit).then(
      (events) => sendJson(ex, 200, { functionName: name, deadLetters: events }),
      (err) => sendError(ex, toHearthError(err)),
    );
  });
  admin('POST', '/v1/functions/:name/dead-letters/redrive', (ex, req) => {
    const name = req.getParameter(0)!;
    const limit = clampInt(req.getQuery('limit'), 1_000, 1, 10_000, 'limit');
    (async () => {
      const redriven: string[] = [];
      for (const ev of await deps.asyncInvoker.deadLetters(name, limit)) {
        if (await deps.asyncInvoker.redrive(name, ev.requestId as string)) redriven.push(ev.requestId as string);
      }
      return redriven;
    })().then((ids) => sendJson(ex, 200, { functionName: name, redriven: ids }), (err) => sendError(ex, toHearthError(err)));
  });
  admin('POST', '/v1/functions/:name/dead-letters/:id/redrive', (ex, req) => {
    const name = req.getParameter(0)!;
    const id = req.getParameter(1)!;
    deps.asyncInvoker.redrive(name, id).then((view) => {
      if (!view) return sendError(ex, new HearthError('InvocationNotFound', `"${id}" is not a dead letter of function "${name}"`));
      sendJson(ex, 200, view);
    }, (err) => sendError(ex, toHearthError(err)));
  });
  admin('DELETE', '/v1/functions/:name/dead-letters/:id', (ex, req) => {
    const name = req.getParameter(0)!;
    const id = req.getParameter(1)!;
    deps.asyncInvoker.queue.discard(name, id).then((gone) => {
      if (!gone) return sendError(ex, new HearthError('InvocationNotFound', `"${id}" is not a dead letter of function "${name}"`));
      sendJson(ex, 204, null);
    }, (err) => sendError(ex, toHearthError(err)));
  });

  // Prometheus' text format; behind the admin token when one is set, or the metrics token (a scrape
  // job's, which can do nothing else).
  admin('GET', '/metrics', (ex) => {
    deps.metrics.text().then(
      (text) => sendText(ex, 200, deps.metrics.contentType, text),
      (err) => sendError(ex, toHearthError(err)),
    );
  }, true);

  routes.push(route('GET', '/healthz', (res) => {
    const ex = fe.track(res);
    sendJson(ex, 200, { status: 'ok' });
  }));
  routes.push(route('GET', '/readyz', (res) => {
    const ex = fe.track(res);
    if (fe.draining) return sendError(ex, new HearthError('Draining', 'draining: not taking new calls'));
    if (!deps.isReady()) return sendError(ex, new HearthError('BackendUnavailable', 'starting: functions, pre-warmed isolates or stem cells not ready yet'));
    // Stored functions that could not be loaded are listed, not made a reason to be unready: the
    // replica serves every other function, and readiness that failed for one bad record would take
    // them all out of service until someone fixed it by hand (the brick this replaced).
    sendJson(ex, 200, { status: 'ready', isolates: deps.tiers.isolates.stats(), reserve: reserveState(deps.tiers), broken: registry.broken() });
  }));
  return routes;
}

/**
 * The reserve both tiers keep (blank isolates, stem cells), ready against kept: a client that
 * measures cold starts spaces them so each meets it full (`hearth bench`). Counts only.
 */
function reserveState(tiers: Tiers): ReserveState {
  const kinds = tiers.isolates.reserveLevels?.() ?? {};
  let ready = 0, target = 0;
  for (const k in kinds) { ready += kinds[k]!.ready; target += kinds[k]!.target; }
  return { isolates: { ready, target, kinds }, containers: tiers.containers.reserveLevels?.() ?? {} };
}

/** A path parameter percent-decoded; one that does not decode is a 400, not a 500. */
function decodedParameter(req: HttpRequest, i: number, what: string): string {
  const raw = req.getParameter(i)!;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HearthError('InvalidRequestContent', `${what}: "${raw.slice(0, 100)}" is not percent-encoded UTF-8`);
  }
}

function parseTime(v: string | undefined): number {
  if (!v) return 0;
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new HearthError('InvalidRequestContent', `since: "${v}" is neither epoch milliseconds nor an ISO date`);
  return t;
}

function clampInt(v: string | undefined, dflt: number, min: number, max: number, name: string): number {
  if (!v) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new HearthError('InvalidRequestContent', `${name}: must be an integer from ${min} to ${max}`);
  return n;
}
