// Who made a container or network on a Docker engine that several Hearths may share (on one host,
// or each in a container of its own, where every one may be pid 1): a run id, fresh for every
// Hearth process, and an owner id, kept in the data dir so that the next run on the same data dir
// can tell what an earlier run left behind. A Hearth only ever lists, adopts or removes containers
// and networks of its own run, and sweeps only leftovers of its own owner.

import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface EngineIdentity {
  /** This process's run: a random UUID made at start. */
  runId: string;
  /** The data dir's owner id (random, kept in `<dataDir>/engine-owner`); a fresh one without a data dir. */
  owner: string;
}

const OWNER_FILE = 'engine-owner';

/** The identity of this process, with the owner id of `dataDir` (made on first use). */
export function engineIdentity(dataDir?: string): EngineIdentity {
  return { runId: randomUUID(), owner: dataDir === undefined ? randomUUID() : ownerOf(dataDir) };
}

function ownerOf(dataDir: string): string {
  const path = join(dataDir, OWNER_FILE);
  try {
    const id = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(id)) return id;
  } catch {
    // not made yet
  }
  const id = randomUUID();
  try {
    writeFileSync(path, `${id}\n`, { flag: 'wx' });
    return id;
  } catch {
    // Another writer made it first (or the file was unreadable and is there): read what it says.
    const again = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-f-]{36}$/.test(again)) return again;
    writeFileSync(path, `${id}\n`);
    return id;
  }
}
