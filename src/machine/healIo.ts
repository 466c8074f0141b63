import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import {
  counted,
  type EngineContainer,
  type EngineNetwork,
  type EngineService,
  type EngineView,
  type EngineVolume,
  listed,
  type PendingOperation,
  type StackLock,
  type StackState,
} from "./heal";

/**
 * What heal reads and does, each step bounded in time: the stack's state and
 * locks (the file backend's JSON read directly: ~1 ms, where `pulumi stack
 * export` takes 0.15-0.5 s; export for any other backend), and the engine through the docker
 * CLI with the environment its caller gives (scripts/heal.ts: the stack's engine, resolved
 * as the program resolves it).
 */

const run = promisify(execFile);

/** Listing the stack's objects; an ssh:// engine pays a connection per call. */
export const LIST_TIMEOUT_MS = 20_000;
/** Removing containers (a running one is killed: -f) and networks. */
export const REMOVE_TIMEOUT_MS = 60_000;
/**
 * How long the tasks of removed services may take to go: an app task drains
 * for swarmDrainSeconds (up to 100 s) and Swarm kills it after its stop grace
 * period (2 min, SwarmService.ts), so a hung task needs that long.
 */
export const TASKS_GONE_TIMEOUT_MS = 180_000;
/** One docker CLI run per second while waiting: over ssh:// each costs the engine's machine a connection. */
const POLL_MS = 1000;
/** `pulumi refresh --clear-pending-creates` and `pulumi stack export`. */
export const PULUMI_TIMEOUT_MS = 10 * 60_000;

export class HealError extends Error {}

/** Runs a command; a failure or a timeout throws a HealError naming the command and the cause in one line. */
export async function command(
  file: string,
  args: readonly string[],
  timeoutMs: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  try {
    const { stdout } = await run(file, [...args], { encoding: "utf8", timeout: timeoutMs, env, maxBuffer: 64 << 20 });
    return stdout;
  } catch (error) {
    const failed = error as { killed?: boolean; signal?: string; stderr?: string; message: string };
    const what = `${file} ${args.slice(0, 3).join(" ")}`;
    if (failed.killed || failed.signal === "SIGTERM") {
      throw new HealError(`${what} did not finish within ${timeoutMs / 1000} s`);
    }
    const cause = (failed.stderr ?? "").trim().split("\n").filter(Boolean).pop() ?? failed.message;
    throw new HealError(`${what} failed: ${cause}`);
  }
}

/** The file backend's directory, or null for any other backend. */
export function fileBackendDir(backendUrl: string | undefined): string | null {
  if (!backendUrl?.startsWith("file://")) return null;
  const dir = backendUrl.slice("file://".length).replace(/\?.*$/, "");
  return dir.startsWith("~") ? path.join(process.env.HOME ?? "", dir.slice(1)) : dir;
}

interface Deployment {
  resources?: { urn: string; type: string; id?: string; outputs?: Record<string, unknown> }[] | null;
  pending_operations?: { type: string; resource: { urn: string } }[] | null;
}

/** The resources and pending operations of a checkpoint (file) or an export (`pulumi stack export`). */
export function parseState(text: string): StackState {
  const json = JSON.parse(text) as { checkpoint?: { latest?: Deployment | null }; deployment?: Deployment };
  const deployment: Deployment = json.deployment ?? json.checkpoint?.latest ?? {};
  return {
    resources: (deployment.resources ?? []).map(({ urn, type, id, outputs }) => ({ urn, type, id, outputs })),
    pending: (deployment.pending_operations ?? []).map(
      (operation): PendingOperation => ({ type: operation.type, urn: operation.resource.urn }),
    ),
  };
}

export interface StateSource {
  state: StackState;
  /** "file" (read directly) or "export". */
  via: "file" | "export";
}

export async function readState(stack: string, project: string, env: NodeJS.ProcessEnv): Promise<StateSource> {
  const dir = fileBackendDir(env.PULUMI_BACKEND_URL);
  if (dir !== null) {
    const base = path.join(dir, ".pulumi", "stacks", project, `${stack}.json`);
    for (const [file, decode] of [
      [base, (bytes: Buffer) => bytes.toString("utf8")],
      [`${base}.gz`, (bytes: Buffer) => gunzipSync(bytes).toString("utf8")],
    ] as const) {
      if (fs.existsSync(file)) return { state: parseState(decode(fs.readFileSync(file))), via: "file" };
    }
  }
  const text = await command(
    "pulumi",
    ["stack", "export", "--stack", stack, "--non-interactive"],
    PULUMI_TIMEOUT_MS,
    env,
  );
  return { state: parseState(text), via: "export" };
}

