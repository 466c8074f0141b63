import type { FlaskBridgeConfig } from "../../src/plan/config";
import { LOCAL_ENGINE, parseEngine } from "../../src/plan/engine";
import {
  HEALTHCHECK,
  type MachineFacts,
  planTopology,
  type RegistryFacts,
  SWARM_HEALTHCHECK,
  type SwarmCluster,
} from "../../src/plan/plan";
import { DEFAULTS } from "./projectDefaults";

function withConfig(overrides: Partial<FlaskBridgeConfig>): FlaskBridgeConfig {
  return { ...DEFAULTS, ...overrides };
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but none was thrown");
}

function published(key: string, network: string, port: number) {
  return {
    key,
    dockerName: `flask-${key}`,
    kind: key.startsWith("bridge") ? "bridge" : "custom",
    network,
    hostPort: port,
    hostPortKey: `flask-bridge:${key.startsWith("bridge") ? "bridgePorts" : "customPorts"}[${Number(key.slice(-1)) - 1}]`,
    publish: { hostIp: "0.0.0.0", hostPort: port, containerPort: 5000 },
    env: ["PORT=5000", "HOST=0.0.0.0"],
    url: `http://localhost:${port}`,
    probeUrl: `http://127.0.0.1:${port}`,
  };
}

describe("planTopology with the tutorial's values", () => {
  const plan = planTopology(DEFAULTS, "dev");

  it("plans the whole tutorial: image, network and 8 containers", () => {
    expect(plan).toEqual({
      orchestrator: "engine",
      image: {
        name: "flask-hello-world",
        baseImage: "python:3.11-slim",
        configuredBaseImage: "python:3.11-slim",
        standInNote: null,
        keepOnDestroy: false,
      },
      network: { name: "my-bridge-network", subnet: null, gateway: null },
      containers: [
        published("bridge-1", "bridge", 5001),
        published("bridge-2", "bridge", 5002),
        published("bridge-3", "bridge", 5003),
        published("custom-1", "my-bridge-network", 5004),
        published("custom-2", "my-bridge-network", 5005),
        published("custom-3", "my-bridge-network", 5006),
        {
          key: "host",
          dockerName: "flask-host",
          kind: "host",
          network: "host",
          hostPort: 5000,
          hostPortKey: "flask-bridge:hostPort",
          publish: null,
          env: ["PORT=5000", "HOST=0.0.0.0"],
          url: "http://localhost:5000",
          probeUrl: "http://127.0.0.1:5000",
        },
        {
          key: "none",
          dockerName: "flask-none",
          kind: "none",
          network: "none",
          hostPort: null,
          hostPortKey: null,
          publish: null,
          env: ["PORT=5000", "HOST=0.0.0.0"],
          url: null,
          probeUrl: null,
        },
      ],
      swarm: null,
      healthcheck: HEALTHCHECK,
      labels: { "flask-bridge.project": "flask-bridge", "flask-bridge.stack": "dev" },
    });
  });
});

