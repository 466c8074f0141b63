import type { NodeOutput, TaskOutput } from "../plan/outputs";
import { type EngineGet, engineApi } from "./engineApi";
import { runAsEntry } from "./entry";
import { ask, messageOf, sleep, type Waited } from "./http";

/**
 * SwarmService's readiness gate: waits until the service runs its replicas and
 * every URL answers, then prints what the swarm did as JSON. Docker's own
 * health status only moves a task from starting to running. It asks the engine
 * of DOCKER_HOST, which may be a remote manager, through its API over one
 * connection (engineApi.ts), and opens each node's own
 * address: with ingress every Ready node must answer, tasks or not, so a node
 * whose routing mesh is broken fails the up. An update Swarm rolled back fails
 * it too, though the old tasks answer.
 *
 * Input, from the environment: SERVICE, REPLICAS, PORT, NETWORK_ID (the
 * overlay's ID, "" for none), MESH ("true" for ingress), PROBE_TIMEOUT_SECONDS,
 * and DOCKER_HOST and the rest (the stack's engine).
 */

/** What the probe prints: SwarmService's ServiceOutput without what the plan already knows. */
export interface SwarmReport {
  vip: string | null;
  urls: string[];
  replicas: { desired: number; running: number };
  tasks: TaskOutput[];
  nodes: NodeOutput[];
}

/** The fields of a node (GET /nodes, as `docker node inspect`) read here. */
export interface RawNode {
  ID: string;
  Description: { Hostname: string };
  Status: { State: string; Addr?: string };
  ManagerStatus?: { Addr?: string } | null;
  Spec: { Role: "manager" | "worker"; Availability: string };
}

/** The fields of a task (GET /tasks, as `docker inspect --type task`) read here. */
export interface RawTask {
  NodeID: string;
  Slot: number;
  Status: { State: string };
  NetworksAttachments?: { Network: { ID: string }; Addresses?: string[] | null }[] | null;
}

/** The fields of a service (GET /services/{name}, as `docker service inspect`) read here. */
export interface RawService {
  Endpoint?: { VirtualIPs?: { NetworkID: string; Addr?: string }[] | null };
  UpdateStatus?: { State?: string; Message?: string } | null;
}

export interface SeenNode {
  id: string;
  ready: boolean;
  output: NodeOutput;
}

export interface SwarmProbeInput {
  service: string;
  replicas: number;
  port: number;
  /** The overlay's ID; "" when the service is on none. */
  networkId: string;
  /** Ingress: every Ready node answers (the routing mesh); else only nodes running a task. */
  mesh: boolean;
  timeoutSeconds: number;
  /** Between rounds. */
  pauseMs: number;
}

/** One URL's exchange, whole. */
export const ANSWER_LIMIT_MS = 3000;
/** One Engine API call (a new connection over ssh:// takes a few seconds on a slow manager). */
export const ENGINE_CALL_LIMIT_MS = 30_000;
/** Between rounds: the nodes are read once, the service only once its tasks run. */
export const PAUSE_MS = 1000;

export class ProbeInputError extends Error {}

export function parseInput(env: NodeJS.ProcessEnv): SwarmProbeInput {
  const whole = (name: string, least: number): number => {
    const value = Number(env[name]);
    if (!Number.isInteger(value) || value < least) {
      throw new ProbeInputError(`${name} is "${env[name] ?? ""}", not a whole number of at least ${least}`);
    }
    return value;
  };
  const service = env.SERVICE ?? "";
  if (service === "") throw new ProbeInputError("SERVICE names no service");
  return {
    service,
    replicas: whole("REPLICAS", 0),
    port: whole("PORT", 1),
    networkId: env.NETWORK_ID ?? "",
    mesh: env.MESH === "true",
    timeoutSeconds: whole("PROBE_TIMEOUT_SECONDS", 1),
    pauseMs: PAUSE_MS,
  };
}