/** The file backend's lock files for the stack (none for any other backend). */
export function readLocks(stack: string, project: string, env: NodeJS.ProcessEnv): StackLock[] {
  const dir = fileBackendDir(env.PULUMI_BACKEND_URL);
  if (dir === null) return [];
  const lockDir = path.join(dir, ".pulumi", "locks", "organization", project, stack);
  if (!fs.existsSync(lockDir)) return [];
  return fs
    .readdirSync(lockDir)
    .filter((name) => name.endsWith(".json"))
    .flatMap((name) => {
      const file = path.join(lockDir, name);
      try {
        const { pid, hostname, timestamp } = JSON.parse(fs.readFileSync(file, "utf8"));
        return typeof pid === "number" ? [{ file, pid, hostname: String(hostname), timestamp: String(timestamp) }] : [];
      } catch {
        return []; // being written, or not a lock: Pulumi judges it
      }
    });
}

/** Removes a lock file and the attributes file the backend keeps beside it. */
export function removeLock(lock: StackLock): void {
  fs.rmSync(lock.file, { force: true });
  fs.rmSync(`${lock.file}.attrs`, { force: true });
}

/** Whether pid is a live pulumi process of this machine (a zombie or a reused pid is not). */
export function pulumiAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("pulumi");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" && fs.existsSync("/proc/self")) return false;
    // No /proc: ask the kernel whether the pid exists.
    try {
      process.kill(pid, 0);
      return true;
    } catch (killError) {
      return (killError as NodeJS.ErrnoException).code === "EPERM";
    }
  }
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** `docker ps` lines "<id>\t<name>\t<state>\t<labels>" → containers. */
export function parseContainers(text: string): EngineContainer[] {
  return lines(text).map((line) => {
    const [id = "", name = "", state = "", labels = ""] = line.split("\t");
    return { id, name, state, swarmTask: /(^|,)com\.docker\.swarm\.task\.id=/.test(labels) };
  });
}

/** `docker network ls` lines "<id>\t<name>" → networks. */
export function parseNetworks(text: string): EngineNetwork[] {
  return lines(text).map((line) => {
    const [id = "", name = ""] = line.split("\t");
    return { id, name };
  });
}

/** `docker service ls` lines "<id>\t<name>" → services; the ID comes truncated (readEngine restores it). */
export function parseServices(text: string): EngineService[] {
  return parseNetworks(text);
}

/** `docker volume ls` lines "<name>" → volumes. */
export function parseVolumes(text: string): EngineVolume[] {
  return lines(text).map((line) => ({ name: line.trim() }));
}

/**
 * Each object's ID and, for a container, its state. The template runs on
 * inspect's raw JSON: "Id" for a container, network or image, "ID" for a
 * service, only "Name" for a volume (whose ID is its name); `index` yields
 * nothing for a key the object lacks, where `.Key` would fail.
 */
const INSPECT_FORMAT =
  '{{with index . "Id"}}{{.}}{{else}}{{with index . "ID"}}{{.}}{{else}}{{index . "Name"}}{{end}}{{end}}' +
  '{{range $k, $v := .}}{{if eq $k "State"}}\t{{$v.Status}}{{end}}{{end}}';

/** `docker inspect` lines "<id>\t<state or empty>" → present IDs; an image's ID comes as sha256:<hex>. */
export function parsePresent(text: string): Map<string, string> {
  return new Map(
    lines(text).map((line) => {
      const [id = "", state = ""] = line.split("\t");
      return [id, state] as const;
    }),
  );
}

/** `docker service ls` on an engine that is no swarm manager: no services, and the program says what is wrong. */
const NOT_A_MANAGER = /not a swarm manager/i;

/**
 * The stack's labelled containers and networks (and, with `swarm`, services
 * and volumes), and which of the state's IDs the engine has: the listings at
 * once; an inspect only when they miss one of the state's IDs (an object
 * without the label, or one gone). Only swarm mode makes services and
 * volumes, so an engine-mode stack pays no `docker service ls`, which would
 * fail anyway on an engine that is no swarm manager.
 */
