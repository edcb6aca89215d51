// Request (WHATWG Fetch §6.4): url, method, headers, body, signal, redirect, clone(). The parts a
// browser acts on (mode, credentials, cache, referrer, referrerPolicy, integrity, keepalive) are
// taken from RequestInit and checked as the constructor's steps say (enum values, 'navigate' and
// 'only-if-cached' refused, the referrer parsed), kept and copied, and otherwise do nothing here.
// Deviation, as in workerd: a stream body does not need `duplex: 'half'`.

import { AbortController, AbortSignal } from './abort.js';
import { Body, extractBody, type BodyInit } from './body.js';
import { Headers, type HeadersInit } from './headers.js';
import { urlModule } from './lazy.js';
import type { URL } from './url.js';

export interface RequestInit {
  method?: string;
  headers?: HeadersInit;
  body?: BodyInit;
  redirect?: 'follow' | 'manual' | 'error';
  signal?: AbortSignal | null;
  cache?: string;
  credentials?: string;
  mode?: string;
  referrer?: string;
  referrerPolicy?: string;
  integrity?: string;
  keepalive?: boolean;
  [other: string]: unknown;
}

/** RequestInit's enumerations (Fetch §6.4); a value outside one is a TypeError (WebIDL). */
const ENUMS = {
  cache: new Set(['default', 'no-store', 'reload', 'no-cache', 'force-cache', 'only-if-cached']),
  credentials: new Set(['omit', 'same-origin', 'include']),
  mode: new Set(['navigate', 'same-origin', 'no-cors', 'cors']),
  referrerPolicy: new Set(['', 'no-referrer', 'no-referrer-when-downgrade', 'same-origin', 'origin', 'strict-origin',
    'origin-when-cross-origin', 'strict-origin-when-cross-origin', 'unsafe-url']),
} as const;

function enumValue(init: RequestInit, key: keyof typeof ENUMS, fallback: string): string {
  const v = init[key];
  if (v === undefined) return fallback;
  const s = String(v);
  if (!ENUMS[key].has(s as never)) throw new TypeError(`Failed to construct 'Request': The provided value '${s}' is not a valid enum value of type Request${key[0]!.toUpperCase()}${key.slice(1)}.`);
  return s;
}

/** The browser-facing attributes a request keeps (Fetch §2.2.5's request fields of the same names). */
interface Fields { cache: string; credentials: string; mode: string; referrer: string; referrerPolicy: string; integrity: string; keepalive: boolean }

/** Fetch §6.4 step 30: no-cors requests use a CORS-safelisted method. */
const NO_CORS_METHODS = new Set(['GET', 'HEAD', 'POST']);

const DEFAULT_FIELDS: Fields = { cache: 'default', credentials: 'same-origin', mode: 'cors', referrer: 'about:client', referrerPolicy: '', integrity: '', keepalive: false };

const NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const FORBIDDEN = new Set(['CONNECT', 'TRACE', 'TRACK']);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REDIRECTS = new Set(['follow', 'manual', 'error']);

export function normalizeMethod(m: unknown): string {
  const s = String(m);
  if (!TOKEN.test(s)) throw new TypeError(`'${s}' is not a valid HTTP method.`);
  const upper = s.toUpperCase();
  if (FORBIDDEN.has(upper)) throw new TypeError(`'${s}' HTTP method is unsupported.`);
  return NORMALIZED.has(upper) ? upper : s;
}

/** Set while Request.incoming builds a request from a URL the host already parsed and serialized. */
let trustedUrl: string | null = null;

export class Request extends Body {
  #url: string;
  #method: string;
  #headers: Headers;
  #redirect: 'follow' | 'manual' | 'error';
  #signal: AbortSignal;
  #fields: Fields;

