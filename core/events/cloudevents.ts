// CloudEvents 1.0 over HTTP, in: the three content modes of the HTTP protocol binding, read into
// the structured form a function receives (`{specversion, id, source, type, subject, time,
// datacontenttype, dataschema, <extensions>, data | data_base64}`), validated as the spec says.
//
//   binary      the attributes in `ce-*` headers (percent-decoded), the body is the data, its
//               Content-Type the datacontenttype
//   structured  Content-Type application/cloudevents+json: the body is one event as JSON
//   batched     Content-Type application/cloudevents-batch+json: the body is a JSON array of them
//
// Hand-written rather than the `cloudevents` SDK's HTTP.toEvent: that parser fills a missing `id`
// and `time` with new values (a sender's event without an id would be accepted, and never be
// deduplicated), reads data_base64 into a Uint32Array, and reports schema errors as JSON dumps. A
// hostile sender's body is bounded before it gets here (the route's body limit); here the number
// of events in a batch and of attributes in an event are bounded too.

import { HearthError } from '../errors.js';
import { payload } from './payload.js';

/** The spec version read; 0.3 and others are refused by name. */
export const SPEC_VERSION = '1.0';
/** Events in one batched request, at most. */
export const MAX_BATCH_EVENTS = 1_000;
/** Attributes (with extensions) of one event, at most. */
const MAX_ATTRIBUTES = 64;
/** An extension's name: lower-case ASCII letters and digits (the spec's SHOULD of 20 is kept loose). */
const EXTENSION_NAME = /^[a-z0-9]{1,64}$/;
/** RFC 3339 date-time (the spec's `time`). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
/** A media type (RFC 2046), parameters allowed. */
const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:\s*;.*)?$/;

export const CE_CONTENT_TYPE = 'application/cloudevents+json';
export const CE_BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json';

/** One event in structured form: its attributes and extensions, and `data` or `data_base64`. */
export type StructuredEvent = Record<string, unknown> & { specversion: string; id: string; source: string; type: string };

/** CloudEvents' three content modes, and a plain JSON body (an S3 event notification, core/events/s3.ts). */
export type ContentMode = 'binary' | 'structured' | 'batched' | 'notification';

/** The content mode a request's Content-Type and headers select (null: neither a CloudEvent nor JSON). */
export function contentModeOf(contentType: string, hasCeHeaders: boolean): ContentMode | null {
  const media = mediaType(contentType);
  if (media === CE_BATCH_CONTENT_TYPE) return 'batched';
  if (media === CE_CONTENT_TYPE) return 'structured';
  if (hasCeHeaders) return 'binary';
  return media === 'application/json' || media === '' ? 'notification' : null;
}

/** The media type of a Content-Type, lower-cased, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

function invalid(message: string): HearthError {
  return new HearthError('InvalidRequestContent', message);
}

/**
 * A binary-mode event: `ce` holds the `ce-*` headers by attribute name (without the prefix, as
 * received: percent-encoded), the body is the data.
 */
export function fromBinary(ce: ReadonlyMap<string, string>, contentType: string, body: Uint8Array): StructuredEvent {
  const attrs: Record<string, unknown> = {};
  if (ce.size > MAX_ATTRIBUTES) throw invalid(`a CloudEvent has at most ${MAX_ATTRIBUTES} attributes; this one has ${ce.size} ce- headers`);
  for (const [name, raw] of ce) {
    let value: string;
    try {
      value = decodeURIComponent(raw);
    } catch {
      throw invalid(`the ce-${name} header is not valid percent-encoded UTF-8`);
    }
    attrs[name] = value;
  }
  if ('datacontenttype' in attrs) throw invalid('in binary mode the datacontenttype is the Content-Type header, not ce-datacontenttype');
  if ('data' in attrs || 'data_base64' in attrs) throw invalid('"data" is not an attribute: in binary mode the body is the data');
  if (contentType !== '') attrs.datacontenttype = contentType;
  const event = validated(attrs, '');
  if (body.byteLength > 0) Object.assign(event, dataOf(body, contentType));
  return event;
}

/** A structured-mode event: the body is one event as JSON. */
export function fromStructured(body: Uint8Array): StructuredEvent {
  return fromJson(parseJson(body, 'the structured CloudEvent'), '');
}

/** A batched-mode request: the body is a JSON array of structured events (at most MAX_BATCH_EVENTS). */
export function fromBatch(body: Uint8Array): StructuredEvent[] {
  const parsed = parseJson(body, 'the CloudEvents batch');
  if (!Array.isArray(parsed)) throw invalid('a CloudEvents batch is a JSON array of events');
  if (parsed.length === 0) throw invalid('the CloudEvents batch is empty');
  if (parsed.length > MAX_BATCH_EVENTS) throw invalid(`a CloudEvents batch holds at most ${MAX_BATCH_EVENTS} events; this one has ${parsed.length}`);
  return parsed.map((e, i) => fromJson(e, `event ${i} of the batch: `));
}

