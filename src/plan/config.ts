import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./errors";

/**
 * Every config key, typed. Pulumi.yaml declares each one with its type, its
 * description and its default, and nowhere else: the CLI applies the defaults
 * and refuses a value of the wrong type before the program starts, so this
 * only reads. Meaning (ranges, clashes) is checked by planTopology.
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
  /** Empty: the engine's machine (localhost, or the host of a remote engine). */
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
  /** Swarm mode: how long a task keeps serving after SIGTERM (app/drain.sh). */
  readonly swarmDrainSeconds: number;
  /** Swarm mode: where the image is pushed, e.g. "registry.example.com:5000/team"; empty: the swarm's own registry. */
  readonly registry: string;
  /** Swarm mode, `registry` empty: the port the swarm's own registry publishes. */
  readonly registryPort: number;
  readonly registryUsername: string;
  /** Read as set (`pulumi config set --secret`); the program wraps it in pulumi.secret before any resource gets it. */
  readonly registryPassword: string;
}

/** Reads the stack's config once, as Pulumi.yaml types it, into a frozen object. */
export function readConfig(cfg: pulumi.Config = new pulumi.Config(CONFIG_NAMESPACE)): FlaskBridgeConfig {
  return Object.freeze({
    imageName: cfg.require("imageName"),
    baseImage: cfg.require("baseImage"),
    bridgePorts: Object.freeze(cfg.requireObject<number[]>("bridgePorts")),
    networkName: cfg.require("networkName"),
    networkSubnet: cfg.require("networkSubnet"),
    networkGateway: cfg.require("networkGateway"),
    customPorts: Object.freeze(cfg.requireObject<number[]>("customPorts")),
    hostMode: cfg.requireBoolean("hostMode"),
    hostPort: cfg.requireNumber("hostPort"),
    noneMode: cfg.requireBoolean("noneMode"),
    namePrefix: cfg.require("namePrefix"),
    bindAddress: cfg.require("bindAddress"),
    urlHost: cfg.require("urlHost"),
    keepImageOnDestroy: cfg.requireBoolean("keepImageOnDestroy"),
    orchestrator: cfg.require("orchestrator"),
    replicas: cfg.requireNumber("replicas"),
    swarmPublishMode: cfg.require("swarmPublishMode"),
    swarmEndpointMode: cfg.require("swarmEndpointMode"),
    swarmDrainSeconds: cfg.requireNumber("swarmDrainSeconds"),
    registry: cfg.require("registry"),
    registryPort: cfg.requireNumber("registryPort"),
    registryUsername: cfg.require("registryUsername"),
    registryPassword: cfg.require("registryPassword"),
  });
}
