// The runtime images' tags: a hash of their inputs (no Docker needed here).

import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINER_RUNTIMES } from './contract.js';
import { defaultRuntimesDir, runtimeImageTag, runtimeInputsHash } from './images.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of the bootstraps' folder. */
function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-runtimes-'));
  dirs.push(d);
  cpSync(defaultRuntimesDir(), d, { recursive: true });
  return d;
}

describe('runtime image tags', () => {
  it('is hearth-<runtime>:<12 hex>, the same for the same inputs', () => {
    for (const runtime of CONTAINER_RUNTIMES) {
      const tag = runtimeImageTag(runtime);
      expect(tag).toMatch(new RegExp(`^hearth-${runtime}:[0-9a-f]{12}$`));
      expect(runtimeImageTag(runtime)).toBe(tag);
      // A copy of the same files: the same tag (the path is not an input).
      expect(runtimeImageTag(runtime, { runtimesDir: copy() })).toBe(tag);
    }
    expect(runtimeImageTag('python3')).not.toBe(runtimeImageTag('java17').replace('java17', 'python3'));
  });

  it('changes when a bootstrap file changes, is added, or is renamed', () => {
    const d = copy();
    const py = runtimeInputsHash('python3', d);
    const java = runtimeInputsHash('java17', d);
    appendFileSync(join(d, 'python3', 'bootstrap.py'), '\n# changed\n');
    const changed = runtimeInputsHash('python3', d);
    expect(changed).not.toBe(py);
    expect(runtimeImageTag('python3', { runtimesDir: d })).toBe(`hearth-python3:${changed.slice(0, 12)}`);
    // The other runtime's inputs did not change.
    expect(runtimeInputsHash('java17', d)).toBe(java);

    writeFileSync(join(d, 'java17', 'hearth', 'Extra.java'), 'package hearth; class Extra {}\n');
    expect(runtimeInputsHash('java17', d)).not.toBe(java);

    // Build leftovers are not inputs.
    const before = runtimeInputsHash('python3', d);
    writeFileSync(join(d, 'python3', 'bootstrap.pyc'), 'x');
    expect(runtimeInputsHash('python3', d)).toBe(before);
  });
});
