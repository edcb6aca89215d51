// The tier's shared undici agent against a port where a connect hangs (a container killed from
// outside, before its death is reported): the call fails as never connected, within the bound.

import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { hangingListener } from '../test/support/hanging-listener.js';
import { agent, neverConnected } from './container.js';

describe('container agent', () => {
  it('a connection not made within its bound fails as never connected (the call may go to another container)', async () => {
    const { port, close } = await hangingListener();
    try {
      const err = await request(`http://127.0.0.1:${port}/event-invoke`, { method: 'POST', body: '{}', dispatcher: agent, headersTimeout: 60_000, bodyTimeout: 60_000 })
        .then(() => null, (e: unknown) => e);
      expect((err as { code?: string } | null)?.code).toBe('UND_ERR_CONNECT_TIMEOUT');
      expect(neverConnected(err)).toBe(true);
    } finally {
      close();
    }
  });
});
