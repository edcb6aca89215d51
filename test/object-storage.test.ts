// Object-storage events end to end: a real S3 server that pushes bucket notifications (Ceph's
// radosgw, a throwaway single-node cluster on loopback) notifies Hearth's POST /v1/events/{name}
// of uploads and deletes made with a real S3 client; the function's runs show each object, its
// key decoded as stored and its size; a notification sent again runs nothing again.

import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployOk, jsSource, startHearth, type Hearth } from './support/hearth.js';
import { notifyingBucket, s3Client, startRgw, type Rgw } from './support/rgw.js';
import { waitFor } from './support/until.js';

let rgw: Rgw;
let h: Hearth;
let s3: S3Client;

beforeAll(async () => {
  [rgw, h] = await Promise.all([startRgw(), startHearth({ args: ['--no-docker'] })]);
  s3 = s3Client(rgw);
  // Each run logs what it was told, and answers with the record (its invocation's result).
  await deployOk(h, 'on-upload', jsSource(`exports.handler = async (event) => {
  const r = event.Records[0];
  console.log(JSON.stringify({ name: r.eventName, source: r.eventSource, bucket: r.s3.bucket.name, key: r.s3.object.key, size: r.s3.object.size ?? null }));
  return r;
};`));
}, 180_000);
afterAll(async () => {
  s3?.destroy();
  await h?.stop();
  await rgw?.stop();
}, 60_000);

interface Seen { name: string; source: string; bucket: string; key: string; size: number | null; requestId: string }

async function seen(): Promise<Seen[]> {
  const r = await fetch(`${h.url}/v1/functions/on-upload/logs?limit=1000`);
  const { lines } = await r.json() as { lines: { message: string; requestId: string }[] };
  return lines.filter((l) => l.message.startsWith('{')).map((l) => ({ ...JSON.parse(l.message), requestId: l.requestId }));
}

describe('object storage (Ceph radosgw) notifies a function', () => {
  it('uploads and deletes made with an S3 client run the function once each, keys as stored', async () => {
    await notifyingBucket(rgw, s3, 'photos', `${h.url}/v1/events/on-upload`, ['s3:ObjectCreated:*', 's3:ObjectRemoved:*']);

    const odd = 'in/my cat+dog ü%.jpg';
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: 'a.txt', Body: 'hello' }));
    await s3.send(new PutObjectCommand({ Bucket: 'photos', Key: odd, Body: Buffer.alloc(1234, 7) }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'photos', Key: 'a.txt' }));

    const runs = await waitFor(async () => {
      const s = await seen();
      return s.length >= 3 ? s : null;
    }, 30_000, async () => `three runs of on-upload; seen: ${JSON.stringify(await seen())}`);
    const view = runs.map(({ name, source, bucket, key, size }) => ({ name, source, bucket, key, size }));
    expect(view).toEqual(expect.arrayContaining([
      { name: 's3:ObjectCreated:Put', source: 'ceph:s3', bucket: 'photos', key: 'a.txt', size: 5 },
      { name: 's3:ObjectCreated:Put', source: 'ceph:s3', bucket: 'photos', key: odd, size: 1234 },
      expect.objectContaining({ name: 's3:ObjectRemoved:Delete', source: 'ceph:s3', bucket: 'photos', key: 'a.txt' }),
    ]));

    // Each run is an async event on record, from the s3 source, that succeeded.
    const rec = await (await fetch(`${h.url}/v1/invocations/${runs.find((r) => r.key === odd)!.requestId}`)).json() as Record<string, any>;
    expect(rec.source).toBe('s3');
    expect(rec.status).toBe('succeeded');
    expect(rec.result.s3.object.sequencer).toMatch(/^[0-9A-F]+$/);

    // The same notification again (a persistent topic's retry): nothing runs again.
    const again = await fetch(`${h.url}/v1/events/on-upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Records: [{ ...rec.result, eventName: 'ObjectCreated:Put' }] }) });
    expect(again.status).toBe(202);
    expect(await again.json()).toEqual({ events: [{ bucket: 'photos', key: odd, requestId: rec.requestId, duplicate: true }] });
    await new Promise((r) => setTimeout(r, 300));
    expect((await seen()).length).toBe(3);

    // examples/on-upload takes the same record (a new change of the key: another sequencer).
    await deployOk(h, 'example-on-upload', jsSource(readFileSync(new URL('../examples/on-upload/index.js', import.meta.url), 'utf8')));
    const sent = await fetch(`${h.url}/v1/events/example-on-upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ Records: [{ ...rec.result, s3: { ...rec.result.s3, object: { ...rec.result.s3.object, sequencer: 'FF00' } } }] }) });
    const { events: [ev] } = await sent.json() as { events: { requestId: string }[] };
    const ran = await waitFor(async () => {
      const v = await (await fetch(`${h.url}/v1/invocations/${ev!.requestId}`)).json() as Record<string, any>;
      return v.status === 'succeeded' ? v : null;
    }, 30_000, 'the example ran');
    expect(ran.result).toEqual({ bucket: 'photos', key: odd, size: 1234, event: 's3:ObjectCreated:Put' });
    expect(ran.logs.map((l: { message: string }) => l.message)).toEqual([`s3:ObjectCreated:Put photos/${odd} (1234 bytes)`]);
  });
});
