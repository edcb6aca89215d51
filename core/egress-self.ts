// Functions never reach Hearth itself through egress: a function allowed `127.0.0.1:PORT` (or a
// name that resolves to it) would otherwise read every function's env and code through the
// management API when no token is set, and call any function as any caller when one is. The check
// is made where the connection is made, after DNS resolution, and the connection then goes to the
// address that was checked (no second lookup a rebinding name could answer differently).
//
// Which addresses reach a listener on HOST:PORT: PORT on any loopback address (127.0.0.0/8, ::1,
// and their IPv4-mapped forms), on the unspecified addresses (0.0.0.0, ::: a connection to them
// goes to the local host), on HOST itself, and, when HOST is unspecified, on every address of this
// machine's interfaces (read at each check: interfaces come and go).

import { lookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/** Counted for hearth_egress_refused_total. */
export const egressRefusals = { hearthAddress: 0 };

interface Listener { host: string; port: number }

/** Hearth's listening addresses in this process (more than one Hearth in one process: tests). */
const listeners: Listener[] = [];

/** Hearth listens on `host:port`: functions may not connect to it from now on. Returns the undo. */
export function refuseEgressTo(host: string, port: number): () => void {
  const l = { host: normalize(host), port };
  listeners.push(l);
  return () => {
    const i = listeners.indexOf(l);
    if (i >= 0) listeners.splice(i, 1);
  };
}

/** Does some Hearth listen on `port`? (Only then is a lookup of our own needed.) */
export function guardsPort(port: number): boolean {
  return listeners.some((l) => l.port === port);
}

/** Would a connection to `address:port` (an IP address) reach a Hearth in this process? */
export function reachesHearth(address: string, port: number): boolean {
  const ip = normalize(address);
  for (const l of listeners) {
    if (l.port !== port) continue;
    if (ip === l.host || isLoopback(ip) || isUnspecified(ip)) return true;
    if (isUnspecified(l.host) && localAddresses().has(ip)) return true;
  }
  return false;
}

/**
 * Resolves `hostname` (an IP literal resolves to itself) and gives the address to connect to, or
 * an error when any address it resolves to reaches Hearth (a name with one good and one bad
 * address is refused too: which one a client would use is not ours to guess).
 */
export function resolveOutside(hostname: string, port: number, cb: (err: Error | null, address?: string) => void): void {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  lookup(host, { all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return cb(err);
    if (addresses.length === 0) return cb(new Error(`${host} resolves to no address`));
    if (addresses.some((a) => reachesHearth(a.address, port))) {
      egressRefusals.hearthAddress++;
      return cb(new HearthEgressRefused(`egress to ${hostname}:${port} is refused: it is Hearth's own listening address (functions cannot call Hearth's API through egress)`));
    }
    cb(null, addresses[0]!.address);
  });
}

/** The connection was refused because it leads to Hearth itself. */
export class HearthEgressRefused extends Error {
  override readonly name = 'HearthEgressRefused';
}

function normalize(address: string): string {
  let a = address.toLowerCase();
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (mapped) return mapped[1]!;
  if (a === 'localhost') return '127.0.0.1';
  if (isIP(a) === 6) {
    const full = expand6(a);
    // IPv4-mapped, as the URL parser writes it ([::ffff:127.0.0.1] → [::ffff:7f00:1]).
    const m = /^0:0:0:0:0:ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(full);
    if (m) {
      const hi = parseInt(m[1]!, 16), lo = parseInt(m[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return full;
  }
  return a;
}

/** An IPv6 address in one spelling (all eight groups, no leading zeros), so that equal ones compare equal. */
function expand6(a: string): string {
  const [head, tail] = a.includes('::') ? a.split('::') as [string, string] : [a, null];
  const h = head === '' ? [] : head.split(':');
  const t = tail === null || tail === '' ? [] : tail.split(':');
  const groups = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':');
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '0:0:0:0:0:0:0:1';
}

function isUnspecified(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '0:0:0:0:0:0:0:0';
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(normalize(i.address.split('%')[0]!));
  return out;
}