describe("planTopology with other settings", () => {
  it("sizes each bridge by its port list and drops host and none when off", () => {
    const plan = planTopology(
      withConfig({ bridgePorts: [6001], customPorts: [], hostMode: false, noneMode: false, namePrefix: "e2e" }),
      "test",
    );
    expect(plan.containers.map((c) => [c.dockerName, c.network, c.hostPort])).toEqual([
      ["e2e-bridge-1", "bridge", 6001],
    ]);
  });

  it("binds published ports and the host-mode app to bindAddress and probes there", () => {
    const plan = planTopology(withConfig({ bindAddress: "127.0.0.1", urlHost: "127.0.0.1", hostPort: 15000 }), "dev");
    const host = plan.containers.find((c) => c.kind === "host");
    expect(host).toEqual({
      key: "host",
      dockerName: "flask-host",
      kind: "host",
      network: "host",
      hostPort: 15000,
      hostPortKey: "flask-bridge:hostPort",
      publish: null,
      env: ["PORT=15000", "HOST=127.0.0.1"],
      url: "http://127.0.0.1:15000",
      probeUrl: "http://127.0.0.1:15000",
    });
    expect(plan.containers[0]?.publish).toEqual({ hostIp: "127.0.0.1", hostPort: 5001, containerPort: 5000 });
  });

  it("keeps a subnet and gateway that fit", () => {
    const plan = planTopology(withConfig({ networkSubnet: "172.30.0.0/24", networkGateway: "172.30.0.1" }), "dev");
    expect(plan.network).toEqual({ name: "my-bridge-network", subnet: "172.30.0.0/24", gateway: "172.30.0.1" });
  });

  it("states the gateway Docker would choose for a subnet without one: its first address", () => {
    const plan = planTopology(withConfig({ networkSubnet: "10.99.0.0/16" }), "dev");
    expect(plan.network).toEqual({ name: "my-bridge-network", subnet: "10.99.0.0/16", gateway: "10.99.0.1" });
  });

  it("uses setup's stand-in only for the base image it stands in for", () => {
    const override = { replaces: "python:3.11-slim", standIn: "flask-bridge/debian-python:bookworm", note: "n" };
    expect(planTopology(DEFAULTS, "dev", { engine: LOCAL_ENGINE, baseImageOverride: override }).image).toEqual({
      name: "flask-hello-world",
      baseImage: "flask-bridge/debian-python:bookworm",
      configuredBaseImage: "python:3.11-slim",
      standInNote: "n",
      keepOnDestroy: false,
    });
    expect(
      planTopology(withConfig({ baseImage: "python:3.12-slim" }), "dev", {
        engine: LOCAL_ENGINE,
        baseImageOverride: override,
      }).image.baseImage,
    ).toBe("python:3.12-slim");
  });
});

