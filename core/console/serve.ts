// Serves the console (GET /console): a single page whose assets esbuild bundled at build time
// (scripts/build-console.mjs → dist/console), read once at start and held in memory with their
// gzip form, so a page load touches no disk. The page itself holds no data and needs no token; what
// it shows comes from the management API with the admin token it asks for. A Content-Security-Policy
// keeps every request it makes on this origin; the page itself is made for each load (its style
// nonce), the assets are sent as they are.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config.js';
import { HearthError } from '../errors.js';
import { finish, sendJson, type Exchange } from '../http/exchange.js';
import type { FrontEnd } from '../http/front-end.js';
import { v1Error } from '../http/render-v1.js';
import { route, type Route } from '../http/routes.js';

/** Where the build put the bundle (dist/console, next to dist/core). */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

/**
 * Only this origin: scripts, stylesheets, fetches; no frames, no forms elsewhere. The editor
 * (CodeMirror) writes its styles into a style element, allowed by a nonce made for each page load.
 */
const csp = (nonce: string) => `default-src 'none'; script-src 'self'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
}

/** The bundle in memory: index.html and the hashed assets it names. */
export class ConsoleAssets {
  readonly assets = new Map<string, Asset>();

  constructor(dir = CONSOLE_DIR) {
    if (!existsSync(join(dir, 'index.html'))) return;
    for (const f of readdirSync(dir)) {
      const ext = f.slice(f.lastIndexOf('.'));
      const type = TYPES[ext];
      if (type === undefined) continue;
      const body = readFileSync(join(dir, f));
      const gz = type.startsWith('image/png') ? null : gzipSync(body, { level: 9 });
      this.assets.set(f, {
        type, body, gzip: gz !== null && gz.length < body.length ? gz : null,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
      });
    }
  }

  get built(): boolean {
    return this.assets.has('index.html');
  }

  /** Bytes of every asset as sent with and without gzip (the README states them). */
  size(): { bytes: number; gzipBytes: number } {
    let bytes = 0;
    let gzipBytes = 0;
    for (const a of this.assets.values()) {
      bytes += a.body.length;
      gzipBytes += (a.gzip ?? a.body).length;
    }
    return { bytes, gzipBytes };
  }
}

/** GET or HEAD; anything else is answered 405 here (null). */
function readMethod(ex: Exchange, req: HttpRequest): 'get' | 'head' | null {
  const method = req.getMethod();
  if (method === 'get' || method === 'head') return method;
  v1Error(ex, new HearthError('MethodNotAllowed', `${method.toUpperCase()} is not allowed on ${req.getUrl()}`));
  return null;
}

export function consoleRoutes(fe: FrontEnd, config: Pick<Config, 'adminToken' | 'invokeToken' | 'host'>, assets: ConsoleAssets): Route[] {
  /** The page: its style nonce made for this response (so never cached, never 304). */
  const page = (ex: Exchange, req: HttpRequest) => {
    const method = readMethod(ex, req);
    if (method === null) return;
    const a = assets.assets.get('index.html');
    if (a === undefined) return v1Error(ex, new HearthError('NotFound', 'the console is not built here: run `npm run build`'));
    const nonce = randomBytes(16).toString('base64');
    const body = a.body.toString('utf8').replace('%NONCE%', nonce);
    ex.res.cork(() => {
      ex.res.writeStatus('200 OK');
      ex.res.writeHeader('Content-Type', a.type);
      ex.res.writeHeader('Cache-Control', 'no-store');
      ex.res.writeHeader('Content-Security-Policy', csp(nonce));
      ex.res.writeHeader('X-Frame-Options', 'DENY');
      ex.res.writeHeader('X-Content-Type-Options', 'nosniff');
      ex.res.writeHeader('Referrer-Policy', 'no-referrer');
      if (method === 'head') ex.res.endWithoutBody(Buffer.byteLength(body), fe.draining);
      else ex.res.end(body, fe.draining);
    });
    finish(ex);
  };
  const serve = (ex: Exchange, req: HttpRequest, file: string) => {
    // Assets only (the page is page()).
    const method = readMethod(ex, req);
    if (method === null) return;
    const a = assets.assets.get(file);
    if (a === undefined) {
      const why = assets.built ? `no console asset "${file}"` : 'the console is not built here: run `npm run build`';
      return v1Error(ex, new HearthError('NotFound', why));
    }
    const gzip = a.gzip !== null && /\bgzip\b/.test(req.getHeader('accept-encoding'));
    const notModified = req.getHeader('if-none-match') === a.etag;
    ex.res.cork(() => {
      ex.res.writeStatus(notModified ? '304 Not Modified' : '200 OK');
      ex.res.writeHeader('Content-Type', a.type);
      ex.res.writeHeader('ETag', a.etag);
      // Named by their content's hash: a new build is new names.
      ex.res.writeHeader('Cache-Control', 'public, max-age=31536000, immutable');
      ex.res.writeHeader('Vary', 'Accept-Encoding');
      if (gzip) ex.res.writeHeader('Content-Encoding', 'gzip');
      ex.res.writeHeader('X-Content-Type-Options', 'nosniff');
      ex.res.writeHeader('Referrer-Policy', 'no-referrer');
      if (notModified || method === 'head') {
        ex.res.endWithoutBody(notModified ? undefined : (gzip ? a.gzip! : a.body).length, fe.draining);
      } else {
        ex.res.end(gzip ? a.gzip! : a.body, fe.draining);
      }
    });
    finish(ex);
  };
  return [
    // The page names its assets relative to /console/ (so it works under a gateway's path prefix too).
    route('ANY', '/console', (res: HttpResponse) => {
      const ex = fe.track(res);
      ex.res.cork(() => { ex.res.writeStatus('308 Permanent Redirect').writeHeader('Location', 'console/').end('', fe.draining); });
      finish(ex);
    }),
    route('ANY', '/console/', (res: HttpResponse, req: HttpRequest) => page(fe.track(res), req)),
    route('ANY', '/console/assets/:file', (res: HttpResponse, req: HttpRequest) => {
      const file = req.getParameter(0)!;
      // index.html is the page's template, not an asset.
      serve(fe.track(res), req, file === 'index.html' ? '' : file);
    }),
    // What the page needs to know before it has a token: whether it must ask for one.
    route('GET', '/console/session', (res: HttpResponse) => sendJson(fe.track(res), 200, {
      adminTokenRequired: config.adminToken !== undefined,
      invokeTokenRequired: config.invokeToken !== undefined,
      host: config.host,
    }, { 'Cache-Control': 'no-store' })),
  ];
}
