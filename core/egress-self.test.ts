// Which addresses reach a Hearth listening in this process (egress must refuse them).

import { afterEach, describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import { guardsPort, reachesHearth, refuseEgressTo, resolveOutside } from './egress-self.js';

const undo: (() => void)[] = [];
afterEach(() => { for (const u of undo.splice(0)) u(); });

describe('Hearth\'s own addresses', () => {
  it('a loopback listener: every loopback and unspecified spelling on its port, nothing on another port', () => {
    undo.push(refuseEgressTo('127.0.0.1', 18080));
    expect(guardsPort(18080)).toBe(true);
    expect(guardsPort(18081)).toBe(false);
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '0.0.0.0', '::']) {
      expect(reachesHearth(a, 18080), a).toBe(true);
    }
    expect(reachesHearth('127.0.0.1', 18081)).toBe(false);
    expect(reachesHearth('93.184.216.34', 18080)).toBe(false);
  });

  it('listening on 0.0.0.0: this machine\'s interface addresses too', () => {
    undo.push(refuseEgressTo('0.0.0.0', 18082));
    const own = Object.values(networkInterfaces()).flat().map((i) => i!.address.split('%')[0]!);
    for (const a of own) expect(reachesHearth(a, 18082), a).toBe(true);
  });

  it('a name is resolved first: one that leads to Hearth is refused, the undo lets it through again', async () => {
    const off = refuseEgressTo('127.0.0.1', 18083);
    const resolve = (host: string) => new Promise<{ err: Error | null; address?: string }>((r) => resolveOutside(host, 18083, (err, address) => r({ err, address })));
    expect((await resolve('localhost')).err?.message).toMatch(/Hearth's own listening address/);
    expect((await resolve('[::1]')).err?.message).toMatch(/Hearth's own listening address/);
    off();
    expect(reachesHearth('127.0.0.1', 18083)).toBe(false);
    expect((await resolve('localhost')).address).toMatch(/^(127\.0\.0\.1|::1)$/);
  });
});
