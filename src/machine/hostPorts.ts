import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { dockerEnv, type Engine } from "../plan/engine";
import { ConfigError } from "../plan/errors";
import type { ContainerPlan } from "../plan/plan";
import { PROJECT_DIR } from "../projectDir";

/**
 * Host ports held by someone else, found before any resource is declared.
 * Docker creates a container before it binds the container's ports, so a taken
 * port would otherwise leave a container stuck in "Created": the tutorial's trap.
 * Here it reads /proc/net/tcp{,6}: synchronous, ~7 ms. For an engine on
 * another machine it reads the same files and their holders there in one round
 * trip: over ssh for ssh:// (~0.3 s), else in a one-shot container in that
 * machine's network and pid namespaces (tcp://, ~1.1 s; ssh is used where it
 * can be because it costs a quarter of that).
 */

export interface Listener {
  /** "0.0.0.0", "127.0.0.1", "::", or an IPv6 address uncompressed, e.g. "0:0:0:0:0:0:0:1". */
  readonly address: string;
  readonly port: number;
  readonly inode: string;
}

/** Someone who holds a port: a process, and the container it runs in, if any. */
export interface Holder {
  readonly process: string;
  readonly pid: number;
  /** Docker name and stack label of the container behind the process. */
  readonly container?: { readonly name: string; readonly stack: string };
}

const LISTEN = "0A";

/** The listening sockets of one /proc/net/tcp or /proc/net/tcp6 file. */
export function parseProcNetTcp(text: string): Listener[] {
  return text
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === LISTEN)
    .map((fields) => {
      const [hexAddress = "", hexPort = "0"] = (fields[1] ?? "").split(":");
      return { address: decodeAddress(hexAddress), port: Number.parseInt(hexPort, 16), inode: fields[9] ?? "" };
    });
}

/** The kernel prints each 32-bit word of an address in host (little-endian) order. */
function decodeAddress(hex: string): string {
  const bytes = (hex.match(/.{8}/g) ?? []).flatMap((word) => (word.match(/../g) ?? []).reverse());
  const octets = bytes.map((byte) => Number.parseInt(byte, 16));
  if (octets.length === 4) return octets.join(".");
  if (octets.every((octet) => octet === 0)) return "::";
  const mapped = octets.slice(0, 10).every((o) => o === 0) && octets[10] === 255 && octets[11] === 255;
  if (mapped) return octets.slice(12).join(".");
  return (bytes.join("").match(/.{4}/g) ?? []).map((group) => Number.parseInt(group, 16).toString(16)).join(":");
}

/** Whether a listener stops Docker from binding port on bindAddress. */
export function clashes(listener: Listener, port: number, bindAddress: string): boolean {
  if (listener.port !== port) return false;
  const wildcard = listener.address === "0.0.0.0" || listener.address === "::";
  return wildcard || listener.address === bindAddress || (bindAddress === "0.0.0.0" && !listener.address.includes(":"));
}

/** The message for a port that a holder outside this stack has, on this machine or the engine's (`where`). */
export function takenMessage(container: ContainerPlan, holder: Holder | undefined, where = "this machine"): string {
  const there = where === "this machine" ? "" : " there";
  const who = holder
    ? `${holder.process} (pid ${holder.pid})${holder.container ? ` in container ${holder.container.name}` : ""}`
    : `another process (see: ss -ltnp 'sport = :${container.hostPort}'${there})`;
  return `Invalid config ${container.hostPortKey} = ${container.hostPort}: host port ${container.hostPort} is already taken on ${where} by ${who}, so ${container.dockerName} cannot bind it. Stop that process or choose another port; nothing was created.`;
}

/**
 * A process's name: argv[0]'s base name, else the executable's. Not
 * /proc/<pid>/comm, which is a thread's name (Node 24 names its main thread
 * "MainThread").
 */
export function processName(cmdline: string, exe: string, comm: string): string {
  const argv0 = cmdline.split("\0")[0] ?? "";
  // A process that rewrote its argv ("sshd: /usr/sbin/sshd [listener]") keeps its name first.
  if (argv0 !== "") return path.basename(argv0.split(" ")[0] ?? argv0).replace(/:$/, "");
  if (exe !== "") return path.basename(exe);
  return comm.trim() || "?";
}

