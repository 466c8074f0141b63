import type { FlaskBridgeConfig } from "./config";
import { type Engine, LOCAL_ENGINE } from "./engine";
import { ConfigError, configKey, invalid } from "./errors";
import { cidrContains, cidrSize, cidrsOverlap, formatCidr, formatIpv4, parseCidr, parseIpv4 } from "./ipv4";

/**
 * The whole topology as plain data: no Pulumi calls, so it is tested with
 * exact `toEqual`. Every check on config lives here and throws before any
 * resource is declared.
 */

/** The port the app listens on inside a container with its own network namespace. */
export const APP_PORT = 5000;
export const PROJECT = "flask-bridge";

/** Where a container is attached: the tutorial's four cases. */
export type NetworkKind = "bridge" | "custom" | "host" | "none";

export interface PublishedPort {
  readonly hostIp: string;
  readonly hostPort: number;
  readonly containerPort: number;
}

export interface ContainerPlan {
  /** Logical name: the resource's identity in state. Never derived from config. */
  readonly key: string;
  readonly dockerName: string;
  readonly kind: NetworkKind;
  /** "bridge" | the custom network's name | "host" | "none", as Docker names it. */
  readonly network: string;
  readonly hostPort: number | null;
  /** The config key that sets hostPort, e.g. "flask-bridge:bridgePorts[0]", for error messages. */
  readonly hostPortKey: string | null;
  readonly publish: PublishedPort | null;
  /** Environment for uWSGI: where it binds inside the container's namespace. */
  readonly env: readonly string[];
  /** What users open: http://<urlHost>:<hostPort>. */
  readonly url: string | null;
  /** What the host-side probe opens: the same port on an address that answers here. */
  readonly probeUrl: string | null;
}

export interface HealthcheckPlan {
  readonly tests: readonly string[];
  readonly interval: string;
  readonly timeout: string;
  readonly startPeriod: string;
  readonly retries: number;
}

/** What the plan needs to know about the swarm; the plan cannot ask Docker itself. */
export interface SwarmCluster {
  /** Nodes that are Ready and Active: where tasks can run now. */
  readonly nodes: number;
}

export type PublishMode = "ingress" | "host";
export type EndpointMode = "vip" | "dnsrr";

/**
 * One Swarm service: one of the tutorial's containers, run as `replicas` tasks.
 * "bridge" services use each node's own default bridge (Swarm's predefined
 * "bridge" network), so like the tutorial's containers they are reached only
 * through their published port; "custom" services share the overlay; the
 * "host" service runs in each node's own network namespace.
 */
export interface ServicePlan {
  readonly key: string;
  readonly serviceName: string;
  readonly kind: "bridge" | "custom" | "host";
  /** "bridge" | the overlay's name | "host", as Docker names it. */
  readonly network: string;
  readonly replicas: number;
  /** The port on the nodes: published, or bound by the app itself for "host". */
  readonly hostPort: number;
  readonly publish: { readonly publishedPort: number; readonly targetPort: number } | null;
  readonly env: Readonly<Record<string, string>>;
  /** 1 when every task holds a port of its node: a second task there could not bind it. */
  readonly maxReplicasPerNode: number | null;
  /** stop-first when the old task holds the node's port, else start-first (no gap). */
  readonly updateOrder: "start-first" | "stop-first";
  /** Seconds a stopping task keeps serving (app/drain.sh), for meshes that learn late. */
  readonly drainSeconds: number;
}

/** The official registry's image; setup builds a stand-in where it cannot be pulled. */
export const OFFICIAL_REGISTRY_IMAGE = "registry:2";

/** The swarm's own registry, run by the program when `registry` is empty. */
export interface BuiltInRegistryPlan {
  readonly serviceName: string;
  /** Its storage: a labelled volume on the engine's node, removed on destroy. */
  readonly volumeName: string;
  readonly port: number;
  /** registry:2, or setup's stand-in built from Debian's docker-registry package. */
  readonly image: string;
  /** Set when the stand-in runs instead of the official image. */
  readonly imageNote: string | null;
  /** The engine's own node: the registry and its volume stay there. */
  readonly nodeId: string;
  readonly nodeName: string;
  /** As the services publish: the routing mesh lets every node pull from 127.0.0.1. */
  readonly publishMode: PublishMode;
  /** Where up waits for it to answer before the push: the engine's machine, from here. */
  readonly probeUrl: string;
}

