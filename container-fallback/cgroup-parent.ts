// The cgroup all of Hearth's containers run under, with a low CPU weight, so that under contention
// the containers together yield the CPU to Hearth's own threads.
//
// Without it a container is in Docker's default cgroup (cgroup v1: cpu:/docker/<id>) at full
// weight: a CPU-bound container (a fork bomb, a memory bomb's page faulting, a handler writing a
// huge response) competes with Hearth's event loop as an equal, up to its `cpus` quota, and the
// neighbour functions' latency grows with it. Under `/hearth` (cgroupfs driver) whose weight is
// lowered, a waking Hearth thread preempts them; with no contention the containers still get
// their whole quota (a weight only matters when the CPU is short).
//
// The weight is written by Hearth into the cgroup filesystem it sees, which needs root and the
// host's cgroup hierarchy (not a container's read-only /sys/fs/cgroup). When it cannot be written,
// or the engine uses the systemd cgroup driver (whose slices systemd owns), containers stay where
// Docker puts them (the behaviour before), and the reason is returned to be logged once.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The cgroup containers are created under, for the cgroupfs driver (HostConfig.CgroupParent). */
export const CGROUP_PARENT = '/hearth';

export interface EngineCgroups {
  /** docker info's CgroupDriver: "cgroupfs" or "systemd". */
  driver: string;
  /** docker info's CgroupVersion: "1" or "2". */
  version: string;
}

export type CgroupParentChoice = { parent: string; note: string } | { parent: null; note: string };

/** cgroup v1 cpu.shares (2..262144, default 1024) as cgroup v2 cpu.weight (1..10000, default 100), as runc converts it. */
export function sharesToWeight(shares: number): number {
  return Math.max(1, Math.min(10_000, 1 + Math.floor(((shares - 2) * 9_999) / 262_142)));
}

/**
 * Makes the parent cgroup with CPU weight `shares` (v1 cpu.shares; v2 the matching cpu.weight)
 * and says the CgroupParent to give containers, or null (and why) to leave them in Docker's default.
 * `shares` 0 switches it off. `root` is the cgroup filesystem's mount point (tests use a folder).
 */
export function prepareCgroupParent(engine: EngineCgroups, shares: number, root = '/sys/fs/cgroup'): CgroupParentChoice {
  if (shares <= 0) return { parent: null, note: 'switched off (containerCpuShares 0): containers run in Docker\'s default cgroup' };
  if (engine.driver !== 'cgroupfs') {
    return { parent: null, note: `the engine's cgroup driver is ${engine.driver || 'unknown'}, not cgroupfs: containers run in Docker's default cgroup at full CPU weight` };
  }
  try {
    if (engine.version === '2') {
      const dir = join(root, CGROUP_PARENT);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'cpu.weight');
      if (!existsSync(file)) throw new Error(`${file} is missing (the cpu controller is not enabled for ${root}'s children)`);
      const weight = sharesToWeight(shares);
      writeFileSync(file, String(weight));
      return { parent: CGROUP_PARENT, note: `containers run under cgroup ${CGROUP_PARENT} with cpu.weight ${weight}` };
    }
    const dir = join(root, 'cpu', CGROUP_PARENT);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'cpu.shares'), String(shares));
    return { parent: CGROUP_PARENT, note: `containers run under cgroup ${CGROUP_PARENT} with cpu.shares ${shares}` };
  } catch (err) {
    return { parent: null, note: `the CPU weight of cgroup ${CGROUP_PARENT} cannot be set (${(err as Error).message}): containers run in Docker's default cgroup at full CPU weight` };
  }
}
