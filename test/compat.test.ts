// Web functions against Cloudflare's own runtime: every script in test/compat/ runs in workerd
// (test/support/workerd.ts) and in Hearth (`ANY /v1/web/{name}/{path…}`), the same requests go to
// both, and the responses must match wherever the platform defines them: status, the headers the
// script set, set-cookie lists and the body bytes (JSON bodies compared parsed). Each server's own
// origin in URLs (Location, request.url echoed in a body) is replaced by ORIGIN first, its host by
// HOST. Where the platforms define different behaviour the part is not compared; KNOWN_DIFFERENCES
// says which and why, and each side is held to its own documented behaviour there instead.

import { readdirSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';
import { startWorkerd, type Workerd } from './support/workerd.js';

const COMPAT_DIR = join(import.meta.dirname, 'compat');
const SCRIPTS = readdirSync(COMPAT_DIR).filter((f) => f.endsWith('.js')).sort()
  .map((f) => ({ name: f.slice(0, -'.js'.length), source: readFileSync(join(COMPAT_DIR, f), 'utf8') }));
const ENV: Record<string, Record<string, string>> = { env: { GREETING: 'hello' } };

/** Where the platforms differ by definition. Cases name one by id; only the common part is compared. */
const KNOWN_DIFFERENCES = {
  uncaughtError:
    'a script that throws or rejects: both answer 500, but workerd sends the bare text "Internal Server Error" (no ' +
    'content-type, Connection: close) while Hearth sends its JSON error {errorType, errorMessage} with ' +
    'X-Hearth-Function-Error: Unhandled, as for every function error',
  nonResponse:
    'fetch resolving to something that is not a Response (an object, undefined, a string): both answer 500, workerd with ' +
    'the same bare "Internal Server Error", Hearth with its JSON error {errorType, errorMessage}',
} as const;
type Known = keyof typeof KNOWN_DIFFERENCES;

/**
 * Response headers neither side's script controls. (workerd adds Connection: close to HEAD answers and
 * to its own 500s; Content-Length and Transfer-Encoding depend on how each server frames a body.)
 * The reason phrase is compared only where the script set one: for codes without a standard
 * phrase the servers pick their own (workerd answers 599 with "Server Error").
 */
// uWebSockets.js marks every response with `uWebSockets: 20` (its build's equivalent of Server).
const DROPPED_HEADERS = new Set(['date', 'server', 'uwebsockets', 'connection', 'keep-alive', 'transfer-encoding', 'content-length']);
const dropped = (name: string) => DROPPED_HEADERS.has(name) || name.startsWith('x-hearth-') || name.startsWith('cf-');

interface Case {
  method?: string;
  /** Path and query, as the function sees them (after /v1/web/{name} on Hearth). */
  path: string;
  headers?: Record<string, string> | [string, string][];
  /** Sent with node:http so that each value is its own header line (fetch would join them). */
  headerLines?: Record<string, string[]>;
  body?: string | Uint8Array<ArrayBuffer>;
  known?: Known;
  /** Wait this long before sending (background work finishing). */
  delayMs?: number;
  /** Also compare the reason phrase (only where the script set one). */
  statusText?: boolean;
  /** Further expectations on each side's response, on top of the comparison. */
  check?: (r: Got) => void;
}

interface Got {
  status: number;
  statusText: string;
  /** The headers that are compared (set-cookie apart), lower-case names. */
  headers: Record<string, string>;
  /** Every header, lower-case names (set-cookie apart). */
  allHeaders: Record<string, string>;
  setCookie: string[];
  body: Buffer;
  elapsedMs: number;
}

const json = (body: unknown): [Record<string, string>, string] => [{ 'content-type': 'application/json' }, JSON.stringify(body)];
const post = (path: string, body: unknown, extra: Partial<Case> = {}): Case => {
  const [headers, text] = json(body);
  return { method: 'POST', path, headers, body: text, ...extra };
};
const bytes = (n: number, f: (i: number) => number) => Uint8Array.from({ length: n }, (_, i) => f(i) & 0xff);
const ALL_BYTES = bytes(512, (i) => (i < 256 ? i : 511 - i));
/** Deterministic pseudo-random bytes (an LCG), so a big body has no pattern a bug could hide in. */
function noise(n: number, seed = 1): Uint8Array<ArrayBuffer> {
  let x = seed;
  return bytes(n, () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 16);
}
const utf8 = (s: string) => new TextEncoder().encode(s);
const bodyJson = (r: Got) => JSON.parse(r.body.toString('utf8'));

/** A multipart/form-data body as a browser sends one (CRLF line breaks). */
const MP_BOUNDARY = '----compatBoundary7MA4YWxk';
const multipartBody = (parts: string[]) => utf8(`preamble\r\n${parts.map((p) => `--${MP_BOUNDARY}\r\n${p}\r\n`).join('')}--${MP_BOUNDARY}--\r\nepilogue`);
const mp = (body: Uint8Array<ArrayBuffer>, type = `multipart/form-data; boundary=${MP_BOUNDARY}`): Case =>
  ({ method: 'POST', path: '/parse', headers: { 'content-type': type }, body });

const CASES: Record<string, Case[]> = {
  routing: [
    { path: '/' },
    { path: '/users' },
    { path: '/users/1' },
    { path: '/users/j%C3%BCrgen' },
    { path: '/users/99' },
    { path: '/users/1/posts/7' },
    post('/users', { name: 'Linus' }),
    { method: 'DELETE', path: '/users/2' },
    { method: 'PUT', path: '/users/1', body: 'x' },
    { method: 'PATCH', path: '/users', headers: { 'content-type': 'application/json' }, body: '{}' },
    { method: 'POST', path: '/', body: '' },
    { method: 'OPTIONS', path: '/users' },
    { path: '/nope' },
    { path: '/users/' },
    { path: '/search?q=a+b&tag=x&tag=y&empty=&enc=%E2%9C%93%20ok&plain=%2B' },
    { path: '/search' },
    { path: '/whoami?x=1&y=%20' },
    { path: '/old', check: (r) => expect(r.status).toBe(301) },
    { path: '/away' },
    { path: '/temp' },
    { path: '/bad-redirect' },
    { method: 'HEAD', path: '/users/1', check: (r) => expect(r.body.length).toBe(0) },
    { method: 'HEAD', path: '/head-only' },
    { path: '/head-only' },
    { method: 'HEAD', path: '/nope' },
  ],

  'json-api': [
    post('/echo', { a: 1, b: [true, null], s: 'ü ✓ 😀', n: -0.5e-7 }),
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '[1,"two",{"three":3}]' },
    { method: 'PUT', path: '/echo', headers: { 'content-type': 'application/json' }, body: '"just a string"' },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: 'null' },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '\ufeff{"bom":true}' },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '{"a": ', check: (r) => expect(r.status).toBe(400) },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: '' },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/json' }, body: "{'single': 'quotes'}" },
    { path: '/echo' },
    { method: 'POST', path: '/text', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'héllo\nworld 😀\r\n\ttab' },
    { method: 'POST', path: '/text', body: utf8('no content-type') },
    { method: 'POST', path: '/text', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array([0x61, 0xff, 0x62, 0xc3]) },
    { method: 'POST', path: '/text', body: 'a string body from fetch' },
    { path: '/text' },
    { path: '/headers', headers: { 'X-Request-Id': 'abc-123', 'x-custom-thing': 'Value With Spaces', 'X-Empty': '' } },
    post('/headers', { any: 'body' }, { headers: { 'content-type': 'application/json', 'x-one': '1' } }),
    { method: 'DELETE', path: '/headers' },
    { method: 'POST', path: '/consume-twice', headers: { 'content-type': 'text/plain' }, body: 'once only' },
    post('/submit', { kind: 'json', list: [1, 2] }),
    { method: 'POST', path: '/submit', headers: { 'content-type': 'Application/JSON; Charset=UTF-8' }, body: '{"upper":true}' },
    { method: 'POST', path: '/submit', headers: { 'content-type': 'application/json' }, body: '{broken' },
    { method: 'POST', path: '/submit', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=x+y&c=%C3%BC&d&a=2' },
    { method: 'POST', path: '/submit', headers: { 'content-type': 'text/csv' }, body: 'a,b\n1,2\n' },
    { method: 'POST', path: '/submit', headers: { 'content-type': 'application/xml' }, body: '<a/>', check: (r) => expect(r.status).toBe(415) },
    { method: 'POST', path: '/submit', body: utf8('no type at all') },
    ...['null', 'string', 'number', 'nested', 'custom-type', 'bigint', 'params', 'string-body', 'bytes-body', 'unknown']
      .map((v): Case => ({ path: `/shapes?v=${v}` })),
    { method: 'POST', path: '/clone', headers: { 'content-type': 'text/plain' }, body: 'cloned body ✓' },
    { path: '/construct' },
    { path: '/missing' },
  ],

  formdata: [
    { path: '/blob' },
    { path: '/formdata' },
    { path: '/roundtrip', check: (r) => expect(bodyJson(r)).toMatchObject({ type: true, requestType: true }) },
    { path: '/urlencoded' },
    { path: '/blob-types' },
    mp(multipartBody([
      'Content-Disposition: form-data; name="field"\r\n\r\nvalue ü',
      'Content-Disposition: form-data; name="file"; filename="notes.txt"\r\nContent-Type: Text/Plain\r\n\r\nline 1\r\nline 2',
      'content-disposition: form-data; name="field"\r\nContent-Type: text/plain\r\n\r\nsecond',
      'Content-Disposition: form-data; name="empty"\r\n\r\n',
      'Content-Disposition: form-data; name="bin"; filename="b.bin"\r\nContent-Type: application/octet-stream\r\n\r\n--not-a-boundary',
    ])),
    mp(multipartBody(['Content-Disposition: form-data; name="q"\r\n\r\nquoted boundary']), `multipart/form-data; boundary="${MP_BOUNDARY}"`),
    mp(utf8(`--${MP_BOUNDARY}--`)),
    mp(utf8(`--${MP_BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end\r\n`)),
    mp(multipartBody(['Content-Disposition: form-data\r\n\r\nno name'])),
    mp(multipartBody(['Content-Disposition: attachment; name="a"\r\n\r\nnot form-data'])),
    mp(utf8('no boundary at all')),
    mp(multipartBody(['Content-Disposition: form-data; name="a"\r\n\r\n1']), 'multipart/form-data'),
    { method: 'POST', path: '/parse', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=x+y&c=%C3%BC&d&a=2&=e' },
    { method: 'POST', path: '/parse', headers: { 'content-type': 'text/plain' }, body: 'a=1' },
    { method: 'POST', path: '/parse', body: utf8('a=1') },
    { path: '/blob-response?type=A/B', check: (r) => expect(r.headers['content-type']).toBe('a/b') },
    { path: '/blob-response', check: (r) => expect(r.headers['content-type']).toBeUndefined() },
    { method: 'POST', path: '/echo-blob', headers: { 'content-type': 'Text/X; A=B' }, body: ALL_BYTES },
    { method: 'POST', path: '/echo-blob', body: ALL_BYTES },
  ],

  headers: [
    {
      path: '/read',
      headerLines: { 'X-T-Mixed': ['Value'], 'x-t-multi': ['one', 'two', 'three'], 'x-t-spaces': ['  padded  '], 'x-t-a': ['1'] },
      check: (r) => expect(bodyJson(r).multi).toBe('one, two, three'),
    },
    { path: '/read', headers: [['X-T-Mixed', 'Value'], ['x-t-multi', 'a'], ['X-T-MULTI', 'b'], ['x-t-z', 'last'], ['x-t-b', 'b']] },
    { path: '/read' },
    { path: '/ops' },
    { path: '/webidl', check: (r) => expect(bodyJson(r)).toMatchObject({ nullInit: 'TypeError', nullBodyUsed: false, lockedStreamBody: 'TypeError', consumedGetReader: 'TypeError' }) },
    { path: '/set-cookies', check: (r) => expect(r.setCookie).toHaveLength(3) },
    { path: '/cookies', headers: { cookie: 'a=1; b=hello%20world; c=; quoted="q v"; a=dup; bad; =novalue; utf=%E2%9C%93;  spaced = x ' } },
    { path: '/cookies', headerLines: { cookie: ['first=1', 'second=2'] } },
    { path: '/cookies' },
    { path: '/response-headers' },
    { path: '/nope' },
  ],

  crypto: [
    { method: 'POST', path: '/digest', body: 'hello world' },
    { method: 'POST', path: '/digest', body: ALL_BYTES },
    { method: 'POST', path: '/digest', body: noise(100_000) },
    { path: '/digest' },
    { path: '/base64' },
    { path: '/subtle-aes' },
    { path: '/subtle-keys' },
    { path: '/subtle-sign' },
    { path: '/subtle-derive' },
    { path: '/subtle-generate' },
    { method: 'POST', path: '/text', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'body: ü ✓ 😀' },
    {
      path: '/random',
      check: (r) => expect(bodyJson(r)).toMatchObject({ uuidFormat: true, uuidsDistinct: true, length: 64, returnsSameArray: true, notAllZero: true }),
    },
  ],

  url: [
    { path: '/parse' },
    { path: '/parse?u=../up&u=./same%3Fx%23y&u=https://abs.example/&u=%2F%2Fproto.relative/x&base=https://b.example/dir/sub/file' },
    { path: `/parse?u=${encodeURIComponent('http://[::]:80/')}` },
    post('/parse', [
      { input: 'https://[::]/' },
      { input: 'http://a.example/%F0%9F%98%80/😀' },
      { input: '😀', base: 'https://e.example/x/' },
      { input: 'https://ex ample.com/' },
      { input: 'https://example.com/ ?  # ' },
      { input: 'HtTpS://a.example#' },
      { input: 'https://a.example/?', base: 'not a base' },
      { input: 'https://a.example:/x' },
      { input: 'https://%41.example/' },
      { input: 'https://a.example/%' },
      { input: 'http://1.2.3.4.5/' },
      { input: 'http://[0:0:0:0:0:0:13.1.68.3]/' },
      { input: 'non-special://host:123/path?q#f' },
      { input: 'https://ＥＸＡＭＰＬＥ．com/' },
      { input: 'https://a.example/../../..//x' },
    ]),
    // Issue 19: file URLs keep leading empty path segments; a blob: URL's origin.
    post('/parse', [
      { input: 'file:////x' },
      { input: '/..//', base: 'file:///' },
      { input: 'file:///a//b' },
      { input: 'file:///C|/foo' },
      { input: '/C:/x', base: 'file:///D:/y' },
      { input: '..', base: 'file:///C:/' },
      { input: 'blob:http://[::1]:8080/x' },
      { input: 'blob:ftp://host/path' },
      { input: 'blob:blob:https://a.com/' },
      { input: 'blob:d3958f5c-0777-0845-9dcf-2cb28783acaf' },
    ]),
    // Issue 19: UTS #46 in domain to ASCII (mapping, validity, Punycode of xn-- labels with
    // non-ASCII beside them), and a file host kept before a drive letter.
    post('/parse', [
      { input: 'http://x.\ufb00.com/' },
      { input: 'http://\u2167.example/' },
      { input: 'http://o\u0308.example/' },
      { input: 'http://\u0379.example/' },
      { input: 'http://\u0308o.example/' },
      { input: 'http://x\u200dy.example/' },
      { input: 'http://\u05d1b.example/' },
      { input: 'http://xn--ca.\u00e9/' },
      { input: 'http://xn--i-7iq.\u00e9/' },
      { input: 'file://srv/D:' },
      { input: 'E|', base: 'file://srv/share/doc' },
    ]),
    { path: '/search-params' },
    { path: '/mutate' },
  ],

  binary: [
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/octet-stream' }, body: ALL_BYTES, check: (r) => expect(Buffer.compare(r.body, ALL_BYTES)).toBe(0) },
    { method: 'POST', path: '/echo', body: new Uint8Array(0) },
    { method: 'POST', path: '/echo', headers: { 'content-type': 'application/octet-stream' }, body: noise(1 << 20, 7), check: (r) => expect(r.body.length).toBe(1 << 20) },
    { method: 'POST', path: '/echo-stream', body: ALL_BYTES, check: (r) => expect(Buffer.compare(r.body, ALL_BYTES)).toBe(0) },
    { method: 'POST', path: '/echo-stream', body: noise(300_000, 3) },
    { path: '/generate?n=1', check: (r) => expect([...r.body]).toEqual([...bytes(256, (i) => i)]) },
    { path: '/generate?n=300', check: (r) => expect(r.body.length).toBe(76_800) },
    { path: '/generate?n=0' },
    { method: 'POST', path: '/read-stream', body: noise(200_000, 5), check: (r) => expect(bodyJson(r)).toMatchObject({ length: 200_000, someChunks: true }) },
    { method: 'POST', path: '/read-stream', body: ALL_BYTES },
    { method: 'POST', path: '/read-stream', body: new Uint8Array(0) },
    { path: '/read-stream' },
    { path: '/stream-out' },
    { path: '/stream-pull', check: (r) => expect(r.body.length).toBe(5000) },
    { path: '/stream-text' },
  ],

  encoding: [
    { path: '/labels' },
    { path: '/single-byte' },
    { path: '/fixed' },
    { path: '/split' },
    { method: 'POST', path: '/decode?label=utf-16le', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=utf-16be&chunk=3', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=utf-16&fatal', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=x-user-defined&chunk=7', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=windows-1252&fatal', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=koi8-r&chunk=1', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=windows-874&fatal', body: ALL_BYTES },
    { method: 'POST', path: '/decode?label=gb18030', body: noise(20_000, 11) },
    { method: 'POST', path: '/decode?label=gbk&chunk=3', body: noise(20_000, 12) },
    { method: 'POST', path: '/decode?label=gb18030&fatal', body: noise(2_000, 13) },
    { method: 'POST', path: '/decode?label=shift_jis', body: noise(20_000, 14) },
    { method: 'POST', path: '/decode?label=euc-jp&chunk=2', body: noise(20_000, 15) },
    { method: 'POST', path: '/decode?label=iso-2022-jp', body: noise(20_000, 16) },
    { method: 'POST', path: '/decode?label=iso-2022-jp&chunk=1', body: new Uint8Array([0x1b, 0x24, 0x42, 0x46, 0x7c, 0x4b, 0x5c, 0x38, 0x6c, 0x1b, 0x28, 0x42, 0x21]) },
    { path: '/pairs?label=big5' },
    { path: '/pairs?label=big5&fatal' },
    { path: '/pairs?label=euc-kr' },
    { path: '/pairs?label=euc-kr&fatal' },
    { method: 'POST', path: '/decode?label=big5', body: noise(20_000, 17) },
    { method: 'POST', path: '/decode?label=big5-hkscs&chunk=3', body: noise(20_000, 18) },
    { method: 'POST', path: '/decode?label=big5&fatal', body: noise(2_000, 19) },
    { method: 'POST', path: '/decode?label=big5&chunk=1', body: new Uint8Array([0x88, 0x62, 0x88, 0xa5, 0xa4, 0x40, 0x87, 0x45, 0x81, 0x40, 0x41, 0xa4]) },
    { method: 'POST', path: '/decode?label=euc-kr', body: noise(20_000, 20) },
    { method: 'POST', path: '/decode?label=korean&chunk=2', body: noise(20_000, 21) },
    { method: 'POST', path: '/decode?label=euc-kr&fatal', body: noise(2_000, 22) },
    { method: 'POST', path: '/decode?label=euc-kr&chunk=1', body: new Uint8Array([0xc7, 0xd1, 0xb1, 0xdb, 0x81, 0x41, 0x81, 0x5b, 0x41, 0xb0]) },
    { method: 'POST', path: '/decode?label=utf-16le&chunk=5', body: new TextEncoder().encode('plain ASCII as UTF-16LE is odd') },
    { path: '/streams' },
  ],

  errors: [
    { path: '/throw-sync', known: 'uncaughtError' },
    { path: '/throw-string', known: 'uncaughtError' },
    { path: '/reject', known: 'uncaughtError' },
    { path: '/not-response', known: 'nonResponse' },
    { path: '/undefined', known: 'nonResponse' },
    { path: '/string', known: 'nonResponse' },
    { path: '/no-content', check: (r) => { expect(r.status).toBe(204); expect(r.body.length).toBe(0); } },
    { path: '/no-content-headers' },
    { path: '/status-text', statusText: true, check: (r) => expect(r.statusText).toBe("I'm a teapot (custom)") },
    { path: '/status-text-ok', statusText: true },
    { path: '/created' },
    { path: '/server-error' },
    { path: '/unavailable' },
    { path: '/status-599' },
    { path: '/caught' },
    { path: '/stray-rejection', check: (r) => expect(r.status).toBe(200) },
    // The instance is still healthy after all of the above.
    { path: '/no-content' },
  ],

  waituntil: [
    { path: '/start', check: (r) => expect(bodyJson(r)).toEqual({ done: false }) },
    { path: '/status', delayMs: 400, check: (r) => expect(bodyJson(r)).toEqual({ done: true, waitUntilType: 'function' }) },
    // The response does not wait for the 1.5 s of background work: right after it, the work has
    // not finished yet (had the response waited for it, slowDone would already be true).
    { path: '/start-slow', check: (r) => expect(bodyJson(r)).toEqual({ slowDone: false }) },
    { path: '/slow-status', check: (r) => expect(bodyJson(r)).toEqual({ slowDone: false }) },
    { path: '/slow-status', delayMs: 1_800, check: (r) => expect(bodyJson(r)).toEqual({ slowDone: true }) },
  ],

  env: [
    { path: '/', check: (r) => expect(bodyJson(r)).toMatchObject({ greeting: 'hello', keys: ['GREETING'] }) },
  ],

  timers: [
    { path: '/ordering' },
    { path: '/interval', check: (r) => expect(bodyJson(r)).toEqual({ done: true, ticks: 3 }) },
    { path: '/abort' },
    { path: '/clone' },
    { path: '/perf', check: (r) => expect(bodyJson(r)).toMatchObject({ monotonic: true }) },
  ],
};