/** Where the image goes so that every node can pull it. */
export interface RegistryPlan {
  /** "127.0.0.1:5000" for the built-in one, else the configured `registry`. */
  readonly address: string;
  /** Its host[:port], as credentials name it. */
  readonly server: string;
  /** What is pushed: <address>/<imageName>; services pin it by digest. */
  readonly repository: string;
  /** With a password from config: used for the push and passed to every node for its pull. */
  readonly username: string | null;
  readonly builtIn: BuiltInRegistryPlan | null;
}

export interface SwarmPlan {
  readonly nodes: number;
  readonly registry: RegistryPlan;
  /** A task's healthcheck: a failing one gets the task replaced. */
  readonly healthcheck: HealthcheckPlan;
  readonly publishMode: PublishMode;
  readonly endpointMode: EndpointMode;
  /** The user-defined bridge of the tutorial becomes an attachable overlay of the same name. */
  readonly network: TopologyPlan["network"] & { readonly driver: "overlay"; readonly attachable: true };
  readonly services: readonly ServicePlan[];
}

export interface TopologyPlan {
  readonly orchestrator: "engine" | "swarm";
  readonly image: {
    readonly name: string;
    readonly baseImage: string;
    readonly configuredBaseImage: string;
    /** Set when a stand-in replaces a base image the engine lacks and cannot pull. */
    readonly standInNote: string | null;
    readonly keepOnDestroy: boolean;
  };
  readonly network: {
    readonly name: string;
    readonly subnet: string | null;
    readonly gateway: string | null;
  };
  /** Engine mode's containers; empty in swarm mode, where `swarm` holds the services. */
  readonly containers: readonly ContainerPlan[];
  readonly swarm: SwarmPlan | null;
  readonly healthcheck: HealthcheckPlan;
  /** Put on every container, network and image: selection and cleanup go by these. */
  readonly labels: Readonly<Record<string, string>>;
}

/**
 * Docker's health status watches the running app; `up` does not wait for it
 * (the host probe is the readiness gate). Each check is a `docker exec`: a bash
 * check every 10 s costs a fraction of the Python one every 2 s, CPU that
 * decided whether 64 containers could start on 2 cores. The 30 s start period
 * covers slow starts under that load.
 */
export const HEALTHCHECK: HealthcheckPlan = Object.freeze({
  tests: Object.freeze(["CMD", "bash", "/app/healthcheck.sh"]),
  interval: "10s",
  timeout: "5s",
  startPeriod: "30s",
  retries: 3,
});

/**
 * Swarm kills a task whose healthcheck fails `retries` times in a row and starts
 * another, so there a slow check costs a gap in service: on a busy emulated VM a
 * check took over 5 s while tasks started beside it, and a healthy task was
 * replaced mid-scale. A hung app is still found, within about 2 min.
 */
export const SWARM_HEALTHCHECK: HealthcheckPlan = Object.freeze({ ...HEALTHCHECK, timeout: "30s" });

/** The tutorial's default bridge; a custom subnet inside it would never route. */
const DEFAULT_BRIDGE_SUBNET = "172.17.0.0/16";
const RESERVED_NETWORK_NAMES = ["bridge", "host", "none", "default"];
/** Docker's own rule for container and network names. */
const DOCKER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** A Docker image reference: [registry[:port]/]path[:tag][@digest]. */
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;
const HOST_NAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** A stand-in for a base image the engine lacks (src/machine/engineFacts.ts finds it). */
export interface BaseImageOverride {
  /** The configured image that could not be had. */
  readonly replaces: string;
  /** The stand-in built from Debian's packages. */
  readonly standIn: string;
  readonly note: string;
}

/** What the swarm's own registry needs to know of the machine (src/machine/registryFacts.ts). */
export interface RegistryFacts {
  /** The engine's node ID in the swarm. */
  readonly nodeId: string;
  /** Its name (the machine's host name), as the swarm's node list shows it. */
  readonly nodeName: string;
  /** The registry image to run: the official one, or setup's stand-in. */
  readonly image: string;
  readonly note: string | null;
}

