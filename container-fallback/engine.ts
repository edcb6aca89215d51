// What the container tier needs of a container engine, as an interface: whether it answers
// (watched, so container functions answer 503 while it is gone and work again when it is back),
// containers made with the isolation settings and where their server listens, their exits, their
// output, and the clean-up of what a previous run left. docker-engine.ts is the real one (Docker,
// through dockerode); the unit tests drive the tier with a fake (test/support/fake-engine.ts).

export const NO_ENGINE_HELP = 'no Docker engine answers: on Debian, as root, `apt-get install -y docker.io && (dockerd > /var/log/dockerd.log 2>&1 &)` (npm test\'s set-up does this), or point DOCKER_HOST at one';

export interface ContainerSpec {
  image: string;
  name: string;
  memoryMb: number;
  /** CPU share in cores (NanoCpus). */
  cpus: number;
  /** Most processes and threads at once (PidsLimit). */
  pids: number;
  env: Record<string, string>;
  cmd?: string[];
  entrypoint?: string[];
  /**
   * The function whose egress network the container joins (a bridge with a route out, for that
   * function's containers only); null: the internal functions network only.
   */
  egress: string | null;
  labels: Record<string, string>;
  /** The runtime images run as this user; custom images as their own. */
  user?: string;
}

/** A started container and where the host reaches its server. */
export interface RunningContainer {
  id: string;
  address: string;
  /** FUNCTION_PORT for a real engine; a fake serves on an ephemeral port. */
  port: number;
}

/** One line of a container's output: stream 0 stdout, 1 stderr; when the engine read it (epoch ms). */
export type OutputLine = (stream: 0 | 1, timeMs: number, line: string) => void;

export interface Engine {
  /** Whether it answered the last time it was asked. */
  readonly available: boolean;
  /**
   * Counts the times the engine went away. A container started in an earlier epoch may have gone
   * with it (a restarted engine without live-restore stops its containers).
   */
  readonly epoch: number;
  /** Why it did not answer, the last time it did not ('' when it did). */
  readonly lastError: string;
  /** Hearth is stopping (close() was called): containers still starting are given up. */
  readonly closed: boolean;

  /** Asks now; true when the engine answers. */
  ping(): Promise<boolean>;
  /** Asks every `ms` and tells listeners when the engine goes or comes back. */
  watch(ms?: number): void;
  onChange(fn: (up: boolean) => void): void;
  /**
   * Tells `onExit` the id of every container of this process that stops (killed from outside, out
   * of memory, crashed, or removed by Hearth itself), so a dead warm container is noticed without
   * waiting for a call; `onGap` runs when exits may have gone unreported while the engine stayed
   * up (look for yourself). Call once.
   */
  watchExits(onExit: (id: string) => void, onGap: () => void): void;
  /** Marks the engine gone after a failed call (the watcher finds out when it is back). */
  lost(err: unknown): void;
  /** The functions network (made when missing); its id. */
  network(): Promise<string>;
  /** Gives a running container (a stem cell taken by a function with egress rules) the function's egress network too. */
  joinEgress(id: string, functionName: string): Promise<void>;
  /** Changes a running container's CPU share and pids limit. */
  limit(id: string, cpus: number, pids: number): Promise<void>;
  /** Creates and starts a container with the isolation settings. */
  run(spec: ContainerSpec): Promise<RunningContainer>;
  /** The ids of the running containers this process made. */
  running(): Promise<Set<string>>;
  /** Removes a container (killing it first); never throws. */
  remove(id: string): Promise<void>;
  /**
   * At shutdown, after close(): resolves when the starts in flight (bounded) and every container
   * of this run are removed.
   */
  settled(): Promise<void>;
  /** Removes the containers a previous run of Hearth left behind; how many. */
  removeLeftovers(): Promise<number>;
  /** The image's id (sha256:…), or null when the engine has no such image. */
  imageId(ref: string): Promise<string | null>;
  /** Memory a container uses now, MiB (0 when unknown). */
  memoryMb(id: string): Promise<number>;
  /**
   * Follows a container's stdout and stderr from its start, a line at a time (a line's first
   * 16 KiB; the rest is dropped), each stamped with when the engine read it. Resolves once
   * following has begun; rejects when the output cannot be followed. Ends with the container.
   */
  followLogs(id: string, onLine: OutputLine): Promise<void>;
  close(): void;
}
