// JSON API: request.json(), request.text(), Response.json() with status and headers, a 400 made by
// the script for bad JSON, dispatch on Content-Type, echoing the method and (x-) headers.

function badRequest(err) {
  return Response.json({ error: 'invalid json', name: err.name, isSyntaxError: err instanceof SyntaxError }, { status: 400 });
}

/** The x-* request headers the client sent (other headers depend on the client and the proxy). */
function xHeaders(request) {
  const out = {};
  for (const [k, v] of request.headers) if (k.startsWith('x-') && !k.startsWith('x-hearth') && !k.startsWith('x-forwarded')) out[k] = v;
  return out;
}

export default {
  async fetch(request) {
    const { pathname } = new URL(request.url);
    const contentType = request.headers.get('content-type');

    if (pathname === '/echo') {
      let body;
      try { body = await request.json(); } catch (e) { return badRequest(e); }
      return Response.json(
        { method: request.method, contentType, received: body, type: Array.isArray(body) ? 'array' : body === null ? 'null' : typeof body },
        { status: 201, statusText: 'Created It', headers: { 'x-api-version': '1', 'cache-control': 'no-store' } },
      );
    }

    if (pathname === '/text') {
      const text = await request.text();
      return Response.json({ method: request.method, contentType, text, length: text.length, codePoints: [...text].length });
    }

    if (pathname === '/headers') {
      return Response.json({ method: request.method, headers: xHeaders(request), contentType, bodyUsed: request.bodyUsed });
    }

    if (pathname === '/consume-twice') {
      const first = await request.text();
      let second;
      try { await request.text(); second = 'no error'; } catch (e) { second = e.name; }
      return Response.json({ first, second, bodyUsed: request.bodyUsed });
    }

    if (pathname === '/submit') {
      // Dispatch on the media type, ignoring parameters and case.
      const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
      if (type === 'application/json') {
        try { return Response.json({ kind: 'json', value: await request.json() }); } catch (e) { return badRequest(e); }
      }
      if (type === 'application/x-www-form-urlencoded') {
        const params = new URLSearchParams(await request.text());
        return Response.json({ kind: 'form', value: [...params] });
      }
      if (type.startsWith('text/')) return Response.json({ kind: 'text', value: await request.text() });
      return Response.json({ error: 'unsupported media type', type }, { status: 415, headers: { accept: 'application/json, application/x-www-form-urlencoded, text/*' } });
    }

    if (pathname === '/shapes') {
      // Response.json of values that are not objects, and a content-type it must not override.
      const which = new URL(request.url).searchParams.get('v');
      if (which === 'null') return Response.json(null);
      if (which === 'string') return Response.json('a "quoted" string\n');
      if (which === 'number') return Response.json(1.5e300);
      if (which === 'nested') return Response.json({ a: [1, { b: [true, false, null] }], u: 'ünïcödé ✓ 😀', undef: undefined, nan: NaN });
      if (which === 'custom-type') return Response.json({ ok: true }, { headers: { 'Content-Type': 'application/vnd.api+json' } });
      if (which === 'bigint') {
        try { return Response.json({ n: 1n }); } catch (e) { return Response.json({ threw: e.name }, { status: 500 }); }
      }
      if (which === 'params') return new Response(new URLSearchParams({ a: '1', b: 'x y', c: 'ü&=' }));
      if (which === 'string-body') return new Response('plain');
      if (which === 'bytes-body') return new Response(new TextEncoder().encode('bytes'));
      return Response.json({ error: 'unknown shape' }, { status: 400 });
    }

    if (pathname === '/clone') {
      // A Request and a Response cloned and both read.
      const clone = request.clone();
      const [a, b] = await Promise.all([request.text(), clone.text()]);
      const res = Response.json({ a, b, same: a === b }, { headers: { 'x-cloned': 'yes' } });
      const res2 = res.clone();
      const peek = await res2.json();
      return new Response(res.body, { status: 200, headers: { 'content-type': res.headers.get('content-type'), 'x-peek-same': String(peek.same) } });
    }

    if (pathname === '/construct') {
      // A Request built by the script (not sent anywhere).
      const r = new Request('https://example.com/api?x=1', { method: 'post', headers: { 'X-Y': 'z' }, body: JSON.stringify({ k: 'v' }) });
      let getBody;
      try { new Request('https://example.com/', { method: 'GET', body: 'x' }); getBody = 'no error'; } catch (e) { getBody = e.name; }
      return Response.json({ method: r.method, url: r.url, xy: r.headers.get('x-y'), ct: r.headers.get('content-type'), body: await r.json(), getBody, redirect: r.redirect });
    }

    return Response.json({ error: 'not found' }, { status: 404 });
  },
};
