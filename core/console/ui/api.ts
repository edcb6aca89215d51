// The management API as the page calls it: the admin token from this tab's session storage (never
// a URL, never local storage), sent as a Bearer header; errors as ApiError with the body's problems.

import type { Problem } from '../../errors.js';
import { takeEvents } from '../../sse.js';

const TOKEN_KEY = 'hearth.adminToken';
const INVOKE_TOKEN_KEY = 'hearth.invokeToken';

export type { Problem } from '../../errors.js';

export class ApiError extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly problems: Problem[] = []) {
    super(message);
  }
}

export const token = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (t: string): void => sessionStorage.setItem(TOKEN_KEY, t),
  clear: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/** The invoke token, for a Hearth with HEARTH_INVOKE_TOKEN and no admin token (the admin token invokes too). */
export const invokeToken = {
  get: (): string | null => sessionStorage.getItem(INVOKE_TOKEN_KEY),
  set: (t: string): void => { if (t === '') sessionStorage.removeItem(INVOKE_TOKEN_KEY); else sessionStorage.setItem(INVOKE_TOKEN_KEY, t); },
};

/** Listeners told when a call comes back 401 (the page asks for the token again). */
const unauthorized = new Set<() => void>();
export function onUnauthorized(f: () => void): () => void {
  unauthorized.add(f);
  return () => unauthorized.delete(f);
}

export function authHeaders(extra: Record<string, string> = {}, call = false): Record<string, string> {
  const t = (call ? invokeToken.get() : null) ?? token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

/** An error response as an ApiError (its JSON body's type, message and problems). */
export async function errorOf(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const e = JSON.parse(text) as { errorType?: string; errorMessage?: string; problems?: Problem[] };
    return new ApiError(res.status, e.errorType ?? `HTTP ${res.status}`, e.errorMessage ?? text, e.problems ?? []);
  } catch {
    return new ApiError(res.status, `HTTP ${res.status}`, text.slice(0, 500));
  }
}

/** `call`: an invoke or web call (its 401 is about the invoke token, shown with the result, not a sign-out). */
export async function request(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string>; signal?: AbortSignal; call?: boolean } = {}): Promise<Response> {
  const res = await fetch(path, { method, headers: authHeaders(init.headers, init.call), body: init.body ?? null, signal: init.signal ?? null, cache: 'no-store' });
  if (res.status === 401 && !init.call) for (const f of unauthorized) f();
  return res;
}

/** A management call: the parsed JSON on 2xx, an ApiError otherwise. */
export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const res = await request(method, path, body === undefined ? { headers } : { body: JSON.stringify(body), headers: { ...headers, 'content-type': 'application/json' } });
  if (!res.ok) throw await errorOf(res);
  if (res.status === 204) return {} as T;
  return (await res.json()) as T;
}

export const fnPath = (name: string, rest = ''): string => `/v1/functions/${encodeURIComponent(name)}${rest}`;

/** What the page needs before it has a token. */
export interface Session {
  adminTokenRequired: boolean;
  invokeTokenRequired: boolean;
  host: string;
}

export async function session(): Promise<Session> {
  const res = await fetch('/console/session', { cache: 'no-store' });
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as Session;
}

/**
 * Reads a Server-Sent Events stream with fetch (EventSource cannot send the Authorization header):
 * `onEvent(type, data)` for each event, until `signal` aborts or the stream ends.
 */
export async function readEvents(path: string, signal: AbortSignal, onEvent: (type: string, data: string) => void, onOpen: () => void = () => undefined): Promise<void> {
  const res = await request('GET', path, { signal, headers: { accept: 'text/event-stream' } });
  if (!res.ok || !res.body) throw await errorOf(res);
  onOpen();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const { events, rest } = takeEvents(buf + value);
    buf = rest;
    for (const e of events) onEvent(e.type, e.data);
  }
}
