// Binary bodies: echo the request bytes (all 256 values must survive), generate bytes 0..255 × n,
// read the request body as a stream with getReader(), and answer with a ReadableStream of several
// enqueued chunks (pushed in start(), and pulled).

export default {
  async fetch(request) {
    const url = new URL(request.url);

    if (url.pathname === '/echo') {
      const bytes = await request.arrayBuffer();
      return new Response(bytes, { headers: { 'content-type': 'application/octet-stream', 'x-length': String(bytes.byteLength) } });
    }

    if (url.pathname === '/echo-stream') {
      // The request body stream passed straight through as the response body.
      return new Response(request.body, { headers: { 'content-type': 'application/octet-stream' } });
    }

    if (url.pathname === '/generate') {
      const n = Number(url.searchParams.get('n') ?? '1');
      const out = new Uint8Array(256 * n);
      for (let i = 0; i < out.length; i++) out[i] = i & 0xff;
      return new Response(out, { headers: { 'content-type': 'application/octet-stream' } });
    }

    if (url.pathname === '/read-stream') {
      if (request.body === null) return Response.json({ body: null });
      const reader = request.body.getReader();
      let length = 0;
      let chunks = 0;
      let sum = 0;
      let allUint8 = true;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks++;
        allUint8 &&= value instanceof Uint8Array;
        length += value.byteLength;
        for (const b of value) sum = (sum + b) % 65521;
      }
      let lockedRead;
      try { await request.text(); lockedRead = 'no error'; } catch (e) { lockedRead = e.name; }
      return Response.json({ length, someChunks: chunks > 0, allUint8, sum, bodyUsed: request.bodyUsed, lockedRead });
    }

    if (url.pathname === '/stream-out') {
      const enc = new TextEncoder();
      const parts = ['first,', 'second,', 'ünïcode ✓,', 'last'];
      const stream = new ReadableStream({
        start(controller) {
          for (const p of parts) controller.enqueue(enc.encode(p));
          controller.enqueue(new Uint8Array([0, 255, 10]));
          controller.close();
        },
      });
      return new Response(stream, { headers: { 'content-type': 'application/octet-stream', 'x-parts': String(parts.length + 1) } });
    }

    if (url.pathname === '/stream-pull') {
      // Chunks produced on demand, with a timer between them.
      let i = 0;
      const stream = new ReadableStream({
        async pull(controller) {
          if (i === 5) { controller.close(); return; }
          await new Promise((r) => setTimeout(r, 5));
          controller.enqueue(new Uint8Array(1000).fill(i++));
        },
      });
      return new Response(stream, { headers: { 'content-type': 'application/octet-stream' } });
    }

    if (url.pathname === '/stream-text') {
      // A text body through a TransformStream-free pipe: read a stream back into a string in-script.
      const body = new Response(new ReadableStream({
        start(c) { c.enqueue(new TextEncoder().encode('a✓')); c.enqueue(new TextEncoder().encode('b')); c.close(); },
      }));
      const text = await body.text();
      const ab = await new Response(new Uint8Array([1, 2, 3]).buffer).arrayBuffer();
      const view = await new Response(new Uint8Array([9, 8, 7, 6]).subarray(1, 3)).arrayBuffer();
      return Response.json({ text, ab: [...new Uint8Array(ab)], view: [...new Uint8Array(view)], bodyUsed: body.bodyUsed });
    }

    return new Response('not found', { status: 404 });
  },
};
