// Routing: a small method + pathname router with params, 404 and 405 (with Allow), query params,
// Response.redirect and HEAD (answered by the GET route; the platform drops the body).

const USERS = [
  { id: '1', name: 'Ada' },
  { id: '2', name: 'Grace' },
  { id: 'jürgen', name: 'Jürgen' },
];

const routes = [];
function route(method, pattern, handler) {
  const names = [];
  const source = pattern.replace(/:([A-Za-z]+)/g, (_, n) => { names.push(n); return '([^/]+)'; });
  routes.push({ method, re: new RegExp(`^${source}$`), names, handler });
}

route('GET', '/', () => new Response('home'));
route('GET', '/users', () => Response.json(USERS));
route('POST', '/users', async (req) => Response.json({ created: await req.json() }, { status: 201, headers: { location: '/users/3' } }));
route('GET', '/users/:id', (req, p) => {
  const user = USERS.find((u) => u.id === p.id);
  return user ? Response.json(user) : Response.json({ error: 'no such user', id: p.id }, { status: 404 });
});
route('DELETE', '/users/:id', (req, p) => new Response(null, { status: 204, headers: { 'x-deleted': p.id } }));
route('GET', '/users/:id/posts/:postId', (req, p) => Response.json({ user: p.id, post: p.postId }));
route('GET', '/search', (req) => {
  const q = new URL(req.url).searchParams;
  return Response.json({
    q: q.get('q'),
    tags: q.getAll('tag'),
    empty: q.get('empty'),
    missing: q.get('missing'),
    hasEmpty: q.has('empty'),
    enc: q.get('enc'),
    size: q.size,
    keys: [...q.keys()],
    search: new URL(req.url).search,
  });
});
route('GET', '/whoami', (req) => {
  const u = new URL(req.url);
  return Response.json({ method: req.method, url: req.url, pathname: u.pathname, search: u.search, protocol: u.protocol });
});
route('GET', '/old', (req) => Response.redirect(new URL('/users?from=old', req.url), 301));
route('GET', '/away', () => Response.redirect('https://example.com/a b?x=1#f', 302));
route('GET', '/temp', (req) => Response.redirect(new URL('/users', req.url).href, 307));
route('GET', '/bad-redirect', () => {
  const out = {};
  try { Response.redirect('https://example.com/', 200); out.status200 = 'no error'; } catch (e) { out.status200 = e.name; }
  try { Response.redirect('/relative', 302); out.relative = 'no error'; } catch (e) { out.relative = e.name; }
  const r = Response.redirect('https://example.com/', 308);
  out.redirect = { status: r.status, location: r.headers.get('location'), bodyNull: r.body === null };
  try { r.headers.set('x-a', '1'); out.immutable = false; } catch (e) { out.immutable = e.name; }
  return Response.json(out);
});
route('HEAD', '/head-only', () => new Response('ignored body', { headers: { 'x-head': 'yes' } }));

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const method = request.method;
    const allowed = [];
    for (const r of routes) {
      const m = r.re.exec(pathname);
      if (!m) continue;
      const routeMethods = r.method === 'GET' ? ['GET', 'HEAD'] : [r.method];
      allowed.push(...routeMethods);
      const matches = r.method === method || (method === 'HEAD' && r.method === 'GET' && !routes.some((o) => o.method === 'HEAD' && o.re.test(pathname)));
      if (matches) {
        const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
        return r.handler(request, params);
      }
    }
    if (allowed.length) {
      const allow = [...new Set(allowed)].sort().join(', ');
      return Response.json({ error: 'method not allowed', method }, { status: 405, headers: { allow } });
    }
    return Response.json({ error: 'not found', pathname }, { status: 404 });
  },
};
