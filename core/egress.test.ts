// The host side of functions' fetch(), against real node:http servers on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FetchFailure } from './errors.js';
import { checkEgressPatterns, EgressPolicy, hostFetch, type FetchLimits, type InboundResponse, type OutboundRequest } from './egress.js';

// ---------------------------------------------------------------------------------------------
// Patterns and the policy

describe('checkEgressPatterns', () => {
  it('accepts host names, wildcards, IP literals and ports', () => {
    expect(checkEgressPatterns([])).toBeNull();
    expect(
      checkEgressPatterns([
        'api.example.com',
        'API.Example.COM',
        'localhost',
        'example.com.',
        '*.example.com',
        '*.bücher.example',
        'bücher.example',
        'xn--bcher-kva.example',
        '127.0.0.1',
        '127.0.0.1:8080',
        '127.0.0.1:*',
        '[::1]',
        '[::1]:8443',
        '[2001:db8::1]:*',
        'api.example.com:443',
        'api.example.com:65535',
      ]),
    ).toBeNull();
    expect(checkEgressPatterns(Array.from({ length: 100 }, (_, i) => `h${i}.example.com`))).toBeNull();
  });

  it.each([
    ['', /empty/],
    [' ', /spaces/],
    ['api.example.com ', /spaces/],
    ['api .example.com', /spaces/],
    ['https://api.example.com', /not a URL.*https:\/\//],
    ['api.example.com/v1', /path/],
    ['api.example.com?x=1', /path, query/],
    ['user@api.example.com', /user info/],
    ['api.*.example.com', /first label/],
    ['a*.example.com', /first label/],
    ['*example.com', /first label/],
    ['*', /bare \*/],
    ['*.', /no host/],
    ['*.127.0.0.1', /not IP addresses/],
    ['*.[::1]', /not IP addresses/],
    ['.example.com', /\*\.example\.com/],
    ['a..example.com', /empty label/],
    ['api.example.com:', /bad port/],
    ['api.example.com:0', /bad port/],
    ['api.example.com:65536', /bad port/],
    ['api.example.com:http', /bad port/],
    ['::1', /brackets/],
    ['[::1', /unclosed/],
    ['[::1]8080', /optional :port/],
    ['[nope]', /not a valid host/],
    ['exa%6dple.com', /percent/],
  ])('rejects %j', (pattern, message) => {
    const err = checkEgressPatterns(['ok.example.com', pattern]);
    expect(err).toMatch(message);
    expect(err).toContain('egress.allow[1]');
    expect(err).toContain(JSON.stringify(pattern));
  });

  it('allows at most 100 patterns', () => {
    expect(checkEgressPatterns(Array.from({ length: 101 }, (_, i) => `h${i}.example.com`))).toMatch(/101 patterns; at most 100/);
  });
});

describe('EgressPolicy.allows', () => {
  const allows = (patterns: string[], url: string) => new EgressPolicy(patterns).allows(new URL(url));

  it('denies everything by default', () => {
    for (const url of ['https://example.com/', 'http://127.0.0.1/', 'http://[::1]/', 'http://localhost:8080/']) {
      expect(EgressPolicy.denyAll.allows(new URL(url))).toBe(false);
      expect(allows([], url)).toBe(false);
    }
  });

  it('matches exact host names case-insensitively, ignoring a trailing dot', () => {
    expect(allows(['api.example.com'], 'https://api.example.com/v1?x=1')).toBe(true);
    expect(allows(['api.example.com'], 'https://API.Example.com/')).toBe(true);
    expect(allows(['API.EXAMPLE.COM'], 'https://api.example.com/')).toBe(true);
    expect(allows(['api.example.com'], 'https://api.example.com./')).toBe(true);
    expect(allows(['api.example.com.'], 'https://api.example.com/')).toBe(true);
    expect(allows(['api.example.com'], 'https://example.com/')).toBe(false);
    expect(allows(['api.example.com'], 'https://x.api.example.com/')).toBe(false);
    expect(allows(['api.example.com'], 'https://api.example.com.evil.test/')).toBe(false);
  });

  it('without a port allows only 80 and 443; with :N only N; with :* any', () => {
    expect(allows(['api.example.com'], 'http://api.example.com/')).toBe(true);
    expect(allows(['api.example.com'], 'https://api.example.com:443/')).toBe(true);
    expect(allows(['api.example.com'], 'http://api.example.com:80/')).toBe(true);
    expect(allows(['api.example.com'], 'https://api.example.com:8443/')).toBe(false);
    expect(allows(['api.example.com:8443'], 'https://api.example.com:8443/')).toBe(true);
    expect(allows(['api.example.com:8443'], 'https://api.example.com/')).toBe(false);
    expect(allows(['api.example.com:8443'], 'https://api.example.com:8444/')).toBe(false);
    expect(allows(['api.example.com:*'], 'https://api.example.com:8444/')).toBe(true);
    expect(allows(['api.example.com:*'], 'http://api.example.com/')).toBe(true);
    expect(allows(['api.example.com:8443', 'api.example.com'], 'https://api.example.com/')).toBe(true);
  });

  it('matches a wildcard against subdomains only, never the apex or IPs', () => {
    const p = ['*.example.com'];
    expect(allows(p, 'https://a.example.com/')).toBe(true);
    expect(allows(p, 'https://a.b.example.com/')).toBe(true);
    expect(allows(p, 'https://A.EXAMPLE.COM/')).toBe(true);
    expect(allows(p, 'https://example.com/')).toBe(false);
    expect(allows(p, 'https://evilexample.com/')).toBe(false);
    expect(allows(p, 'https://a.example.com.evil.test/')).toBe(false);
    expect(allows(p, 'https://a.example.com:8080/')).toBe(false);
    expect(allows(['*.example.com:*'], 'https://a.example.com:8080/')).toBe(true);
  });

  it('matches IPv4 and IPv6 literals in their normalized form', () => {
    expect(allows(['127.0.0.1'], 'http://127.0.0.1/')).toBe(true);
    expect(allows(['127.0.0.1'], 'http://127.1/')).toBe(true);
    expect(allows(['127.0.0.1'], 'http://127.0.0.2/')).toBe(false);
    expect(allows(['127.0.0.1:3000'], 'http://127.0.0.1:3000/')).toBe(true);
    expect(allows(['[::1]'], 'http://[::1]/')).toBe(true);
    expect(allows(['[::1]'], 'http://[0:0:0:0:0:0:0:1]/')).toBe(true);
    expect(allows(['[0::1]:8080'], 'http://[::1]:8080/')).toBe(true);
    expect(allows(['[::1]'], 'http://[::1]:8080/')).toBe(false);
    expect(allows(['[::1]'], 'http://[::2]/')).toBe(false);
  });

  it('compares IDNs in punycode', () => {
    expect(allows(['bücher.example'], 'https://xn--bcher-kva.example/')).toBe(true);
    expect(allows(['bücher.example'], 'https://BÜCHER.example/')).toBe(true);
    expect(allows(['xn--bcher-kva.example'], 'https://bücher.example/')).toBe(true);
    expect(allows(['*.bücher.example'], 'https://www.bücher.example/')).toBe(true);
    expect(allows(['bücher.example'], 'https://bucher.example/')).toBe(false);
  });

  it('never allows a scheme other than http: and https:', () => {
    for (const url of ['ftp://api.example.com/', 'ws://api.example.com/', 'file://api.example.com/etc/passwd']) {
      expect(allows(['api.example.com:*'], url)).toBe(false);
    }
    expect(allows(['api.example.com:*'], 'data:text/plain,hi')).toBe(false);
  });

  it('refuses to compile a bad pattern', () => {
    expect(() => new EgressPolicy(['https://x.example'])).toThrow(/not a URL/);
  });
});

// ---------------------------------------------------------------------------------------------
// hostFetch against real servers

const sockets = new Set<Socket>();
const servers: Server[] = [];
const hits = new Map<string, number>();
let main = '';
let other = '';
let mainHost = '';
let otherHost = '';
let refusedPort = 0;

function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  servers.push(server);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

const port = (s: Server) => (s.address() as AddressInfo).port;

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
  switch (url.pathname) {
    case '/json':
      res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': 'main' });
      res.end(JSON.stringify({ hello: 'world', n: 42 }));
      return;
    case '/echo':
      void readAll(req).then((body) => {
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'x-method': req.method ?? '',
          'x-request-headers': JSON.stringify(req.headers),
        });
        res.end(body);
      });
      return;
    case '/cookies':
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'c=3, d=4']);
      res.setHeader('x-multi', ['one', 'two']);
      res.end('ok');
      return;
    case '/redirect': {
      const to = url.searchParams.get('to') ?? '/json';
      res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: to });
      res.end('moved');
      return;
    }
    case '/loop':
      res.writeHead(302, { location: '/loop' });
      res.end();
      return;
    case '/stall-headers':
      return; // never answers
    case '/stall-body':
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial'); // and never finishes
      return;
    case '/sized': {
      const n = Number(url.searchParams.get('n'));
      const declare = url.searchParams.get('declare') === '1';
      res.writeHead(200, declare ? { 'content-length': String(n) } : {});
      // Written in pieces so that, undeclared, it arrives chunked.
      const piece = Buffer.alloc(Math.min(n, 16 * 1024), 0x61);
      let left = n;
      const more = () => {
        while (left > 0) {
          const b = piece.subarray(0, Math.min(left, piece.length));
          left -= b.length;
          if (!res.write(b)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
      return;
    }
    case '/endless': {
      // Streams until the client goes away (capped, so a broken client cannot fill the disk).
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const piece = Buffer.alloc(64 * 1024, 0x62);
      let sent = 0;
      const timer = setInterval(() => {
        if (res.destroyed || sent > 256 * 1024 * 1024) return void clearInterval(timer);
        res.write(piece);
        sent += piece.length;
      }, 1);
      res.on('close', () => clearInterval(timer));
      return;
    }
    default:
      res.writeHead(404);
      res.end('not found');
  }
}

beforeAll(async () => {
  const a = await listen(route);
  const b = await listen(route);
  mainHost = `127.0.0.1:${port(a)}`;
  otherHost = `127.0.0.1:${port(b)}`;
  main = `http://${mainHost}`;
  other = `http://${otherHost}`;
  // A port that nothing listens on: bind, note, close.
  const c = createServer();
  await new Promise<void>((resolve) => c.listen(0, '127.0.0.1', resolve));
  refusedPort = port(c);
  await new Promise<void>((resolve) => c.close(() => resolve()));
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
});

const both = () => new EgressPolicy([mainHost, otherHost]);
const limits = (over: Partial<FetchLimits> = {}): FetchLimits => ({ deadline: Date.now() + 10_000, maxResponseBytes: 1 << 20, ...over });
const get = (url: string, over: Partial<OutboundRequest> = {}): OutboundRequest => ({ method: 'GET', url, headers: [], body: null, redirect: 'follow', ...over });
const text = (r: InboundResponse) => new TextDecoder().decode(r.body);
const header = (r: InboundResponse, name: string) => {
  const i = r.headers.findIndex((h, j) => j % 2 === 0 && h === name);
  return i < 0 ? undefined : r.headers[i + 1];
};

/** The FetchFailure a fetch rejects with (and fails the test if it resolves). */
async function failure(p: Promise<InboundResponse>): Promise<FetchFailure> {
  const err = await p.then(
    (r) => new Error(`resolved with ${r.status}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FetchFailure);
  return err as FetchFailure;
}

describe('hostFetch', () => {
  it('denies by default, naming the host and how to allow it, without touching the network', async () => {
    const before = hits.get('/json') ?? 0;
    const err = await failure(hostFetch(EgressPolicy.denyAll, get(`${main}/json`), limits()));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toBe(`fetch to "${mainHost}" is not allowed: add it to the function's egress.allow`);
    const err2 = await failure(hostFetch(new EgressPolicy([otherHost]), get(`${main}/json`), limits()));
    expect(err2.message).toContain(`"${mainHost}"`);
    const err3 = await failure(hostFetch(new EgressPolicy(['127.0.0.1']), get(`${main}/json`), limits()));
    expect(err3.message).toContain(`"${mainHost}"`); // allowed host, but not this port
    expect(hits.get('/json') ?? 0).toBe(before);
  });

  it('GETs an allowed URL with a JSON body', async () => {
    const r = await hostFetch(new EgressPolicy([mainHost]), get(`${main}/json`), limits());
    expect(r.status).toBe(200);
    expect(r.statusText).toBe('OK');
    expect(r.url).toBe(`${main}/json`);
    expect(r.redirected).toBe(false);
    expect(header(r, 'content-type')).toBe('application/json');
    expect(header(r, 'x-served-by')).toBe('main');
    for (let i = 0; i < r.headers.length; i += 2) expect(r.headers[i]).toBe(r.headers[i]!.toLowerCase());
    expect(r.body).toBeInstanceOf(ArrayBuffer);
    expect(r.body.byteLength).toBe(Buffer.byteLength(JSON.stringify({ hello: 'world', n: 42 })));
    expect(JSON.parse(text(r))).toEqual({ hello: 'world', n: 42 });
  });

  it('accepts a :* pattern and returns other statuses as they are', async () => {
    const r = await hostFetch(new EgressPolicy(['127.0.0.1:*']), get(`${main}/nope`), limits());
    expect(r.status).toBe(404);
    expect(r.statusText).toBe('Not Found');
    expect(text(r)).toBe('not found');
  });

  it('POSTs a binary body (all 256 byte values) and gets it back byte for byte', async () => {
    const bytes = new Uint8Array(256 * 4);
    for (let i = 0; i < bytes.length; i++) bytes[i] = i % 256;
    // A view into a larger buffer: only the view's bytes may be sent.
    const backing = new Uint8Array(bytes.length + 20).fill(0xee);
    backing.set(bytes, 10);
    const body = backing.subarray(10, 10 + bytes.length);
    const r = await hostFetch(both(), get(`${main}/echo`, { method: 'post', body, headers: ['Content-Type', 'application/x-test'] }), limits());
    expect(header(r, 'x-method')).toBe('POST');
    expect(r.body.byteLength).toBe(bytes.length);
    expect(new Uint8Array(r.body)).toEqual(bytes);
    const seen = JSON.parse(header(r, 'x-request-headers')!) as Record<string, string>;
    expect(seen['content-type']).toBe('application/x-test');
    expect(seen['content-length']).toBe(String(bytes.length));
  });

  it('drops request headers the host controls, keeps the rest', async () => {
    const headers = [
      'Host', 'evil.example',
      'Content-Length', '999',
      'Connection', 'upgrade',
      'Keep-Alive', 'timeout=99',
      'Transfer-Encoding', 'chunked',
      'Upgrade', 'websocket',
      'TE', 'trailers',
      'Trailer', 'x-t',
      'Proxy-Authorization', 'Basic eA==',
      'Proxy-Connection', 'keep-alive',
      'Expect', '100-continue',
      'X-Custom', 'kept',
      'Authorization', 'Bearer t',
      'Accept', 'application/json',
    ];
    const r = await hostFetch(both(), get(`${main}/echo`, { method: 'PUT', headers, body: new TextEncoder().encode('hi') }), limits());
    expect(text(r)).toBe('hi');
    const seen = JSON.parse(header(r, 'x-request-headers')!) as Record<string, string>;
    expect(seen['host']).toBe(mainHost);
    expect(seen['content-length']).toBe('2');
    expect(seen['x-custom']).toBe('kept');
    expect(seen['authorization']).toBe('Bearer t');
    expect(seen['accept']).toBe('application/json');
    for (const h of ['keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'proxy-authorization', 'proxy-connection', 'expect']) {
      expect(seen[h], h).toBeUndefined();
    }
  });

  it('keeps each set-cookie header separate', async () => {
    const r = await hostFetch(both(), get(`${main}/cookies`), limits());
    const cookies = r.headers.filter((_, i) => i % 2 === 1 && r.headers[i - 1] === 'set-cookie');
    expect(cookies).toEqual(['a=1; Path=/', 'b=2; Expires=Wed, 21 Oct 2026 07:28:00 GMT', 'c=3, d=4']);
    expect(header(r, 'x-multi')).toBe('one, two');
    expect(r.headers.length % 2).toBe(0);
  });

  it('follows a redirect chain within the allowlist', async () => {
    const last = `${main}/json`;
    const middle = `${other}/redirect?status=307&to=${encodeURIComponent(last)}`;
    const first = `${main}/redirect?status=301&to=${encodeURIComponent(middle)}`;
    const r = await hostFetch(both(), get(first), limits());
    expect(r.status).toBe(200);
    expect(r.redirected).toBe(true);
    expect(r.url).toBe(last);
    expect(JSON.parse(text(r))).toEqual({ hello: 'world', n: 42 });
  });

  it('fails a redirect to a host that is not allowed, without contacting it', async () => {
    const before = hits.get('/json') ?? 0;
    const to = `${other}/json`;
    const err = await failure(hostFetch(new EgressPolicy([mainHost]), get(`${main}/redirect?to=${encodeURIComponent(to)}`), limits()));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toContain(`egress to ${otherHost} is not allowed`);
    expect(err.message).toContain("egress.allow");
    const err2 = await failure(hostFetch(both(), get(`${main}/redirect?to=${encodeURIComponent('http://evil.example/')}`), limits()));
    expect(err2.message).toContain('egress to evil.example is not allowed');
    const err3 = await failure(hostFetch(both(), get(`${main}/redirect?to=${encodeURIComponent('file:///etc/passwd')}`), limits()));
    expect(err3.kind).toBe('TypeError');
    expect(err3.message).toMatch(/only http: and https:/);
    expect(hits.get('/json') ?? 0).toBe(before);
  });

  it('turns POST into GET without a body on 303 (and 302), keeps both on 307/308', async () => {
    const body = new TextEncoder().encode('payload');
    const post = (status: number) =>
      hostFetch(both(), get(`${main}/redirect?status=${status}&to=/echo`, { method: 'POST', body, headers: ['content-type', 'text/plain', 'x-keep', '1'] }), limits());
    for (const status of [302, 303]) {
      const r = await post(status);
      expect(header(r, 'x-method'), String(status)).toBe('GET');
      expect(r.body.byteLength).toBe(0);
      const seen = JSON.parse(header(r, 'x-request-headers')!) as Record<string, string>;
      expect(seen['content-type']).toBeUndefined();
      expect(seen['x-keep']).toBe('1');
      expect(r.redirected).toBe(true);
      expect(r.url).toBe(`${main}/echo`);
    }
    for (const status of [307, 308]) {
      const r = await post(status);
      expect(header(r, 'x-method'), String(status)).toBe('POST');
      expect(text(r)).toBe('payload');
    }
    // 303 turns PUT into GET too; 301/302 leave methods other than POST alone.
    const put303 = await hostFetch(both(), get(`${main}/redirect?status=303&to=/echo`, { method: 'PUT', body }), limits());
    expect(header(put303, 'x-method')).toBe('GET');
    const put301 = await hostFetch(both(), get(`${main}/redirect?status=301&to=/echo`, { method: 'PUT', body }), limits());
    expect(header(put301, 'x-method')).toBe('PUT');
    expect(text(put301)).toBe('payload');
  });

  it('drops credentials on a cross-origin redirect', async () => {
    const to = `${other}/echo`;
    const r = await hostFetch(both(), get(`${main}/redirect?to=${encodeURIComponent(to)}`, { headers: ['authorization', 'Bearer t', 'cookie', 'a=1', 'x-other', 'y'] }), limits());
    const seen = JSON.parse(header(r, 'x-request-headers')!) as Record<string, string>;
    expect(seen['authorization']).toBeUndefined();
    expect(seen['cookie']).toBeUndefined();
    expect(seen['x-other']).toBe('y');
  });

  it('returns the 3xx as it is with redirect "manual", and fails with "error"', async () => {
    const url = `${main}/redirect?status=302&to=${encodeURIComponent('http://evil.example/x')}`;
    const r = await hostFetch(both(), get(url, { redirect: 'manual' }), limits());
    expect(r.status).toBe(302);
    expect(header(r, 'location')).toBe('http://evil.example/x');
    expect(text(r)).toBe('moved');
    expect(r.redirected).toBe(false);
    expect(r.url).toBe(url);
    const err = await failure(hostFetch(both(), get(url, { redirect: 'error' }), limits()));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toMatch(/redirect/);
  });

  it('gives up after 20 redirects', async () => {
    const before = hits.get('/loop') ?? 0;
    const err = await failure(hostFetch(both(), get(`${main}/loop`), limits()));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toMatch(/more than 20 redirects/);
    expect((hits.get('/loop') ?? 0) - before).toBe(21);
  });

  it('times out while the server stalls before its headers', async () => {
    const t0 = Date.now();
    const err = await failure(hostFetch(both(), get(`${main}/stall-headers`), limits({ deadline: Date.now() + 200 })));
    expect(err.kind).toBe('TimeoutError');
    expect(err.message).toMatch(/deadline/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('times out while the server stalls in the middle of the body', async () => {
    const t0 = Date.now();
    const err = await failure(hostFetch(both(), get(`${main}/stall-body`), limits({ deadline: Date.now() + 300 })));
    expect(err.kind).toBe('TimeoutError');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('fails at once with TimeoutError when the deadline has already passed', async () => {
    const before = hits.get('/json') ?? 0;
    const err = await failure(hostFetch(both(), get(`${main}/json`), limits({ deadline: Date.now() - 1 })));
    expect(err.kind).toBe('TimeoutError');
    expect(hits.get('/json') ?? 0).toBe(before);
  });

  it('fails with AbortError when aborted from outside, before or during the fetch', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    const err = await failure(hostFetch(both(), get(`${main}/stall-headers`), limits({ signal: ac.signal })));
    expect(err.kind).toBe('AbortError');
    expect(Date.now() - t0).toBeLessThan(5_000);

    const mid = new AbortController();
    setTimeout(() => mid.abort(new Error('instance went away')), 100);
    const err2 = await failure(hostFetch(both(), get(`${main}/stall-body`), limits({ signal: mid.signal })));
    expect(err2.kind).toBe('AbortError');

    const err3 = await failure(hostFetch(both(), get(`${main}/json`), limits({ signal: AbortSignal.abort() })));
    expect(err3.kind).toBe('AbortError');
  });

  it('fails with TypeError as soon as the body passes maxResponseBytes', async () => {
    const ok = await hostFetch(both(), get(`${main}/sized?n=5000`), limits({ maxResponseBytes: 5000 }));
    expect(ok.body.byteLength).toBe(5000);
    const empty = await hostFetch(both(), get(`${main}/sized?n=0`), limits({ maxResponseBytes: 0 }));
    expect(empty.body.byteLength).toBe(0);

    for (const declare of ['0', '1']) {
      const err = await failure(hostFetch(both(), get(`${main}/sized?n=100000&declare=${declare}`), limits({ maxResponseBytes: 5000 })));
      expect(err.kind).toBe('TypeError');
      expect(err.message).toContain('response body exceeds 5000 bytes');
    }
    // A body that would never end: the limit, not the deadline, must stop it.
    const t0 = Date.now();
    const err = await failure(hostFetch(both(), get(`${main}/endless`), limits({ maxResponseBytes: 1 << 20, deadline: Date.now() + 30_000 })));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toContain(`response body exceeds ${1 << 20} bytes`);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('fails with TypeError when the connection is refused', async () => {
    const err = await failure(hostFetch(new EgressPolicy(['127.0.0.1:*']), get(`http://127.0.0.1:${refusedPort}/`), limits()));
    expect(err.kind).toBe('TypeError');
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses schemes other than http: and https:', async () => {
    for (const url of ['file:///etc/passwd', 'data:text/plain,hello', 'ftp://127.0.0.1/', 'blob:http://127.0.0.1/x']) {
      const err = await failure(hostFetch(new EgressPolicy(['127.0.0.1:*']), get(url), limits()));
      expect(err.kind, url).toBe('TypeError');
      expect(err.message, url).toMatch(/only http: and https:/);
    }
  });

  it('rejects bad input with a FetchFailure, never synchronously', async () => {
    const call = (req: unknown, ...lim: unknown[]) => hostFetch(both(), req as OutboundRequest, (lim.length > 0 ? lim[0] : limits()) as FetchLimits);
    let p!: Promise<InboundResponse>;
    expect(() => {
      p = call(null);
    }).not.toThrow();
    expect((await failure(p)).kind).toBe('TypeError');
    expect((await failure(call(get('not a url')))).message).toMatch(/invalid URL/);
    expect((await failure(call(get(`${main}/json`, { headers: ['odd'] })))).kind).toBe('TypeError');
    expect((await failure(call(get(`${main}/json`, { headers: ['bad name', 'x'] })))).kind).toBe('TypeError');
    expect((await failure(call(get(`${main}/json`, { body: new Uint8Array([1]) })))).kind).toBe('TypeError'); // GET with a body
    expect((await failure(call(get(`${main}/json`, { redirect: 'sideways' as 'follow' })))).kind).toBe('TypeError');
    expect((await failure(call(get(`http://u:p@${mainHost}/json`)))).message).toMatch(/credentials/);
    expect((await failure(call(get(`${main}/json`), undefined))).kind).toBe('TypeError');
    expect((await failure(call(get(`${main}/json`), { deadline: NaN, maxResponseBytes: 1 }))).kind).toBe('TypeError');
  });

  it('runs many fetches at once', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, () => hostFetch(both(), get(`${other}/json`), limits())));
    for (const r of rs) expect(JSON.parse(text(r))).toEqual({ hello: 'world', n: 42 });
  });
});
