// The HTTP front end (uWebSockets.js): the app, its listen socket, the requests in flight and the
// drain on SIGTERM. What a route does is in its protocol (v1-invoke.ts, web.ts, lambda.ts, run
// through pipeline.ts) or in management.ts; routes.ts mounts them all.

import uWS from 'uWebSockets.js';
import type { HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { log } from '../log.js';
import { BodyIntake, type BodyIntakeSettings } from './body-intake.js';
import { exchange, type Exchange } from './exchange.js';
import type { HttpCounters } from './http-counters.js';

/**
 * Draining: how long no request may arrive, after the last one was answered, before the server
 * counts as quiet. A gateway under load sends on each connection it kept within a few ms; one that
 * sends nothing for this long is unlikely to send on it in the instant of the exit.
 */
const QUIET_MS = 250;

export class FrontEnd {
  readonly app: TemplatedApp;
  private listenSocket: us_listen_socket | null = null;
  /** Requests being served (for drain). */
  inFlight = 0;
  private drainWaiters: (() => void)[] = [];
  /** Set by drain(): every response from then on closes its connection (see ConnectionOwner). */
  draining = false;
  /** Requests that arrived after drain() began (on connections clients had kept open). */
  private arrivedWhileDraining = 0;

  /** Request bodies in flight: their memory under one cap, and their deadline. */
  readonly intake: BodyIntake;

  constructor(settings: BodyIntakeSettings, readonly counters: HttpCounters) {
    this.app = uWS.App();
    this.intake = new BodyIntake(settings, counters);
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(host, port, (sock) => {
        if (!sock) return reject(new Error(`could not listen on ${host}:${port} (in use, or not an address of this machine)`));
        this.listenSocket = sock;
        resolve(uWS.us_socket_local_port(sock));
      });
    });
  }

  /**
   * Stops taking connections (after `delayMs`, while readiness answers 503 and responses close
   * their connections) and resolves once the server is quiet, or `deadlineMs` after that.
   *
   * From the first moment every response closes its connection (`Connection: close`): a client
   * that kept a connection alive (a gateway's upstream pool) may still send a request on it, which
   * is served, and its next request needs a new connection, which is refused, so it goes to
   * another replica. Quiet means no request in flight and none arriving for QUIET_MS: a request
   * that arrived on a kept-alive connection after the last one was answered would otherwise be
   * cut by the exit, and for a gateway a request it already sent cannot be retried elsewhere.
   */
  async drain(deadlineMs: number, delayMs = 0): Promise<void> {
    this.draining = true;
    // The delay: still listening (see Config.drainDelayMs); readiness is already 503.
    if (delayMs > 0) await new Promise<void>((r) => setTimeout(r, delayMs));
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    const started = performance.now();
    const left = () => started + deadlineMs - performance.now();
    const inFlightAtStart = this.inFlight;
    for (;;) {
      if (this.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((r) => this.drainWaiters.push(r)),
          new Promise<void>((r) => { timer = setTimeout(r, Math.max(0, left())); }),
        ]);
        clearTimeout(timer);
      }
      if (this.inFlight === 0) {
        const arrived = this.arrivedWhileDraining;
        await new Promise<void>((r) => setTimeout(r, Math.max(0, Math.min(QUIET_MS, left()))));
        if (this.inFlight === 0 && this.arrivedWhileDraining === arrived) break;
      }
      if (left() <= 0) break;
    }
    const facts = { inFlightAtStart, arrivedWhileDraining: this.arrivedWhileDraining, ms: Math.round(performance.now() - started) };
    if (this.inFlight > 0) log.warn({ ...facts, cut: this.inFlight }, 'drain deadline reached with requests in flight');
    else log.info(facts, 'drained: no request in flight');
  }

  close(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  /** Tracks a request for drain; returns its exchange. */
  track(res: HttpResponse): Exchange {
    const ex = exchange(res, this, this.intake);
    this.inFlight++;
    if (this.draining) this.arrivedWhileDraining++;
    ex.onDone = this.onDone;
    return ex;
  }

  private readonly onDone = (): void => {
    if (--this.inFlight === 0 && this.drainWaiters.length > 0) {
      for (const w of this.drainWaiters.splice(0)) w();
    }
  };
}
