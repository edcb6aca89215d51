// POST /v1/events/{name}[?qualifier=]: events in, each stored in the durable async queue as an
// Event invocation is (the same retries, dead letters, destinations and records), and answered
// once every event of the request is stored:
//
// - CloudEvents 1.0 (binary, structured and batched content modes: core/events/cloudevents.ts);
//   the function receives the structured form; deduplicated by source + id.
//     202 {requestId}                                      one event, queued
//     200 {requestId, duplicate: true}                     one event whose source and id were seen
//                                                          within the idempotency window (nothing runs)
//     202 {events: [{id, source, requestId, duplicate}]}   a batch
// - S3 event notifications (a JSON body with `Records`, as AWS S3, Ceph's radosgw and MinIO push
//   them: core/events/s3.ts); each record one event, the function receives `{Records: [record]}`;
//   deduplicated by bucket + key + sequencer.
//     202 {events: [{bucket, key, requestId, duplicate}]}
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
import { CE_BATCH_CONTENT_TYPE, CE_CONTENT_TYPE, contentModeOf, fromBatch, fromBinary, fromStructured, parseJson, type ContentMode } from '../events/cloudevents.js';
import { isS3Notification, s3Events } from '../events/s3.js';
import type { EventCounter } from '../metrics.js';
import { finish, type Exchange } from './exchange.js';
import type { Gate } from './gate.js';
import { Enqueue, type CallProtocol, type ErrorContext, type Plan, type Received, type Target } from './pipeline.js';
import { statusLine, v1Error, writeInvocationHeaders } from './render-v1.js';

/** The event sources' names in metrics and records. */
type Source = 'cloudevents' | 's3';

/** One event of a request, ready for the queue, and what its answer says of it. */
interface Incoming {
  readonly body: unknown;
  /** The source's own id of the event (null: the source gave none; not deduplicated). */
  readonly dedup: string | null;
  readonly named: Record<string, string>;
}

interface EventsRequest extends Received, Target {
  readonly contentType: string;
  readonly authorization: string;
  /** `ce-*` headers by attribute name (prefix removed), values as received. */
  readonly ce: Map<string, string>;
  readonly mode: ContentMode | null;
  /** What each event is, once the body was read (the answer names them; the refused count). */
  sent: Record<string, string>[];
}

/** A JSON body without CloudEvents headers is an S3 notification's; everything else a CloudEvent. */
function sourceOf(r: EventsRequest): Source {
  return r.mode === 'notification' ? 's3' : 'cloudevents';
}

const NEITHER = 'neither a CloudEvent nor an S3 event notification';

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
        `${NEITHER}: send a CloudEvent in binary mode (ce-specversion, ce-id, ce-source and ce-type headers), or as ${CE_CONTENT_TYPE} or ${CE_BATCH_CONTENT_TYPE}; an S3 event notification as application/json`);
    }
    return null;
  }

  target(r: EventsRequest): Target {
    return r;
  }

  /** One event fits an Event invocation's payload; a batch, or a notification's records, up to --max-body-bytes. */
  bodyLimit(r: EventsRequest): number {
    return r.mode === 'batched' || r.mode === 'notification' ? this.config.maxBodyBytes : eventBodyLimit(this.config);
  }

  plan(r: EventsRequest, fn: FunctionVersion, body: ArrayBuffer): Plan {
    const events = this.incoming(r, new Uint8Array(body));
    r.sent = events.map((e) => e.named);
    const limit = eventBodyLimit(this.config);
    const what = (i: number) => (events.length > 1 ? `event ${i} of the request` : 'the event');
    return new Enqueue(events.map((e, i) => this.queued(sourceOf(r), e, i === 0 ? r.requestId : randomUUID(), fn, r.qualifier, limit, what(i))));
  }

  /** The request's events: a CloudEvent or a batch of them, or an S3 notification's records. */
  private incoming(r: EventsRequest, bytes: Uint8Array): Incoming[] {
    if (r.mode === 'notification') {
      const parsed = bytes.byteLength === 0 ? null : parseJson(bytes, 'the body');
      if (!isS3Notification(parsed)) throw new HearthError('InvalidRequestContent', `${NEITHER}: a JSON body must be an S3 event notification (Records)`);
      return s3Events(parsed).map((e) => ({
        body: { Records: [e.record] },
        dedup: e.sequencer === '' ? null : `${e.bucket}\n${e.key}\n${e.sequencer}`,
        named: { bucket: e.bucket, key: e.key },
      }));
    }
    const events = r.mode === 'batched' ? fromBatch(bytes) : [r.mode === 'structured' ? fromStructured(bytes) : fromBinary(r.ce, r.contentType, bytes)];
    return events.map((e) => ({ body: e, dedup: `${e.source}\n${e.id}`, named: { id: e.id, source: e.source } }));
  }

  private queued(source: Source, e: Incoming, requestId: string, fn: FunctionVersion, qualifier: string, limit: number, what: string): NewEvent {
    let json: Buffer;
    try {
      json = Buffer.from(JSON.stringify(e.body));
    } catch (err) {
      // JSON.parse reads any depth; writing it again recurses, and a hostile body nests past the stack.
      if (err instanceof RangeError) throw new HearthError('InvalidRequestContent', `${what} nests too deeply to be passed on as JSON`);
      throw err;
    }
    if (json.byteLength > limit) {
      throw new HearthError('RequestTooLarge', `${what} is ${json.byteLength} bytes as the function would receive it, over the ${limit} bytes an Event payload may be (--async-max-body-bytes)`);
    }
    // The source's own id names the event: a repeat within the idempotency window is not run again.
    const key = e.dedup === null ? null : createHash('sha256').update(e.dedup).digest('hex');
    return {
      fn, qualifier, body: json.buffer.slice(json.byteOffset, json.byteOffset + json.byteLength) as ArrayBuffer, enc: Encoding.json,
      source, requestId, ...(key === null ? {} : { idempotencyKey: `${source === 's3' ? 's3' : 'ce'}:${key}`, sameAs: key }),
    };
  }

  renderQueued(ex: Exchange, r: EventsRequest, _fn: FunctionVersion, qs: readonly EnqueueResult[]): void {
    const duplicates = qs.reduce((n, q) => n + (q.duplicate ? 1 : 0), 0);
    if (duplicates > 0) this.counter?.eventsReceived(sourceOf(r), 'duplicate', duplicates);
    if (duplicates < qs.length) this.counter?.eventsReceived(sourceOf(r), 'queued', qs.length - duplicates);
    const many = r.mode === 'batched' || r.mode === 'notification';
    let status = 202;
    let body: string;
    if (many) {
      body = JSON.stringify({ events: qs.map((q, i) => ({ ...r.sent[i], requestId: q.id, duplicate: q.duplicate })) });
    } else {
      const q = qs[0]!;
      if (q.duplicate) status = 200;
      body = JSON.stringify(q.duplicate ? { requestId: q.id, duplicate: true } : { requestId: q.id });
    }
    ex.res.cork(() => {
      ex.res.writeStatus(statusLine(status));
      ex.res.writeHeader('Content-Type', 'application/json');
      if (!many) writeInvocationHeaders(ex.res, qs[0]!.id, false, 0, 0, 0);
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
    this.counter?.eventsReceived(sourceOf(r), 'refused', Math.max(1, r.sent.length));
    v1Error(ex, err, { requestId: r.requestId, close: at.close || err.status === 413 });
  }
}
