// The engine wrapper against the real Docker engine: a removal the engine already has in progress
// (it answers 409) is done only once the container is gone, so Hearth's stop, which waits for its
// removals, leaves nothing behind.

import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from './engine.js';
import { buildRuntimeImages, runtimeImageTag } from './images.js';

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

describe('Engine.remove', () => {
  it('waits for a removal the engine already has in progress (409) to end', async () => {
    const engine = new Engine(docker);
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
