// ctx.waitUntil: work that outlives the response. /start answers at once (done: false) while a
// 100 ms timer finishes in the background; a later /status sees done: true. /start-slow's
// background work takes 1.5 s, so a client can tell that the response did not wait for it.

const state = { done: false, slowDone: false, startedType: null };

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    if (pathname === '/start') {
      state.startedType = typeof ctx.waitUntil;
      ctx.waitUntil(new Promise((r) => setTimeout(() => { state.done = true; r(); }, 100)));
      return Response.json({ done: state.done });
    }
    if (pathname === '/start-slow') {
      ctx.waitUntil(new Promise((r) => setTimeout(() => { state.slowDone = true; r(); }, 1500)));
      return Response.json({ slowDone: state.slowDone });
    }
    if (pathname === '/status') return Response.json({ done: state.done, waitUntilType: state.startedType });
    if (pathname === '/slow-status') return Response.json({ slowDone: state.slowDone });
    return new Response('not found', { status: 404 });
  },
};
