import {
  counted,
  driftMessage,
  type EngineService,
  type EngineView,
  type HealPlan,
  hasSwarmPart,
  listed,
  planHeal,
  pulumiArgs,
  type StackLock,
  type StackState,
  stateIds,
} from "./heal";

/** What the heal step reads and does; scripts/heal.ts gives the real ones, the unit tests fakes. */
export interface HealDeps {
  readState(): Promise<StackState>;
  readLocks(): StackLock[];
  /** swarm: the state holds a service or volume (the script adds the stack's config to that signal). */
  readEngine(ids: readonly string[], swarm: boolean): Promise<EngineView>;
  alive(pid: number): boolean;
  hostname: string;
  removeLock(lock: StackLock): void;
  /** `pulumi refresh --clear-pending-creates`: clears the pending operations, reads every resource. */
  clearPending(): Promise<void>;
  removeContainers(ids: readonly string[]): Promise<void>;
  removeNetworks(ids: readonly string[]): Promise<void>;
  /** `docker service rm`, then waits until their tasks are gone (bounded). */
  removeServices(services: readonly EngineService[]): Promise<void>;
  removeVolumes(names: readonly string[]): Promise<void>;
  /** One line per thing done. */
  say(line: string): void;
}

export interface HealResult {
  /** Extra arguments for pulumi. */
  args: string[];
  plan: HealPlan;
}

/**
 * The step before `up` or `preview`. `up` heals: stale locks, pending
 * operations and orphans go, and Pulumi is told to refresh and rebuild what
 * the engine lacks. `preview` changes nothing but stale locks (their process
 * is gone): it says what `up` would remove, and previews with the refresh.
 */
export async function heal(mode: "up" | "preview", userArgs: readonly string[], deps: HealDeps): Promise<HealResult> {
  let state = await deps.readState();
  const locks = deps.readLocks();
  let engine = await deps.readEngine(stateIds(state), hasSwarmPart(state));
  let plan = planHeal(state, engine, locks, deps.hostname, deps.alive);
  if (plan.heldBy !== null) return { args: [], plan }; // Pulumi names the holder

  for (const lock of plan.staleLocks) {
    deps.removeLock(lock);
    deps.say(`removed the lock of pulumi pid ${lock.pid} (${lock.timestamp}), which is gone: a killed run left it`);
  }

  let refreshed = false;
  if (mode === "up" && plan.pendingOperations > 0) {
    deps.say(
      `clearing ${counted(plan.pendingOperations, "pending operation")} an interrupted run left (pulumi refresh --clear-pending-creates)`,
    );
    await deps.clearPending();
    refreshed = true;
    state = await deps.readState();
    engine = await deps.readEngine(stateIds(state), hasSwarmPart(state));
    plan = planHeal(state, engine, [], deps.hostname, deps.alive);
  }

  const containers = plan.orphanContainers.map((c) => c.name);
  const services = plan.orphanServices.map((s) => s.name);
  const networks = plan.orphanNetworks.map((n) => n.name);
  const volumes = plan.orphanVolumes.map((v) => v.name);
  if (mode === "up") {
    // Containers and services first (with their tasks): a network or volume in use cannot go.
    if (containers.length > 0) {
      await deps.removeContainers(plan.orphanContainers.map((c) => c.id));
      deps.say(`removed ${counted(containers.length, "container")} the state does not know: ${listed(containers)}`);
    }
    if (services.length > 0) {
      await deps.removeServices(plan.orphanServices);
      deps.say(`removed ${counted(services.length, "service")} the state does not know: ${listed(services)}`);
    }
    if (networks.length > 0) {
      await deps.removeNetworks(plan.orphanNetworks.map((n) => n.id));
      deps.say(`removed ${counted(networks.length, "network")} the state does not know: ${listed(networks)}`);
    }
    if (volumes.length > 0) {
      await deps.removeVolumes(volumes);
      deps.say(`removed ${counted(volumes.length, "volume")} the state does not know: ${listed(volumes)}`);
    }
  } else {
    const orphans = [
      ...containers.map((name) => `container ${name}`),
      ...services.map((name) => `service ${name}`),
      ...networks.map((name) => `network ${name}`),
      ...volumes.map((name) => `volume ${name}`),
    ];
    if (orphans.length > 0) {
      deps.say(`the state does not know ${listed(orphans)}; npm run up removes them first`);
    }
    if (plan.pendingOperations > 0) {
      deps.say(
        `${counted(plan.pendingOperations, "pending operation")} left by an interrupted run; npm run up clears them`,
      );
    }
  }

  const drift = driftMessage(plan);
  if (drift !== null) deps.say(drift);
  return { args: pulumiArgs(plan, refreshed, userArgs), plan };
}