async function send(url: string, c: Case): Promise<Got> {
  if (c.delayMs) await new Promise((r) => setTimeout(r, c.delayMs));
  const method = c.method ?? 'GET';
  const started = performance.now();
  if (c.headerLines) return sendLines(url, method, c, started);
  const r = await fetch(url, { method, headers: c.headers, body: c.body, redirect: 'manual' });
  const body = Buffer.from(await r.arrayBuffer());
  const all: Record<string, string> = {};
  for (const [k, v] of r.headers) if (k !== 'set-cookie') all[k] = v;
  return got(r.status, r.statusText, all, r.headers.getSetCookie(), body, started);
}

function got(status: number, statusText: string, all: Record<string, string>, setCookie: string[], body: Buffer, started: number): Got {
  const headers = Object.fromEntries(Object.entries(all).filter(([k]) => !dropped(k)));
  return { status, statusText, headers, allHeaders: all, setCookie, body, elapsedMs: performance.now() - started };
}

/** node:http sends each value of an array as its own header line. */
function sendLines(url: string, method: string, c: Case, started: number): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers: c.headerLines }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('error', reject);
      res.on('end', () => {
        const all: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) {
          if (k !== 'set-cookie' && v !== undefined) all[k] = Array.isArray(v) ? v.join(', ') : v;
        }
        resolve(got(res.statusCode!, res.statusMessage ?? '', all, res.headers['set-cookie'] ?? [], Buffer.concat(chunks), started));
      });
    });
    req.on('error', reject);
    req.end(c.body);
  });
}

