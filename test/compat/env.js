// env: the function's environment variables arrive as the fetch handler's second argument.

export default {
  async fetch(request, env, ctx) {
    return Response.json({
      greeting: env.GREETING,
      type: typeof env.GREETING,
      keys: Object.keys(env).sort(),
      missing: env.NOT_SET === undefined,
      ctxWaitUntil: typeof ctx.waitUntil,
    });
  },
};
