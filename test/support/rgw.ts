// A real S3 server that pushes bucket notifications: Ceph's radosgw on a throwaway single-node
// cluster (test/support/rgw.sh), started and stopped by the test. Missing Ceph packages are an
// error that says how to install them: these tests never skip.

import { CreateBucketCommand, PutBucketNotificationConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './redis.js';

const SCRIPT = fileURLToPath(new URL('./rgw.sh', import.meta.url));
const run = promisify(execFile);

export interface Rgw {
  endpoint: string;
  port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  stop(): Promise<void>;
}

/** `alsoOn`: another address to listen on besides 127.0.0.1 (the Docker bridge's, for containers). */
export async function startRgw(alsoOn?: string): Promise<Rgw> {
  for (const bin of ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph', 'uuidgen']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      throw new Error(`${bin} is missing: the object-storage tests run Ceph's radosgw from Debian; run \`bash scripts/setup-system.sh\` (as root) to install it`);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'hearth-rgw-'));
  const credentials = { accessKeyId: 'HEARTHTESTACCESSKEY0', secretAccessKey: 'hearth-test-secret-key-0123456789abcdefgh' };
  const port = await freePort();
  const env = {
    ...process.env,
    ...(alsoOn ? { RGW_ALSO_ON: alsoOn } : {}),
    RGW_PORT: String(port), MON_V2_PORT: String(await freePort()), MON_V1_PORT: String(await freePort()),
    S3_ACCESS_KEY: credentials.accessKeyId, S3_SECRET_KEY: credentials.secretAccessKey,
  };
  const stop = async () => { await run('bash', [SCRIPT, 'stop', dir], { timeout: 30_000 }); };
  try {
    const { stdout } = await run('bash', [SCRIPT, 'start', dir], { env, timeout: 120_000 });
    const endpoint = /S3_ENDPOINT=(\S+)/.exec(stdout)?.[1];
    if (!endpoint) throw new Error(`radosgw did not start: ${stdout}`);
    return { endpoint, port, credentials, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/** An S3 client of the test's radosgw (path-style, its user's keys). */
export function s3Client(rgw: Rgw): S3Client {
  return new S3Client({ endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: rgw.credentials });
}

/**
 * A new bucket whose `events` (s3:ObjectCreated:*, …) radosgw pushes to `pushEndpoint`: a topic
 * of radosgw's SNS-style API (a normal one: it posts during the upload; persistent=true in
 * production, which retries), then the bucket's notification configuration.
 */
export async function notifyingBucket(rgw: Rgw, s3: S3Client, bucket: string, pushEndpoint: string, events: string[]): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const sns = new SNSClient({ endpoint: rgw.endpoint, region: 'us-east-1', credentials: rgw.credentials });
  const topic = await sns.send(new CreateTopicCommand({ Name: `to-hearth-${bucket}`, Attributes: { 'push-endpoint': pushEndpoint } }));
  sns.destroy();
  await s3.send(new PutBucketNotificationConfigurationCommand({
    Bucket: bucket,
    NotificationConfiguration: { TopicConfigurations: [{ Id: 'to-hearth', TopicArn: topic.TopicArn!, Events: events as never }] },
  }));
}
