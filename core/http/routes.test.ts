// The 405s are derived from the route tables: every path with a route answers 405 to the methods
// it does not take, unless a route on it takes any method.

import { describe, expect, it } from 'vitest';
import { methodNotAllowedPaths, route } from './routes.js';

describe('methodNotAllowedPaths', () => {
  const h = () => undefined;
  it('every routed path once, except those a route takes with any method', () => {
    const routes = [
      route('POST', '/v1/functions/:name/invoke', h),
      route('GET', '/v1/functions/:name', h), route('PUT', '/v1/functions/:name', h), route('DELETE', '/v1/functions/:name', h),
      route('ANY', '/v1/web/:name', h), route('ANY', '/v1/web/:name/*', h),
      route('POST', '/2015-03-31/functions/:name/invocations', h),
    ];
    expect(methodNotAllowedPaths(routes)).toEqual(['/v1/functions/:name/invoke', '/v1/functions/:name', '/2015-03-31/functions/:name/invocations']);
  });
});
