// CPU time a system spends serving a load, split by where it runs: the process's main thread, its
// other threads, and (for a container-backed row) the container's processes. Read before and after
// each load round and divided by the requests wrk completed: µs of CPU per request, a figure that
// does not swing with the machine's load the way req/s does (issue 16).
//
// Threads: /proc/PID/task/TID/schedstat, whose first field is the thread's time on a CPU in ns
// (the scheduler's own accounting, not USER_HZ ticks). A thread that ends during the round takes
// its time with it (uWS, libuv and V8 keep theirs for the process's life). Containers: their
// cgroup's CPU usage (v1 cpuacct or v2 cpu.stat), found from the init process's /proc/PID/cgroup.

import { readdirSync, readFileSync } from 'node:fs';

/** CPU time, ns, so far. */
export interface CpuSample {
  main: number;
  others: number;
  container: number;
}

/** Reads a system's CPU so far (a closure over its pids). */
export type CpuMeter = () => CpuSample;

/** Per request, µs, over one round. */
export interface CpuPerCall {
  main: number;
  others: number;
  container: number;
  total: number;
}

function schedNs(pid: number, tid: string): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return 0; // the thread ended between the listing and the read
  }
}

/** The main thread's and the other threads' CPU time of `pid`, ns. */
export function threadCpuNs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const ns = schedNs(pid, tid);
    if (tid === String(pid)) main = ns;
    else others += ns;
  }
  return { main, others };
}

/**
 * The CPU usage of `pid`'s cgroup, ns: every process in it. cgroup v1 (`cpuacct.usage`, as on
 * hosts with Docker's cgroupfs driver on v1) or v2 (`cpu.stat` usage_usec; at /sys/fs/cgroup, or
 * /sys/fs/cgroup/unified on a hybrid host).
 */
export function cgroupCpuNs(pid: number): number {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').filter(Boolean).map((l) => {
    const [, , controllers = '', path = ''] = /^(\d+):([^:]*):(.*)$/.exec(l) ?? [];
    return { controllers: controllers.split(','), path };
  });
  const v1 = lines.find((l) => l.controllers.includes('cpuacct'));
  const tries: [string, (text: string) => number][] = [];
  if (v1 !== undefined) {
    for (const mount of ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']) tries.push([`/sys/fs/cgroup/${mount}${v1.path}/cpuacct.usage`, (t) => Number(t.trim())]);
  }
  const v2 = lines.find((l) => l.controllers.length === 1 && l.controllers[0] === '');
  if (v2 !== undefined) {
    const usage = (t: string) => Number(/^usage_usec (\d+)$/m.exec(t)?.[1] ?? NaN) * 1000;
    for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) tries.push([`${root}${v2.path}/cpu.stat`, usage]);
  }
  for (const [file, parse] of tries) {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    const ns = parse(text);
    if (Number.isFinite(ns)) return ns;
  }
  throw new Error(`pid ${pid}: no cgroup CPU usage found (tried ${tries.map(([f]) => f).join(', ') || 'no cpuacct or v2 entry'})`);
}

/** A meter for a process (its threads) and, optionally, a container's cgroup (by its init pid). */
export function cpuMeter(pid: number | null, containerPid: number | null = null): CpuMeter {
  return () => ({
    ...(pid !== null ? threadCpuNs(pid) : { main: 0, others: 0 }),
    container: containerPid !== null ? cgroupCpuNs(containerPid) : 0,
  });
}

export function perCall(before: CpuSample, after: CpuSample, requests: number): CpuPerCall {
  const us = (a: number, b: number) => (requests > 0 ? (b - a) / 1000 / requests : NaN);
  const main = us(before.main, after.main);
  const others = us(before.others, after.others);
  const container = us(before.container, after.container);
  return { main, others, container, total: main + others + container };
}
