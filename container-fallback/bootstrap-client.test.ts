// The hop's HTTP reading against a plain TCP server that answers byte by byte as each test says
// (the real bootstraps are driven by test/containers.test.ts).

import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BootstrapConnectionError, BootstrapTimeout } from '../core/errors.js';
import { BootstrapAnswerTooLarge, BootstrapClient, BootstrapNotConnected, MAX_HEAD_BYTES } from './bootstrap-client.js';
import { hangingListener } from '../test/support/hanging-listener.js';

/** The body bound of the clients here. */
const MAX = 200_000;

type Answer = (request: string, socket: net.Socket) => void;
const servers: net.Server[] = [];

/** A server that calls `answer` once per full request (head + Content-Length body). */
async function serve(answer: Answer): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const len = Number(/content-length: (\d+)/.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const req = buf.slice(0, end + 4 + len);
        buf = buf.slice(end + 4 + len);
        answer(req, socket);
      }
    });
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => connections };
}

const ok = (body: string, extra = '') =>
  `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Hearth-Outcome: ok\r\nX-Hearth-Log-Bytes: 2\r\n${extra}\r\n${body}`;

afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('BootstrapClient', () => {
  it('sends the head and body, reads status, outcome, log bytes and body, and keeps the connection', async () => {
    const seen: string[] = [];
    const s = await serve((req, sock) => { seen.push(req); sock.write(ok('[]{"a":1}')); });
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    for (let i = 0; i < 3; i++) {
      const a = await c.invoke(`x-hearth-request-id: r${i}\r\n`, Buffer.from('{"n":1}'), 1_000);
      expect([a.status, a.outcome, a.logBytes, a.body.toString()]).toEqual([200, 'ok', 2, '[]{"a":1}']);
    }
    expect(s.connections()).toBe(1);
    expect(seen[2]).toBe(`POST /invoke HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\nx-hearth-request-id: r2\r\ncontent-length: 7\r\n\r\n{"n":1}`);
    c.close();
  });

  it('reads an answer that arrives a byte at a time, and a body split across packets', async () => {
    const s = await serve((_req, sock) => {
      const bytes = Buffer.from(ok('[]' + 'x'.repeat(100_000)));
      let i = 0;
      const drip = () => { if (i < 200) { sock.write(bytes.subarray(i, i + 1)); i++; setImmediate(drip); } else sock.write(bytes.subarray(i)); };
      drip();
    });
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    const a = await c.invoke('', Buffer.alloc(0), 2_000);
    expect(a.body.length).toBe(100_002);
    c.close();
  });

  it('one connection per call in flight', async () => {
    const s = await serve((_req, sock) => setTimeout(() => sock.write(ok('[]1')), 30));
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    const all = await Promise.all([0, 1, 2].map(() => c.invoke('', Buffer.alloc(0), 1_000)));
    expect(all.map((a) => a.body.toString())).toEqual(['[]1', '[]1', '[]1']);
    expect(s.connections()).toBe(3);
    await c.invoke('', Buffer.alloc(0), 1_000);
    expect(s.connections()).toBe(3);
    c.close();
  });

  it('fails a call whose connection closes, and the next call opens a new one', async () => {
    let n = 0;
    const s = await serve((_req, sock) => { if (n++ === 0) sock.destroy(); else sock.write(ok('[]2')); });
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    await expect(c.invoke('', Buffer.alloc(0), 1_000)).rejects.toBeInstanceOf(BootstrapConnectionError);
    expect((await c.invoke('', Buffer.alloc(0), 1_000)).body.toString()).toBe('[]2');
    expect(s.connections()).toBe(2);
    c.close();
  });

  it('times out a call with no answer, and closes its connection', async () => {
    const s = await serve(() => undefined);
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    await expect(c.invoke('', Buffer.alloc(0), 50)).rejects.toBeInstanceOf(BootstrapTimeout);
    c.close();
  });

  it('refuses answers it cannot frame: no Content-Length, chunked, not HTTP, extra bytes', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nX-Hearth-Outcome: ok\r\n\r\nabc',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'SSH-2.0-OpenSSH\r\n\r\n',
      ok('[]1') + 'junk',
    ];
    for (const text of answers) {
      const s = await serve((_req, sock) => sock.write(text));
      const c = new BootstrapClient('127.0.0.1', s.port, MAX);
      await expect(c.invoke('', Buffer.alloc(0), 1_000)).rejects.toBeInstanceOf(BootstrapConnectionError);
      c.close();
    }
  });

  it('honours Connection: close (the next call reconnects), and a refused connection is an error', async () => {
    const s = await serve((_req, sock) => sock.end(ok('[]3', 'Connection: close\r\n')));
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    expect((await c.invoke('', Buffer.alloc(0), 1_000)).body.toString()).toBe('[]3');
    expect((await c.invoke('', Buffer.alloc(0), 1_000)).body.toString()).toBe('[]3');
    expect(s.connections()).toBe(2);
    c.close();
    const closed = await serve(() => undefined);
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 20));
    await expect(new BootstrapClient('127.0.0.1', closed.port, MAX).invoke('', Buffer.alloc(0), 1_000)).rejects.toBeInstanceOf(BootstrapConnectionError);
  });

  it('close() ends a connection still being made, as never connected (a container killed from outside drops the packets to its address); so does its connect bound', async () => {
    const { port, close } = await hangingListener();
    try {
      const c = new BootstrapClient('127.0.0.1', port, MAX);
      const call = c.invoke('', Buffer.alloc(0), 30_000);
      const settled = vi.fn();
      call.then(settled, settled);
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).not.toHaveBeenCalled();
      c.close();
      await expect(call).rejects.toBeInstanceOf(BootstrapNotConnected);
      // Unheard of: a connection not made within its bound is not made either, whatever the call's limit.
      // (Not BootstrapTimeout: the call's 30 s did not run out.)
      await expect(new BootstrapClient('127.0.0.1', port, MAX, 400).invoke('', Buffer.alloc(0), 30_000)).rejects.toBeInstanceOf(BootstrapNotConnected);
      // Within a call's own shorter limit, it is that call's timeout.
      await expect(new BootstrapClient('127.0.0.1', port, MAX, 400).invoke('', Buffer.alloc(0), 200)).rejects.toBeInstanceOf(BootstrapTimeout);
    } finally {
      close();
    }
  });

  it('refuses an answer over its bound as it arrives: a declared length over it before any body byte, a head over 64 KiB; the connection is closed', async () => {
    let wrote = 0;
    const s = await serve((_req, sock) => {
      // Declares 1 GiB and starts sending it: nothing of it may be buffered.
      sock.write('HTTP/1.1 200 OK\r\nX-Hearth-Outcome: ok\r\nContent-Length: 1073741824\r\n\r\n');
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => { while (!sock.destroyed && wrote < 64 * 1024 * 1024 && sock.write(chunk)) wrote += chunk.length; };
      sock.on('drain', pump);
      pump();
    });
    const c = new BootstrapClient('127.0.0.1', s.port, MAX);
    await expect(c.invoke('', Buffer.alloc(0), 5_000)).rejects.toBeInstanceOf(BootstrapAnswerTooLarge);
    const h = await serve((_req, sock) => sock.write(`HTTP/1.1 200 OK\r\nX-Big: ${'y'.repeat(MAX_HEAD_BYTES + 10)}\r\n\r\n`));
    const c2 = new BootstrapClient('127.0.0.1', h.port, MAX);
    await expect(c2.invoke('', Buffer.alloc(0), 5_000)).rejects.toBeInstanceOf(BootstrapAnswerTooLarge);
    // At the bound exactly, it is read.
    const e = await serve((_req, sock) => sock.write(ok('[]' + 'z'.repeat(MAX - 2))));
    const c3 = new BootstrapClient('127.0.0.1', e.port, MAX);
    expect((await c3.invoke('', Buffer.alloc(0), 5_000)).body.length).toBe(MAX);
    for (const x of [c, c2, c3]) x.close();
  });
});
