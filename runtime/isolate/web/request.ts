// Request (WHATWG Fetch §6.4) as Workers scripts use it: url, method, headers, body, signal,
// redirect, clone(). Browser-only parts (mode, credentials, cache, referrer…) read as their
// defaults and are otherwise ignored, as in workerd.

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
  [other: string]: unknown;
}

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

  constructor(input: Request | string | { toString(): string }, init: RequestInit = {}) {
    super();
    if (init === null || (typeof init !== 'object' && typeof init !== 'function')) init = {};
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
      this.setBody(fromSource(from));
    }
  }

  get url(): string { return this.#url; }
  get method(): string { return this.#method; }
  get headers(): Headers { return this.#headers; }
  get redirect(): string { return this.#redirect; }
  get signal(): AbortSignal { return this.#signal; }
  /** Cloudflare's request.cf: no edge here, so undefined, as under `wrangler dev --local` without cf. */
  get cf(): undefined { return undefined; }
  get keepalive(): boolean { return false; }
  get integrity(): string { return ''; }
  get cache(): string { return 'default'; }
  get credentials(): string { return 'same-origin'; }
  get mode(): string { return 'cors'; }
  get destination(): string { return ''; }
  get referrer(): string { return 'about:client'; }
  get referrerPolicy(): string { return ''; }

  clone(): Request {
    const r = new Request(this.#url, { method: this.#method, headers: this.#headers, redirect: this.#redirect, signal: this.#signal });
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

/** A new Request from another takes over its body (Fetch: the source request's body is moved). */
function fromSource(from: Request): ReturnType<typeof extractBody>['source'] {
  const bytes = Body.peekBytes(from);
  if (bytes === null) return null;
  if (bytes !== undefined) return { bytes };
  return { stream: from.body! };
}