/** A manager may report 0.0.0.0 as its address; its manager address says where it listens. */
export function nodeAddress(node: RawNode): string {
  if (node.Status.Addr && node.Status.Addr !== "0.0.0.0") return node.Status.Addr;
  return (node.ManagerStatus?.Addr ?? "").replace(/:[0-9]+$/, "");
}

export function toNodes(raw: readonly RawNode[]): SeenNode[] {
  return raw.map((node) => ({
    id: node.ID,
    ready: node.Status.State === "ready",
    output: {
      name: node.Description.Hostname,
      address: nodeAddress(node),
      role: node.Spec.Role,
      availability: node.Spec.Availability,
    },
  }));
}

const byName = <T extends { name: string }>(a: T, b: T): number => a.name.localeCompare(b.name);

export function toTasks(
  raw: readonly RawTask[],
  nodes: ReadonlyMap<string, SeenNode>,
  service: string,
  networkId: string,
): TaskOutput[] {
  return raw
    .map((task) => {
      const node = nodes.get(task.NodeID)?.output ?? { name: task.NodeID, address: "" };
      const overlay = (task.NetworksAttachments ?? []).find((attachment) => attachment.Network.ID === networkId);
      return {
        name: `${service}.${task.Slot}`,
        node: node.name,
        nodeAddress: node.address,
        ip: overlay?.Addresses?.[0]?.split("/")[0] ?? null,
        state: task.Status.State,
      };
    })
    .sort(byName);
}

export function readyNodes(nodes: readonly SeenNode[]): NodeOutput[] {
  return nodes
    .filter((node) => node.ready)
    .map((node) => node.output)
    .sort(byName);
}

/** Ingress: every Ready node's address; else the nodes running a task. Sorted, each once. */
export function probeUrls(
  ready: readonly NodeOutput[],
  running: readonly TaskOutput[],
  mesh: boolean,
  port: number,
): string[] {
  const addresses = mesh ? ready.map((node) => node.address) : running.map((task) => task.nodeAddress);
  return [...new Set(addresses)].map((address) => `http://${address}:${port}`).sort();
}

/** A rolling update still replacing tasks is not done, even with every replica running. */
export function updateInProgress(service: RawService): string | null {
  const state = service.UpdateStatus?.State;
  return state === "updating" || state === "rollback_started" ? state : null;
}

/**
 * An update Swarm gave up on: rolled back (updateConfig's failureAction) or
 * paused, with Swarm's reason; null for any other state. Its old tasks may all
 * run and answer, but not the spec up declared. Swarm clears the status on
 * every spec change, so what is read here belongs to the latest one.
 */
export function updateGivenUp(service: RawService): string | null {
  const state = service.UpdateStatus?.State;
  if (state !== "rollback_completed" && state !== "rollback_paused" && state !== "paused") return null;
  const message = service.UpdateStatus?.Message;
  return message ? `update ${state} (${message})` : `update ${state}`;
}

export function serviceVip(service: RawService, networkId: string): string | null {
  const vips = service.Endpoint?.VirtualIPs ?? [];
  return vips.find((entry) => entry.NetworkID === networkId)?.Addr?.split("/")[0] ?? null;
}

/** One URL that did not answer, and why. */
export interface Unanswered {
  url: string;
  cause: string;
}

/** Where a round got to, for the error once the wait is over. */
export interface Progress {
  /** "1/2 running", "update updating", or an engine call's one-line error. */
  state: string;
  unanswered: Unanswered[];
}

export function formatNotReady(input: SwarmProbeInput, progress: Progress, givenUp = false): string {
  if (givenUp) {
    return `service ${input.service}: Swarm gave the update up, ${progress.state}; its tasks run the previous spec (docker service ps --no-trunc ${input.service} shows why the new ones failed)\n`;
  }
  const head = `service ${input.service} not ready after ${input.timeoutSeconds} s: ${progress.state}`;
  if (progress.unanswered.length === 0) return `${head}\n`;
  const lines = progress.unanswered.map(({ url, cause }) => `  ${url}: ${cause}`);
  return `${head}; ${progress.unanswered.length} URL(s) did not answer:\n${lines.join("\n")}\n`;
}