describe("planTopology rejects bad config, naming the key and the value", () => {
  const cases: [string, Partial<FlaskBridgeConfig>, string][] = [
    [
      "the same port in both lists (the tutorial's mistake)",
      { customPorts: [5001, 5005, 5006] },
      'Invalid config: host port 5001 is used twice, by flask-bridge-1 (flask-bridge:bridgePorts[0]) and by flask-custom-1 (flask-bridge:customPorts[0]); Docker would fail with "port is already allocated". Give each container its own host port.',
    ],
    [
      "the same port twice in one list",
      { bridgePorts: [5001, 5002, 5002] },
      'Invalid config: host port 5002 is used twice, by flask-bridge-2 (flask-bridge:bridgePorts[1]) and by flask-bridge-3 (flask-bridge:bridgePorts[2]); Docker would fail with "port is already allocated". Give each container its own host port.',
    ],
    [
      "the host-mode port on a published port",
      { hostPort: 5006 },
      'Invalid config: host port 5006 is used twice, by flask-custom-3 (flask-bridge:customPorts[2]) and by flask-host (flask-bridge:hostPort); Docker would fail with "port is already allocated". Give each container its own host port.',
    ],
    [
      "a port above 65535",
      { bridgePorts: [5001, 70000] },
      "Invalid config flask-bridge:bridgePorts = [5001,70000]: port 70000 must be a whole number from 1 to 65535",
    ],
    [
      "port 0",
      { customPorts: [0] },
      "Invalid config flask-bridge:customPorts = [0]: port 0 must be a whole number from 1 to 65535",
    ],
    [
      "a fractional port",
      { customPorts: [5004.5] },
      "Invalid config flask-bridge:customPorts = [5004.5]: port 5004.5 must be a whole number from 1 to 65535",
    ],
    [
      "a bad host-mode port",
      { hostPort: -1 },
      "Invalid config flask-bridge:hostPort = -1: port -1 must be a whole number from 1 to 65535",
    ],
    [
      "a network name Docker refuses",
      { networkName: "my bridge!" },
      "Invalid config flask-bridge:networkName = \"my bridge!\": must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (Docker's naming rule)",
    ],
    [
      "a predefined network name",
      { networkName: "host" },
      'Invalid config flask-bridge:networkName = "host": "host" is one of Docker\'s predefined networks (bridge, host, none, default); choose a name of your own, e.g. "my-bridge-network"',
    ],
    [
      "a subnet that is not a CIDR",
      { networkSubnet: "172.30.0.0/33" },
      'Invalid config flask-bridge:networkSubnet = "172.30.0.0/33": must be an IPv4 CIDR such as "172.30.0.0/24"',
    ],
    [
      "a subnet with host bits",
      { networkSubnet: "172.30.0.5/24" },
      'Invalid config flask-bridge:networkSubnet = "172.30.0.5/24": has host bits set; did you mean "172.30.0.0/24"?',
    ],
    [
      "a subnet inside the default bridge",
      { networkSubnet: "172.17.5.0/24" },
      'Invalid config flask-bridge:networkSubnet = "172.17.5.0/24": overlaps the default bridge network 172.17.0.0/16, which the containers on "bridge" use',
    ],
    [
      "a subnet around the default bridge",
      { networkSubnet: "172.16.0.0/12" },
      'Invalid config flask-bridge:networkSubnet = "172.16.0.0/12": overlaps the default bridge network 172.17.0.0/16, which the containers on "bridge" use',
    ],
    [
      "a gateway outside the subnet",
      { networkSubnet: "172.30.0.0/24", networkGateway: "172.31.0.1" },
      'Invalid config flask-bridge:networkGateway = "172.31.0.1": is not a usable address in flask-bridge:networkSubnet 172.30.0.0/24 (usable: 172.30.0.1-172.30.0.254)',
    ],
    [
      "a gateway on the broadcast address",
      { networkSubnet: "172.30.0.0/24", networkGateway: "172.30.0.255" },
      'Invalid config flask-bridge:networkGateway = "172.30.0.255": is not a usable address in flask-bridge:networkSubnet 172.30.0.0/24 (usable: 172.30.0.1-172.30.0.254)',
    ],
    [
      "a gateway that is not an address",
      { networkSubnet: "172.30.0.0/24", networkGateway: "gateway" },
      'Invalid config flask-bridge:networkGateway = "gateway": must be an IPv4 address such as "172.30.0.1"',
    ],
    [
      "a gateway without a subnet",
      { networkGateway: "172.30.0.1" },
      'Invalid config flask-bridge:networkGateway = "172.30.0.1": a gateway needs a subnet; set flask-bridge:networkSubnet too',
    ],
    [
      "a subnet too small for the custom containers",
      { networkSubnet: "172.30.0.0/30" },
      'Invalid config flask-bridge:networkSubnet = "172.30.0.0/30": has room for 1 containers, but flask-bridge:customPorts asks for 3',
    ],
    [
      "a bind address that is not IPv4",
      { bindAddress: "localhost" },
      'Invalid config flask-bridge:bindAddress = "localhost": must be an IPv4 address: "0.0.0.0" for every interface (the tutorial\'s default) or e.g. "127.0.0.1" for this machine only',
    ],
    [
      "a bind address out of range",
      { bindAddress: "256.0.0.1" },
      'Invalid config flask-bridge:bindAddress = "256.0.0.1": must be an IPv4 address: "0.0.0.0" for every interface (the tutorial\'s default) or e.g. "127.0.0.1" for this machine only',
    ],
    [
      "a URL host with a scheme",
      { urlHost: "http://localhost" },
      'Invalid config flask-bridge:urlHost = "http://localhost": must be a bare host name or IPv4 address, e.g. "localhost" (no scheme, port or path)',
    ],
    [
      "an upper-case image name",
      { imageName: "Flask-Hello-World" },
      'Invalid config flask-bridge:imageName = "Flask-Hello-World": is not a valid Docker image reference such as "python:3.11-slim" (lowercase name, optional registry, tag and digest)',
    ],
    [
      "a base image with a space",
      { baseImage: "python 3" },
      'Invalid config flask-bridge:baseImage = "python 3": is not a valid Docker image reference such as "python:3.11-slim" (lowercase name, optional registry, tag and digest)',
    ],
    [
      "a name prefix Docker refuses",
      { namePrefix: "-flask" },
      "Invalid config flask-bridge:namePrefix = \"-flask\": must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (Docker's naming rule)",
    ],
    [
      "nothing to run",
      { bridgePorts: [], customPorts: [], hostMode: false, noneMode: false },
      'Invalid config: flask-bridge:bridgePorts and flask-bridge:customPorts are empty and flask-bridge:hostMode and flask-bridge:noneMode are false, so the stack would run no containers. To remove everything, run "npm run destroy" instead.',
    ],
  ];

  it.each(cases)("%s", (_name, overrides, message) => {
    const error = errorOf(() => planTopology(withConfig(overrides), "dev"));
    expect(error.message).toBe(message);
    expect(error.name).toBe("ConfigError");
  });

  it("ignores the host port when host mode is off", () => {
    expect(() => planTopology(withConfig({ hostMode: false, hostPort: 5001 }), "dev")).not.toThrow();
  });

  it("accepts registry, tag and digest in image references", () => {
    const baseImage = `registry.example:5000/team/python:3.11-slim@sha256:${"a".repeat(64)}`;
    expect(planTopology(withConfig({ baseImage }), "dev").image.baseImage).toBe(baseImage);
  });
});

