// Outbound fetch for functions. Isolates have no network: their fetch() is done here, by Node, on
// their behalf, under the function's egress policy (deny by default; `egress.allow` lists hosts),
// bounded by the calling invocation's deadline and a response size limit. Redirects are followed
// here, not by undici, so that every hop is checked against the policy.

import { isIP, isIPv4 } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { guardsPort, HearthEgressRefused, resolveOutside } from './egress-self.js';
import { FetchFailure, HearthError } from './errors.js';

export { egressRefusals, refuseEgressTo } from './egress-self.js';

/**
 * Every function fetch's connections: undici's own connector, except that a connection to a port
 * Hearth listens on is resolved here first and refused when it leads to Hearth (egress-self.ts),
 * then made to the address that was checked.
 */
const plainConnect = buildConnector({});
const egressAgent = new Agent({
  connect(opts, cb) {
    const port = Number(opts.port) || (opts.protocol === 'https:' ? 443 : 80);
    if (!guardsPort(port)) return plainConnect(opts, cb);
    resolveOutside(opts.hostname, port, (err, address) => {
      if (err) return cb(err, null);
      const name = opts.hostname.replace(/^\[|\]$/g, '');
      plainConnect({ ...opts, hostname: address!, servername: opts.servername ?? (isIP(name) ? undefined : name) }, cb);
    });
  },
});

export const MAX_EGRESS_PATTERNS = 100;
export const MAX_REDIRECTS = 20;

/** A port rule: a number, any port ('*'), or null for the default web ports (80 and 443). */
type PortRule = number | '*' | null;

interface Pattern {
  wildcard: boolean;
  /** Normalized (lower-case, punycode, no trailing dot) host; for a wildcard, the part after "*.". */
  host: string;
  port: PortRule;
}

