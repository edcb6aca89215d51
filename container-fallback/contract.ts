// The container contract, stated once: what every container of this tier is (the runtime images
// the image builder makes, and the containers the engine starts from them or from a function's
// own image) and how the host finds and reaches it.

import { Runtimes, type Runtime } from '../core/spec.js';

/** Where the function's server listens in every container (the SCF custom-image contract). */
export const FUNCTION_PORT = 9000;

/** The uid and gid functions of the runtime images run as (the image's user, and the host's run option). */
export const RUNTIME_UID = 10001;
export const RUNTIME_GID = 10001;
export const RUNTIME_USER = `${RUNTIME_UID}:${RUNTIME_GID}`;

/**
 * Every container Hearth makes carries this label, its value the pid of the Hearth that made it:
 * for people reading `docker ps`, and what Hearths before run ids sweep by (they keep a container
 * whose pid runs). It decides nothing here: RUN_LABEL and OWNER_LABEL do. The shared functions
 * network and the egress networks have the value 'network'.
 */
export const MANAGED_LABEL = 'hearth.managed';
/**
 * On every container and network a Hearth makes: the run id of the Hearth process that made it (a
 * random UUID made at start, engine-identity.ts). A Hearth lists, watches and adopts only its own
 * run's: two Hearths on one engine (e.g. each in a container, both pid 1) never take each other's.
 */
export const RUN_LABEL = 'hearth.run';
/**
 * On every container and network a Hearth makes: its owner id, a random id kept in its data dir.
 * A later run on the same data dir removes what an earlier one left (same owner, another run id);
 * what other owners made is never touched.
 */
export const OWNER_LABEL = 'hearth.owner';
/** On a function's egress network: the function it is for. */
export const EGRESS_LABEL = 'hearth.egress';
/** On runtime images and on every container: its runtime (python3, java17, or image). */
export const RUNTIME_LABEL = 'hearth.runtime';
/** On a custom image's container: the function it runs. */
export const FUNCTION_LABEL = 'hearth.function';

/** The network function containers join (internal, no traffic between containers). */
export const NETWORK_NAME = 'hearth-functions';
/** The prefix of a function's egress network's name (one per function with egress rules, per Hearth run). */
export const EGRESS_NETWORK_PREFIX = 'hearth-egress-';

/** The runtimes that run in a runtime image of this tier: every runtime but js (isolates) and image (the function's own). */
export type ContainerRuntime = Exclude<Runtime, 'js' | 'image'>;

export function isContainerRuntime(runtime: string): runtime is ContainerRuntime {
  return runtime !== 'js' && runtime !== 'image' && (Runtimes as readonly string[]).includes(runtime);
}

/** python3, java17: derived from the spec's runtimes, so a new one cannot be left out here. */
export const CONTAINER_RUNTIMES: readonly ContainerRuntime[] = Runtimes.filter(isContainerRuntime);
