import * as pulumi from "@pulumi/pulumi";
import { currentEngine, type Engine } from "../machine/dockerHost";
import { CONFIG_NAMESPACE, invalid } from "./errors";

/**
 * Every config key, typed. Pulumi.yaml declares the same keys with the same
 * defaults; tests/unit/config.test.ts keeps the two in step.
 */
export interface FlaskBridgeConfig {
  readonly imageName: string;
  readonly baseImage: string;
  readonly bridgePorts: readonly number[];
  readonly networkName: string;
  /** Empty string: Docker picks the subnet, as `docker network create` does. */
  readonly networkSubnet: string;
  readonly networkGateway: string;
  readonly customPorts: readonly number[];
  readonly hostMode: boolean;
  readonly hostPort: number;
  readonly noneMode: boolean;
  readonly namePrefix: string;
  readonly bindAddress: string;
  /** Empty: the engine's machine (localhost, or the address in DOCKER_HOST for a remote engine). */
  readonly urlHost: string;
  readonly keepImageOnDestroy: boolean;
  /** "engine": plain containers (the tutorial). "swarm": the same plan as Swarm services. */
  readonly orchestrator: string;
  /** Swarm mode: tasks per service. */
  readonly replicas: number;
  /** Swarm mode: "ingress" (routing mesh, needs IPVS) or "host" (each node publishes its own task). */
  readonly swarmPublishMode: string;
  /** Swarm mode: "vip" (one virtual IP, needs IPVS) or "dnsrr" (DNS round-robin over task IPs). */
  readonly swarmEndpointMode: string;
  /** Not a flask-bridge key: the engine from DOCKER_HOST or docker:host (src/machine/dockerHost.ts). */
  readonly engine?: Engine;
}

export const DEFAULTS: FlaskBridgeConfig = Object.freeze({
  imageName: "flask-hello-world",
  baseImage: "python:3.11-slim",
  bridgePorts: Object.freeze([5001, 5002, 5003]),
  networkName: "my-bridge-network",
  networkSubnet: "",
  networkGateway: "",
  customPorts: Object.freeze([5004, 5005, 5006]),
  hostMode: true,
  hostPort: 5000,
  noneMode: true,
  namePrefix: "flask",
  bindAddress: "0.0.0.0",
  urlHost: "",
  keepImageOnDestroy: false,
  orchestrator: "engine",
  replicas: 1,
  swarmPublishMode: "ingress",
  swarmEndpointMode: "vip",
});

/**
 * Where setup records a stand-in for a base image that could not be pulled
 * (scripts/lib/base-image.sh writes these via scripts/env.sh).
 */
export interface BaseImageOverride {
  /** The configured image that could not be had. */
  readonly replaces: string;
  /** The stand-in built from Debian's packages. */
  readonly standIn: string;
  readonly note: string;
}

export function baseImageOverrideFromEnv(env: NodeJS.ProcessEnv): BaseImageOverride | undefined {
  const standIn = env.FLASK_BRIDGE_BASE_IMAGE;
  const replaces = env.FLASK_BRIDGE_BASE_IMAGE_FOR;
  if (!standIn || !replaces) {
    return undefined;
  }
  return Object.freeze({
    replaces,
    standIn,
    note: env.FLASK_BRIDGE_BASE_IMAGE_NOTE ?? `${replaces} is not available here; using stand-in ${standIn}`,
  });
}

/** Reads and type-checks config. Meaning (ranges, clashes) is checked by planTopology. */
export function readConfig(
  cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE),
  engine: Engine = currentEngine(),
): FlaskBridgeConfig {
  return Object.freeze({
    imageName: cfg.get("imageName") ?? DEFAULTS.imageName,
    baseImage: cfg.get("baseImage") ?? DEFAULTS.baseImage,
    bridgePorts: readPortList(cfg, "bridgePorts", DEFAULTS.bridgePorts),
    networkName: cfg.get("networkName") ?? DEFAULTS.networkName,
    networkSubnet: cfg.get("networkSubnet") ?? DEFAULTS.networkSubnet,
    networkGateway: cfg.get("networkGateway") ?? DEFAULTS.networkGateway,
    customPorts: readPortList(cfg, "customPorts", DEFAULTS.customPorts),
    hostMode: readBoolean(cfg, "hostMode", DEFAULTS.hostMode),
    hostPort: readNumber(cfg, "hostPort", DEFAULTS.hostPort),
    noneMode: readBoolean(cfg, "noneMode", DEFAULTS.noneMode),
    namePrefix: cfg.get("namePrefix") ?? DEFAULTS.namePrefix,
    bindAddress: cfg.get("bindAddress") ?? DEFAULTS.bindAddress,
    urlHost: cfg.get("urlHost") ?? DEFAULTS.urlHost,
    keepImageOnDestroy: readBoolean(cfg, "keepImageOnDestroy", DEFAULTS.keepImageOnDestroy),
    orchestrator: cfg.get("orchestrator") ?? DEFAULTS.orchestrator,
    replicas: readNumber(cfg, "replicas", DEFAULTS.replicas),
    swarmPublishMode: cfg.get("swarmPublishMode") ?? DEFAULTS.swarmPublishMode,
    swarmEndpointMode: cfg.get("swarmEndpointMode") ?? DEFAULTS.swarmEndpointMode,
    engine,
  });
}

function readBoolean(cfg: pulumi.Config, key: string, fallback: boolean): boolean {
  const raw = cfg.get(key);
  if (raw === undefined) {
    return fallback;
  }
  if (raw === "true" || raw === "false") {
    return raw === "true";
  }
  throw invalid(key, raw, "must be true or false");
}

function readNumber(cfg: pulumi.Config, key: string, fallback: number): number {
  const raw = cfg.get(key);
  if (raw === undefined) {
    return fallback;
  }
  const value = Number(raw);
  if (raw.trim() === "" || Number.isNaN(value)) {
    throw invalid(key, raw, "must be a number");
  }
  return value;
}

function readPortList(cfg: pulumi.Config, key: string, fallback: readonly number[]): readonly number[] {
  const raw = cfg.get(key);
  if (raw === undefined) {
    return fallback;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw invalid(key, raw, "must be a JSON list of port numbers, e.g. [5001, 5002]");
  }
  if (!Array.isArray(value) || !value.every((port) => typeof port === "number")) {
    throw invalid(key, value, "must be a list of port numbers, e.g. [5001, 5002]");
  }
  return Object.freeze([...value]);
}
