// One call of `hearth bench` → one CallSample, over node:http with a keep-alive Agent shared by the
// run's workers (maxSockets = concurrency, so no call waits for a socket another worker holds and no
// connection is opened per call). It never throws for a failed call: the failure is the sample's
// error. Bodies are read only as far as needed: drained for a success, parsed for a refused call.

import http from 'node:http';
import https from 'node:https';
import type { CallSample } from './types.js';

/** What one target's calls go to, resolved once (path, method, headers, body). */
export interface CallTarget {
  /** Settings' target or compare string (NAME or NAME:QUALIFIER): what the samples say. */
  label: string;
  name: string;
  qualifier: string | null;
  /** --web PATH (without a leading slash or with one), or null for invoke. */
  web: string | null;
  /** The body: JSON for invoke; for --web, sent when not empty (POST), else a GET. */
  payload: Buffer;
  /** The Bearer token the calls carry (invoke token, else admin), if any. */
  token: string | undefined;
  /** A bare POST path instead of Hearth's routes (the baseline's echo). */
  rawPath?: string;
}

/** X-Hearth-Force-Cold's value: 'true' a fresh instance; 'scratch' one made from nothing (no reserve). */
export type ForceCold = 'true' | 'scratch';

/** A client-side deadline for one call: its sample says ClientTimeout. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

class ClientTimeout extends Error {
  readonly code = 'ClientTimeout';
}

interface Prepared {
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

export class BenchClient {
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  private readonly prepared = new Map<CallTarget, Prepared>();
  /** X-Hearth-Executed-Version last seen, per target label. */
  readonly versions = new Map<string, string>();

  /**
   * t0: performance.now() of the measurement's start (samples' `at` count from it). `signal`: its
   * abort destroys the agent's sockets, so every call in flight ends at once (with a socket error;
   * the caller drops what ends after an abort) instead of at its own end or the client's deadline.
   */
  constructor(baseUrl: string, concurrency: number, private readonly t0: number, private readonly timeoutMs = DEFAULT_CALL_TIMEOUT_MS, signal?: AbortSignal) {
    const u = new URL(baseUrl);
    const secure = u.protocol === 'https:';
    this.transport = secure ? https : http;
    this.host = u.hostname.replace(/^\[|\]$/g, '');
    this.port = u.port ? Number(u.port) : secure ? 443 : 80;
    // One socket per worker; a few more for the cold path's and the poller's side calls.
    const Agent = secure ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
    this.basePath = u.pathname.replace(/\/+$/, '');
    if (signal !== undefined) {
      const onAbort = () => this.agent.destroy();
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      this.detach = () => signal.removeEventListener('abort', onAbort);
    }
  }

  private detach = (): void => undefined;

  private readonly basePath: string;

  /** One call; resolves to its sample, whatever happened. */
  call(target: CallTarget, phase: 'cold' | 'warm', forceCold: ForceCold | null = null, adminToken?: string): Promise<CallSample> {
    const p = this.prepare(target);
    const headers = forceCold === null ? p.headers : { ...p.headers, 'x-hearth-force-cold': forceCold, ...(adminToken ? { authorization: `Bearer ${adminToken}` } : {}) };
    const start = performance.now();
    const sample: CallSample = {
      phase, target: target.label, at: start - this.t0, status: 0, error: null, cold: null, coldStart: null, latencyMs: 0, initMs: null, queueMs: null, runMs: null,
    };
    return new Promise<CallSample>((resolve) => {
      let done = false;
      let timedOut = false;
      const finish = (error: string | null): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sample.latencyMs = performance.now() - start;
        // Our own deadline wins over whatever the destroyed socket reported.
        if (timedOut) sample.error = 'ClientTimeout';
        else if (sample.error === null) sample.error = error;
        resolve(sample);
      };
      const req = this.transport.request({ host: this.host, port: this.port, method: p.method, path: p.path, headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        sample.status = status;
        const h = res.headers;
        const cold = h['x-hearth-cold'];
        sample.cold = cold === undefined ? null : cold === 'true';
        const from = h['x-hearth-cold-start'];
        if (from === 'reserve' || from === 'scratch') sample.coldStart = from;
        sample.initMs = num(h['x-hearth-init-ms']);
        sample.queueMs = num(h['x-hearth-queue-ms']);
        sample.runMs = num(h['x-hearth-duration-ms']);
        const version = h['x-hearth-executed-version'];
        if (typeof version === 'string') this.versions.set(target.label, version);
        const fnError = h['x-hearth-function-error'];
        if (typeof fnError === 'string' && fnError !== '') {
          sample.error = fnError;
        } else if (status < 200 || status >= 300) {
          // A refused or failed call: its JSON body names the error (read only in this case).
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(errorTypeOf(Buffer.concat(chunks), status)));
          res.on('error', (e) => finish(codeOf(e)));
          return;
        }
        res.on('end', () => finish(null));
        res.on('error', (e) => finish(codeOf(e)));
        res.resume();
      });
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new ClientTimeout(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (e) => finish(codeOf(e)));
      req.end(p.body ?? undefined);
    });
  }

  /** Close the kept-alive sockets. */
  close(): void {
    this.detach();
    this.agent.destroy();
  }

  private prepare(t: CallTarget): Prepared {
    let p = this.prepared.get(t);
    if (p) return p;
    const auth: Record<string, string> = t.token ? { authorization: `Bearer ${t.token}` } : {};
    if (t.rawPath !== undefined) {
      p = { method: 'POST', path: t.rawPath, headers: { 'content-type': 'application/json', 'content-length': String(t.payload.length) }, body: t.payload };
    } else if (t.web === null) {
      const q = t.qualifier ? `?qualifier=${encodeURIComponent(t.qualifier)}` : '';
      p = {
        method: 'POST',
        path: `${this.basePath}/v1/functions/${encodeURIComponent(t.name)}/invoke${q}`,
        headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': String(t.payload.length), ...auth },
        body: t.payload,
      };
    } else {
      // The web route takes the qualifier in the name's segment: /v1/web/NAME:QUALIFIER/PATH.
      const segment = encodeURIComponent(t.name) + (t.qualifier ? `:${encodeURIComponent(t.qualifier)}` : '');
      const rest = t.web.startsWith('/') ? t.web.slice(1) : t.web;
      const path = `${this.basePath}/v1/web/${segment}/${rest}`;
      p = t.payload.length === 0
        ? { method: 'GET', path, headers: { ...auth }, body: null }
        : { method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': String(t.payload.length), ...auth }, body: t.payload };
    }
    this.prepared.set(t, p);
    return p;
  }
}

function num(v: string | string[] | undefined): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A non-2xx answer's errorType (Hearth's JSON error body), else `HTTP <status>`. */
function errorTypeOf(body: Buffer, status: number): string {
  try {
    const e = JSON.parse(body.toString('utf8')) as { errorType?: unknown };
    if (typeof e?.errorType === 'string' && e.errorType !== '') return e.errorType;
  } catch { /* not JSON: the status says it */ }
  return `HTTP ${status}`;
}

/** A socket error's code (ECONNREFUSED, ECONNRESET, …), ClientTimeout for our own deadline. */
function codeOf(e: Error): string {
  if (e instanceof ClientTimeout) return 'ClientTimeout';
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code !== '' ? code : e.name || 'Error';
}
