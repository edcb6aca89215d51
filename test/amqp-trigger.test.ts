// An AMQP trigger (issue 17, point 4) on a real RabbitMQ (Debian's, a private node): the scenarios
// of test/support/queue-trigger.ts (two replicas consuming one queue, one killed with SIGKILL
// mid-way; the broker stopped and restarted).

import { connect } from 'amqplib';
import { afterAll, describe, it } from 'vitest';
import type { Hearth } from './support/hearth.js';
import { MESSAGES, oneOfTwoKilled, serverComesBack } from './support/queue-trigger.js';
import { startRabbit } from './support/rabbitmq.js';

/** Publishes messages from..to-1 (persistent, confirmed, with a message id) to a durable queue. */
async function publish(url: string, queue: string, from: number, to: number): Promise<void> {
  const model = await connect(url);
  const ch = await model.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  for (let n = from; n < to; n++) ch.sendToQueue(queue, Buffer.from(JSON.stringify({ n })), { persistent: true, messageId: `m-${n}`, contentType: 'application/json' });
  await ch.waitForConfirms();
  await model.close();
}

describe('AMQP trigger (RabbitMQ)', () => {
  const owned = { procs: [] as Hearth[], stops: [] as (() => Promise<void>)[] };
  afterAll(async () => {
    for (const h of owned.procs) await h.stop('SIGKILL').catch(() => {});
    for (const stop of owned.stops) await stop().catch(() => {});
  }, 60_000);

  it('two replicas, one killed: every message runs at least once, duplicates only those in flight on the killed one', async () => {
    const rabbit = await startRabbit();
    owned.stops.push(() => rabbit.stop());
    await publish(rabbit.url, 'orders', 0, 0);
    await oneOfTwoKilled({
      label: 'amqp trigger',
      trigger: { type: 'amqp', name: 'orders', url: rabbit.url, queue: 'orders' },
      numberOf: 'JSON.parse(event.data).n',
      produce: () => publish(rabbit.url, 'orders', 0, MESSAGES),
    }, owned);
  }, 240_000);

  it('a trigger whose broker goes away: Hearth keeps serving, says so, and consumes again once it is back', async () => {
    const first = await startRabbit();
    await publish(first.url, 'jobs', 0, 0);
    const { server } = await serverComesBack({
      server: first,
      restart: (s) => startRabbit({ port: s.port, dir: s.dir, epmdPort: s.epmdPort }),
      trigger: (s) => ({ type: 'amqp', url: s.url, queue: 'jobs' }),
      numberOf: 'JSON.parse(e.data).n',
      publish: (s, n) => publish(s.url, 'jobs', n, n + 1),
    }, owned);
    owned.stops.push(() => server.stop());
  }, 180_000);
});