/** What the check reads on one machine: its listeners, and who holds some of them. */
interface Machine {
  readonly where: string;
  readonly listeners: readonly Listener[];
  holders(listeners: readonly Listener[]): Map<string, Holder>;
}

/**
 * Throws a ConfigError naming the first planned host port that a process
 * outside this stack listens on. Ports held by this stack's own containers
 * are fine: they are the converged state.
 */
export function checkHostPortsFree(
  containers: readonly ContainerPlan[],
  bindAddress: string,
  stack: string,
  engine: Engine,
  /** An image the engine has, for the one-shot container that reads a tcp:// engine's machine. */
  oneShotImage: string,
): void {
  if (containers.every((container) => container.hostPort === null)) return;
  const machine = engine.remote ? remoteMachine(engine, oneShotImage) : localMachine(engine);
  if (machine === undefined) return;
  const clashing = containers.flatMap((container) => {
    const port = container.hostPort;
    return port === null
      ? []
      : machine.listeners.filter((l) => clashes(l, port, bindAddress)).map((l) => ({ container, l }));
  });
  if (clashing.length === 0) return;
  // A converged stack holds all its ports: look them all up at once (one
  // pass over /proc, one `docker ps`), not one docker call per port.
  const holders = machine.holders(clashing.map(({ l }) => l));
  for (const { container, l } of clashing) {
    const holder = holders.get(l.inode);
    if (holder?.container?.stack !== stack) {
      throw new ConfigError(takenMessage(container, holder, machine.where));
    }
  }
}

function localMachine(engine: Engine): Machine | undefined {
  if (!fs.existsSync("/proc/net/tcp")) return undefined;
  const listeners = ["/proc/net/tcp", "/proc/net/tcp6"]
    .filter((file) => fs.existsSync(file))
    .flatMap((file) => parseProcNetTcp(fs.readFileSync(file, "utf8")));
  return { where: "this machine", listeners, holders: (clashing) => holdersOf(clashing, engine) };
}

const HOLDERS_MARK = "--- holders";

/**
 * Prints the machine's /proc/net/tcp and tcp6, then HOLDERS_MARK, then for each
 * listening socket "inode pid cgroup-id argv0": everything in one round trip.
 * A shell script, because `sh` is what every machine has.
 */
const LISTENERS_SCRIPT = path.join(PROJECT_DIR, "src", "machine", "listeners.sh");

/**
 * Runs LISTENERS_SCRIPT on the engine's machine: over ssh for ssh://, else in a
 * one-shot container sharing the machine's network and pid namespaces, from
 * the base image that setup placed there.
 */
function onEngineMachine(engine: Engine, oneShotImage: string): string {
  const options = {
    encoding: "utf8" as const,
    input: fs.readFileSync(LISTENERS_SCRIPT, "utf8"),
    timeout: 20_000,
    stdio: "pipe" as const,
    env: { ...process.env, ...dockerEnv(engine) },
  };
  try {
    if (engine.scheme === "ssh") {
      const url = new URL(engine.url.replace(/^ssh:/, "http:"));
      const args = [...(url.username ? ["-l", url.username] : []), ...(url.port ? ["-p", url.port] : [])];
      return execFileSync("ssh", [...args, "-o", "BatchMode=yes", "-T", "--", engine.host ?? "", "sh -s"], options);
    }
    return execFileSync(
      "docker",
      // SYS_PTRACE: reading another process's fd links needs it.
      [
        "run",
        "--rm",
        "-i",
        "--network",
        "host",
        "--pid",
        "host",
        "--user",
        "0",
        "--cap-add",
        "SYS_PTRACE",
        "--entrypoint",
        "sh",
        oneShotImage,
        "-s",
      ],
      options,
    );
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? "")
      .trim()
      .split("\n")
      .pop();
    throw new ConfigError(
      `Could not read the listening ports on the engine's machine (${engine.url}) to check the planned host ports: ${stderr || String(error)}`,
    );
  }
}

/** Parses LISTENERS_SCRIPT's holder lines. */
export function parseRemoteHolders(text: string): Map<string, { pid: number; process: string; containerId?: string }> {
  const found = new Map<string, { pid: number; process: string; containerId?: string }>();
  for (const line of text.split("\n")) {
    const [inode, pid, cid, ...argv0] = line.trim().split(" ");
    if (!inode || !pid || argv0.length === 0) continue;
    const process = processName(argv0.join(" "), "", "");
    found.set(
      inode,
      cid && cid !== "-" ? { pid: Number(pid), process, containerId: cid } : { pid: Number(pid), process },
    );
  }
  return found;
}

