// A NATS JetStream trigger (issue 17, point 4) on a real nats-server: the scenarios of
// test/support/queue-trigger.ts (two replicas sharing one durable pull consumer, one killed with
// SIGKILL mid-way; the server stopped and restarted).

import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, it } from 'vitest';
import type { Hearth } from './support/hearth.js';
import { startNats } from './support/nats.js';
import { MESSAGES, oneOfTwoKilled, serverComesBack } from './support/queue-trigger.js';

async function stream(url: string, name: string, subjects: string[]): Promise<void> {
  const nc = await connect({ servers: url });
  await (await jetstreamManager(nc)).streams.add({ name, subjects });
  await nc.close();
}

async function publish(url: string, subject: string, from: number, to: number): Promise<void> {
  const nc = await connect({ servers: url });
  const js = jetstream(nc);
  for (let n = from; n < to; n += 100) {
    await Promise.all(Array.from({ length: Math.min(100, to - n) }, (_, i) => js.publish(subject, JSON.stringify({ n: n + i }))));
  }
  await nc.close();
}

describe('NATS JetStream trigger', () => {
  const owned = { procs: [] as Hearth[], stops: [] as (() => Promise<void>)[] };
  afterAll(async () => {
    for (const h of owned.procs) await h.stop('SIGKILL').catch(() => {});
    for (const stop of owned.stops) await stop().catch(() => {});
  });

  it('two replicas, one killed: every message runs at least once, duplicates only those in flight on the killed one', async () => {
    const nats = await startNats();
    owned.stops.push(() => nats.stop());
    await stream(nats.url, 'ORDERS', ['orders.>']);
    await oneOfTwoKilled({
      label: 'nats trigger',
      trigger: { type: 'nats', name: 'orders', url: nats.url, stream: 'ORDERS', consumer: 'hearth', from: 'earliest', ackWaitMs: 2_000 },
      numberOf: 'JSON.parse(event.data).n',
      produce: () => publish(nats.url, 'orders.new', 0, MESSAGES),
    }, owned);
  }, 240_000);

  it('a trigger whose server goes away: Hearth keeps serving, says so, and reads again once it is back', async () => {
    const first = await startNats();
    await stream(first.url, 'JOBS', ['jobs']);
    const { server } = await serverComesBack({
      server: first,
      restart: (s) => startNats({ port: s.port, dir: s.dir }),
      trigger: (s) => ({ type: 'nats', url: s.url, stream: 'JOBS', from: 'earliest', ackWaitMs: 1_000 }),
      numberOf: 'JSON.parse(e.data).n',
      publish: (s, n) => publish(s.url, 'jobs', n, n + 1),
    }, owned);
    owned.stops.push(() => server.stop());
  }, 120_000);
});