/** Parses one allowlist pattern; a string is the reason it is bad. */
function parsePattern(p: unknown): Pattern | string {
  if (typeof p !== 'string') return 'must be a string';
  if (p === '') return 'must not be empty';
  if (/\s/.test(p)) return 'must not contain spaces';
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(p);
  if (scheme) return `must be a host name, not a URL: drop "${scheme[0]}"`;
  if (/[/?#\\]/.test(p)) return 'must be a host name with an optional :port, without a path, query or fragment';
  if (p.includes('@')) return 'must be a host name with an optional :port, without user info';
  if (p.includes('%')) return 'must be a host name without percent-escapes';

  let host: string;
  let portText: string | undefined;
  if (p.startsWith('[') || p.startsWith('*.[')) {
    const close = p.indexOf(']');
    if (close < 0) return 'has an unclosed "[" (an IPv6 address is written [::1])';
    host = p.slice(0, close + 1);
    const rest = p.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return 'must be [IPv6 address] with an optional :port';
      portText = rest.slice(1);
    }
  } else {
    const colons = p.split(':').length - 1;
    if (colons > 1) return 'IPv6 addresses must be written in brackets, e.g. [::1] or [::1]:8080';
    const colon = p.indexOf(':');
    host = colon < 0 ? p : p.slice(0, colon);
    portText = colon < 0 ? undefined : p.slice(colon + 1);
  }

  let port: PortRule = null;
  if (portText !== undefined) {
    if (portText === '*') port = '*';
    else if (/^[0-9]{1,5}$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535) port = Number(portText);
    else return `has a bad port ${JSON.stringify(portText)}: use a number from 1 to 65535, or * for any port`;
  }

  let wildcard = false;
  if (host.startsWith('*.')) {
    wildcard = true;
    host = host.slice(2);
  }
  if (host === '*') return 'a bare * is not allowed: list the hosts (or *.domain) the function may reach';
  if (host.includes('*')) return 'may use * only as the whole first label, as in *.example.com';
  if (host === '') return 'has no host name';
  if (wildcard && host.startsWith('[')) return 'wildcards apply to host names, not IP addresses';

  let hostname: string;
  try {
    const u = new URL(`http://${host}/`);
    hostname = u.hostname;
    if (u.port !== '' || u.username !== '' || u.password !== '' || u.pathname !== '/') throw new Error('not a bare host');
  } catch {
    return 'is not a valid host name or IP address';
  }
  hostname = stripDot(hostname);
  if (hostname === '') return 'has no host name';
  const ip = hostname.startsWith('[') || isIPv4(hostname);
  if (wildcard && ip) return 'wildcards apply to host names, not IP addresses';
  if (!ip && hostname.split('.').some((label) => label === '')) {
    return host.startsWith('.') ? 'must not start with "." (write *.example.com for subdomains)' : 'has an empty label ("..")';
  }
  return { wildcard, host: hostname, port };
}

function stripDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** Checks allowlist patterns; returns an error message for the first bad one, or null. */
export function checkEgressPatterns(allow: string[]): string | null {
  if (!Array.isArray(allow)) return 'egress.allow must be a list of host patterns';
  if (allow.length > MAX_EGRESS_PATTERNS) return `egress.allow has ${allow.length} patterns; at most ${MAX_EGRESS_PATTERNS} are allowed`;
  for (const [i, p] of allow.entries()) {
    const r = parsePattern(p);
    if (typeof r === 'string') return `egress.allow[${i}] ${typeof p === 'string' ? JSON.stringify(p) : String(p)} ${r}`;
  }
  return null;
}

function portAllowed(rule: PortRule, port: number): boolean {
  return rule === '*' || (rule === null ? port === 80 || port === 443 : rule === port);
}

/** A compiled allowlist. */
export class EgressPolicy {
  static readonly denyAll: EgressPolicy = new EgressPolicy([]);

  readonly #exact = new Map<string, PortRule[]>();
  readonly #wildcards: { suffix: string; port: PortRule }[] = [];

  constructor(allow: string[]) {
    const bad = checkEgressPatterns(allow);
    if (bad !== null) throw new HearthError('InvalidSpec', bad);
    for (const p of allow) {
      const r = parsePattern(p) as Pattern;
      if (r.wildcard) this.#wildcards.push({ suffix: `.${r.host}`, port: r.port });
      else {
        const rules = this.#exact.get(r.host);
        if (rules) rules.push(r.port);
        else this.#exact.set(r.host, [r.port]);
      }
    }
  }

  /** Only http: and https: URLs are ever allowed. */
  allows(url: URL): boolean {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const host = stripDot(url.hostname);
    if (host === '') return false;
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const rules = this.#exact.get(host);
    if (rules?.some((r) => portAllowed(r, port))) return true;
    if (host.startsWith('[') || isIPv4(host)) return false;
    return this.#wildcards.some((w) => host.endsWith(w.suffix) && portAllowed(w.port, port));
  }
}

export interface OutboundRequest {
  method: string;
  url: string;
  /** Flat [name, value, name, value, ...] as the isolate's Headers gives them. */
  headers: string[];
  body: Uint8Array | null;
  redirect: 'follow' | 'manual' | 'error';
}

export interface InboundResponse {
  status: number;
  statusText: string;
  /** Flat [name, value, ...], lower-case names, one entry per set-cookie header (never joined). */
  headers: string[];
  /** A whole, un-pooled ArrayBuffer of exactly the body's bytes. */
  body: ArrayBuffer;
  /** Final URL after redirects. */
  url: string;
  redirected: boolean;
}

export interface FetchLimits {
  /** Epoch ms: the calling invocation's deadline. */
  deadline: number;
  maxResponseBytes: number;
  /** Aborts the fetch (the isolate called AbortController.abort, or the instance went away). */
  signal?: AbortSignal;
}

/** Request headers a page may not set, or that the host (undici) controls. */
const DROPPED_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'expect']);
/** Dropped when a redirect turns the request into a GET without a body (fetch spec). */
const BODY_HEADERS = new Set(['content-encoding', 'content-language', 'content-location', 'content-type']);
/** Dropped on a cross-origin redirect (as undici does). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']); // as fetch: not PATCH
/** setTimeout's limit; longer delays would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function deniedMessage(url: URL, from: URL | null): string {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    const what = from ? `redirect from ${from.origin} to a ${url.protocol} URL` : `fetch to a ${url.protocol} URL`;
    return `${what} is not allowed: only http: and https: URLs can be fetched`;
  }
  if (from) return `egress to ${url.host} is not allowed (redirected from ${from.origin}): add ${JSON.stringify(url.host)} to the function's egress.allow`;
  return `fetch to ${JSON.stringify(url.host)} is not allowed: add it to the function's egress.allow`;
}

function causeText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause: unknown = err.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return cause.message || code || err.message;
  }
  return err.message;
}

/**
 * Fetches on behalf of a function. Rejects with a FetchFailure for every failure; never throws
 * synchronously.
 */
