// Object-storage event notifications, in: the S3 `Records` format that AWS S3, Ceph's radosgw and
// MinIO push to an HTTP endpoint, read into one event per record, each in the shape AWS Lambda
// gives an S3-triggered function (`{Records: [record]}`), normalised across the three:
//
//   eventName   always with the `s3:` prefix (`s3:ObjectCreated:Put`; Ceph and AWS send
//               `ObjectCreated:Put`, MinIO `s3:ObjectCreated:Put`)
//   object.key  decoded (AWS and MinIO URL-encode it, a space as `+`; Ceph sends it as it is)
//   object.size a number
//
// MinIO's webhook wraps the records: `{EventName, Key, Records}`. Each record is deduplicated by
// bucket + key + sequencer (the store's order of changes to one key), so a notification sent
// again (a persistent topic's retry) runs nothing again.

import { HearthError } from '../errors.js';

/** Records in one notification, at most (AWS sends one; a store may batch). */
export const MAX_RECORDS = 1_000;
const SOURCES = new Set(['aws:s3', 'ceph:s3', 'minio:s3']);

/** One object-storage event: the record a function receives (in `{Records: [record]}`). */
export interface S3Event {
  readonly record: Record<string, unknown>;
  readonly bucket: string;
  readonly key: string;
  /** The store's sequencer for the key's change ('' when the store sent none: no deduplication). */
  readonly sequencer: string;
}

function invalid(message: string): HearthError {
  return new HearthError('InvalidRequestContent', message);
}

/** Whether a parsed JSON body is an S3 event notification (AWS or Ceph `Records`, or MinIO's wrapper). */
export function isS3Notification(body: unknown): body is { Records: unknown[] } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const records = (body as { Records?: unknown }).Records;
  return Array.isArray(records);
}

/** The notification's records as events (each checked; the first wrong one named). */
export function s3Events(body: { Records: unknown[] }): S3Event[] {
  const records = body.Records;
  if (records.length === 0) throw invalid('the S3 event notification has no Records');
  if (records.length > MAX_RECORDS) throw invalid(`an S3 event notification holds at most ${MAX_RECORDS} Records; this one has ${records.length}`);
  return records.map((r, i) => s3Event(r, `Records[${i}]`));
}

function s3Event(value: unknown, where: string): S3Event {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(`${where} is not an object`);
  const r = value as Record<string, any>;
  const source = r.eventSource;
  if (typeof source !== 'string' || !SOURCES.has(source)) {
    throw invalid(`${where}.eventSource must be aws:s3, ceph:s3 or minio:s3${typeof source === 'string' ? `, not "${source.slice(0, 64)}"` : ''}`);
  }
  if (typeof r.eventName !== 'string' || r.eventName === '') throw invalid(`${where}.eventName is missing`);
  const s3 = r.s3;
  if (s3 === null || typeof s3 !== 'object') throw invalid(`${where}.s3 is missing`);
  const bucket = s3.bucket?.name;
  if (typeof bucket !== 'string' || bucket === '') throw invalid(`${where}.s3.bucket.name is missing`);
  const object = s3.object;
  if (object === null || typeof object !== 'object' || typeof object.key !== 'string') throw invalid(`${where}.s3.object.key is missing`);
  let key = object.key as string;
  if (source !== 'ceph:s3') {
    try {
      key = decodeURIComponent(key.replace(/\+/g, ' '));
    } catch {
      throw invalid(`${where}.s3.object.key is not valid URL-encoding`);
    }
  }
  const size = object.size === undefined ? undefined : Number(object.size);
  if (size !== undefined && !(Number.isSafeInteger(size) && size >= 0)) throw invalid(`${where}.s3.object.size is not a size`);
  const sequencer = typeof object.sequencer === 'string' ? object.sequencer : '';
  const record = {
    ...r,
    eventName: r.eventName.startsWith('s3:') ? r.eventName : `s3:${r.eventName}`,
    s3: { ...s3, object: { ...object, key, ...(size !== undefined ? { size } : {}) } },
  };
  return { record, bucket, key, sequencer };
}
