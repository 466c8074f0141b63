import { DEFAULTS, type FlaskBridgeConfig } from "../../src/config";
import { HEALTHCHECK, planTopology } from "../../src/plan";

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

  it("keeps a subnet without a gateway", () => {
    const plan = planTopology(withConfig({ networkSubnet: "10.99.0.0/16" }), "dev");
    expect(plan.network).toEqual({ name: "my-bridge-network", subnet: "10.99.0.0/16", gateway: null });
  });

  it("uses setup's stand-in only for the base image it stands in for", () => {
    const override = { replaces: "python:3.11-slim", standIn: "flask-bridge/debian-python:bookworm", note: "n" };
    expect(planTopology(DEFAULTS, "dev", override).image).toEqual({
      name: "flask-hello-world",
      baseImage: "flask-bridge/debian-python:bookworm",
      configuredBaseImage: "python:3.11-slim",
      standInNote: "n",
      keepOnDestroy: false,
    });
    expect(planTopology(withConfig({ baseImage: "python:3.12-slim" }), "dev", override).image.baseImage).toBe(
      "python:3.12-slim",
    );
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