/** What the machine said, handed in: the plan never asks Docker itself. */
export interface MachineFacts {
  /** Swarm mode with an empty `registry` only. */
  readonly registry?: RegistryFacts | null;
  readonly engine: Engine;
  readonly baseImageOverride?: BaseImageOverride;
  /** The swarm the engine manages (`docker node ls`); null or absent when it manages none. Swarm mode only. */
  readonly swarm?: SwarmCluster | null;
}

export function planTopology(
  config: FlaskBridgeConfig,
  stack: string,
  machine: MachineFacts = { engine: LOCAL_ENGINE },
): TopologyPlan {
  const { engine, baseImageOverride } = machine;
  const cluster = machine.swarm ?? null;
  const orchestrator = checkOrchestrator(config.orchestrator);
  checkReplicas(config.replicas);
  checkDrainSeconds(config.swarmDrainSeconds);
  const publishMode = checkChoice("swarmPublishMode", config.swarmPublishMode, PUBLISH_MODES);
  const endpointMode = checkChoice("swarmEndpointMode", config.swarmEndpointMode, ENDPOINT_MODES);
  checkImageReference("imageName", config.imageName);
  checkImageReference("baseImage", config.baseImage);
  checkDockerName("namePrefix", config.namePrefix);
  const network = planNetwork(config);
  checkBindAddress(config.bindAddress, engine);
  if (config.urlHost !== "") checkUrlHost(config.urlHost);
  checkPorts(config);
  const withUrlHost = { ...config, urlHost: urlHostFor(config, engine) };

  const containers = planContainers(withUrlHost, engine);
  checkNotEmpty(containers);
  checkUniqueNames(containers);
  checkCapacity(network.subnet, config.customPorts.length);

  const swarm =
    orchestrator === "swarm"
      ? planSwarm(
          withUrlHost,
          network,
          cluster,
          publishMode,
          endpointMode,
          planRegistry(config, engine, machine.registry),
        )
      : null;

  const override = baseImageOverride?.replaces === config.baseImage ? baseImageOverride : undefined;
  return {
    orchestrator,
    image: {
      name: config.imageName,
      baseImage: override?.standIn ?? config.baseImage,
      configuredBaseImage: config.baseImage,
      standInNote: override?.note ?? null,
      keepOnDestroy: config.keepImageOnDestroy,
    },
    network,
    containers: swarm ? [] : containers,
    swarm,
    healthcheck: HEALTHCHECK,
    labels: { [`${PROJECT}.project`]: PROJECT, [`${PROJECT}.stack`]: stack },
  };
}

/**
 * Where users open the apps: the machine the engine runs on, as the tutorial
 * opened VM:5001 from the PC. urlHost, when set, says otherwise.
 */
function urlHostFor(config: FlaskBridgeConfig, engine: Engine): string {
  if (config.urlHost !== "") return config.urlHost;
  if (!engine.remote || engine.host === null) return "localhost";
  return config.bindAddress === "0.0.0.0" ? engine.host : config.bindAddress;
}

function planContainers(config: FlaskBridgeConfig, engine: Engine): ContainerPlan[] {
  const published = (kind: "bridge" | "custom", network: string, hostPort: number, index: number) =>
    container(config, engine, {
      key: `${kind}-${index + 1}`,
      kind,
      network,
      hostPort,
      hostPortKey: `${configKey(kind === "bridge" ? "bridgePorts" : "customPorts")}[${index}]`,
      publish: { hostIp: config.bindAddress, hostPort, containerPort: APP_PORT },
      env: [`PORT=${APP_PORT}`, "HOST=0.0.0.0"],
    });
  const containers = [
    ...config.bridgePorts.map((port, index) => published("bridge", "bridge", port, index)),
    ...config.customPorts.map((port, index) => published("custom", config.networkName, port, index)),
  ];
  if (config.hostMode) {
    // No port mapping exists in host mode: the app itself binds the host's port.
    containers.push(
      container(config, engine, {
        key: "host",
        kind: "host",
        network: "host",
        hostPort: config.hostPort,
        hostPortKey: configKey("hostPort"),
        publish: null,
        env: [`PORT=${config.hostPort}`, `HOST=${config.bindAddress}`],
      }),
    );
  }
  if (config.noneMode) {
    containers.push(
      container(config, engine, {
        key: "none",
        kind: "none",
        network: "none",
        hostPort: null,
        hostPortKey: null,
        publish: null,
        env: [`PORT=${APP_PORT}`, "HOST=0.0.0.0"],
      }),
    );
  }
  return containers;
}