export async function hostFetch(policy: EgressPolicy, req: OutboundRequest, limits: FetchLimits): Promise<InboundResponse> {
  // One controller for the whole fetch, fed by the deadline and by the caller's signal. (Not
  // AbortSignal.any: in Node 20 it never lets go of signals combined with a long-lived one, and the
  // caller's signal may live as long as the instance.)
  const ctl = new AbortController();
  let why: 'timeout' | 'abort' | null = null;
  let timer: NodeJS.Timeout | undefined;
  const external = limits?.signal;
  const onAbort = (): void => {
    if (why === null) why = 'abort';
    ctl.abort(external?.reason);
  };
  let current: URL | null = null;
  try {
    if (external?.aborted) throw new FetchFailure('AbortError', 'fetch was aborted', { cause: external.reason });
    const { deadline, maxResponseBytes } = limits;
    if (typeof deadline !== 'number' || Number.isNaN(deadline)) throw new FetchFailure('TypeError', 'fetch has no valid deadline');
    if (typeof maxResponseBytes !== 'number' || !(maxResponseBytes >= 0)) throw new FetchFailure('TypeError', 'fetch has no valid response size limit');
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new FetchFailure('TimeoutError', "fetch was not started: the invocation's deadline has passed");
    timer = setTimeout(() => {
      if (why === null) why = 'timeout';
      ctl.abort(new DOMException("the invocation's deadline passed", 'TimeoutError'));
    }, Math.min(Math.ceil(remaining), MAX_TIMER_MS));
    timer.unref();
    external?.addEventListener('abort', onAbort, { once: true });

    let url: URL;
    try {
      url = new URL(String(req.url));
    } catch {
      throw new FetchFailure('TypeError', `fetch got an invalid URL: ${JSON.stringify(String(req.url))}`);
    }
    if (!policy.allows(url)) throw new FetchFailure('TypeError', deniedMessage(url, null));
    if (url.username !== '' || url.password !== '') throw new FetchFailure('TypeError', 'fetch to a URL that includes credentials is not allowed');
    const mode = req.redirect ?? 'follow';
    if (mode !== 'follow' && mode !== 'manual' && mode !== 'error') throw new FetchFailure('TypeError', `fetch got an invalid redirect mode ${JSON.stringify(mode)}`);

    let method = typeof req.method === 'string' ? req.method : 'GET';
    if (NORMALIZED_METHODS.has(method.toUpperCase())) method = method.toUpperCase();
    let body: Uint8Array | null = req.body ?? null;
    let headers = requestHeaders(req.headers);
    let redirected = false;

    for (let hops = 0; ; hops++) {
      current = url;
      // (The cast: with the DOM lib, BodyInit wants an ArrayBuffer-backed view; undici copies any view.)
      const res = await fetch(url, { method, headers, body: body as RequestInit['body'], redirect: 'manual', signal: ctl.signal, dispatcher: egressAgent } as RequestInit);
      const location = REDIRECT_STATUSES.has(res.status) ? res.headers.get('location') : null;
      if (location === null || mode === 'manual') {
        return {
          status: res.status,
          statusText: res.statusText,
          headers: responseHeaders(res.headers),
          body: await readBody(res, maxResponseBytes, ctl.signal, url),
          url: url.href,
          redirected,
        };
      }
      await discard(res);
      if (mode === 'error') throw new FetchFailure('TypeError', `fetch to ${url.origin} was redirected (${res.status}), and its redirect mode is "error"`);
      if (hops >= MAX_REDIRECTS) throw new FetchFailure('TypeError', `fetch to ${url.origin} failed: more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new FetchFailure('TypeError', `fetch to ${url.origin} failed: bad redirect location ${JSON.stringify(location)}`);
      }
      if (!policy.allows(next)) throw new FetchFailure('TypeError', deniedMessage(next, url));
      if (next.username !== '' || next.password !== '') throw new FetchFailure('TypeError', `redirect from ${url.origin} to a URL that includes credentials is not allowed`);
      if (((res.status === 301 || res.status === 302) && method === 'POST') || (res.status === 303 && method !== 'GET' && method !== 'HEAD')) {
        method = 'GET';
        body = null;
        headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
      }
      if (next.origin !== url.origin) headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
      url = next;
      redirected = true;
    }
  } catch (err) {
    throw failure(err, why, current);
  } finally {
    clearTimeout(timer);
    external?.removeEventListener('abort', onAbort);
  }
}

function failure(err: unknown, why: 'timeout' | 'abort' | null, url: URL | null): FetchFailure {
  if (why === 'timeout') return new FetchFailure('TimeoutError', `fetch${url ? ` to ${url.origin}` : ''} timed out: the invocation's deadline passed`, { cause: err });
  if (why === 'abort') return new FetchFailure('AbortError', `fetch${url ? ` to ${url.origin}` : ''} was aborted`, { cause: err });
  if (err instanceof FetchFailure) return err;
  const refused = refusedBy(err);
  if (refused !== null) return new FetchFailure('TypeError', refused.message, { cause: err });
  return new FetchFailure('TypeError', `fetch${url ? ` to ${url.origin}` : ''} failed: ${causeText(err)}`, { cause: err });
}

/** The refusal of a connection to Hearth itself, somewhere in an error's causes. */
function refusedBy(err: unknown): HearthEgressRefused | null {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof HearthEgressRefused) return e;
  }
  return null;
}

function requestHeaders(flat: unknown): [string, string][] {
  if (flat == null) return [];
  if (!Array.isArray(flat) || flat.length % 2 !== 0) throw new FetchFailure('TypeError', 'fetch headers must be a flat [name, value, ...] list');
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name: unknown = flat[i];
    const value: unknown = flat[i + 1];
    if (typeof name !== 'string' || typeof value !== 'string') throw new FetchFailure('TypeError', 'fetch header names and values must be strings');
    const lower = name.toLowerCase();
    if (DROPPED_HEADERS.has(lower) || lower.startsWith('proxy-')) continue;
    out.push([name, value]);
  }
  return out;
}

