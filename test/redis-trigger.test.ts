// A Redis Streams trigger (issue 17, point 4) on a real redis-server: the scenarios of
// test/support/queue-trigger.ts (two replicas sharing one consumer group, one killed with SIGKILL
// mid-way; the server stopped and restarted), and a replica that stops leaves the group.

import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import type { Hearth } from './support/hearth.js';
import { MESSAGES, oneOfTwoKilled, serverComesBack } from './support/queue-trigger.js';
import { startRedis } from './support/redis.js';

describe('Redis Streams trigger', () => {
  const owned = { procs: [] as Hearth[], stops: [] as (() => Promise<void>)[] };
  afterAll(async () => {
    for (const h of owned.procs) await h.stop('SIGKILL').catch(() => {});
    for (const stop of owned.stops) await stop().catch(() => {});
  });

  it('two replicas, one killed: every message runs at least once, duplicates only those in flight on the killed one', async () => {
    const streams = await startRedis();
    owned.stops.push(() => streams.stop());
    const producer = new Redis(streams.url);
    await oneOfTwoKilled({
      label: 'redis trigger',
      trigger: { type: 'redis', name: 'orders', url: streams.url, stream: 'orders', group: 'hearth', from: 'earliest', claimIdleMs: 2_000 },
      numberOf: 'Number(event.fields.n)',
      async produce() {
        for (let i = 0; i < MESSAGES; i += 100) {
          const p = producer.pipeline();
          for (let n = i; n < i + 100; n++) p.xadd('orders', '*', 'n', String(n), 'item', `sku-${n % 7}`);
          await p.exec();
          await new Promise((r) => setTimeout(r, 20));
        }
        producer.disconnect();
      },
    }, owned);
  }, 240_000);

  it('a trigger whose server goes away: Hearth keeps serving, says so, and reads again once it is back; a replica that stops leaves the group', async () => {
    const { server, hearth } = await serverComesBack({
      server: await startRedis(),
      restart: (s) => startRedis({ port: s.port, dir: s.dir }),
      trigger: (s) => ({ type: 'redis', url: s.url, stream: 'jobs', from: 'earliest', claimIdleMs: 1_000 }),
      numberOf: 'e.fields.n',
      async publish(s, n) {
        const p = new Redis(s.url);
        await p.xadd('jobs', '*', 'n', String(n));
        p.disconnect();
      },
    }, owned);
    owned.stops.push(() => server.stop());
    // A replica that stops holding nothing leaves the group (restarts do not grow it).
    await hearth.stop();
    const p = new Redis(server.url);
    const consumers = await p.xinfo('CONSUMERS', 'jobs', 'hearth') as unknown[];
    p.disconnect();
    expect(consumers).toEqual([]);
  }, 120_000);
});