function container(
  config: FlaskBridgeConfig,
  engine: Engine,
  spec: Omit<ContainerPlan, "dockerName" | "url" | "probeUrl">,
): ContainerPlan {
  const reachable = spec.hostPort !== null;
  // 0.0.0.0 is not an address to connect to; loopback answers for it here.
  // On a remote engine the probe asks what users open, from this machine.
  const localProbeHost = config.bindAddress === "0.0.0.0" ? "127.0.0.1" : config.bindAddress;
  const probeHost = engine.remote ? config.urlHost : localProbeHost;
  return {
    ...spec,
    dockerName: `${config.namePrefix}-${spec.key}`,
    url: reachable ? `http://${config.urlHost}:${spec.hostPort}` : null,
    probeUrl: reachable ? `http://${probeHost}:${spec.hostPort}` : null,
  };
}

function planNetwork(config: FlaskBridgeConfig): TopologyPlan["network"] {
  const { networkName: name, networkSubnet: subnetText, networkGateway: gatewayText } = config;
  checkDockerName("networkName", name);
  if (RESERVED_NETWORK_NAMES.includes(name)) {
    throw invalid(
      "networkName",
      name,
      `"${name}" is one of Docker's predefined networks (${RESERVED_NETWORK_NAMES.join(", ")}); choose a name of your own, e.g. "my-bridge-network"`,
    );
  }
  if (subnetText === "") {
    if (gatewayText !== "") {
      throw invalid("networkGateway", gatewayText, `a gateway needs a subnet; set ${configKey("networkSubnet")} too`);
    }
    return { name, subnet: null, gateway: null };
  }
  const subnet = parseCidr(subnetText);
  if (!subnet) {
    throw invalid("networkSubnet", subnetText, 'must be an IPv4 CIDR such as "172.30.0.0/24"');
  }
  if (subnet.hostBitsSet) {
    throw invalid("networkSubnet", subnetText, `has host bits set; did you mean "${formatCidr(subnet)}"?`);
  }
  const defaultBridge = parseCidr(DEFAULT_BRIDGE_SUBNET);
  if (defaultBridge && cidrsOverlap(subnet, defaultBridge)) {
    throw invalid(
      "networkSubnet",
      subnetText,
      `overlaps the default bridge network ${DEFAULT_BRIDGE_SUBNET}, which the containers on "bridge" use`,
    );
  }
  if (gatewayText === "") {
    // Docker's own choice, the subnet's first address, stated: a refresh reads it back,
    // and a gateway the program left out would then differ and replace the network.
    return { name, subnet: subnetText, gateway: formatIpv4(subnet.network + 1) };
  }
  const gateway = parseIpv4(gatewayText);
  if (gateway === undefined) {
    throw invalid("networkGateway", gatewayText, 'must be an IPv4 address such as "172.30.0.1"');
  }
  const broadcast = subnet.network + cidrSize(subnet) - 1;
  if (!cidrContains(subnet, gateway) || gateway === subnet.network || gateway === broadcast) {
    throw invalid(
      "networkGateway",
      gatewayText,
      `is not a usable address in ${configKey("networkSubnet")} ${subnetText} (usable: ${formatIpv4(subnet.network + 1)}-${formatIpv4(broadcast - 1)})`,
    );
  }
  return { name, subnet: subnetText, gateway: gatewayText };
}

const ORCHESTRATORS = ["engine", "swarm"] as const;
const PUBLISH_MODES = {
  ingress: "the routing mesh: every node answers",
  host: "only the nodes running a task answer",
} as const;
const ENDPOINT_MODES = {
  vip: "one virtual IP per service",
  dnsrr: "DNS round-robin over the task IPs",
} as const;

function checkOrchestrator(value: string): TopologyPlan["orchestrator"] {
  if (!(ORCHESTRATORS as readonly string[]).includes(value)) {
    throw invalid(
      "orchestrator",
      value,
      'must be "engine" (plain containers, as in the tutorial) or "swarm" (Swarm services on an overlay network)',
    );
  }
  return value as TopologyPlan["orchestrator"];
}