/**
 * The tutorial's topology in swarm mode, minus what Swarm cannot run (none), and with
 * the host-mode app off port 5000, which the swarm's own registry publishes.
 */
const SWARM: Partial<FlaskBridgeConfig> = { orchestrator: "swarm", noneMode: false, hostPort: 5007 };
const THREE_NODES: SwarmCluster = { nodes: 3 };
/** What the engine says of the swarm's own registry: its node, and the official image. */
const OWN_REGISTRY: RegistryFacts = { nodeId: "NODE-ID", nodeName: "node-1", image: "registry:2", note: null };
const ON_SWARM: MachineFacts = { engine: LOCAL_ENGINE, swarm: THREE_NODES, registry: OWN_REGISTRY };

/** The swarm's own registry as planned on the local engine. */
function ownRegistryPlan(publishMode: "ingress" | "host") {
  return {
    address: "127.0.0.1:5000",
    server: "127.0.0.1:5000",
    repository: "127.0.0.1:5000/flask-hello-world",
    username: null,
    builtIn: {
      serviceName: "flask-registry",
      volumeName: "flask-registry-data",
      port: 5000,
      image: "registry:2",
      imageNote: null,
      nodeId: "NODE-ID",
      nodeName: "node-1",
      publishMode,
      probeUrl: "http://127.0.0.1:5000/v2/",
    },
  };
}

function service(key: string, network: string, port: number, mode: "ingress" | "host") {
  return {
    key,
    serviceName: `flask-${key}`,
    kind: key.startsWith("bridge") ? "bridge" : "custom",
    network,
    replicas: 1,
    hostPort: port,
    publish: { publishedPort: port, targetPort: 5000 },
    env: { PORT: "5000", HOST: "0.0.0.0" },
    maxReplicasPerNode: mode === "host" ? 1 : null,
    updateOrder: mode === "host" ? "stop-first" : "start-first",
    drainSeconds: 10,
  };
}

const HOST_SERVICE = {
  key: "host",
  serviceName: "flask-host",
  kind: "host",
  network: "host",
  replicas: 1,
  hostPort: 5007,
  publish: null,
  env: { PORT: "5007", HOST: "0.0.0.0" },
  maxReplicasPerNode: 1,
  updateOrder: "stop-first",
  drainSeconds: 10,
};