  constructor(input: Request | string | { toString(): string }, init: RequestInit = {}) {
    super();
    // WebIDL: a dictionary argument is undefined, null or an object; anything else is a TypeError.
    if (init === null) init = {};
    else if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Request': The provided value is not of type 'RequestInit'.");
    let from: Request | null = null;
    if (input instanceof Request) {
      from = input;
      this.#url = input.#url;
    } else if (trustedUrl !== null) {
      this.#url = trustedUrl;
    } else {
      let parsed: URL;
      try {
        parsed = new (urlModule().URL)(String(input));
      } catch {
        throw new TypeError(`Invalid URL: ${String(input)}`);
      }
      if (parsed.username || parsed.password) throw new TypeError('Request URLs must not include credentials.');
      this.#url = parsed.href;
    }
    this.#method = init.method !== undefined ? normalizeMethod(init.method) : (from !== null ? from.#method : 'GET');
    this.#fields = requestFields(init, from !== null ? from.#fields : DEFAULT_FIELDS, this.#url);
    if (this.#fields.mode === 'no-cors' && !NO_CORS_METHODS.has(this.#method)) {
      throw new TypeError(`Failed to construct 'Request': '${this.#method}' is unsupported in no-cors mode.`);
    }
    const redirect = init.redirect !== undefined ? String(init.redirect) : (from !== null ? from.#redirect : 'follow');
    if (!REDIRECTS.has(redirect)) throw new TypeError(`'${redirect}' is not a valid value for redirect`);
    this.#redirect = redirect as 'follow' | 'manual' | 'error';
    this.#signal = init.signal instanceof AbortSignal ? init.signal : (from !== null ? from.#signal : new AbortController().signal);
    this.#headers = new Headers(init.headers !== undefined ? init.headers : from !== null ? from.#headers : undefined);

    const hasBody = init.body !== undefined && init.body !== null;
    if (hasBody && (this.#method === 'GET' || this.#method === 'HEAD')) {
      throw new TypeError('Request with a GET or HEAD method cannot have a body.');
    }
    if (init.body !== undefined) {
      const { source, type } = extractBody(init.body);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      this.setBody(source);
    } else if (from !== null) {
      if (from.bodyUsed) throw new TypeError('Cannot construct a Request with a Request object that has already been used.');
      // The input's body moves to the new request, and the input's is used (Fetch §6.4 step 42).
      this.setBody(Body.moveSource(from));
    }
  }

  get url(): string { return this.#url; }
  get method(): string { return this.#method; }
  get headers(): Headers { return this.#headers; }
  get redirect(): string { return this.#redirect; }
  get signal(): AbortSignal { return this.#signal; }
  /** Cloudflare's request.cf: no edge here, so undefined, as under `wrangler dev --local` without cf. */
  get cf(): undefined { return undefined; }
  get keepalive(): boolean { return this.#fields.keepalive; }
  get integrity(): string { return this.#fields.integrity; }
  get cache(): string { return this.#fields.cache; }
  get credentials(): string { return this.#fields.credentials; }
  get mode(): string { return this.#fields.mode; }
  get destination(): string { return ''; }
  get referrer(): string { return this.#fields.referrer; }
  get referrerPolicy(): string { return this.#fields.referrerPolicy; }

  clone(): Request {
    const r = new Request(this.#url, { method: this.#method, headers: this.#headers, redirect: this.#redirect, signal: this.#signal });
    r.#fields = this.#fields;
    r.setBody(this.cloneSource());
    return r;
  }

  get [Symbol.toStringTag](): string { return 'Request'; }

  /** Internal: the incoming request of a web invocation (immutable headers, body as bytes). */
  static incoming(method: string, url: string, flatHeaders: string[], body: Uint8Array | null, signal: AbortSignal): Request {
    trustedUrl = url;
    let r: Request;
    try {
      r = new Request(url, { method, signal });
    } finally {
      trustedUrl = null;
    }
    r.#headers = Headers.fromFlat(flatHeaders, 'immutable');
    r.setBody(body === null ? null : { bytes: body });
    return r;
  }
}

/** Fetch §6.4 steps 13–24: the browser-facing fields from init, or the input request's. */
function requestFields(init: RequestInit, base: Fields, url: string): Fields {
  if (init.cache === undefined && init.credentials === undefined && init.mode === undefined && init.referrer === undefined &&
    init.referrerPolicy === undefined && init.integrity === undefined && init.keepalive === undefined) return base;
  const f: Fields = {
    cache: enumValue(init, 'cache', base.cache),
    credentials: enumValue(init, 'credentials', base.credentials),
    mode: enumValue(init, 'mode', base.mode),
    referrer: base.referrer,
    referrerPolicy: enumValue(init, 'referrerPolicy', base.referrerPolicy),
    integrity: init.integrity !== undefined ? String(init.integrity) : base.integrity,
    keepalive: init.keepalive !== undefined ? Boolean(init.keepalive) : base.keepalive,
  };
  if (init.referrer !== undefined) {
    // Step 14: "" is no referrer; else parsed against the base (there is no document: the request's
    // own URL's origin stands for the client's); about:client, or another origin's URL, is "client".
    const r = String(init.referrer);
    if (r === '') f.referrer = '';
    else {
      let parsed: URL;
      try { parsed = new (urlModule().URL)(r, url); } catch { throw new TypeError(`Failed to construct 'Request': Referrer '${r}' is not a valid URL.`); }
      f.referrer = parsed.href === 'about:client' || parsed.origin !== new (urlModule().URL)(url).origin ? 'about:client' : parsed.href;
    }
  }
  if (f.mode === 'navigate') throw new TypeError("Failed to construct 'Request': Cannot construct a Request with a RequestInit whose mode member is set as 'navigate'.");
  if (f.cache === 'only-if-cached' && f.mode !== 'same-origin') throw new TypeError("Failed to construct 'Request': 'only-if-cached' can be set only with 'same-origin' mode");
  return f;
}
