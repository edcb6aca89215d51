// A local HTTP server that functions (through egress.allow) and URL destinations post to: it keeps
// every request, and can hold answers until the test releases them (to keep an event running).

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export interface SinkRequest { path: string; headers: IncomingMessage['headers']; body: string; json: unknown }

export interface Sink {
  port: number;
  url: string;
  requests: SinkRequest[];
  /** Requests to these paths wait until release(path). */
  hold(path: string): void;
  release(path: string): void;
  /** Status answered for a path (default 200). */
  answer(path: string, status: number): void;
  /** Resolves once `n` requests matched `pred` (rejects after `ms`). */
  until(pred: (r: SinkRequest) => boolean, n?: number, ms?: number): Promise<SinkRequest[]>;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const requests: SinkRequest[] = [];
  const held = new Map<string, (() => void)[] | null>();
  const statuses = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try { json = JSON.parse(body); } catch { /* not JSON */ }
      const path = (req.url ?? '/').split('?')[0]!;
      requests.push({ path, headers: req.headers, body, json });
      const reply = () => { res.writeHead(statuses.get(path) ?? 200, { 'content-type': 'application/json' }); res.end('{"ok":true}'); };
      const waiting = held.get(path);
      if (waiting) waiting.push(reply);
      else reply();
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const release = (path: string) => { const w = held.get(path); held.delete(path); for (const f of w ?? []) f(); };
  return {
    port, url: `http://127.0.0.1:${port}`, requests,
    hold(path) { if (!held.get(path)) held.set(path, []); },
    release,
    answer(path, status) { statuses.set(path, status); },
    async until(pred, n = 1, ms = 30_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const got = requests.filter(pred);
        if (got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`sink: ${got.length} of ${n} expected requests came within ${ms} ms (${requests.length} in all: ${[...new Set(requests.map((r) => r.path))].join(', ')})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close() {
      for (const k of [...held.keys()]) release(k);
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * Runs reported to the sink at `path` (default /run; `{…, replica}` bodies), by key: which replicas
 * ran each, in order. Those requests are not kept in `requests` (thousands of them). Several
 * recorders, each on its own path, may watch one sink.
 */
export function recordRuns<K>(sink: Sink, keyOf: (body: Record<string, unknown>) => K, path = '/run'): { ranOn: Map<K, string[]>; runs: () => number } {
  const ranOn = new Map<K, string[]>();
  const push = sink.requests.push.bind(sink.requests);
  sink.requests.push = (...items) => {
    for (const r of items) {
      if (r.path !== path) continue;
      const body = r.json as Record<string, unknown>;
      const key = keyOf(body);
      ranOn.set(key, [...(ranOn.get(key) ?? []), String(body.replica)]);
    }
    return push(...items.filter((r) => r.path !== path));
  };
  return { ranOn, runs: () => [...ranOn.values()].reduce((n, l) => n + l.length, 0) };
}
