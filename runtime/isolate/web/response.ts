// Response (WHATWG Fetch §6.5): the constructor's checks, Response.json/redirect/error, clone().

import { Body, extractBody, type BodyInit } from './body.js';
import { Headers, type HeadersInit } from './headers.js';
import { urlModule } from './lazy.js';
import type { URL } from './url.js';

export interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
  [other: string]: unknown;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const REDIRECT = new Set([301, 302, 303, 307, 308]);
/** reason-phrase: HTAB, SP, VCHAR, obs-text. */
const REASON = /^[\t\x20-\x7e\x80-\xff]*$/;

export class Response extends Body {
  #status = 200;
  #statusText = '';
  #headers: Headers;
  #type: 'default' | 'basic' | 'error' = 'default';
  #url = '';
  #redirected = false;

  constructor(body: BodyInit = null, init: ResponseInit = {}) {
    super();
    // WebIDL: a dictionary argument is undefined, null or an object; anything else is a TypeError.
    if (init === null) init = {};
    else if (typeof init !== 'object' && typeof init !== 'function') throw new TypeError("Failed to construct 'Response': The provided value is not of type 'ResponseInit'.");
    const status = init.status === undefined ? 200 : Number(init.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Failed to construct 'Response': The status provided (${String(init.status)}) is outside the range [200, 599].`);
    }
    const statusText = init.statusText === undefined ? '' : String(init.statusText);
    if (!REASON.test(statusText)) throw new TypeError(`Failed to construct 'Response': Invalid statusText.`);
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(init.headers);
    if (body !== null && body !== undefined) {
      if (NULL_BODY.has(status)) throw new TypeError(`Response with null body status (${status}) cannot have a body.`);
      const { source, type } = extractBody(body);
      if (type !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', type);
      this.setBody(source);
    }
  }

  get status(): number { return this.#status; }
  get statusText(): string { return this.#statusText; }
  get ok(): boolean { return this.#status >= 200 && this.#status <= 299; }
  get headers(): Headers { return this.#headers; }
  get type(): string { return this.#type; }
  get url(): string { return this.#url; }
  get redirected(): boolean { return this.#redirected; }
  /** Workers: a WebSocket upgrade response carries one; Hearth has none. */
  get webSocket(): null { return null; }

  clone(): Response {
    const r = new Response(null, { status: this.#status === 0 ? 200 : this.#status, statusText: this.#statusText, headers: this.#headers });
    r.#status = this.#status;
    r.#type = this.#type;
    r.#url = this.#url;
    r.#redirected = this.#redirected;
    r.setBody(this.cloneSource());
    return r;
  }

  get [Symbol.toStringTag](): string { return 'Response'; }

  static json(data: unknown, init: ResponseInit = {}): Response {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Value is not JSON serializable');
    const headers = new Headers(init?.headers);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new Response(text, { ...init, headers });
  }

  static redirect(url: string | { toString(): string }, status = 302): Response {
    let parsed: URL;
    try {
      parsed = new (urlModule().URL)(String(url));
    } catch {
      throw new TypeError(`Failed to execute 'redirect' on 'Response': Invalid URL ${String(url)}`);
    }
    if (!REDIRECT.has(status)) throw new RangeError(`Failed to execute 'redirect' on 'Response': Invalid status code ${status}`);
    const r = new Response(null, { status });
    r.#headers.set('location', parsed.href);
    Headers.setGuard(r.#headers, 'immutable');
    return r;
  }

  static error(): Response {
    const r = new Response(null, { status: 200 });
    r.#status = 0;
    r.#type = 'error';
    Headers.setGuard(r.#headers, 'immutable');
    return r;
  }

  /** Internal: a response that came back from the host's fetch (any status, immutable headers). */
  static fromHost(status: number, statusText: string, flatHeaders: string[], body: Uint8Array, url: string, redirected: boolean): Response {
    const r = new Response(null);
    r.#status = status;
    r.#statusText = statusText;
    r.#headers = Headers.fromFlat(flatHeaders, 'immutable');
    r.#type = 'basic';
    r.#url = url;
    r.#redirected = redirected;
    r.setBody(NULL_BODY.has(status) ? null : { bytes: body });
    return r;
  }
}
