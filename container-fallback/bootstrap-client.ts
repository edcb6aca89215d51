// The warm path's hop to a runtime bootstrap (python3, java17): POST /invoke over kept-alive TCP
// connections of one container, written and read here instead of through node:http.
//
// Why not node:http or undici: the bootstraps are ours, and always answer with a Content-Length,
// so a call needs one write and a scan for the end of the head. Measured on this machine against
// the same warm python container, interleaved, 500 calls each: node:http's request 0.42–0.45 ms
// p50, this 0.27–0.29 ms. The container's warm overhead target (ARCHITECTURE.md: ≤ 0.5 ms over calling
// its server directly) is mostly this hop. Custom images (any server) and /init still go through
// undici.

import net from 'node:net';
import { BootstrapConnectionError, BootstrapTimeout } from '../core/errors.js';

export interface BootstrapAnswer {
  status: number;
  /** X-Hearth-Outcome ('' when absent). */
  outcome: string;
  /** X-Hearth-Log-Bytes: how much of the body is the call's log lines. */
  logBytes: number;
  body: Buffer;
}


const HEAD_END = Buffer.from('\r\n\r\n');

/** The most an answer's head may be: past it the connection is dropped as over its bound. */
export const MAX_HEAD_BYTES = 64 * 1024;

/**
 * The bootstrap's answer is over its bound (its head over MAX_HEAD_BYTES, or a Content-Length over
 * the body's bound: refused before a byte of the body is taken). The connection is closed; what
 * wrote it (the function, on its bootstrap's socket) cannot be trusted with the container.
 */
export class BootstrapAnswerTooLarge extends Error {}

/**
 * No connection to the bootstrap could be made (refused, unreachable: its container died). Not a
 * byte of the call was written, so its function never saw it: the call may go to another container.
 */
export class BootstrapNotConnected extends BootstrapConnectionError {}

class Connection {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Where the head ends in the buffered bytes, once known; then the body's length. */
  private headLength = -1;
  private bodyLength = 0;
  private status = 0;
  private outcome = '';
  private logBytes = 0;
  private closeAfter = false;
  private waiting: { resolve: (a: BootstrapAnswer) => void; reject: (e: Error) => void } | null = null;
  private timer: NodeJS.Timeout | undefined;
  dead = false;

  constructor(readonly socket: net.Socket, private readonly maxBodyBytes: number, private readonly onIdle: (c: Connection) => void, private readonly onDead: (c: Connection) => void) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.data(d));
    socket.on('error', (e) => this.die(e.message));
    socket.on('close', () => this.die('the connection closed'));
  }

  /** Whether it can take a call: open both ways, the bootstrap has not ended it. */
  usable(): boolean {
    const s = this.socket;
    return !this.dead && !s.destroyed && s.writable && !s.readableEnded;
  }

  send(head: string, body: Uint8Array, timeoutMs: number): Promise<BootstrapAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.timer = setTimeout(() => this.die('timeout'), timeoutMs);
      const s = this.socket;
      s.cork();
      s.write(head, 'latin1');
      if (body.byteLength > 0) s.write(body);
      s.uncork();
    });
  }

  private data(d: Buffer): void {
    if (this.waiting === null) {
      this.die('the bootstrap sent bytes nobody asked for');
      return;
    }
    this.chunks.push(d);
    this.size += d.length;
    if (this.headLength < 0) {
      const all = this.chunks.length === 1 ? this.chunks[0]! : this.joined();
      const end = all.indexOf(HEAD_END);
      if (end < 0) {
        if (this.size > MAX_HEAD_BYTES) this.die(`the answer's head is over ${MAX_HEAD_BYTES} bytes`, BootstrapAnswerTooLarge);
        return;
      }
      if (end > MAX_HEAD_BYTES) {
        this.die(`the answer's head is over ${MAX_HEAD_BYTES} bytes`, BootstrapAnswerTooLarge);
        return;
      }
      if (!this.parseHead(all.toString('latin1', 0, end))) return;
      this.headLength = end + 4;
    }
    if (this.size < this.headLength + this.bodyLength) return;
    const all = this.chunks.length === 1 ? this.chunks[0]! : this.joined();
    if (this.size > this.headLength + this.bodyLength) {
      this.die('the bootstrap sent more bytes than its Content-Length');
      return;
    }
    const answer: BootstrapAnswer = { status: this.status, outcome: this.outcome, logBytes: this.logBytes, body: all.subarray(this.headLength) };
    const w = this.waiting;
    this.waiting = null;
    clearTimeout(this.timer);
    this.chunks = [];
    this.size = 0;
    this.headLength = -1;
    if (this.closeAfter) this.die('the bootstrap closed the connection');
    else this.onIdle(this);
    w.resolve(answer);
  }

  private joined(): Buffer {
    const b = Buffer.concat(this.chunks, this.size);
    this.chunks = [b];
    return b;
  }

  /** Status line and the four headers the hop reads. False (and the connection dead) if unreadable. */
  private parseHead(head: string): boolean {
    // "HTTP/1.1 200 OK"
    const status = head.startsWith('HTTP/1.') ? Number(head.slice(9, 12)) : NaN;
    if (!(status >= 100 && status <= 599)) {
      this.die(`the bootstrap's answer is not HTTP: ${JSON.stringify(head.slice(0, 60))}`);
      return false;
    }
    this.status = status;
    this.outcome = '';
    this.logBytes = 0;
    this.closeAfter = false;
    let length = -1;
    let at = head.indexOf('\r\n') + 2;
    while (at > 1 && at < head.length) {
      let eol = head.indexOf('\r\n', at);
      if (eol < 0) eol = head.length;
      const colon = head.indexOf(':', at);
      if (colon > at && colon < eol) {
        const name = head.slice(at, colon).toLowerCase();
        const value = head.slice(colon + 1, eol).trim();
        if (name === 'content-length') length = Number(value);
        else if (name === 'x-hearth-outcome') this.outcome = value;
        else if (name === 'x-hearth-log-bytes') this.logBytes = Number(value) || 0;
        else if (name === 'connection') this.closeAfter = value.toLowerCase() === 'close';
        else if (name === 'transfer-encoding') length = -2;
      }
      at = eol + 2;
    }
    if (!(length >= 0) || !Number.isSafeInteger(length)) {
      this.die('the bootstrap\'s answer has no Content-Length');
      return false;
    }
    // Bounded as declared, so the bytes buffered for it never pass the bound (they are checked
    // against the declared length as they arrive).
    if (length > this.maxBodyBytes) {
      this.die(`the answer declares ${length} bytes, over its bound of ${this.maxBodyBytes}`, BootstrapAnswerTooLarge);
      return false;
    }
    this.bodyLength = length;
    return true;
  }

  die(why: string, kind: new (m: string) => Error = BootstrapConnectionError): void {
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.timer);
    this.socket.destroy();
    this.onDead(this);
    const w = this.waiting;
    this.waiting = null;
    w?.reject(why === 'timeout' ? new BootstrapTimeout(why) : new kind(why));
  }
}

