// A Cloudflare Workers module: GET /v1/web/hello-web/{name} answers with a greeting.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = decodeURIComponent(url.pathname.slice(1)) || 'world';
    return Response.json({ message: `${env.GREETING}, ${name}!`, method: request.method });
  },
};