export async function readEngine(
  stack: string,
  ids: readonly string[],
  env: NodeJS.ProcessEnv,
  swarm = false,
): Promise<EngineView> {
  const filter = `label=flask-bridge.stack=${stack}`;
  const [ps, networks, images, services, volumes] = await Promise.all([
    command(
      "docker",
      ["ps", "-a", "--no-trunc", "--filter", filter, "--format", "{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Labels}}"],
      LIST_TIMEOUT_MS,
      env,
    ),
    command(
      "docker",
      ["network", "ls", "--no-trunc", "--filter", filter, "--format", "{{.ID}}\t{{.Name}}"],
      LIST_TIMEOUT_MS,
      env,
    ),
    command(
      "docker",
      ["image", "ls", "-a", "--no-trunc", "--filter", filter, "--format", "{{.ID}}"],
      LIST_TIMEOUT_MS,
      env,
    ),
    swarm
      ? command(
          "docker",
          ["service", "ls", "--filter", filter, "--format", "{{.ID}}\t{{.Name}}"],
          LIST_TIMEOUT_MS,
          env,
        ).catch((error: Error) => {
          if (NOT_A_MANAGER.test(error.message)) return "";
          throw error;
        })
      : "",
    swarm ? command("docker", ["volume", "ls", "--filter", filter, "--format", "{{.Name}}"], LIST_TIMEOUT_MS, env) : "",
  ]);
  const containers = parseContainers(ps);
  const labelledNetworks = parseNetworks(networks);
  // `docker service ls` has no --no-trunc: its 12-character IDs become the state's full ones where they match.
  const labelledServices = parseServices(services).map((s) => ({
    ...s,
    id: ids.find((id) => id.length > s.id.length && id.startsWith(s.id)) ?? s.id,
  }));
  const labelledVolumes = parseVolumes(volumes);
  const present = new Map<string, string>([
    ...containers.map((c) => [c.id, c.state] as const),
    ...labelledNetworks.map((n) => [n.id, ""] as const),
    ...lines(images).map((id) => [id.trim(), ""] as const),
    ...labelledServices.map((s) => [s.id, ""] as const),
    ...labelledVolumes.map((v) => [v.name, ""] as const),
  ]);
  const unseen = ids.filter((id) => !present.has(id));
  if (unseen.length > 0) {
    // Exit status 1 when any is missing; stdout still lists the ones found.
    const found = await dockerFound(["inspect", "--format", INSPECT_FORMAT, ...unseen], env);
    for (const [id, state] of parsePresent(found)) present.set(id, state);
  }
  return { containers, networks: labelledNetworks, services: labelledServices, volumes: labelledVolumes, present };
}

/** How docker inspect says an object is gone: "No such object: X", and for a task "task X not found". */
const GONE = /^Error: No such |^Error response from daemon: \w+ \S+ not found$/i;

/**
 * A docker inspect's output for the objects it found: its exit status 1 may
 * say only that some are gone (GONE); a failure that says no such thing throws.
 */
async function dockerFound(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  return run("docker", [...args], { encoding: "utf8", timeout: LIST_TIMEOUT_MS, env }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string; stderr?: string; killed?: boolean; message: string }) => {
      if (error.killed) throw new HealError(`docker ${args[0]} did not finish within ${LIST_TIMEOUT_MS / 1000} s`);
      // Other lines may be an ssh:// engine's warnings; with no "gone" line at all, the call itself failed.
      const said = lines(error.stderr ?? "").map((line) => line.trim());
      if (!said.some((line) => GONE.test(line))) {
        throw new HealError(`docker ${args.slice(0, 3).join(" ")} failed: ${said.pop() ?? error.message}`);
      }
      return error.stdout ?? "";
    },
  );
}

/**
 * Removes services and waits until their tasks are gone: Swarm removes a
 * task (on whichever node) once its node has removed its container, and an
 * overlay a task still uses, or a volume its container mounts, cannot go.
 * The tasks are listed first, since a removed service's can no longer be.
 */
export async function removeServices(
  services: readonly EngineService[],
  env: NodeJS.ProcessEnv,
  timeoutMs = TASKS_GONE_TIMEOUT_MS,
): Promise<void> {
  const ids = services.map((s) => s.id);
  const tasks = lines(await command("docker", ["service", "ps", "-q", "--no-trunc", ...ids], LIST_TIMEOUT_MS, env));
  await command("docker", ["service", "rm", ...ids], REMOVE_TIMEOUT_MS, env);
  if (tasks.length === 0) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = lines(await dockerFound(["inspect", "--type", "task", "--format", "{{.ServiceID}}", ...tasks], env));
    if (left.length === 0) return;
    if (Date.now() >= deadline) {
      const names = services.filter((s) => left.some((id) => id.startsWith(s.id))).map((s) => s.name);
      throw new HealError(
        `${counted(left.length, "task")} of the removed ${listed(names)} still there ${timeoutMs / 1000} s after docker service rm (is a node down? docker node ls); run npm run up again once they are gone`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