function fromJson(value: unknown, where: string): StructuredEvent {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${where}a structured CloudEvent is a JSON object`);
  const input = value as Record<string, unknown>;
  const names = Object.keys(input);
  if (names.length > MAX_ATTRIBUTES + 2) throw invalid(`${where}a CloudEvent has at most ${MAX_ATTRIBUTES} attributes`);
  const attrs: Record<string, unknown> = {};
  for (const n of names) {
    // JSON null is the same as absent (JSON event format, section 2.4).
    if (n !== 'data' && n !== 'data_base64' && input[n] !== null) attrs[n] = input[n];
  }
  const event = validated(attrs, where);
  const hasData = 'data' in input && input.data !== undefined;
  const b64 = input.data_base64;
  if (hasData && b64 !== undefined && b64 !== null) throw invalid(`${where}a CloudEvent has "data" or "data_base64", not both`);
  if (b64 !== undefined && b64 !== null) {
    if (typeof b64 !== 'string' || !isBase64(b64)) throw invalid(`${where}"data_base64" must be a base64 string`);
    event.data_base64 = b64;
  } else if (hasData) {
    event.data = input.data;
  }
  return event;
}

/** The attributes checked against the spec (required first, each named when missing or wrong). */
function validated(attrs: Record<string, unknown>, where: string): StructuredEvent {
  for (const name of ['specversion', 'id', 'source', 'type']) {
    const v = attrs[name];
    if (v === undefined) throw invalid(`${where}the CloudEvent is missing the required attribute "${name}"`);
    if (typeof v !== 'string' || v === '') throw invalid(`${where}the CloudEvent attribute "${name}" must be a non-empty string`);
  }
  if (attrs.specversion !== SPEC_VERSION) throw invalid(`${where}specversion "${String(attrs.specversion)}" is not supported; use ${SPEC_VERSION}`);
  if (!isUriReference(attrs.source as string)) throw invalid(`${where}the CloudEvent attribute "source" must be a URI-reference`);
  for (const [name, v] of Object.entries(attrs)) {
    switch (name) {
      case 'specversion': case 'id': case 'source': case 'type':
        break;
      case 'subject':
        if (typeof v !== 'string' || v === '') throw invalid(`${where}the CloudEvent attribute "subject" must be a non-empty string`);
        break;
      case 'time':
        if (typeof v !== 'string' || !RFC3339.test(v) || Number.isNaN(Date.parse(v))) throw invalid(`${where}the CloudEvent attribute "time" must be an RFC 3339 timestamp`);
        break;
      case 'datacontenttype':
        if (typeof v !== 'string' || !MEDIA_TYPE.test(v)) throw invalid(`${where}the CloudEvent attribute "datacontenttype" must be a media type (RFC 2046)`);
        break;
      case 'dataschema':
        if (typeof v !== 'string' || !isAbsoluteUri(v)) throw invalid(`${where}the CloudEvent attribute "dataschema" must be an absolute URI`);
        break;
      default:
        if (!EXTENSION_NAME.test(name)) throw invalid(`${where}the CloudEvent attribute name "${name.slice(0, 80)}" is not valid: lower-case ASCII letters and digits only`);
        if (!(typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isSafeInteger(v)))) {
          throw invalid(`${where}the CloudEvent extension "${name}" must be a string, a boolean or an integer`);
        }
    }
  }
  return attrs as StructuredEvent;
}

/** Binary-mode data as the structured form carries it: JSON parsed, text as a string, else base64. */
function dataOf(body: Uint8Array, contentType: string): { data: unknown } | { data_base64: string } {
  const media = mediaType(contentType);
  if (media === 'application/json' || media === 'text/json' || media.endsWith('+json')) {
    return { data: parseJson(body, 'the event data (Content-Type is JSON)') };
  }
  if (media === '') {
    // No Content-Type: JSON when it parses as JSON (the JSON format's default), else bytes.
    try {
      return { data: parseJson(body, '') };
    } catch {
      return { data_base64: base64(body) };
    }
  }
  if (media.startsWith('text/') || media === 'application/xml' || media.endsWith('+xml')) return payload(body);
  return { data_base64: base64(body) };
}

function base64(body: Uint8Array): string {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(body: Uint8Array): string | null {
  try {
    return decoder.decode(body);
  } catch {
    return null;
  }
}

export function parseJson(body: Uint8Array, what: string): unknown {
  const text = utf8(body);
  if (text === null) throw invalid(`${what} is not valid UTF-8`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalid(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function isBase64(s: string): boolean {
  return BASE64.test(s);
}

/** RFC 3986 URI-reference: no whitespace or control characters, and an absolute one parses. */
function isUriReference(s: string): boolean {
  if (/[\s\x00-\x1f\x7f<>"{}|\\^`]/.test(s)) return false;
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) ? isAbsoluteUri(s) : true;
}

function isAbsoluteUri(s: string): boolean {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(s) || /\s/.test(s)) return false;
  try {
    new URL(s);
    return true;
  } catch {
    // URNs and other schemes the WHATWG parser does not know are still URIs.
    return /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s]+$/.test(s);
  }
}