describe("planTopology in swarm mode", () => {
  it("turns each of the tutorial's containers into a service, the user-defined bridge into an overlay", () => {
    const plan = planTopology(withConfig(SWARM), "dev", ON_SWARM);
    expect(plan.orchestrator).toBe("swarm");
    expect(plan.containers).toEqual([]);
    // Swarm replaces a task whose check fails: a slow check gets 30 s, not 5.
    expect(SWARM_HEALTHCHECK).toEqual({ ...HEALTHCHECK, timeout: "30s" });
    expect(plan.swarm).toEqual({
      nodes: 3,
      registry: ownRegistryPlan("ingress"),
      healthcheck: SWARM_HEALTHCHECK,
      publishMode: "ingress",
      endpointMode: "vip",
      network: { name: "my-bridge-network", subnet: null, gateway: null, driver: "overlay", attachable: true },
      services: [
        service("bridge-1", "bridge", 5001, "ingress"),
        service("bridge-2", "bridge", 5002, "ingress"),
        service("bridge-3", "bridge", 5003, "ingress"),
        service("custom-1", "my-bridge-network", 5004, "ingress"),
        service("custom-2", "my-bridge-network", 5005, "ingress"),
        service("custom-3", "my-bridge-network", 5006, "ingress"),
        HOST_SERVICE,
      ],
    });
  });

  it("publishes per node, one task a node, and stops the old task first with host publishing", () => {
    const plan = planTopology(
      withConfig({
        ...SWARM,
        bridgePorts: [5001],
        customPorts: [5004],
        hostMode: false,
        replicas: 3,
        swarmPublishMode: "host",
        swarmEndpointMode: "dnsrr",
        networkSubnet: "10.213.61.0/24",
      }),
      "dev",
      ON_SWARM,
    );
    expect(plan.swarm).toEqual({
      nodes: 3,
      registry: ownRegistryPlan("host"),
      healthcheck: SWARM_HEALTHCHECK,
      publishMode: "host",
      endpointMode: "dnsrr",
      network: {
        name: "my-bridge-network",
        subnet: "10.213.61.0/24",
        gateway: "10.213.61.1",
        driver: "overlay",
        attachable: true,
      },
      services: [
        { ...service("bridge-1", "bridge", 5001, "host"), replicas: 3 },
        { ...service("custom-1", "my-bridge-network", 5004, "host"), replicas: 3 },
      ],
    });
  });

  it("lets ingress publishing run more tasks than nodes: the routing mesh shares the port", () => {
    const plan = planTopology(withConfig({ ...SWARM, hostMode: false, replicas: 5 }), "dev", ON_SWARM);
    expect(plan.swarm?.services.map((planned) => planned.replicas)).toEqual([5, 5, 5, 5, 5, 5]);
  });

  it("reads no swarm and plans no services in engine mode", () => {
    expect(planTopology(withConfig({ replicas: 7 }), "dev").swarm).toBeNull();
  });
});

