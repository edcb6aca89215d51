// POST /v1/events/{name}[?qualifier=]: CloudEvents 1.0 in (binary, structured and batched content
// modes: core/events/cloudevents.ts), each event stored in the durable async queue, as an Event
// invocation is (the same retries, dead letters, destinations and records), and answered once
// every event of the request is stored:
//
//   202 {requestId}                                      one event, queued
//   200 {requestId, duplicate: true}                     one event whose source and id were seen
//                                                        within the idempotency window (nothing runs)
//   202 {events: [{id, source, requestId, duplicate}]}   a batch
//
// Errors follow the CloudEvents / Knative delivery contract: 400 for an event that is not valid
// (it names what is wrong; senders do not retry it), 404 an unknown function, 413 too large, 429
// the queue full, 5xx otherwise (senders retry 404, 409, 429 and 5xx). Authorization is the invoke
// routes' (a Bearer invoke token when one is set). The function receives the event in structured
// form, as JSON.

import { createHash, randomUUID } from 'node:crypto';
import type { HttpRequest } from 'uWebSockets.js';
import { Encoding } from '../../runtime/protocol.js';
import { eventBodyLimit, type NewEvent } from '../async/invoker.js';
import type { EnqueueResult } from '../async/queue.js';
import type { FunctionVersion } from '../backend.js';
import type { Config } from '../config.js';
import { HearthError } from '../errors.js';
import { CE_BATCH_CONTENT_TYPE, CE_CONTENT_TYPE, contentModeOf, fromBatch, fromBinary, fromStructured, type ContentMode, type StructuredEvent } from '../events/cloudevents.js';
import type { EventOutcome } from '../metrics.js';
import { finish, type Exchange } from './exchange.js';
import type { Gate } from './gate.js';
import { Enqueue, type CallProtocol, type ErrorContext, type Plan, type Received, type Target } from './pipeline.js';
import { statusLine, v1Error, writeInvocationHeaders } from './render-v1.js';

/** The event source's name in metrics and records. */
const SOURCE = 'cloudevents';

interface EventsRequest extends Received, Target {
  readonly contentType: string;
  readonly authorization: string;
  /** `ce-*` headers by attribute name (prefix removed), values as received. */
  readonly ce: Map<string, string>;
  readonly mode: ContentMode | null;
  /** The events' ids and sources, once its body was read (the batch's answer; the refused count). */
  sent: { id: string; source: string }[];
}

export interface EventCounter {
  eventsReceived(source: string, outcome: EventOutcome, n?: number): void;
}

export class CloudEventsRoute implements CallProtocol<EventsRequest> {
  readonly bodyFirst = false;

  constructor(
    private readonly config: Pick<Config, 'maxBodyBytes' | 'asyncMaxBodyBytes'>,
    private readonly gate: Gate,
    private readonly counter: EventCounter | null,
  ) {}

  receive(req: HttpRequest, _res: unknown, requestId: string): EventsRequest {
    const ce = new Map<string, string>();
    req.forEach((key, value) => {
      if (key.length > 3 && key.startsWith('ce-')) ce.set(key.slice(3), value);
    });
    const contentType = req.getHeader('content-type');
    return {
      requestId,
      name: req.getParameter(0)!,
      qualifier: req.getQuery('qualifier') ?? '',
      contentLength: req.getHeader('content-length'),
      contentType,
      authorization: this.gate.invokeTokenSet ? req.getHeader('authorization') : '',
      ce,
      mode: contentModeOf(contentType, ce.size > 0),
      sent: [],
    };
  }

  authorize(r: EventsRequest, gate: Gate): HearthError | null {
    return gate.mayInvoke(r.authorization) ? null : new HearthError('Unauthorized', 'event calls need "Authorization: Bearer <HEARTH_INVOKE_TOKEN>"');
  }

  check(r: EventsRequest): HearthError | null {
    if (r.mode === null) {
      return new HearthError('InvalidRequestContent',
        `not a CloudEvent: send it in binary mode (ce-specversion, ce-id, ce-source and ce-type headers), or as ${CE_CONTENT_TYPE} or ${CE_BATCH_CONTENT_TYPE}`);
    }
    return null;
  }

  target(r: EventsRequest): Target {
    return r;
  }

  /** One event fits an Event invocation's payload; a batch may carry up to --max-body-bytes. */
  bodyLimit(r: EventsRequest): number {
    return r.mode === 'batched' ? this.config.maxBodyBytes : eventBodyLimit(this.config);
  }

  plan(r: EventsRequest, fn: FunctionVersion, body: ArrayBuffer): Plan {
    const bytes = new Uint8Array(body);
    const events = r.mode === 'batched' ? fromBatch(bytes) : [r.mode === 'structured' ? fromStructured(bytes) : fromBinary(r.ce, r.contentType, bytes)];
    r.sent = events.map((e) => ({ id: e.id, source: e.source }));
    const limit = eventBodyLimit(this.config);
    return new Enqueue(events.map((e, i) => this.queued(e, i === 0 ? r.requestId : randomUUID(), fn, r.qualifier, limit, events.length > 1 ? `event ${i} of the batch` : 'the event')));
  }

  private queued(e: StructuredEvent, requestId: string, fn: FunctionVersion, qualifier: string, limit: number, what: string): NewEvent {
    const json = Buffer.from(JSON.stringify(e));
    if (json.byteLength > limit) {
      throw new HearthError('RequestTooLarge', `${what} is ${json.byteLength} bytes in structured form, over the ${limit} bytes an Event payload may be (--async-max-body-bytes)`);
    }
    // The event's source and id name it: a repeat within the idempotency window is not run again.
    const key = createHash('sha256').update(e.source).update('\n').update(e.id).digest('hex');
    return {
      fn, qualifier, body: json.buffer.slice(json.byteOffset, json.byteOffset + json.byteLength) as ArrayBuffer, enc: Encoding.json,
      source: SOURCE, requestId, idempotencyKey: `ce:${key}`, sameAs: key,
    };
  }

  renderQueued(ex: Exchange, r: EventsRequest, _fn: FunctionVersion, qs: readonly EnqueueResult[]): void {
    const duplicates = qs.reduce((n, q) => n + (q.duplicate ? 1 : 0), 0);
    if (duplicates > 0) this.counter?.eventsReceived(SOURCE, 'duplicate', duplicates);
    if (duplicates < qs.length) this.counter?.eventsReceived(SOURCE, 'queued', qs.length - duplicates);
    let status = 202;
    let body: string;
    if (r.mode === 'batched') {
      body = JSON.stringify({ events: qs.map((q, i) => ({ ...r.sent[i], requestId: q.id, duplicate: q.duplicate })) });
    } else {
      const q = qs[0]!;
      if (q.duplicate) status = 200;
      body = JSON.stringify(q.duplicate ? { requestId: q.id, duplicate: true } : { requestId: q.id });
    }
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(status));
      ex.res.writeHeader('Content-Type', 'application/json');
      if (r.mode !== 'batched') writeInvocationHeaders(ex.res, qs[0]!.id, false, 0, 0, 0);
      ex.res.end(body, ex.server.draining);
    });
    finish(ex);
  }

  renderOutcome(): void {
    throw new Error('events are queued, never run while the sender waits');
  }

  renderChecked(): void {
    throw new Error('the events route has no dry run');
  }

  renderError(ex: Exchange, r: EventsRequest, err: HearthError, at: ErrorContext): void {
    this.counter?.eventsReceived(SOURCE, 'refused', Math.max(1, r.sent.length));
    v1Error(ex, err, { requestId: r.requestId, close: at.close || err.status === 413 });
  }
}
