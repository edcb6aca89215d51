// Routes as tables: each part of the API hands its routes to mount(), which registers them and
// derives the rest: a known path with another method is 405, anything else 404 (both JSON).

import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { HearthError } from '../errors.js';
import type { FrontEnd } from './front-end.js';
import { v1Error } from './render-v1.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'ANY';

export interface Route {
  readonly method: Method;
  /** uWS pattern: `:name` parameters, a trailing `*`. */
  readonly path: string;
  readonly handler: (res: HttpResponse, req: HttpRequest) => void;
}

export function route(method: Method, path: string, handler: Route['handler']): Route {
  return { method, path, handler };
}

/** The paths that answer 405 to another method: every path with a route, unless one takes any method. */
export function methodNotAllowedPaths(routes: readonly Route[]): string[] {
  const any = new Set(routes.filter((r) => r.method === 'ANY').map((r) => r.path));
  return [...new Set(routes.map((r) => r.path))].filter((p) => !any.has(p));
}

export function mount(fe: FrontEnd, routes: readonly Route[]): void {
  const app = fe.app;
  for (const r of routes) {
    switch (r.method) {
      case 'GET': app.get(r.path, r.handler); break;
      case 'POST': app.post(r.path, r.handler); break;
      case 'PUT': app.put(r.path, r.handler); break;
      case 'DELETE': app.del(r.path, r.handler); break;
      case 'ANY': app.any(r.path, r.handler); break;
    }
  }
  for (const path of methodNotAllowedPaths(routes)) {
    app.any(path, (res, req) => {
      const ex = fe.track(res);
      v1Error(ex, new HearthError('MethodNotAllowed', `${req.getMethod().toUpperCase()} is not allowed on ${req.getUrl()}`));
    });
  }
  app.any('/*', (res, req) => {
    const ex = fe.track(res);
    v1Error(ex, new HearthError('NotFound', `no route for ${req.getMethod().toUpperCase()} ${req.getUrl()}`));
  });
}