function checkChoice<T extends string>(key: string, value: string, choices: Readonly<Record<T, string>>): T {
  if (!Object.hasOwn(choices, value)) {
    const listed = Object.entries(choices).map(([choice, meaning]) => `"${choice}" (${meaning})`);
    throw invalid(key, value, `must be ${listed.join(" or ")}`);
  }
  return value as T;
}

/** Within the services' 2 min stop grace period, with room for the app's own stop. */
function checkDrainSeconds(seconds: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 100) {
    throw invalid("swarmDrainSeconds", seconds, "must be a whole number of seconds from 0 to 100");
  }
}

function checkReplicas(replicas: number): void {
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 100) {
    throw invalid("replicas", replicas, "must be a whole number from 1 to 100");
  }
}

/**
 * The tutorial's groups as services, one per container of the tutorial, each
 * with `replicas` tasks. What Swarm cannot express is refused here, saying why.
 */
function planSwarm(
  config: FlaskBridgeConfig,
  network: TopologyPlan["network"],
  cluster: SwarmCluster | null,
  publishMode: PublishMode,
  endpointMode: EndpointMode,
  registry: (publishMode: PublishMode) => RegistryPlan,
): SwarmPlan {
  if (cluster === null) {
    throw invalid(
      "orchestrator",
      config.orchestrator,
      'this Docker engine is not a swarm manager, so there is no swarm to deploy to: run "npm run cluster:up" for a local cluster, or "docker swarm init" here and "docker swarm join" on the other machines',
    );
  }
  if (config.noneMode) {
    throw invalid(
      "noneMode",
      config.noneMode,
      'a Swarm service cannot run without a network: Swarm attaches tasks only to overlays and its predefined "bridge" and "host" networks, and has no "none"; set it to false in swarm mode',
    );
  }
  if (config.bindAddress !== "0.0.0.0") {
    throw invalid(
      "bindAddress",
      config.bindAddress,
      'Swarm publishes a port on every interface of a node (a service port has no host IP); set it to "0.0.0.0" in swarm mode',
    );
  }
  const published = config.bridgePorts.length + config.customPorts.length > 0;
  if (published && publishMode === "ingress" && endpointMode === "dnsrr") {
    throw invalid(
      "swarmEndpointMode",
      endpointMode,
      `Swarm's routing mesh (${configKey("swarmPublishMode")} "ingress") balances over a virtual IP, which "dnsrr" does not give; use "vip", or publish with "host"`,
    );
  }
  const nodes = cluster.nodes;
  const { replicas } = config;
  const firstPort = config.bridgePorts[0] ?? config.customPorts[0];
  if (publishMode === "host" && firstPort !== undefined && replicas > nodes) {
    throw invalid(
      "replicas",
      replicas,
      `with ${configKey("swarmPublishMode")} "host" a node publishes port ${firstPort} for one task only, and the swarm has ${nodes} Ready, Active node(s); set it to at most ${nodes}, add nodes, or publish with "ingress"`,
    );
  }
  if (config.hostMode && replicas > nodes) {
    throw invalid(
      "replicas",
      replicas,
      `the host-mode service ${config.namePrefix}-host binds port ${config.hostPort} on its node itself, one task per node, and the swarm has ${nodes} Ready, Active node(s); set it to at most ${nodes}, add nodes, or set ${configKey("hostMode")} to false`,
    );
  }

  const perNode = publishMode === "host";
  const service = (kind: "bridge" | "custom", serviceNetwork: string, hostPort: number, index: number) => ({
    key: `${kind}-${index + 1}`,
    serviceName: `${config.namePrefix}-${kind}-${index + 1}`,
    kind,
    network: serviceNetwork,
    replicas,
    hostPort,
    publish: { publishedPort: hostPort, targetPort: APP_PORT },
    env: { PORT: String(APP_PORT), HOST: "0.0.0.0" },
    maxReplicasPerNode: perNode ? 1 : null,
    updateOrder: perNode ? ("stop-first" as const) : ("start-first" as const),
    drainSeconds: config.swarmDrainSeconds,
  });
  const services: ServicePlan[] = [
    ...config.bridgePorts.map((port, index) => service("bridge", "bridge", port, index)),
    ...config.customPorts.map((port, index) => service("custom", network.name, port, index)),
  ];
  if (config.hostMode) {
    services.push({
      key: "host",
      serviceName: `${config.namePrefix}-host`,
      kind: "host",
      network: "host",
      replicas,
      hostPort: config.hostPort,
      publish: null,
      env: { PORT: String(config.hostPort), HOST: "0.0.0.0" },
      maxReplicasPerNode: 1,
      updateOrder: "stop-first",
      drainSeconds: config.swarmDrainSeconds,
    });
  }
  const registryPlan = registry(publishMode);
  if (registryPlan.builtIn !== null) checkRegistryPortFree(config);
  return {
    nodes,
    registry: registryPlan,
    healthcheck: SWARM_HEALTHCHECK,
    publishMode,
    endpointMode,
    network: { ...network, driver: "overlay", attachable: true },
    services,
  };
}

