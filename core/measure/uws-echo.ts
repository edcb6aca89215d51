// Baseline: bare uWebSockets.js answering POST / with {"hello": <name>} from the JSON body. What
// `hearth bench` measures its own load generator against (overhead.ts, in a child process) and
// the project's benchmark suite's floor (bench/http.ts).
// Run directly: node dist/core/measure/uws-echo.js [port]  -> prints "LISTENING <port>" on stdout.

import { pathToFileURL } from 'node:url';
import uWS from 'uWebSockets.js';

export interface UwsEcho {
  port: number;
  close(): void;
}

const JSON_TYPE = 'application/json';

export function startUwsEcho(port: number): Promise<UwsEcho> {
  return new Promise((resolve, reject) => {
    const app = uWS.App();

    app.post('/', (res) => {
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const chunks: Buffer[] = [];
      res.onData((chunk, isLast) => {
        // The chunk's memory is only valid during this callback: copy it (Buffer.from(Uint8Array) copies).
        if (chunk.byteLength > 0) chunks.push(Buffer.from(new Uint8Array(chunk)));
        if (!isLast || aborted) return;
        let status = '200 OK';
        let out: string;
        try {
          const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name?: unknown } | null;
          out = JSON.stringify({ hello: event?.name ?? null });
        } catch {
          status = '400 Bad Request';
          out = '{"error":"invalid JSON"}';
        }
        res.cork(() => {
          res.writeStatus(status).writeHeader('content-type', JSON_TYPE).end(out);
        });
      });
    });

    app.any('/*', (res) => {
      res.cork(() => {
        res.writeStatus('404 Not Found').writeHeader('content-type', JSON_TYPE).end('{"error":"not found"}');
      });
    });

    // Loopback only: it is a measuring stick, never a service (the console's Measure starts one on a server).
    app.listen('127.0.0.1', port, (listenSocket) => {
      if (!listenSocket) {
        reject(new Error(`uws-echo: could not listen on port ${port}`));
        return;
      }
      const realPort = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
      let closed = false;
      resolve({
        port: realPort,
        close() {
          if (closed) return;
          closed = true;
          uWS.us_listen_socket_close(listenSocket);
        },
      });
    });
  });
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  const port = Number(process.argv[2] ?? 0);
  const server = await startUwsEcho(Number.isFinite(port) ? port : 0);
  process.stdout.write(`LISTENING ${server.port}\n`);
  const stop = (): void => {
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // --exit-with-stdin: the parent holds our stdin; when it is gone (it exited, or was killed, or
  // the worker thread that started us was terminated without its clean-up) the pipe ends, and so do we.
  if (process.argv.includes('--exit-with-stdin')) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}