/**
 * Flat [name, value, ...] in Headers order, each set-cookie separate. undici has already decoded a
 * gzip/deflate/br body, so its content-encoding and content-length no longer describe the bytes:
 * they are dropped (a script that returns the response as is would otherwise label plain bytes
 * as gzip).
 */
function responseHeaders(h: Headers): string[] {
  const out: string[] = [];
  let cookiesDone = false;
  const encoding = h.get('content-encoding');
  const decoded = encoding !== null && encoding.trim().toLowerCase() !== 'identity';
  for (const [name, value] of h) {
    if (decoded && (name === 'content-encoding' || name === 'content-length')) continue;
    if (name === 'set-cookie') {
      if (cookiesDone) continue;
      cookiesDone = true;
      for (const c of h.getSetCookie()) out.push('set-cookie', c);
    } else out.push(name, value);
  }
  return out;
}

async function discard(res: Response): Promise<void> {
  try {
    await res.body?.cancel();
  } catch {
    // The body is not wanted; a failure to drop it is not the caller's problem.
  }
}

async function readBody(res: Response, max: number, signal: AbortSignal, url: URL): Promise<ArrayBuffer> {
  const tooBig = () => new FetchFailure('TypeError', `fetch to ${url.origin} failed: response body exceeds ${max} bytes`);
  const stream = res.body;
  if (stream === null) return new ArrayBuffer(0);
  // Fail early on a declared length (undici checks that the body matches it); not for encoded
  // bodies, whose declared length is not the decoded one.
  const declared = res.headers.get('content-length');
  const encoding = res.headers.get('content-encoding');
  if (declared !== null && /^[0-9]+$/.test(declared) && Number(declared) > max && (encoding === null || encoding === 'identity')) {
    await discard(res);
    throw tooBig();
  }
  const reader = stream.getReader();
  const stop = (): void => {
    reader.cancel(signal.reason).catch(() => {});
  };
  signal.addEventListener('abort', stop, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const { done, value } = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (done) break;
      total += value.byteLength;
      if (total > max) throw tooBig();
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel().catch(() => {});
    throw err;
  } finally {
    signal.removeEventListener('abort', stop);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out.buffer;
}
