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
  for (const container of containers) {
    const port = container.hostPort;
    if (port === null) continue;
    for (const listener of listeners.filter((l) => clashes(l, port, bindAddress))) {
      const holder = holderOf(listener, port);
      if (holder?.container?.stack !== stack) {
        throw new ConfigError(takenMessage(container, holder));
      }
    }
  }
}

function holderOf(listener: Listener, port: number): Holder | undefined {
  const pid = pidOfSocket(listener.inode);
  if (pid === undefined) return undefined;
  const process = readOr(`/proc/${pid}/comm`, "?").trim();
  // docker-proxy forwards a published port; the container is the one that publishes it.
  const containerId =
    process === "docker-proxy"
      ? dockerOr(["ps", "-q", "--no-trunc", "--filter", `publish=${port}`], "").split("\n")[0]
      : /[/-]([0-9a-f]{64})(?:\.scope)?$/m.exec(readOr(`/proc/${pid}/cgroup`, ""))?.[1];
  if (!containerId) return { process, pid };
  const [name = "", stack = ""] = dockerOr(
    ["inspect", "--format", '{{.Name}} {{index .Config.Labels "flask-bridge.stack"}}', containerId],
    "",
  ).split(" ");
  return { process, pid, container: { name: name.replace(/^\//, ""), stack } };
}

function pidOfSocket(inode: string): number | undefined {
  const target = `socket:[${inode}]`;
  for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to read
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
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