/** What is compared: origin and host replaced; a JSON body parsed, a text body as text, else bytes. */
function comparable(r: Got, origin: string) {
  const host = new URL(origin).host;
  const norm = (s: string) => s.replaceAll(origin, 'ORIGIN').replaceAll(host, 'HOST');
  const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, norm(v)]));
  const type = r.headers['content-type'] ?? '';
  let body: unknown = r.body;
  if (/json/i.test(type)) {
    try { body = { json: JSON.parse(norm(r.body.toString('utf8'))) }; } catch { body = { text: norm(r.body.toString('utf8')) }; }
  } else if (/^text\//i.test(type)) {
    body = { text: norm(r.body.toString('utf8')) };
  }
  return { status: r.status, headers, setCookie: r.setCookie.map(norm), body };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function describeCase(c: Case): string {
  return `${c.method ?? 'GET'} ${c.path}`;
}

/** Each side's own behaviour where the two differ by definition. */
function expectKnown(known: Known, side: 'workerd' | 'hearth', r: Got, what: string) {
  expect(r.status, `${what} (${side}): ${KNOWN_DIFFERENCES[known]}`).toBe(500);
  if (side === 'hearth') {
    const text = r.body.toString('utf8');
    expect(r.headers['content-type'], `${what} (hearth) content-type`).toMatch(/^application\/json/);
    let body: { errorType?: unknown; errorMessage?: unknown };
    try { body = JSON.parse(text); } catch { throw new Error(`${what} (hearth): the 500 body is not JSON: ${text}`); }
    expect(typeof body.errorType, `${what} (hearth) errorType: ${text}`).toBe('string');
    expect(typeof body.errorMessage, `${what} (hearth) errorMessage: ${text}`).toBe('string');
    if (known === 'uncaughtError') expect(r.allHeaders['x-hearth-function-error'], `${what} (hearth)`).toBe('Unhandled');
  }
}