/** registry: [host[:port]][/path...], lowercase path; no scheme, no tag. */
const REGISTRY =
  /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

/**
 * The registry every node pulls from: the configured one, or (empty) the
 * swarm's own service on the engine's node, as in Docker's swarm tutorial.
 * Returns a function of the publish mode, checked by then.
 */
function planRegistry(
  config: FlaskBridgeConfig,
  engine: Engine,
  facts: RegistryFacts | null | undefined,
): (publishMode: PublishMode) => RegistryPlan {
  const { registry, registryUsername: username, registryPassword: password } = config;
  if ((username === "") !== (password === "")) {
    const [set, unset] =
      username === "" ? ["registryPassword", "registryUsername"] : ["registryUsername", "registryPassword"];
    throw invalid(
      set,
      set === "registryPassword" ? "[secret]" : username,
      `needs ${configKey(unset)} too: a registry login is both, or neither`,
    );
  }
  if (config.imageName.includes("@")) {
    throw invalid(
      "imageName",
      config.imageName,
      "is pushed to a registry in swarm mode, so it takes no digest; give a name, with a tag if you like",
    );
  }
  if (registry !== "") {
    const server = registry.split("/")[0] ?? "";
    // Docker reads a first part with no dot, no port and not "localhost" as a Docker Hub account.
    if (!REGISTRY.test(registry) || !(server.includes(".") || server.includes(":") || server === "localhost")) {
      throw invalid(
        "registry",
        registry,
        'must be a registry\'s host[:port], optionally with a path, e.g. "registry.example.com:5000/team" or "docker.io/<account>" (no scheme, no tag)',
      );
    }
    const repository = `${registry}/${config.imageName}`;
    checkImageReference("imageName", repository);
    return () => ({
      address: registry,
      server,
      repository,
      username: username === "" ? null : username,
      builtIn: null,
    });
  }
  if (username !== "") {
    throw invalid(
      "registryUsername",
      username,
      `is for ${configKey("registry")}, which is empty: the swarm's own registry takes no login; set ${configKey("registry")} or clear it`,
    );
  }
  const port = config.registryPort;
  checkPort("registryPort", port, port);
  const address = `127.0.0.1:${port}`;
  const repository = `${address}/${config.imageName}`;
  checkImageReference("imageName", repository);
  return (publishMode) => {
    if (!facts) throw new Error("planTopology: swarm mode with an empty registry needs the registry's facts");
    const probeHost = engine.remote && engine.host !== null ? engine.host : "127.0.0.1";
    return {
      address,
      server: address,
      repository,
      username: null,
      builtIn: {
        serviceName: `${config.namePrefix}-registry`,
        volumeName: `${config.namePrefix}-registry-data`,
        port,
        image: facts.image,
        imageNote: facts.note,
        nodeId: facts.nodeId,
        nodeName: facts.nodeName,
        publishMode,
        probeUrl: `http://${probeHost}:${port}/v2/`,
      },
    };
  };
}

/** The swarm's own registry publishes registryPort on its node (every node, with the mesh). */
function checkRegistryPortFree(config: FlaskBridgeConfig): void {
  const port = config.registryPort;
  const users = [
    ...config.bridgePorts.map((port, index) => [`bridgePorts[${index}]`, port] as const),
    ...config.customPorts.map((port, index) => [`customPorts[${index}]`, port] as const),
    ...(config.hostMode ? [["hostPort", config.hostPort] as const] : []),
  ];
  const clash = users.find(([, used]) => used === port);
  if (clash) {
    throw new ConfigError(
      `Invalid config ${configKey(clash[0])} = ${port}: port ${port} is the swarm's own registry's (${configKey("registry")} is empty, so the program runs one, as Docker's swarm tutorial does); choose another port, another ${configKey("registryPort")}, or set ${configKey("registry")} to a registry of your own`,
    );
  }
}

