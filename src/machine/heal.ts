/**
 * What the next `up` (or `preview`) must heal before Pulumi runs: the
 * decisions only, over data that src/machine/healIo.ts reads (the stack's
 * state, its lock files, what the engine holds with the stack's label).
 *
 * - a lock whose pulumi process is gone (a killed `up`) is removed;
 * - pending operations (an interrupted `up`) are cleared with
 *   `pulumi refresh --clear-pending-creates`;
 * - containers, networks and, in swarm mode, services and volumes that carry
 *   the stack's label but are not in its state (created just before an
 *   interruption, or by a run whose checkpoints were skipped) are removed, or
 *   they clash by name with the ones Pulumi creates next;
 * - when the engine lacks what the state names (the machine was replaced,
 *   wiped or the objects removed), Pulumi refreshes first, and an image,
 *   whose refresh never notices it is gone, is replaced (rebuilt): the
 *   engine's build, or a pushed one when the swarm's own registry lost its
 *   volume (the pushed copy lived there).
 */

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const IMAGE = "docker:index/image:Image";
/** Swarm mode: the app services and the swarm's own registry (src/components/SwarmService.ts, SwarmRegistry.ts). */
export const SERVICE = "docker:index/service:Service";
/** Swarm mode: the registry's storage (SwarmRegistry.ts); its ID is its name. */
export const VOLUME = "docker:index/volume:Volume";

export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly id?: string;
  readonly outputs?: Readonly<Record<string, unknown>>;
}

export interface PendingOperation {
  /** "creating", "updating", "deleting", ... */
  readonly type: string;
  readonly urn: string;
}

export interface StackState {
  readonly resources: readonly StateResource[];
  readonly pending: readonly PendingOperation[];
}

/** A file backend's lock: written by the pulumi process that holds the stack. */
export interface StackLock {
  readonly file: string;
  readonly pid: number;
  readonly hostname: string;
  readonly timestamp: string;
}

export interface EngineContainer {
  readonly id: string;
  readonly name: string;
  /** Docker's state: running, restarting, created, exited, dead, ... */
  readonly state: string;
  /** A Swarm task's container: its service owns it, not the state. */
  readonly swarmTask: boolean;
}

export interface EngineNetwork {
  readonly id: string;
  readonly name: string;
}

export interface EngineService {
  readonly id: string;
  readonly name: string;
}

/** A volume's ID is its name. */
export interface EngineVolume {
  readonly name: string;
}

/** What the engine holds: the stack's labelled objects, and the state's IDs it knows. */
export interface EngineView {
  /** Containers with the stack's label. */
  readonly containers: readonly EngineContainer[];
  /** Networks with the stack's label. */
  readonly networks: readonly EngineNetwork[];
  /** Swarm services with the stack's label (none read where the stack has no swarm part: healIo). */
  readonly services: readonly EngineService[];
  /** Volumes with the stack's label (as services). */
  readonly volumes: readonly EngineVolume[];
  /**
   * Every ID of the state's containers, networks, images, services and
   * volumes that the engine has, with the container's state ("" for the others).
   */
  readonly present: ReadonlyMap<string, string>;
}

export type LockVerdict = "stale" | "live" | "foreign";

export interface HealPlan {
  /** Locks of pulumi processes of this machine that are gone. */
  readonly staleLocks: readonly StackLock[];
  /** Another run holds the stack (here, alive, or on another machine): heal nothing, Pulumi says why. */
  readonly heldBy: StackLock | null;
  readonly pendingOperations: number;
  readonly orphanContainers: readonly EngineContainer[];
  readonly orphanNetworks: readonly EngineNetwork[];
  /** Removed before the networks: an overlay a service uses cannot go. */
  readonly orphanServices: readonly EngineService[];
  readonly orphanVolumes: readonly EngineVolume[];
  /**
   * What the state names and the engine lacks or has stopped, as "container NAME",
   * "network NAME", "service NAME", "volume NAME", "image ID".
   */
  readonly drift: readonly string[];
  /** Pulumi must read the engine before it plans. */
  readonly refresh: boolean;
  /** URNs to replace: images the engine or the registry lacks (their refresh keeps them in the state). */
  readonly replace: readonly string[];
}

/** Which lock blocks, which is left by a process that is gone. */
export function judgeLock(lock: StackLock, hostname: string, alive: (pid: number) => boolean): LockVerdict {
  if (lock.hostname !== hostname) return "foreign";
  return alive(lock.pid) ? "live" : "stale";
}

function nameOf(resource: StateResource): string {
  const name = resource.outputs?.name;
  return typeof name === "string" && name !== "" ? name : (resource.urn.split("::").pop() ?? resource.urn);
}

/** The image ID a docker.Image resource built (its repoDigest output for a local build). */
export function imageIdOf(resource: StateResource): string | null {
  const digest = resource.outputs?.repoDigest;
  return typeof digest === "string" && digest.startsWith("sha256:") ? digest : null;
}

/** A pushed image's reference, <repository>@sha256:<digest> (SwarmImage), or null for a local build. */
function pushedReferenceOf(resource: StateResource): string | null {
  const digest = resource.outputs?.repoDigest;
  return typeof digest === "string" && digest.includes("@sha256:") ? digest : null;
}