describe("planTopology: the registry every node pulls from", () => {
  const registryOf = (overrides: Partial<FlaskBridgeConfig>, machine = ON_SWARM) =>
    planTopology(withConfig({ ...SWARM, ...overrides }), "dev", machine).swarm?.registry;

  it("pushes to the user's registry, with its login, and runs no registry of its own", () => {
    expect(
      registryOf({
        registry: "registry.example.com:5000/team",
        registryUsername: "ci",
        registryPassword: "s3cret",
        hostPort: 5000,
      }),
    ).toEqual({
      address: "registry.example.com:5000/team",
      server: "registry.example.com:5000",
      repository: "registry.example.com:5000/team/flask-hello-world",
      username: "ci",
      builtIn: null,
    });
    expect(registryOf({ registry: "localhost:5000" }, { ...ON_SWARM, registry: null })?.username).toBeNull();
  });

  it("keeps the password out of the plan", () => {
    const plan = planTopology(
      withConfig({ ...SWARM, registry: "docker.io/someone", registryUsername: "someone", registryPassword: "s3cret" }),
      "dev",
      ON_SWARM,
    );
    expect(JSON.stringify(plan)).not.toContain("s3cret");
  });

  it("asks a remote engine's own registry on that machine's address, from here", () => {
    const engine = parseEngine("ssh://root@10.213.200.11");
    expect(registryOf({ urlHost: "10.213.200.11" }, { ...ON_SWARM, engine })?.builtIn?.probeUrl).toBe(
      "http://10.213.200.11:5000/v2/",
    );
  });

  it("publishes the swarm's own registry on registryPort", () => {
    expect(registryOf({ registryPort: 19005, hostPort: 5000 })).toMatchObject({
      address: "127.0.0.1:19005",
      repository: "127.0.0.1:19005/flask-hello-world",
      builtIn: { port: 19005, probeUrl: "http://127.0.0.1:19005/v2/" },
    });
  });

  it("runs the stand-in that the engine has, with its note", () => {
    const standIn = { ...OWN_REGISTRY, image: `sha256:${"7".repeat(64)}`, note: "stand-in" };
    expect(registryOf({}, { ...ON_SWARM, registry: standIn })?.builtIn).toMatchObject({
      image: standIn.image,
      imageNote: "stand-in",
    });
  });

  const refused: [string, Partial<FlaskBridgeConfig>, string][] = [
    [
      "a scheme",
      { registry: "https://registry.example.com" },
      'Invalid config flask-bridge:registry = "https://registry.example.com": must be a registry\'s host[:port], optionally with a path, e.g. "registry.example.com:5000/team" or "docker.io/<account>" (no scheme, no tag)',
    ],
    [
      "an account with no registry host",
      { registry: "someone" },
      'Invalid config flask-bridge:registry = "someone": must be a registry\'s host[:port], optionally with a path, e.g. "registry.example.com:5000/team" or "docker.io/<account>" (no scheme, no tag)',
    ],
    [
      "a user name without a password",
      { registry: "registry.example.com", registryUsername: "ci" },
      'Invalid config flask-bridge:registryUsername = "ci": needs flask-bridge:registryPassword too: a registry login is both, or neither',
    ],
    [
      "a password without a user name, never shown",
      { registry: "registry.example.com", registryPassword: "s3cret" },
      'Invalid config flask-bridge:registryPassword = "[secret]": needs flask-bridge:registryUsername too: a registry login is both, or neither',
    ],
    [
      "a login for the swarm's own registry",
      { registryUsername: "ci", registryPassword: "s3cret" },
      'Invalid config flask-bridge:registryUsername = "ci": is for flask-bridge:registry, which is empty: the swarm\'s own registry takes no login; set flask-bridge:registry or clear it',
    ],
    [
      "the registry's port for the host-mode app",
      { hostPort: 5000 },
      "Invalid config flask-bridge:hostPort = 5000: port 5000 is the swarm's own registry's (flask-bridge:registry is empty, so the program runs one, as Docker's swarm tutorial does); choose another port, another flask-bridge:registryPort, or set flask-bridge:registry to a registry of your own",
    ],
    [
      "the registry's port for a published service",
      { customPorts: [5004, 5000] },
      "Invalid config flask-bridge:customPorts[1] = 5000: port 5000 is the swarm's own registry's (flask-bridge:registry is empty, so the program runs one, as Docker's swarm tutorial does); choose another port, another flask-bridge:registryPort, or set flask-bridge:registry to a registry of your own",
    ],
    [
      "an image name with a digest",
      { imageName: `app@sha256:${"1".repeat(64)}` },
      `Invalid config flask-bridge:imageName = "app@sha256:${"1".repeat(64)}": is pushed to a registry in swarm mode, so it takes no digest; give a name, with a tag if you like`,
    ],
  ];

  it.each(refused)("refuses %s, saying why", (_name, overrides, message) => {
    const error = errorOf(() => registryOf(overrides));
    expect([error.name, error.message]).toEqual(["ConfigError", message]);
  });
});

