// The spec's queue triggers: checked at the edge, a bad one a 400 naming the field.

import { describe, expect, test } from 'vitest';
import { HearthError } from './errors.js';
import { parseSpec } from './spec.js';

const base = { runtime: 'js', handler: 'index.handler', code: { source: 'exports.handler = async () => 1' } };
const redis = { type: 'redis', url: 'redis://127.0.0.1:6379/0', stream: 'orders' };

function problem(triggers: unknown): string {
  try {
    parseSpec({ ...base, triggers });
  } catch (err) {
    expect(err).toBeInstanceOf(HearthError);
    expect((err as HearthError).type).toBe('InvalidSpec');
    return (err as Error).message;
  }
  throw new Error('the spec was accepted');
}

describe('spec triggers', () => {
  test('a Redis Streams trigger gets its defaults', () => {
    expect(parseSpec({ ...base, triggers: [redis] }).triggers).toEqual([{ ...redis, group: 'hearth', from: 'latest', batch: 64, claimIdleMs: 30_000 }]);
    expect(parseSpec(base).triggers).toEqual([]);
  });

  test('NATS and AMQP triggers get theirs', () => {
    const nats = { type: 'nats', url: 'nats://a:4222, nats://b:4222', stream: 'ORDERS' };
    expect(parseSpec({ ...base, triggers: [nats] }).triggers).toEqual([{ ...nats, consumer: 'hearth', from: 'latest', batch: 64, ackWaitMs: 30_000 }]);
    const amqp = { type: 'amqp', url: 'amqp://u:p@rabbit:5672/v', queue: 'q' };
    expect(parseSpec({ ...base, triggers: [amqp] }).triggers).toEqual([{ ...amqp, batch: 64 }]);
    expect(problem([{ ...nats, stream: 'a.b' }])).toMatch(/triggers\.0\.stream: must be a stream name/);
    expect(problem([{ ...amqp, url: 'redis://x' }])).toMatch(/triggers\.0\.url: must be an amqp:\/\/ or amqps:\/\/ URL/);
  });

  test('what is refused, by field', () => {
    expect(problem([{ ...redis, url: 'http://x' }])).toMatch(/triggers\.0\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
    expect(problem([{ ...redis, stream: '' }])).toMatch(/triggers\.0\.stream/);
    expect(problem([{ ...redis, type: 'kafka' }])).toMatch(/triggers\.0\.type/);
    expect(problem([{ ...redis, batch: 0 }])).toMatch(/triggers\.0\.batch/);
    expect(problem([{ ...redis, extra: 1 }])).toMatch(/triggers\.0/);
    expect(problem([{ ...redis, name: 'a' }, { ...redis, name: 'a' }])).toMatch(/triggers\.1\.name: "a" is used twice/);
    expect(problem(Array.from({ length: 11 }, () => redis))).toMatch(/triggers/);
  });
});