const BY_ID = new Set([CONTAINER, NETWORK, SERVICE, VOLUME]);

/** The engine IDs the state names: containers, networks, services, volumes, and images by their ID. */
export function stateIds(state: StackState): string[] {
  return state.resources.flatMap((resource) => {
    if (resource.type === IMAGE) return imageIdOf(resource) ?? [];
    return BY_ID.has(resource.type) && resource.id ? [resource.id] : [];
  });
}

/** Whether the state holds anything of swarm mode (services, the registry's volume). */
export function hasSwarmPart(state: StackState): boolean {
  return state.resources.some((resource) => resource.type === SERVICE || resource.type === VOLUME);
}

const UP_STATES = new Set(["running", "restarting"]);

export function planHeal(
  state: StackState,
  engine: EngineView,
  locks: readonly StackLock[],
  hostname: string,
  alive: (pid: number) => boolean,
): HealPlan {
  const verdicts = locks.map((lock) => [lock, judgeLock(lock, hostname, alive)] as const);
  const heldBy = verdicts.find(([, verdict]) => verdict !== "stale")?.[0] ?? null;
  const staleLocks = verdicts.filter(([, verdict]) => verdict === "stale").map(([lock]) => lock);
  if (heldBy !== null) {
    return {
      staleLocks,
      heldBy,
      pendingOperations: 0,
      orphanContainers: [],
      orphanNetworks: [],
      orphanServices: [],
      orphanVolumes: [],
      drift: [],
      refresh: false,
      replace: [],
    };
  }

  const known = new Set(stateIds(state));
  const orphanContainers = engine.containers.filter((c) => !c.swarmTask && !known.has(c.id));
  const orphanNetworks = engine.networks.filter((n) => !known.has(n.id));
  const orphanServices = engine.services.filter((s) => !known.has(s.id));
  const orphanVolumes = engine.volumes.filter((v) => !known.has(v.name));

  const drift: string[] = [];
  const replace: string[] = [];
  let volumeLost = false;
  for (const resource of state.resources) {
    if (resource.type === CONTAINER && resource.id) {
      const status = engine.present.get(resource.id);
      if (status === undefined) drift.push(`container ${nameOf(resource)}`);
      else if (!UP_STATES.has(status)) drift.push(`container ${nameOf(resource)} (${status})`);
    } else if ((resource.type === NETWORK || resource.type === SERVICE) && resource.id) {
      const kind = resource.type === NETWORK ? "network" : "service";
      if (!engine.present.has(resource.id)) drift.push(`${kind} ${nameOf(resource)}`);
    } else if (resource.type === VOLUME && resource.id) {
      if (!engine.present.has(resource.id)) {
        drift.push(`volume ${nameOf(resource)}`);
        volumeLost = true;
      }
    } else if (resource.type === IMAGE) {
      const id = imageIdOf(resource);
      if (id !== null && !engine.present.has(id)) {
        drift.push(`image ${id.slice("sha256:".length, "sha256:".length + 12)}`);
        replace.push(resource.urn);
      }
    }
  }
  // The swarm's own registry kept the pushed image on its volume: with the volume
  // gone, the services' digest is nowhere to pull from, so the image is pushed again.
  if (volumeLost) {
    for (const resource of state.resources) {
      if (resource.type === IMAGE && pushedReferenceOf(resource) !== null && !replace.includes(resource.urn)) {
        replace.push(resource.urn);
      }
    }
  }
  return {
    staleLocks,
    heldBy: null,
    pendingOperations: state.pending.length,
    orphanContainers,
    orphanNetworks,
    orphanServices,
    orphanVolumes,
    drift,
    // A pending operation is cleared by a refresh too; up runs that refresh on its own (healIo).
    refresh: drift.length > 0 || state.pending.length > 0,
    replace,
  };
}

/** "3 containers" / "1 network": counts for one-line messages. */
export function counted(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** At most `limit` items, then "and N more": a message stays one line. */
export function listed(items: readonly string[], limit = 4): string {
  if (items.length <= limit) return items.join(", ");
  return `${items.slice(0, limit).join(", ")} and ${items.length - limit} more`;
}

/** The one line the drift produces, or null when the engine holds everything. */
export function driftMessage(plan: HealPlan): string | null {
  if (plan.drift.length === 0) return null;
  const rebuild = plan.replace.length > 0 ? ", and rebuilds the image" : "";
  return `the engine lacks what the state names (${listed(plan.drift)}): Pulumi refreshes first${rebuild}`;
}

/** Extra pulumi arguments for the run: a refresh unless one just ran or was asked for, and the replacements. */
export function pulumiArgs(plan: HealPlan, refreshed: boolean, userArgs: readonly string[]): string[] {
  const asked = userArgs.some((arg) => arg === "--refresh" || arg === "-r" || arg.startsWith("--refresh="));
  const args: string[] = plan.refresh && !refreshed && !asked ? ["--refresh"] : [];
  for (const urn of plan.replace) args.push("--replace", urn);
  return args;
}
