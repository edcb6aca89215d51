// The parent cgroup's set-up against a folder standing in for the cgroup filesystem.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { prepareCgroupParent, sharesToWeight } from './cgroup-parent.js';

const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });
function root(): string {
  const d = mkdtempSync(join(tmpdir(), 'hearth-cgroup-test-'));
  dirs.push(d);
  return d;
}

describe('prepareCgroupParent', () => {
  it('cgroup v1, cgroupfs: makes cpu/hearth with the shares and names /hearth', () => {
    const r = root();
    mkdirSync(join(r, 'cpu'));
    expect(prepareCgroupParent({ driver: 'cgroupfs', version: '1' }, 128, r)).toMatchObject({ parent: '/hearth' });
    expect(readFileSync(join(r, 'cpu', 'hearth', 'cpu.shares'), 'utf8')).toBe('128');
  });

  it('cgroup v2, cgroupfs: writes the matching cpu.weight', () => {
    const r = root();
    mkdirSync(join(r, 'hearth'));
    writeFileSync(join(r, 'hearth', 'cpu.weight'), '100');
    expect(prepareCgroupParent({ driver: 'cgroupfs', version: '2' }, 128, r)).toMatchObject({ parent: '/hearth' });
    expect(readFileSync(join(r, 'hearth', 'cpu.weight'), 'utf8')).toBe(String(sharesToWeight(128)));
    expect(sharesToWeight(1024)).toBe(39);
    expect(sharesToWeight(2)).toBe(1);
  });

  it('falls back to Docker\'s default cgroup, saying why: off, systemd driver, not writable, no cpu controller', () => {
    expect(prepareCgroupParent({ driver: 'cgroupfs', version: '1' }, 0, root()).parent).toBeNull();
    expect(prepareCgroupParent({ driver: 'systemd', version: '2' }, 128, root())).toMatchObject({ parent: null, note: expect.stringContaining('systemd') });
    const r = root();
    writeFileSync(join(r, 'cpu'), 'not a folder');
    expect(prepareCgroupParent({ driver: 'cgroupfs', version: '1' }, 128, r)).toMatchObject({ parent: null, note: expect.stringContaining('cannot be set') });
    expect(prepareCgroupParent({ driver: 'cgroupfs', version: '2' }, 128, root())).toMatchObject({ parent: null, note: expect.stringContaining('cpu.weight') });
  });
});