/** Every host port is checked for range, then for clashes across all users. */
function checkPorts(config: FlaskBridgeConfig): void {
  const users: { port: number; where: string; who: string }[] = [];
  const lists = [
    ["bridgePorts", config.bridgePorts, "bridge"],
    ["customPorts", config.customPorts, "custom"],
  ] as const;
  for (const [key, ports, kind] of lists) {
    ports.forEach((port, index) => {
      checkPort(key, ports, port);
      users.push({ port, where: `${configKey(key)}[${index}]`, who: `${config.namePrefix}-${kind}-${index + 1}` });
    });
  }
  if (config.hostMode) {
    checkPort("hostPort", config.hostPort, config.hostPort);
    users.push({ port: config.hostPort, where: configKey("hostPort"), who: `${config.namePrefix}-host` });
  }
  const seen = new Map<number, (typeof users)[number]>();
  for (const user of users) {
    const first = seen.get(user.port);
    if (first) {
      throw new ConfigError(
        `Invalid config: host port ${user.port} is used twice, by ${first.who} (${first.where}) and by ${user.who} (${user.where}); Docker would fail with "port is already allocated". Give each container its own host port.`,
      );
    }
    seen.set(user.port, user);
  }
}

function checkPort(key: string, value: unknown, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw invalid(key, value, `port ${port} must be a whole number from 1 to 65535`);
  }
}

function checkDockerName(key: string, name: string): void {
  if (!DOCKER_NAME.test(name)) {
    throw invalid(
      key,
      name,
      "must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (Docker's naming rule)",
    );
  }
}

function checkImageReference(key: string, reference: string): void {
  if (!IMAGE_REFERENCE.test(reference)) {
    throw invalid(
      key,
      reference,
      'is not a valid Docker image reference such as "python:3.11-slim" (lowercase name, optional registry, tag and digest)',
    );
  }
}

function checkBindAddress(address: string, engine: Engine): void {
  const ip = parseIpv4(address);
  if (ip === undefined) {
    throw invalid(
      "bindAddress",
      address,
      'must be an IPv4 address: "0.0.0.0" for every interface (the tutorial\'s default) or e.g. "127.0.0.1" for this machine only',
    );
  }
  if (engine.remote && ip >>> 24 === 127) {
    throw invalid(
      "bindAddress",
      address,
      `is the loopback of the engine's machine (${engine.url}), which no one here can open; use "0.0.0.0" or one of that machine's addresses`,
    );
  }
}

function checkUrlHost(host: string): void {
  if (!HOST_NAME.test(host) && parseIpv4(host) === undefined) {
    throw invalid(
      "urlHost",
      host,
      'must be a bare host name or IPv4 address, e.g. "localhost" (no scheme, port or path)',
    );
  }
}

function checkNotEmpty(containers: readonly ContainerPlan[]): void {
  if (containers.length === 0) {
    throw new ConfigError(
      `Invalid config: ${configKey("bridgePorts")} and ${configKey("customPorts")} are empty and ${configKey("hostMode")} and ${configKey("noneMode")} are false, so the stack would run no containers. To remove everything, run "npm run destroy" instead.`,
    );
  }
}

/** Names derive from one prefix and distinct keys, so a clash means a bug here, not bad input. */
function checkUniqueNames(containers: readonly ContainerPlan[]): void {
  const names = new Set<string>();
  for (const { dockerName } of containers) {
    if (names.has(dockerName)) {
      throw new ConfigError(`Invalid config: container name ${dockerName} is used twice`);
    }
    names.add(dockerName);
  }
}

function checkCapacity(subnetText: string | null, containerCount: number): void {
  const subnet = subnetText === null ? undefined : parseCidr(subnetText);
  // Network and broadcast addresses and the gateway are not for containers.
  const usable = subnet ? cidrSize(subnet) - 3 : Number.POSITIVE_INFINITY;
  if (containerCount > usable) {
    throw invalid(
      "networkSubnet",
      subnetText,
      `has room for ${Math.max(usable, 0)} containers, but ${configKey("customPorts")} asks for ${containerCount}`,
    );
  }
}
