import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { ConfigError } from "./errors";
import type { ContainerPlan } from "./plan";

/**
 * Host ports held by someone else, found before any resource is declared.
 * Docker creates a container before it binds the container's ports, so a taken
 * port would otherwise leave a container stuck in "Created": the tutorial's trap.
 * Reads /proc/net/tcp{,6}, so it is synchronous and takes milliseconds.
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

/** The message for a port that a holder outside this stack has. */
export function takenMessage(container: ContainerPlan, holder: Holder | undefined): string {
  const who = holder
    ? `${holder.process} (pid ${holder.pid})${holder.container ? ` in container ${holder.container.name}` : ""}`
    : `another process (see: ss -ltnp 'sport = :${container.hostPort}')`;
  return `Invalid config ${container.hostPortKey} = ${container.hostPort}: host port ${container.hostPort} is already taken on this machine by ${who}, so ${container.dockerName} cannot bind it. Stop that process or choose another port; nothing was created.`;
}

/**
 * Throws a ConfigError naming the first planned host port that a process
 * outside this stack listens on. Ports held by this stack's own containers
 * are fine: they are the converged state.
 */
export function checkHostPortsFree(containers: readonly ContainerPlan[], bindAddress: string, stack: string): void {
  // Only a local engine binds this machine's ports.
  const dockerHost = process.env.DOCKER_HOST ?? "";
  if ((dockerHost !== "" && !dockerHost.startsWith("unix://")) || !fs.existsSync("/proc/net/tcp")) return;
  const listeners = ["/proc/net/tcp", "/proc/net/tcp6"]
    .filter((file) => fs.existsSync(file))
    .flatMap((file) => parseProcNetTcp(fs.readFileSync(file, "utf8")));
  const clashing = containers.flatMap((container) => {
    const port = container.hostPort;
    return port === null ? [] : listeners.filter((l) => clashes(l, port, bindAddress)).map((l) => ({ container, l }));
  });
  if (clashing.length === 0) return;
  // A converged stack holds all its ports: look them all up at once (one
  // pass over /proc, one `docker ps`), not one docker call per port.
  const holders = holdersOf(clashing.map(({ l }) => l));
  for (const { container, l } of clashing) {
    const holder = holders.get(l.inode);
    if (holder?.container?.stack !== stack) {
      throw new ConfigError(takenMessage(container, holder));
    }
  }
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

function holdersOf(listeners: readonly Listener[]): Map<string, Holder> {
  const pids = pidsOfSockets(new Set(listeners.map((l) => l.inode)));
  let running: PsEntry[] | undefined;
  const ps = () => {
    running ??= parsePs(dockerOr(["ps", "--no-trunc", "--format", PS_FORMAT], ""));
    return running;
  };
  const holders = new Map<string, Holder>();
  for (const listener of listeners) {
    const pid = pids.get(listener.inode);
    if (pid === undefined) continue;
    const process = readOr(`/proc/${pid}/comm`, "?").trim();
    // docker-proxy forwards a published port; the container is the one that publishes it.
    const containerId = /[/-]([0-9a-f]{64})(?:\.scope)?$/m.exec(readOr(`/proc/${pid}/cgroup`, ""))?.[1];
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

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

function dockerOr(args: string[], fallback: string): string {
  try {
    return execFileSync("docker", args, {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).trim();
  } catch {
    return fallback;
  }
}
