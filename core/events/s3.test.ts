// S3 event notifications from AWS, Ceph and MinIO read into one normalised event per record (pure
// functions; the route against a real radosgw is test/object-storage.test.ts).

import { describe, expect, test } from 'vitest';
import { isS3Notification, MAX_RECORDS, s3Events } from './s3.js';

const record = (source: string, eventName: string, key: string, extra: Record<string, unknown> = {}) => ({
  eventVersion: '2.1', eventSource: source, awsRegion: 'us-east-1', eventTime: '2026-12-04T10:00:00.000Z', eventName,
  s3: { s3SchemaVersion: '1.0', configurationId: 'c', bucket: { name: 'photos', arn: 'arn:aws:s3:::photos' }, object: { key, size: 1024, eTag: 'e', sequencer: '0A1B2C', ...extra } },
});

describe('S3 event notifications', () => {
  test('AWS: the key URL-decoded (a space is +), the event name given its s3: prefix', () => {
    const [e] = s3Events({ Records: [record('aws:s3', 'ObjectCreated:Put', 'in/my+cat%2Bdog+%C3%BC.jpg')] });
    expect(e!.key).toBe('in/my cat+dog ü.jpg');
    expect(e!.bucket).toBe('photos');
    expect(e!.sequencer).toBe('0A1B2C');
    expect(e!.record.eventName).toBe('s3:ObjectCreated:Put');
    expect((e!.record.s3 as any).object).toMatchObject({ key: 'in/my cat+dog ü.jpg', size: 1024, eTag: 'e' });
    expect((e!.record.s3 as any).bucket.arn).toBe('arn:aws:s3:::photos');
  });

  test('Ceph: the key as sent (radosgw does not encode it), its metadata list kept', () => {
    const ceph = record('ceph:s3', 'ObjectCreated:Put', 'in/my cat+dog ü%.jpg', { metadata: [{ key: 'x-amz-meta-a', val: 'b' }] });
    const [e] = s3Events({ Records: [ceph] });
    expect(e!.key).toBe('in/my cat+dog ü%.jpg');
    expect(e!.record.eventName).toBe('s3:ObjectCreated:Put');
    expect((e!.record.s3 as any).object.metadata).toEqual([{ key: 'x-amz-meta-a', val: 'b' }]);
  });

  test("MinIO's webhook wrapper {EventName, Key, Records}: the records, keys decoded, names already prefixed", () => {
    const body = { EventName: 's3:ObjectRemoved:Delete', Key: 'photos/a b.png', Records: [record('minio:s3', 's3:ObjectRemoved:Delete', 'a%20b.png', { size: '77' })] };
    expect(isS3Notification(body)).toBe(true);
    const [e] = s3Events(body);
    expect(e!.key).toBe('a b.png');
    expect(e!.record.eventName).toBe('s3:ObjectRemoved:Delete');
    expect((e!.record.s3 as any).object.size).toBe(77);
  });

  test('what is refused, named by the record and field', () => {
    expect(isS3Notification({ a: 1 })).toBe(false);
    expect(isS3Notification([1])).toBe(false);
    expect(() => s3Events({ Records: [] })).toThrow('has no Records');
    expect(() => s3Events({ Records: [record('aws:s3', 'ObjectCreated:Put', 'k'), { ...record('aws:sqs', 'x', 'k') }] })).toThrow('Records[1].eventSource must be aws:s3, ceph:s3 or minio:s3, not "aws:sqs"');
    const noKey = record('aws:s3', 'ObjectCreated:Put', 'k') as any;
    delete noKey.s3.object.key;
    expect(() => s3Events({ Records: [noKey] })).toThrow('Records[0].s3.object.key is missing');
    const noBucket = record('aws:s3', 'ObjectCreated:Put', 'k') as any;
    noBucket.s3.bucket = {};
    expect(() => s3Events({ Records: [noBucket] })).toThrow('Records[0].s3.bucket.name is missing');
    expect(() => s3Events({ Records: [record('aws:s3', 'ObjectCreated:Put', '%E0%A4%A')] })).toThrow('not valid URL-encoding');
    expect(() => s3Events({ Records: [record('aws:s3', 'ObjectCreated:Put', 'k', { size: -1 })] })).toThrow('size is not a size');
    expect(() => s3Events({ Records: [{ ...record('aws:s3', '', 'k') }] })).toThrow('Records[0].eventName is missing');
    expect(() => s3Events({ Records: Array.from({ length: MAX_RECORDS + 1 }, () => record('aws:s3', 'ObjectCreated:Put', 'k')) })).toThrow(`at most ${MAX_RECORDS} Records`);
  });
});