describe("planTopology refuses what Swarm cannot run, saying why", () => {
  const cases: [string, Partial<FlaskBridgeConfig>, SwarmCluster | null, string][] = [
    [
      "an unknown orchestrator",
      { orchestrator: "kubernetes" },
      THREE_NODES,
      'Invalid config flask-bridge:orchestrator = "kubernetes": must be "engine" (plain containers, as in the tutorial) or "swarm" (Swarm services on an overlay network)',
    ],
    [
      "zero replicas",
      { ...SWARM, replicas: 0 },
      THREE_NODES,
      "Invalid config flask-bridge:replicas = 0: must be a whole number from 1 to 100",
    ],
    [
      "half a replica",
      { ...SWARM, replicas: 1.5 },
      THREE_NODES,
      "Invalid config flask-bridge:replicas = 1.5: must be a whole number from 1 to 100",
    ],
    [
      "a drain longer than the stop grace period leaves room for",
      { ...SWARM, swarmDrainSeconds: 101 },
      THREE_NODES,
      "Invalid config flask-bridge:swarmDrainSeconds = 101: must be a whole number of seconds from 0 to 100",
    ],
    [
      "a negative drain",
      { ...SWARM, swarmDrainSeconds: -1 },
      THREE_NODES,
      "Invalid config flask-bridge:swarmDrainSeconds = -1: must be a whole number of seconds from 0 to 100",
    ],
    [
      "an unknown publish mode",
      { ...SWARM, swarmPublishMode: "mesh" },
      THREE_NODES,
      'Invalid config flask-bridge:swarmPublishMode = "mesh": must be "ingress" (the routing mesh: every node answers) or "host" (only the nodes running a task answer)',
    ],
    [
      "an unknown endpoint mode",
      { ...SWARM, swarmEndpointMode: "dns" },
      THREE_NODES,
      'Invalid config flask-bridge:swarmEndpointMode = "dns": must be "vip" (one virtual IP per service) or "dnsrr" (DNS round-robin over the task IPs)',
    ],
    [
      "an engine that is no swarm manager",
      SWARM,
      null,
      'Invalid config flask-bridge:orchestrator = "swarm": this Docker engine is not a swarm manager, so there is no swarm to deploy to: run "npm run cluster:up" for a local cluster, or "docker swarm init" here and "docker swarm join" on the other machines',
    ],
    [
      "the none container",
      { orchestrator: "swarm" },
      THREE_NODES,
      'Invalid config flask-bridge:noneMode = true: a Swarm service cannot run without a network: Swarm attaches tasks only to overlays and its predefined "bridge" and "host" networks, and has no "none"; set it to false in swarm mode',
    ],
    [
      "a bind address",
      { ...SWARM, bindAddress: "127.0.0.1" },
      THREE_NODES,
      'Invalid config flask-bridge:bindAddress = "127.0.0.1": Swarm publishes a port on every interface of a node (a service port has no host IP); set it to "0.0.0.0" in swarm mode',
    ],
    [
      "DNS round-robin behind the routing mesh",
      { ...SWARM, swarmEndpointMode: "dnsrr" },
      THREE_NODES,
      'Invalid config flask-bridge:swarmEndpointMode = "dnsrr": Swarm\'s routing mesh (flask-bridge:swarmPublishMode "ingress") balances over a virtual IP, which "dnsrr" does not give; use "vip", or publish with "host"',
    ],
    [
      "more host-published tasks than nodes",
      { ...SWARM, hostMode: false, replicas: 4, swarmPublishMode: "host" },
      THREE_NODES,
      'Invalid config flask-bridge:replicas = 4: with flask-bridge:swarmPublishMode "host" a node publishes port 5001 for one task only, and the swarm has 3 Ready, Active node(s); set it to at most 3, add nodes, or publish with "ingress"',
    ],
    [
      "more host-mode tasks than nodes",
      { ...SWARM, bridgePorts: [], customPorts: [], replicas: 2 },
      { nodes: 1 },
      "Invalid config flask-bridge:replicas = 2: the host-mode service flask-host binds port 5007 on its node itself, one task per node, and the swarm has 1 Ready, Active node(s); set it to at most 1, add nodes, or set flask-bridge:hostMode to false",
    ],
  ];

  it.each(cases)("%s", (_name, overrides, cluster, message) => {
    const error = errorOf(() =>
      planTopology(withConfig(overrides), "dev", { engine: LOCAL_ENGINE, swarm: cluster, registry: OWN_REGISTRY }),
    );
    expect(error.message).toBe(message);
    expect(error.name).toBe("ConfigError");
  });

  it("does not hold engine mode to Swarm's rules", () => {
    expect(() => planTopology(withConfig({ hostPort: 5000, registryUsername: "someone" }), "dev")).not.toThrow();
    expect(() => planTopology(withConfig({ bindAddress: "127.0.0.1", replicas: 9 }), "dev")).not.toThrow();
  });
});

