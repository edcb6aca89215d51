// fetch() inside the isolate: the request is read into bytes here and done by the host
// (HostOp.fetch), which applies the function's egress allowlist and the call's deadline; the
// answer comes back through deliver(Deliver.fetchOk | fetchFail, id, ...).

import { HostOp } from '../../protocol.js';
import { adopt, calls, host } from '../calls.js';
import { addAbortAlgorithm } from './abort.js';
import { Body } from './body.js';
import { processDataUrl } from './data-url.js';
import { DOMException } from './dom-exception.js';
import { Headers } from './headers.js';
import { Request, type RequestInit } from './request.js';
import { Response } from './response.js';

interface Pending {
  resolve: (r: Response) => void;
  reject: (e: unknown) => void;
  /** Removes the abort algorithm. */
  unlisten: () => void;
  owner: string;
  deadline: number;
}

/** Outbound fetches in flight per isolate (Workers allows 6 connections per request; the host buffers each response). */
const MAX_IN_FLIGHT = 32;
const pending = new Map<number, Pending>();
let nextId = 1;

export async function fetch(input: Request | string | { toString(): string }, init?: RequestInit): Promise<Response> {
  const req = new Request(input, init);
  const signal = req.signal;
  signal.throwIfAborted();
  if (req.url.startsWith('data:')) {
    // Answered here: no network, no host, no egress rule (as browsers and workerd do).
    const data = processDataUrl(req.url);
    if (data === null) throw new TypeError(`Failed to fetch: "${req.url.slice(0, 100)}" is not a valid data: URL`);
    const hash = req.url.indexOf('#');
    return Response.fromHost(200, 'OK', ['content-type', data.mimeType], data.body, hash >= 0 ? req.url.slice(0, hash) : req.url, false);
  }
  if (pending.size >= MAX_IN_FLIGHT) throw new TypeError(`Too many fetches in flight in this instance (${MAX_IN_FLIGHT}).`);
  const hasBody = Body.peekBytes(req) !== null;
  let bytes: Uint8Array | null = null;
  if (hasBody) { const h = { bytes: new Uint8Array(0) }; await Body.readBytes(req, h); bytes = h.bytes; }
  signal.throwIfAborted();
  const body = bytes === null ? null : (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer);
  const id = nextId++;
  return new Promise<Response>((resolve, reject) => {
    const onAbort = () => {
      if (!pending.delete(id)) return;
      calls.hostWork--;
      host(HostOp.fetchAbort, id);
      reject(signal.reason);
    };
    // An abort algorithm, not a listener: a user listener cannot stop it from running.
    const unlisten = addAbortAlgorithm(signal, onAbort);
    pending.set(id, { resolve, reject, unlisten, owner: calls.current, deadline: calls.deadline });
    calls.hostWork++;
    host(HostOp.fetch, id, calls.current, calls.deadline, req.method, req.url, Headers.toFlat(req.headers), body, req.redirect);
  });
}

function take(id: number): Pending | undefined {
  const p = pending.get(id);
  if (p === undefined) return undefined;
  pending.delete(id);
  calls.hostWork--;
  p.unlisten();
  adopt(p.owner, p.deadline);
  return p;
}

/** Deliver.fetchOk */
export function fetchDone(id: number, status: number, statusText: string, headers: string[], body: ArrayBuffer, url: string, redirected: boolean): void {
  const p = take(id);
  if (p === undefined) return;
  try {
    p.resolve(Response.fromHost(status, statusText, headers, new Uint8Array(body), url, redirected));
  } catch (err) {
    p.reject(err);
  }
}

/** Deliver.fetchFail */
export function fetchFailed(id: number, name: string, message: string): void {
  const p = take(id);
  if (p === undefined) return;
  p.reject(name === 'TypeError' ? new TypeError(message) : new DOMException(message, name === 'TimeoutError' ? 'TimeoutError' : 'AbortError'));
}

/** No call waits any more: settle nothing (nobody listens), just forget them. */
export function dropAllFetches(): void {
  for (const [id, p] of pending) {
    pending.delete(id);
    calls.hostWork--;
    p.unlisten();
  }
}
