import type { ContainerOutput, StackOutputs } from "./outputs";
import { APP_PORT, type ContainerPlan, type TopologyPlan } from "./plan";

/**
 * The tutorial's lesson as data: from every container to every other, does a
 * name resolve, and does the app answer by IP, by name, and through the port
 * the host publishes? `expectedConnectivity` says what Docker's rules predict
 * from the plan alone; `probeRequests` and `measuredMatrix` turn the stack's
 * outputs into tries for src/machine/connectivity.py and its answers back into the
 * same shape, so the two are compared cell by cell. Pure: no I/O.
 */

/** dns: the name resolves; ip, name, port: an HTTP GET answers. */
export const WAYS = ["dns", "ip", "name", "port"] as const;
export type Way = (typeof WAYS)[number];

/** What a try saw. "ok" is an HTTP answer, or for dns an address; "refused" includes "no route". */
export type Outcome = "ok" | "nxdomain" | "timeout" | "refused" | "na" | "error";

/** What Docker's rules predict. They do not say whether a blocked try times out or is refused. */
export type Expected = "ok" | "nxdomain" | "blocked" | "na";

export interface Measured {
  outcome: Outcome;
  detail: string;
}

export type Cell<T> = Record<Way, T>;
/** source container → target container → way. */
export type Matrix<T> = Record<string, Record<string, Cell<T>>>;

/** How long one try may take inside the container: a dropped packet shows as a timeout. */
export const TRY_TIMEOUT_SECONDS = 1.5;

/**
 * Docker's documented rules, as measured on Docker 20.10 with its default
 * userland proxy (docker-proxy); each rule below says why it holds.
 */
export function expectedConnectivity(plan: TopologyPlan): Matrix<Expected> {
  return Object.fromEntries(
    plan.containers.map((source) => [
      source.dockerName,
      Object.fromEntries(plan.containers.map((target) => [target.dockerName, expectedCell(source, target)])),
    ]),
  );
}

function expectedCell(source: ContainerPlan, target: ContainerPlan): Cell<Expected> {
  if (source === target) {
    return { dns: "na", ip: "na", name: "na", port: "na" };
  }
  const ip = byIp(source, target);
  return resolvesByName(source, target)
    ? { dns: "ok", ip, name: ip, port: byPort(source, target) }
    : { dns: "nxdomain", ip, name: "nxdomain", port: byPort(source, target) };
}

/**
 * Only a user-defined network has the embedded DNS (127.0.0.11), and it knows
 * the containers on that network alone. The default bridge, host and none
 * containers use the host's resolver, which knows no container.
 */
function resolvesByName(source: ContainerPlan, target: ContainerPlan): boolean {
  return source.kind === "custom" && target.kind === "custom" && source.network === target.network;
}

function byIp(source: ContainerPlan, target: ContainerPlan): Expected {
  if (!hasOwnAddress(target)) {
    return "na";
  }
  if (source.kind === "none") {
    return "blocked";
  }
  // The host has an address on every bridge and sends straight onto it: the
  // isolation rules live in the FORWARD chain, which the host's own packets skip.
  if (source.kind === "host") {
    return "ok";
  }
  // Containers on one bridge talk freely (icc); DOCKER-ISOLATION-STAGE-2 drops
  // packets from one bridge to another, so they time out.
  return source.network === target.network ? "ok" : "blocked";
}

/**
 * Through the host's published port, from the host's address as the source
 * sees it (see `hostAddressFrom`). Packets from any Docker bridge skip the
 * port's DNAT rule (`-A DOCKER -i <bridge> -j RETURN`), so docker-proxy on the
 * host answers and relays to the target: it crosses the isolation between the
 * bridges, but only when it listens on every address, the gateway among them.
 * A bind address equal to a bridge's gateway is not modelled.
 */
function byPort(source: ContainerPlan, target: ContainerPlan): Expected {
  const listen = listenAddress(target);
  if (listen === undefined || source.kind === "none") {
    return "na";
  }
  const reached = source.kind === "host" ? ["0.0.0.0", "127.0.0.1"] : ["0.0.0.0"];
  return reached.includes(listen) ? "ok" : "blocked";
}

function hasOwnAddress(container: { kind: string }): boolean {
  return container.kind === "bridge" || container.kind === "custom";
}