describe("planTopology on an engine on another machine", () => {
  const engine = parseEngine("ssh://root@192.168.0.4");

  it("opens and probes the apps at the machine's address, as the tutorial opened VM:5001 from the PC", () => {
    const plan = planTopology(withConfig({}), "dev", { engine });
    expect(plan.containers.map(({ dockerName, url, probeUrl }) => [dockerName, url, probeUrl])).toEqual([
      ["flask-bridge-1", "http://192.168.0.4:5001", "http://192.168.0.4:5001"],
      ["flask-bridge-2", "http://192.168.0.4:5002", "http://192.168.0.4:5002"],
      ["flask-bridge-3", "http://192.168.0.4:5003", "http://192.168.0.4:5003"],
      ["flask-custom-1", "http://192.168.0.4:5004", "http://192.168.0.4:5004"],
      ["flask-custom-2", "http://192.168.0.4:5005", "http://192.168.0.4:5005"],
      ["flask-custom-3", "http://192.168.0.4:5006", "http://192.168.0.4:5006"],
      ["flask-host", "http://192.168.0.4:5000", "http://192.168.0.4:5000"],
      ["flask-none", null, null],
    ]);
  });

  it("uses urlHost when it is set, and the bind address when it is one of the machine's", () => {
    const named = planTopology(withConfig({ urlHost: "vm.home" }), "dev", { engine });
    const bound = planTopology(withConfig({ bindAddress: "10.0.0.4" }), "dev", { engine });
    expect([named.containers[0]?.url, named.containers[0]?.probeUrl, bound.containers[0]?.url]).toEqual([
      "http://vm.home:5001",
      "http://vm.home:5001",
      "http://10.0.0.4:5001",
    ]);
  });

  it("keeps localhost and loopback probes for a local engine", () => {
    const plan = planTopology(withConfig({}), "dev", { engine: parseEngine("unix:///var/run/docker.sock") });
    expect([plan.containers[0]?.url, plan.containers[0]?.probeUrl]).toEqual([
      "http://localhost:5001",
      "http://127.0.0.1:5001",
    ]);
  });

  it("refuses a loopback bind address, which nobody here could open", () => {
    expect(errorOf(() => planTopology(withConfig({ bindAddress: "127.0.0.1" }), "dev", { engine })).message).toBe(
      'Invalid config flask-bridge:bindAddress = "127.0.0.1": is the loopback of the engine\'s machine (ssh://root@192.168.0.4), which no one here can open; use "0.0.0.0" or one of that machine\'s addresses',
    );
  });
});
