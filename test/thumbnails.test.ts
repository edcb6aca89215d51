// The seed's example, working (examples/thumbnails, issue 17 point 3): a picture uploaded to
// object storage (a real Ceph radosgw) notifies Hearth; the python3 function, in a container of
// Hearth's runtime image (Pillow, boto3), reads it from the bucket and writes phone, tablet and
// desktop sizes back under thumbnails/, and its own outputs' notifications change nothing. The
// store is on this machine: the container reaches it at host.hearth.internal through
// --container-host-ports (radosgw also listens on the Docker bridge's address).

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFunctionFolder } from '../core/deploy-dir.js';
import { deployOk, startHearth, type Hearth } from './support/hearth.js';
import { notifyingBucket, s3Client, startRgw, type Rgw } from './support/rgw.js';
import { waitFor } from './support/until.js';

const EXAMPLE = fileURLToPath(new URL('../examples/thumbnails', import.meta.url));
const PHOTO = readFileSync(new URL('./fixtures/photo-1600x1200.jpg', import.meta.url));

let rgw: Rgw;
let h: Hearth;
let s3: S3Client;

beforeAll(async () => {
  const bridge = await new Docker().getNetwork('bridge').inspect() as { IPAM: { Config: { Gateway: string }[] } };
  rgw = await startRgw(bridge.IPAM.Config[0]!.Gateway);
  h = await startHearth({ args: ['--container-host-ports', String(rgw.port)] });
  s3 = s3Client(rgw);
}, 180_000);
afterAll(async () => {
  s3?.destroy();
  await h?.stop();
  await rgw?.stop();
}, 60_000);

/** Width and height from a JPEG's start-of-frame segment. */
function jpegSize(b: Buffer): { width: number; height: number } {
  let i = 2;
  while (i < b.length) {
    if (b[i] !== 0xff) throw new Error('not a JPEG segment');
    const marker = b[i + 1]!;
    const length = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    }
    i += 2 + length;
  }
  throw new Error('no start-of-frame segment');
}

async function object(key: string): Promise<Buffer> {
  const r = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

describe('examples/thumbnails', () => {
  it('an uploaded JPEG gets its phone, tablet and desktop sizes, and the function skips its own outputs', async () => {
    const { name, spec } = readFunctionFolder(EXAMPLE);
    const host = `host.hearth.internal:${rgw.port}`;
    await deployOk(h, name, {
      ...spec,
      env: { ...(spec.env as Record<string, string>), S3_ENDPOINT: `http://${host}`, AWS_ACCESS_KEY_ID: rgw.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.credentials.secretAccessKey },
      egress: { allow: [host] },
    });

    await notifyingBucket(rgw, s3, 'uploads', `${h.url}/v1/events/${name}`, ['s3:ObjectCreated:*']);

    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'holiday/beach day.jpg', Body: PHOTO, ContentType: 'image/jpeg' }));

    const want = { phone: { width: 320, height: 240 }, tablet: { width: 768, height: 576 }, desktop: { width: 1280, height: 960 } };
    const keys = await waitFor(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'thumbnails/' }));
      const got = (listed.Contents ?? []).map((c) => c.Key!).sort();
      return got.length >= 3 ? got : null;
    }, 90_000, async () => `three thumbnails in the bucket; the function's log: ${JSON.stringify(await (await fetch(`${h.url}/v1/functions/${name}/logs?limit=50`)).json())}; its dead letters: ${(await (await fetch(`${h.url}/v1/functions/${name}/dead-letters`)).text()).slice(0, 3000)}`);
    expect(keys).toEqual(Object.keys(want).map((size) => `thumbnails/${size}/holiday/beach day.jpg`).sort());
    for (const [size, dims] of Object.entries(want)) {
      expect(jpegSize(await object(`thumbnails/${size}/holiday/beach day.jpg`)), size).toEqual(dims);
    }

    // The three outputs notified the function too: it ran for each and wrote nothing more.
    const logs = await waitFor(async () => {
      const r = await fetch(`${h.url}/v1/functions/${name}/logs?limit=100`);
      const lines = ((await r.json()) as { lines: { message: string }[] }).lines.map((l) => l.message);
      return lines.filter((l) => l.startsWith('skipping thumbnails/')).length >= 3 ? lines : null;
    }, 60_000, 'the function saw its own three outputs');
    expect(logs.filter((l) => l.startsWith('wrote uploads/thumbnails/'))).toHaveLength(3);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads' }));
    expect(listed.Contents?.length).toBe(4);
  }, 240_000);
});