function remoteMachine(engine: Engine, oneShotImage: string): Machine {
  const [tables = "", holders = ""] = onEngineMachine(engine, oneShotImage).split(`${HOLDERS_MARK}\n`);
  // tcp and tcp6 each start with a header line ("  sl  local_address ...").
  const listeners = tables.split(/\n(?=\s*sl\s)/).flatMap((table) => parseProcNetTcp(table));
  const found = parseRemoteHolders(holders);
  return {
    where: `the engine's machine ${engine.host}`,
    listeners,
    holders: (clashing) => resolveContainers(clashing, engine, (inode) => found.get(inode)),
  };
}

/** A running container as `docker ps` lists it. */
export interface PsEntry {
  readonly id: string;
  readonly name: string;
  readonly stack: string;
  /** The host ports it publishes. */
  readonly hostPorts: readonly number[];
}

const PS_FORMAT = '{{.ID}}\t{{.Names}}\t{{.Label "flask-bridge.stack"}}\t{{.Ports}}';

/** `docker ps --no-trunc --format PS_FORMAT`; Ports reads like "0.0.0.0:5001->5000/tcp, :::5001->5000/tcp". */
export function parsePs(text: string): PsEntry[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const [id = "", name = "", stack = "", ports = ""] = line.split("\t");
      const hostPorts = [...ports.matchAll(/:(\d+)->/g)].map((match) => Number(match[1]));
      return { id, name, stack, hostPorts: [...new Set(hostPorts)] };
    });
}

function holdersOf(listeners: readonly Listener[], engine: Engine): Map<string, Holder> {
  const pids = pidsOfSockets(new Set(listeners.map((l) => l.inode)));
  return resolveContainers(listeners, engine, (inode) => {
    const pid = pids.get(inode);
    if (pid === undefined) return undefined;
    const process = processName(
      readOr(`/proc/${pid}/cmdline`, ""),
      readLinkOr(`/proc/${pid}/exe`, ""),
      readOr(`/proc/${pid}/comm`, ""),
    );
    const containerId = /[/-]([0-9a-f]{64})(?:\.scope)?$/m.exec(readOr(`/proc/${pid}/cgroup`, ""))?.[1];
    return containerId ? { pid, process, containerId } : { pid, process };
  });
}

/** Names the container behind each holder: docker-proxy's by the port it publishes, others by cgroup. */
function resolveContainers(
  listeners: readonly Listener[],
  engine: Engine,
  processOf: (inode: string) => { pid: number; process: string; containerId?: string } | undefined,
): Map<string, Holder> {
  let running: PsEntry[] | undefined;
  const ps = () => {
    running ??= parsePs(dockerOr(engine, ["ps", "--no-trunc", "--format", PS_FORMAT], ""));
    return running;
  };
  const holders = new Map<string, Holder>();
  for (const listener of listeners) {
    const found = processOf(listener.inode);
    if (found === undefined) continue;
    const { pid, process, containerId } = found;
    // docker-proxy forwards a published port; the container is the one that publishes it.
    const entry =
      process === "docker-proxy"
        ? ps().find((c) => c.hostPorts.includes(listener.port))
        : containerId
          ? ps().find((c) => c.id === containerId)
          : undefined;
    holders.set(
      listener.inode,
      entry ? { process, pid, container: { name: entry.name, stack: entry.stack } } : { process, pid },
    );
  }
  return holders;
}

/** The pid holding each socket inode, from one pass over /proc/<pid>/fd. */
function pidsOfSockets(inodes: ReadonlySet<string>): Map<string, number> {
  const found = new Map<string, number>();
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        const inode = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
        if (inode !== undefined && inodes.has(inode) && !found.has(inode)) found.set(inode, Number(pid));
      } catch {
        // closed meanwhile
      }
    }
    if (found.size === inodes.size) break;
  }
  return found;
}

function readLinkOr(file: string, fallback: string): string {
  try {
    return fs.readlinkSync(file);
  } catch {
    return fallback;
  }
}

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

function dockerOr(engine: Engine, args: string[], fallback: string): string {
  try {
    return execFileSync("docker", args, {
      encoding: "utf8",
      env: { ...process.env, ...dockerEnv(engine) },
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).trim();
  } catch {
    return fallback;
  }
}