export type Answers = (url: string) => Promise<{ ok: boolean; cause: string }>;

const answers: Answers = async (url) => {
  const answer = await ask(url, ANSWER_LIMIT_MS);
  return { ok: answer.status === 200, cause: answer.cause };
};

/** The running tasks of a service, as Swarm's API filters them (`docker service ps --filter desired-state=running`). */
export function tasksPath(service: string): string {
  return `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: [service], "desired-state": ["running"] }))}`;
}

/** Waits for the service; the report, or where it got to by the deadline. */
export async function waitForService(
  input: SwarmProbeInput,
  engine: EngineGet,
  answer: Answers = answers,
  now: () => number = Date.now,
): Promise<Waited<SwarmReport> & { progress: Progress; givenUp?: true }> {
  const deadline = now() + input.timeoutSeconds * 1000;
  const get = <T>(path: string) => engine<T>(path, ENGINE_CALL_LIMIT_MS);
  const readNodes = async (): Promise<SeenNode[]> => toNodes(await get<RawNode[]>("/nodes"));
  const readTasks = async (nodes: readonly SeenNode[]): Promise<TaskOutput[]> =>
    toTasks(
      await get<RawTask[]>(tasksPath(input.service)),
      new Map(nodes.map((node) => [node.id, node])),
      input.service,
      input.networkId,
    );

  let progress: Progress = { state: "nothing yet", unanswered: [] };
  let all: SeenNode[] | null = null;
  for (;;) {
    try {
      all ??= await readNodes();
      let placed = await readTasks(all);
      // A task on a node not seen yet: the swarm grew; read the nodes again.
      if (placed.some((task) => task.nodeAddress === "")) {
        all = await readNodes();
        placed = await readTasks(all);
      }
      const ready = readyNodes(all);
      const running = placed.filter((task) => task.state === "running");
      const urls = probeUrls(ready, running, input.mesh, input.port);
      progress = { state: `${running.length}/${input.replicas} running`, unanswered: [] };
      if (running.length === input.replicas) {
        const service = await get<RawService>(`/services/${encodeURIComponent(input.service)}`);
        const givenUp = updateGivenUp(service);
        if (givenUp !== null) {
          progress = { state: givenUp, unanswered: [] };
          return { ok: false, cause: givenUp, progress, givenUp: true };
        }
        const update = updateInProgress(service);
        if (update !== null) {
          progress = { state: `update ${update}`, unanswered: [] };
        } else {
          const answered = await Promise.all(urls.map(answer));
          if (answered.length > 0 && answered.every((result) => result.ok)) {
            const report: SwarmReport = {
              vip: serviceVip(service, input.networkId),
              urls,
              replicas: { desired: input.replicas, running: running.length },
              tasks: placed,
              nodes: ready,
            };
            return { ok: true, value: report, progress };
          }
          progress.unanswered = urls.flatMap((url, index) => {
            const result = answered[index];
            return result && !result.ok ? [{ url, cause: result.cause }] : [];
          });
        }
      }
    } catch (error) {
      progress = { state: messageOf(error).split("\n")[0] ?? "", unanswered: [] };
      all = null;
    }
    const left = deadline - now();
    if (left <= 0) return { ok: false, cause: progress.state, progress };
    await sleep(Math.min(input.pauseMs, left));
  }
}

/** The whole probe; returns the exit status. */
export async function main(
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
): Promise<number> {
  let input: SwarmProbeInput;
  try {
    input = parseInput(env);
  } catch (error) {
    err(`swarm probe: ${messageOf(error)}\n`);
    return 2;
  }
  const engine = engineApi({ env });
  const result = await waitForService(input, engine.get).finally(() => engine.close());
  if (result.ok) {
    out(JSON.stringify(result.value));
    return 0;
  }
  err(formatNotReady(input, result.progress, result.givenUp));
  return 1;
}

runAsEntry(module, main);