/** Kept-alive connections to one container's bootstrap; one per call in flight. */
export class BootstrapClient {
  private readonly idle: Connection[] = [];
  private readonly all = new Set<Connection>();
  /** Connections still being made: close() ends them too (nothing was written on them). */
  private readonly connecting = new Set<net.Socket>();
  /** The part of the request head that is the same for every call. */
  private readonly prefix: string;

  /** `maxBodyBytes`: the largest answer body taken (the call's log lines and its result). */
  /**
   * `connectTimeoutMs`: a connection to a bootstrap on the host's own bridge is made in well under
   * a millisecond, in the kernel, whatever the container's process is doing; one not made in this
   * long never will be (the container is gone and its address drops the packets), so the call may
   * go to another container.
   */
  constructor(private readonly host: string, private readonly port: number, private readonly maxBodyBytes: number, private readonly connectTimeoutMs = 2_000) {
    this.prefix = `POST /invoke HTTP/1.1\r\nhost: ${host}:${port}\r\n`;
  }

  /**
   * POST /invoke. `headers` is the rest of the head, each line ending in \r\n (no Content-Length:
   * it is added here). Rejects with BootstrapTimeout after timeoutMs (the time to connect is not
   * counted), BootstrapConnectionError if the connection fails, BootstrapAnswerTooLarge when the
   * answer's head or declared body is over its bound.
   */
  async invoke(headers: string, body: Uint8Array, timeoutMs: number): Promise<BootstrapAnswer> {
    let c = this.idle.pop();
    // One the container closed while it sat idle (its 'close' may not have been handled yet) is
    // not written to: a new connection says for sure whether the bootstrap is still there.
    while (c !== undefined && !c.usable()) {
      c.die('the bootstrap closed the connection while it was idle');
      c = this.idle.pop();
    }
    c ??= await this.connect(timeoutMs);
    return c.send(`${this.prefix}${headers}content-length: ${body.byteLength}\r\n\r\n`, body, timeoutMs);
  }

  private connect(timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, this.host);
      this.connecting.add(socket);
      const bounded = this.connectTimeoutMs < timeoutMs;
      const timer = setTimeout(() => {
        this.connecting.delete(socket);
        socket.destroy();
        // The call's own time limit ran out first: it timed out. Else the connection will not be made.
        reject(bounded ? new BootstrapNotConnected(`no connection in ${this.connectTimeoutMs} ms`) : new BootstrapTimeout(`no connection in ${timeoutMs} ms`));
      }, bounded ? this.connectTimeoutMs : timeoutMs);
      const fail = (e: Error) => {
        clearTimeout(timer);
        this.connecting.delete(socket);
        // Before 'connect' nothing was written.
        reject(new BootstrapNotConnected(e.message));
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        clearTimeout(timer);
        this.connecting.delete(socket);
        socket.off('error', fail);
        const c = new Connection(socket, this.maxBodyBytes, (x) => this.idle.push(x), (x) => this.forget(x));
        this.all.add(c);
        resolve(c);
      });
    });
  }

  private forget(c: Connection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }

  close(): void {
    for (const c of [...this.all]) c.die('the container is gone');
    // A container killed from outside drops packets to its address: a connection being made to it
    // would wait out the call's whole time limit. Hearth heard of the death (or is removing it):
    // the connection was never made, so the call may go to another container.
    for (const socket of [...this.connecting]) socket.destroy(new Error('the container is gone'));
  }
}
