// Errors and odd responses: a synchronous throw, an asynchronous rejection, a non-Response return
// value, a 204 with a null body, a custom status text, errors the script catches itself, and a
// stray rejected promise that must not fail the request. fetch is deliberately not async, so the
// throw on /throw-sync really is synchronous.

async function later(ms) {
  await new Promise((r) => setTimeout(r, ms));
}

function tryName(fn) {
  try { fn(); return 'no error'; } catch (e) { return e.name; }
}

class AppError extends Error {
  constructor(message, code) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }
}

export default {
  fetch(request) {
    const { pathname } = new URL(request.url);

    if (pathname === '/throw-sync') throw new Error('thrown synchronously');
    if (pathname === '/throw-string') throw 'a string, not an Error';
    if (pathname === '/reject') return later(5).then(() => { throw new TypeError('rejected asynchronously'); });
    if (pathname === '/not-response') return Promise.resolve({ hello: 'world' });
    if (pathname === '/undefined') return undefined;
    if (pathname === '/string') return 'just a string';

    if (pathname === '/no-content') return new Response(null, { status: 204 });
    if (pathname === '/no-content-headers') return new Response(null, { status: 204, headers: { 'x-kept': 'yes' } });
    if (pathname === '/status-text') return new Response('short and stout', { status: 418, statusText: "I'm a teapot (custom)" });
    if (pathname === '/status-text-ok') return new Response('fine', { status: 200, statusText: 'Everything Fine' });
    if (pathname === '/created') return new Response('made', { status: 201 });
    if (pathname === '/server-error') return new Response('script-made 500', { status: 500 });
    if (pathname === '/unavailable') return new Response('later', { status: 503, headers: { 'retry-after': '120' } });
    if (pathname === '/status-599') return new Response('odd', { status: 599 });

    if (pathname === '/caught') {
      return (async () => {
        const out = {};
        try { JSON.parse('{nope'); } catch (e) { out.json = e.name; }
        try { null.x; } catch (e) { out.nullProp = e.name; }
        try { undefinedFunctionCall(); } catch (e) { out.reference = e.name; }
        try { throw new AppError('custom message', 42); } catch (e) { out.app = { name: e.name, message: e.message, code: e.code, isError: e instanceof Error, stackIsString: typeof e.stack === 'string' }; }
        try { await later(1).then(() => { throw new RangeError('async range'); }); } catch (e) { out.asyncCaught = { name: e.name, message: e.message }; }
        out.badStatus = [
          tryName(() => new Response('x', { status: 99 })),
          tryName(() => new Response('x', { status: 600 })),
          tryName(() => new Response('x', { status: 204 })),
          tryName(() => new Response(null, { status: 200, statusText: 'bad\nline' })),
        ];
        const aggregate = await Promise.allSettled([Promise.reject(new Error('one')), Promise.resolve(2)]);
        out.allSettled = aggregate.map((r) => r.status);
        try { await Promise.any([Promise.reject(new Error('a')), Promise.reject(new Error('b'))]); } catch (e) { out.any = { name: e.name, count: e.errors.length }; }
        out.cause = new Error('outer', { cause: new Error('inner') }).cause.message;
        return Response.json(out, { status: 200 });
      })();
    }

    if (pathname === '/stray-rejection') {
      // Nobody awaits this rejection; the response is still a normal 200.
      Promise.reject(new Error('stray and unhandled'));
      return new Response('still fine');
    }

    return new Response('not found', { status: 404 });
  },
};