/** Where the target's host port listens: docker-proxy on the publish address, or the host-mode app itself. */
function listenAddress(target: ContainerPlan): string | undefined {
  if (target.publish) {
    return target.publish.hostIp;
  }
  return target.kind === "host" ? target.env.find((entry) => entry.startsWith("HOST="))?.slice(5) : undefined;
}

/** A measured outcome in the terms of the rules. */
export function category(outcome: Outcome): Expected | "error" {
  return outcome === "timeout" || outcome === "refused" ? "blocked" : outcome;
}

export interface Mismatch {
  source: string;
  target: string;
  way: Way;
  expected: Expected | null;
  measured: Measured | null;
}

/** Every cell where the measurement is not what the rules predict, or exists on one side only. */
export function mismatches(expected: Matrix<Expected>, measured: Matrix<Measured>): Mismatch[] {
  const found: Mismatch[] = [];
  for (const source of unionKeys(expected, measured)) {
    for (const target of unionKeys(expected[source] ?? {}, measured[source] ?? {})) {
      for (const way of WAYS) {
        const want = expected[source]?.[target]?.[way] ?? null;
        const got = measured[source]?.[target]?.[way] ?? null;
        if (want === null || got === null || category(got.outcome) !== want) {
          found.push({ source, target, way, expected: want, measured: got });
        }
      }
    }
  }
  return found;
}

function unionKeys(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])];
}

/** One try for src/machine/connectivity.py. */
export interface Try {
  target: string;
  way: Way;
  /** A name to resolve (dns, name) or an address to GET. */
  host: string;
  port: number;
}

/** What one `docker exec` of src/machine/connectivity.py gets as its argument. */
export interface ProbeRequest {
  timeout: number;
  /** Containers on the source's network, as Docker lists them: the names its embedded DNS knows. */
  registered: string[];
  tries: Try[];
}

/**
 * The host's address as the source sees it, where published ports are opened:
 * the gateway of its bridge; for host mode the host's own loopback, the URL a
 * user on this machine opens; none has no way out at all.
 */
export function hostAddressFrom(source: ContainerOutput): string | null {
  return source.network === "host" ? "127.0.0.1" : source.gateway;
}

/** The port the target's app listens on behind its name or IP. */
function appPort(target: ContainerOutput): number {
  return target.network === "host" && target.hostPort !== null ? target.hostPort : APP_PORT;
}

/**
 * Each source's tries of every other container. A try that cannot be made
 * (no IP of its own, no published port, no way to the host) is left out and
 * shows as "na". `registered` maps a network to the containers Docker lists on it.
 */
export function probeRequests(
  outputs: StackOutputs,
  registered: Readonly<Record<string, readonly string[]>>,
): Record<string, ProbeRequest> {
  const all = Object.entries(outputs.containers);
  return Object.fromEntries(
    all.map(([source, from]) => {
      const tries = all.flatMap(([target, to]): Try[] => {
        if (target === source) {
          return [];
        }
        const hostAddress = hostAddressFrom(from);
        return [
          { target, way: "dns", host: target, port: appPort(to) },
          ...(to.ip === null ? [] : [{ target, way: "ip" as const, host: to.ip, port: APP_PORT }]),
          { target, way: "name", host: target, port: appPort(to) },
          ...(to.hostPort === null || hostAddress === null
            ? []
            : [{ target, way: "port" as const, host: hostAddress, port: to.hostPort }]),
        ];
      });
      const request = { timeout: TRY_TIMEOUT_SECONDS, registered: [...(registered[from.network] ?? [])], tries };
      return [source, request];
    }),
  );
}

/** One answer line of src/machine/connectivity.py. */
export interface TryResult {
  target: string;
  way: Way;
  outcome: Outcome;
  detail: string;
}

/** The answers of every source, as a full matrix: tries never made are "na". */
export function measuredMatrix(
  containers: readonly string[],
  results: Readonly<Record<string, readonly TryResult[]>>,
): Matrix<Measured> {
  const notTried: Measured = { outcome: "na", detail: "not tried" };
  return Object.fromEntries(
    containers.map((source) => {
      const row = Object.fromEntries(
        containers.map((target): [string, Cell<Measured>] => [
          target,
          { dns: notTried, ip: notTried, name: notTried, port: notTried },
        ]),
      );
      for (const { target, way, outcome, detail } of results[source] ?? []) {
        const cell = row[target];
        if (cell) {
          cell[way] = { outcome, detail };
        }
      }
      return [source, row];
    }),
  );
}