/** Hearth's response (from `origin`) matches workerd's (from `refOrigin`) in everything compared. */
function expectSame(what: string, c: Case, ref: Got, refOrigin: string, r: Got, origin: string) {
  const a = comparable(ref, refOrigin);
  const b = comparable(r, origin);
  expect(b.status, `${what}: status`).toBe(a.status);
  expect(b.headers, `${what}: headers`).toEqual(a.headers);
  expect(b.setCookie, `${what}: set-cookie`).toEqual(a.setCookie);
  if (Buffer.isBuffer(a.body) && Buffer.isBuffer(b.body)) {
    expect({ length: b.body.length, firstDifference: firstDifference(a.body, b.body) }, `${what}: body bytes`)
      .toEqual({ length: a.body.length, firstDifference: -1 });
  } else {
    expect(b.body, `${what}: body`).toEqual(a.body);
  }
  if (c.statusText) expect(r.statusText, `${what}: status text`).toBe(ref.statusText);
  c.check?.(ref);
  c.check?.(r);
}

describe('web functions match workerd', () => {
  let w: Workerd;
  let h: Hearth;

  beforeAll(async () => {
    const workers = SCRIPTS.map((s) => ({ ...s, env: ENV[s.name] }));
    // Both are started; if one fails, the other is still stopped by afterAll.
    const [ws, hs] = await Promise.allSettled([startWorkerd(workers), startHearth()]);
    if (ws.status === 'fulfilled') w = ws.value;
    if (hs.status === 'fulfilled') h = hs.value;
    if (ws.status === 'rejected') throw ws.reason;
    if (hs.status === 'rejected') throw hs.reason;
    await Promise.all(SCRIPTS.map((s) => deployOk(h, s.name, {
      runtime: 'js', handler: 'index.default', code: { source: s.source }, ...(ENV[s.name] ? { env: ENV[s.name] } : {}),
    })));
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([w?.stop(), h?.stop()]);
  });

  it('every script in test/compat has cases, and every case list a script', () => {
    expect(Object.keys(CASES).sort()).toEqual(SCRIPTS.map((s) => s.name));
  });

  for (const { name } of SCRIPTS) {
    it(`${name}.js`, async () => {
      for (const c of CASES[name] ?? []) {
        const what = `${name}.js ${describeCase(c)}`;
        const [wr, hr] = await Promise.all([
          send(`${w.url(name)}${c.path}`, c),
          send(`${h.url}/v1/web/${name}${c.path}`, c),
        ]);
        if (c.known) {
          expectKnown(c.known, 'workerd', wr, what);
          expectKnown(c.known, 'hearth', hr, what);
          continue;
        }
        expectSame(what, c, wr, w.url(name), hr, h.url);
      }
    });
  }
});
