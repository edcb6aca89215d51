// Peer: a plain node:http server with the hello logic (POST any path: decode {name} from the JSON
// body, answer {"hello": name}), the way a Node service without a framework would do it.
// Run directly: node dist/bench/node-hello.js [port]  -> prints "LISTENING <port>" on stdout.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export function startNodeHello(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      let out: string;
      try {
        const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: unknown } | null;
        out = JSON.stringify({ hello: event?.name ?? null });
      } catch {
        status = 400;
        out = '{"error":"invalid JSON"}';
      }
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) }).end(out);
    });
  });
  // wrk keeps its connections for the whole run; node's default 5 s idle timeout is only hit between rounds.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const port = Number(process.argv[2] ?? 0);
  const server = await startNodeHello(Number.isFinite(port) ? port : 0);
  process.stdout.write(`LISTENING ${(server.address() as AddressInfo).port}\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
