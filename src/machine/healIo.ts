import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import type { EngineContainer, EngineNetwork, EngineView, PendingOperation, StackLock, StackState } from "./heal";

/**
 * What heal reads and does, each step bounded in time: the stack's state and
 * locks (the file backend's JSON read directly: ~1 ms, where `pulumi stack
 * export` takes 0.15-0.5 s; export for any other backend), and the engine through the docker
 * CLI with the environment scripts/env.sh exported (DOCKER_HOST and so on).
 */

const run = promisify(execFile);

/** Listing the stack's objects; an ssh:// engine pays a connection per call. */
export const LIST_TIMEOUT_MS = 20_000;
/** Removing containers (a running one is killed: -f) and networks. */
export const REMOVE_TIMEOUT_MS = 60_000;
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

/** A container's state after its ID; a network or an image has no State (a plain .State fails on them). */
const INSPECT_FORMAT = '{{.Id}}{{range $k, $v := .}}{{if eq $k "State"}}\t{{$v.Status}}{{end}}{{end}}';

/** `docker inspect` lines "<id>\t<state or empty>" → present IDs; an image's ID comes as sha256:<hex>. */
export function parsePresent(text: string): Map<string, string> {
  return new Map(
    lines(text).map((line) => {
      const [id = "", state = ""] = line.split("\t");
      return [id, state] as const;
    }),
  );
}

/**
 * The stack's labelled containers and networks, and which of the state's IDs
 * the engine has: three listings at once; an inspect only when the listings
 * miss one of the state's IDs (an object without the label, or one gone).
 */
export async function readEngine(stack: string, ids: readonly string[], env: NodeJS.ProcessEnv): Promise<EngineView> {
  const filter = `label=flask-bridge.stack=${stack}`;
  const [ps, networks, images] = await Promise.all([
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
  ]);
  const containers = parseContainers(ps);
  const labelledNetworks = parseNetworks(networks);
  const present = new Map<string, string>([
    ...containers.map((c) => [c.id, c.state] as const),
    ...labelledNetworks.map((n) => [n.id, ""] as const),
    ...lines(images).map((id) => [id.trim(), ""] as const),
  ]);
  const unseen = ids.filter((id) => !present.has(id));
  if (unseen.length > 0) {
    // Exit status 1 when any is missing; stdout still lists the ones found.
    const found = await run("docker", ["inspect", "--format", INSPECT_FORMAT, ...unseen], {
      encoding: "utf8",
      timeout: LIST_TIMEOUT_MS,
      env,
    }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string; killed?: boolean }) => {
        if (error.killed) throw new HealError(`docker inspect did not finish within ${LIST_TIMEOUT_MS / 1000} s`);
        return error.stdout ?? "";
      },
    );
    for (const [id, state] of parsePresent(found)) present.set(id, state);
  }
  return { containers, networks: labelledNetworks, present };
}
