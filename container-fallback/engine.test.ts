// The engine wrapper against the real Docker engine: a removal the engine already has in progress
// (it answers 409) is done only once the container is gone, so Hearth's stop, which waits for its
// removals, leaves nothing behind.

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from './docker-engine.js';
import { buildRuntimeImages } from './image-build.js';
import { runtimeImageTag } from './images.js';

const docker = new Docker();
const made: string[] = [];

beforeAll(async () => {
  await buildRuntimeImages({ docker, log: (line) => process.stderr.write(`${line}\n`) });
}, 900_000);

afterAll(async () => {
  await Promise.all(made.map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
});

async function exists(id: string): Promise<boolean> {
  try {
    await docker.getContainer(id).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

describe('DockerEngine.remove', () => {
  it('waits for a removal the engine already has in progress (409) to end', async () => {
    const engine = new DockerEngine(docker);
    for (let i = 0; i < 3; i++) {
      const c = await docker.createContainer({ Image: runtimeImageTag('python3'), Cmd: ['sleep', '60'], HostConfig: { NetworkMode: 'none', Init: true } });
      made.push(c.id);
      await c.start();
      // The first call starts the removal; the second is refused 409 while it runs.
      const first = engine.remove(c.id);
      await engine.remove(c.id);
      expect(await exists(c.id)).toBe(false);
      await first;
    }
    engine.close();
    await engine.settled();
  });
});

describe('DockerEngine.network', () => {
  const name = `hearth-test-net-${process.pid}`;
  const ours = async () => (await docker.listNetworks({ filters: JSON.stringify({ name: [name] }) })).filter((n) => n.Name === name);
  afterAll(async () => {
    for (const n of await ours()) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  });

  it('two processes making the network at once end with one, the same for both, and a duplicate left earlier is removed', async () => {
    // Two Hearth processes starting at once on a fresh engine each created one (the engine's check
    // is best effort), and every container start then failed: "network ... is ambiguous".
    const a = new DockerEngine(docker, name);
    const b = new DockerEngine(docker, name);
    const [ida, idb] = await Promise.all([a.network(), b.network()]);
    expect(ida).toBe(idb);
    expect((await ours()).map((n) => n.Id)).toEqual([ida]);

    // A duplicate made behind its back (as the race above left on engines before this fix).
    const extra = await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, CheckDuplicate: false });
    expect((await ours()).length).toBe(2);
    const c = new DockerEngine(docker, name);
    expect(await c.network()).toBe(ida);
    expect((await ours()).map((n) => n.Id)).toEqual([ida]);
    await docker.getNetwork(extra.id).inspect().then(() => { throw new Error('the duplicate is still there'); }, (err: { statusCode?: number }) => expect(err.statusCode).toBe(404));
    for (const e of [a, b, c]) e.close();
  });
});

describe('host rules of removed networks', () => {
  // A Hearth killed before it removed its networks leaves their iptables rules; the next start
  // removes those of bridges that are gone, and leaves every other rule alone. Hearth sets these
  // rules only as root, and so does this test (the suite's set-up runs as root, as CI does).
  it('are removed at start (removeLeftovers); rules of bridges that exist stay', async () => {
    expect(process.getuid?.(), 'iptables rules need root: run the suite as root, as CI does').toBe(0);
    const { execFileSync } = await import('node:child_process');
    const { readdirSync } = await import('node:fs');
    const gone = `br-${'0123456789ab'}`;
    const existing = readdirSync('/sys/class/net').find((i) => /^br-[0-9a-f]{12}$/.test(i));
    const rules = (): string => execFileSync('iptables', ['-w', '-S', 'INPUT'], { encoding: 'utf8' });
    execFileSync('iptables', ['-w', '-A', 'INPUT', '-i', gone, '-j', 'DROP']);
    execFileSync('iptables', ['-w', '-A', 'INPUT', '-i', gone, '-p', 'tcp', '-m', 'tcp', '--dport', '9999', '-j', 'ACCEPT']);
    if (existing) execFileSync('iptables', ['-w', '-A', 'INPUT', '-i', existing, '-p', 'tcp', '-m', 'tcp', '--dport', '9998', '-j', 'ACCEPT']);
    try {
      expect(rules()).toContain(`-i ${gone}`);
      await new DockerEngine().removeLeftovers();
      expect(rules()).not.toContain(`-i ${gone}`);
      if (existing) expect(rules()).toContain(`-A INPUT -i ${existing} -p tcp -m tcp --dport 9998 -j ACCEPT`);
    } finally {
      if (existing) execFileSync('iptables', ['-w', '-D', 'INPUT', '-i', existing, '-p', 'tcp', '-m', 'tcp', '--dport', '9998', '-j', 'ACCEPT']);
    }
  });
});
