import { dockerEnv, LOCAL_ENGINE } from "../../src/plan/engine";
import { PROJECT_DIR } from "../../src/projectDir";
import { type Declared, LABELS, ofType, REGISTRY_FACTS, runProgram as runMocked } from "./mockProgram";
import { type Registered, recordRegistrations } from "./registrations";

/**
 * Runs index.ts in swarm mode under Pulumi's mocks and checks exactly what it
 * declares. setMocks runs before the program is imported, on a fresh module registry.
 */

const DIGEST = `sha256:${"2".repeat(64)}`;
/** What the push gave: the image every service pins. */
const REFERENCE = `127.0.0.1:5000/flask-hello-world@${DIGEST}`;
const SWARM = {
  orchestrator: "swarm",
  bridgePorts: "[19001]",
  customPorts: "[19004]",
  hostPort: "19000",
  noneMode: "false",
  replicas: "2",
  swarmPublishMode: "host",
  swarmEndpointMode: "dnsrr",
  networkSubnet: "10.213.61.0/24",
};

/** What a service's probe prints once its tasks run: two tasks on two nodes. */
function probeReport(environment: Record<string, string>) {
  const urls = ["172.17.0.1", "172.17.0.5"].map((address) => `http://${address}:${environment.PORT}`);
  return {
    vip: null,
    urls,
    replicas: { desired: 2, running: 2 },
    tasks: [
      { name: `${environment.SERVICE}.1`, node: "vm", nodeAddress: "172.17.0.1", ip: null, state: "running" },
      {
        name: `${environment.SERVICE}.2`,
        node: "flask-bridge-node-1",
        nodeAddress: "172.17.0.5",
        ip: null,
        state: "running",
      },
    ],
    nodes: [
      { name: "flask-bridge-node-1", address: "172.17.0.5", role: "worker", availability: "active" },
      { name: "vm", address: "172.17.0.1", role: "manager", availability: "active" },
    ],
  };
}

function outputsOf({ type, inputs }: Declared): Record<string, unknown> {
  if (type === "docker:index/image:Image") {
    return { repoDigest: `${inputs.imageName}@${DIGEST}` };
  }
  if (type === "command:local:Command") {
    const environment = inputs.environment as Record<string, string>;
    if (environment.REGISTRY_URL) return { stdout: `${environment.REGISTRY_URL}\n` };
    return { stdout: environment.SERVICE ? JSON.stringify(probeReport(environment)) : "" };
  }
  return {};
}

const runProgram = (
  config: Record<string, string>,
  swarmNodes: number | null,
  declared: Declared[] = [],
  beforeProgram?: () => void,
) => runMocked(config, outputsOf, { swarmNodes, declared, beforeProgram });

describe("the program in swarm mode", () => {
  let run: Awaited<ReturnType<typeof runProgram>>;
  let registered: Registered[];
  beforeAll(async () => {
    run = await runProgram(SWARM, 3, [], () => {
      registered = recordRegistrations();
    });
  });
  afterAll(() => jest.restoreAllMocks());

  it("asks the swarm once and declares the swarm's registry, 1 pushed image, 1 overlay and 3 services with probes", () => {
    expect(run.readEngineFacts.mock.calls).toEqual([
      [expect.objectContaining({ url: "unix:///var/run/docker.sock" }), true],
    ]);
    expect(run.readRegistryFacts.mock.calls).toEqual([
      [expect.objectContaining({ url: "unix:///var/run/docker.sock" })],
    ]);
    const counts: Record<string, number> = {};
    for (const { type } of run.declared) counts[type] = (counts[type] ?? 0) + 1;
    expect(counts).toEqual({
      "flask-bridge:registry:SwarmRegistry": 1,
      "flask-bridge:image:SwarmImage": 1,
      "flask-bridge:network:DockerNetwork": 1,
      "flask-bridge:service:SwarmService": 3,
      "docker:index/volume:Volume": 1,
      "docker:index/image:Image": 1,
      "docker:index/network:Network": 1,
      // The registry and the tutorial's three.
      "docker:index/service:Service": 4,
      // The image remover, the registry's probe and one probe per service.
      "command:local:Command": 5,
      "pulumi:providers:docker": 1,
      "pulumi:providers:command": 1,
    });
    expect(ofType(run.declared, "docker:index/container:Container")).toEqual([]);
  });

  it("creates the overlay attachable, on the configured subnet, labelled", () => {
    expect(ofType(run.declared, "docker:index/network:Network").map(({ name, inputs }) => ({ name, inputs }))).toEqual([
      {
        name: "overlay-overlay",
        inputs: {
          name: "my-bridge-network",
          driver: "overlay",
          attachable: true,
          ipamConfigs: [{ subnet: "10.213.61.0/24", gateway: "10.213.61.1" }],
          labels: LABELS,
        },
      },
    ]);
  });

  it("runs the swarm's own registry on the engine's node, its storage a labelled volume, published like the services", () => {
    const [volume] = ofType(run.declared, "docker:index/volume:Volume");
    expect(volume?.inputs).toEqual({ name: "flask-registry-data", labels: LABELS });
    const registry = run.declared.find((resource) => resource.name === "registry-service");
    expect(registry?.inputs).toEqual({
      name: "flask-registry",
      labels: LABELS,
      mode: { replicated: { replicas: 1 } },
      taskSpec: {
        containerSpec: {
          image: REGISTRY_FACTS.image,
          healthcheck: {
            tests: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:5000/v2/"],
            interval: "10s",
            timeout: "30s",
            startPeriod: "30s",
            retries: 3,
          },
          labels: [...LABELS, { label: "flask-bridge.role", value: "registry" }],
          readOnly: true,
          capDrops: ["ALL"],
          mounts: [
            { type: "volume", source: "flask-registry-data", target: "/var/lib/registry" },
            { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16777216 } },
          ],
          stopGracePeriod: "30s",
          sysctl: {},
        },
        networksAdvanceds: [{ id: "bridge" }],
        placement: { constraints: ["node.id==NODE-ID"] },
        restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
      },
      endpointSpec: {
        mode: "dnsrr",
        ports: [{ targetPort: 5000, publishedPort: 5000, publishMode: "host", protocol: "tcp" }],
      },
    });
    const probe = run.declared.find((resource) => resource.name === "registry-probe");
    expect(probe?.inputs).toMatchObject({
      create: "node --require tsx/cjs src/probes/registry.ts",
      environment: {
        ...dockerEnv(LOCAL_ENGINE),
        REGISTRY_URL: "http://127.0.0.1:5000/v2/",
        SERVICE: "flask-registry",
        PROBE_TIMEOUT_SECONDS: "180",
      },
    });
  });

  it("builds the image, pushes it to 127.0.0.1:5000 and removes the local copy on destroy", () => {
    const [image] = ofType(run.declared, "docker:index/image:Image");
    expect(image?.inputs).toEqual({
      imageName: "127.0.0.1:5000/flask-hello-world",
      build: {
        context: "./app",
        dockerfile: "./app/Dockerfile",
        args: { BASE_IMAGE: "python:3.11-slim", STACK: "dev" },
        platform: "linux/arm64",
      },
      skipPush: false,
      registry: { server: "127.0.0.1:5000" },
      buildOnPreview: false,
    });
    const remover = run.declared.find((resource) => resource.name === "image-remove-on-destroy");
    // Every build of the stack: one whose push was refused kept the refused registry's name.
    expect(remover?.inputs).toEqual({
      delete: "node --require tsx/cjs src/probes/removeImage.ts",
      dir: PROJECT_DIR,
      environment: {
        ...dockerEnv(LOCAL_ENGINE),
        IMAGE: "127.0.0.1:5000/flask-hello-world",
        STACK: "dev",
        REMOVE: "all",
      },
    });
  });

  it("runs no script of the project's: every command is a probe file or a docker command", () => {
    const commands = ofType(run.declared, "command:local:Command").flatMap(({ inputs }) =>
      [inputs.create, inputs.update, inputs.delete].filter((text): text is string => typeof text === "string"),
    );
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((text) => /scripts\/|\.sh\b|cluster/.test(text))).toEqual([]);
  });

  it("declares each service hardened, placed one task a node, published per node and rolled one task at a time", () => {
    const services = ofType(run.declared, "docker:index/service:Service");
    expect(services.map(({ name }) => name).sort()).toEqual([
      "bridge-1-service",
      "custom-1-service",
      "host-service",
      "registry-service",
    ]);
    const byName = (name: string) => services.find((service) => service.name === name)?.inputs ?? {};
    const custom = byName("custom-1-service");
    const update = { parallelism: 1, delay: "1s", order: "stop-first", monitor: "5s" };
    expect(custom).toEqual({
      name: "flask-custom-1",
      labels: LABELS,
      mode: { replicated: { replicas: 2 } },
      taskSpec: {
        containerSpec: {
          image: REFERENCE,
          commands: ["bash", "/app/drain.sh", "10"],
          // HOST=0.0.0.0 is the app's default; one variable keeps the provider's env order fixed.
          env: { PORT: "5000" },
          healthcheck: {
            tests: ["CMD", "bash", "/app/healthcheck.sh"],
            interval: "10s",
            timeout: "30s",
            startPeriod: "30s",
            retries: 3,
          },
          labels: [...LABELS, { label: "flask-bridge.network-kind", value: "custom" }],
          user: "10001:10001",
          readOnly: true,
          mounts: [{ type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16777216 } }],
          capDrops: ["ALL"],
          stopGracePeriod: "2m",
          sysctl: {},
        },
        networksAdvanceds: [{ id: "overlay-overlay-id" }],
        placement: { platforms: [{ os: "linux", architecture: "arm64" }], maxReplicas: 1 },
        restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
      },
      endpointSpec: {
        mode: "dnsrr",
        ports: [{ targetPort: 5000, publishedPort: 19004, publishMode: "host", protocol: "tcp" }],
      },
      updateConfig: { ...update, failureAction: "rollback" },
      rollbackConfig: { ...update, failureAction: "pause" },
    });
    const taskSpec = (name: string) =>
      byName(name).taskSpec as { networksAdvanceds: unknown; containerSpec: { env: unknown } };
    expect(taskSpec("bridge-1-service").networksAdvanceds).toEqual([{ id: "bridge" }]);
    expect(taskSpec("host-service").networksAdvanceds).toEqual([{ id: "host" }]);
    expect(byName("host-service").endpointSpec).toEqual({ mode: "dnsrr" });
    expect(taskSpec("host-service").containerSpec.env).toEqual({ PORT: "19000" });
  });

  it("replaces a service by deleting it first, its name (and the registry's port) being fixed", () => {
    const services = registered.filter((resource) => resource.type === "docker:index/service:Service");
    expect(services.map(({ name, deleteBeforeReplace }) => [name, deleteBeforeReplace]).sort()).toEqual([
      ["bridge-1-service", true],
      ["custom-1-service", true],
      ["host-service", true],
      ["registry-service", true],
    ]);
  });

  it("probes every service until its replicas run and its URLs answer", () => {
    const probe = run.declared.find((resource) => resource.name === "custom-1-probe");
    expect(probe?.inputs.environment).toEqual({
      ...dockerEnv(LOCAL_ENGINE),
      SERVICE: "flask-custom-1",
      REPLICAS: "2",
      PORT: "19004",
      NETWORK_ID: "overlay-overlay-id",
      MESH: "false",
      PROBE_TIMEOUT_SECONDS: "540",
    });
    const [serviceId, image, spec = "{}"] = (probe?.inputs.triggers ?? []) as string[];
    expect([serviceId, image]).toEqual(["custom-1-service-id", REFERENCE]);
    // Any change to what the service runs re-runs the probe, so up waits for the rollout.
    expect(JSON.parse(spec)).toEqual(expect.objectContaining({ publishMode: "host", endpointMode: "dnsrr" }));
    expect(JSON.parse(spec).plan).toEqual(expect.objectContaining({ serviceName: "flask-custom-1", replicas: 2 }));
  });

  it("exports services and the overlay, and no engine-mode outputs", () => {
    expect(Object.keys(run.outputs.services)).toEqual(["flask-bridge-1", "flask-custom-1", "flask-host"]);
    expect(run.outputs.services["flask-custom-1"]).toEqual({
      network: "my-bridge-network",
      dnsName: "flask-custom-1",
      ...probeReport({ SERVICE: "flask-custom-1", PORT: "19004" }),
    });
    expect(run.outputs.network).toEqual({
      name: "my-bridge-network",
      id: "overlay-overlay-id",
      subnet: "10.213.61.0/24",
      gateway: "10.213.61.1",
    });
    expect([run.outputs.containers, run.outputs.probes]).toEqual([undefined, undefined]);
  });

  it("exports the pushed image: the registry, the reference every service runs and its digest", () => {
    expect(run.outputs.image).toEqual({
      name: "127.0.0.1:5000/flask-hello-world",
      digest: DIGEST,
      baseImage: "python:3.11-slim",
      configuredBaseImage: "python:3.11-slim",
      standInNote: null,
      registry: {
        address: "127.0.0.1:5000",
        reference: REFERENCE,
        service: {
          name: "flask-registry",
          node: "vm",
          volume: "flask-registry-data",
          image: REGISTRY_FACTS.image,
          note: "stand-in registry note",
          publishMode: "host",
        },
      },
    });
  });
});

describe("the program in swarm mode with a registry of the user's", () => {
  const USER = {
    ...SWARM,
    registry: "registry.example.com:5000/team",
    registryUsername: "ci",
    registryPassword: "s3cret",
  };
  let run: Awaited<ReturnType<typeof runProgram>>;
  beforeAll(async () => {
    run = await runProgram(USER, 3);
  });

  it("runs no registry of its own and asks nothing about one", () => {
    expect(run.readRegistryFacts.mock.calls).toEqual([]);
    expect(ofType(run.declared, "docker:index/volume:Volume")).toEqual([]);
    expect(run.declared.filter(({ type }) => type === "flask-bridge:registry:SwarmRegistry")).toEqual([]);
    expect(ofType(run.declared, "docker:index/service:Service")).toHaveLength(3);
  });

  it("pushes there with the login, and hands the login to every service for its nodes' pulls", () => {
    const [image] = ofType(run.declared, "docker:index/image:Image");
    expect([image?.inputs.imageName, image?.inputs.registry]).toEqual([
      "registry.example.com:5000/team/flask-hello-world",
      // The whole login is a secret once its password is.
      expect.objectContaining({ value: { server: "registry.example.com:5000", username: "ci", password: "s3cret" } }),
    ]);
    for (const service of ofType(run.declared, "docker:index/service:Service")) {
      expect([service.name, service.inputs.auth]).toEqual([
        service.name,
        expect.objectContaining({
          value: { serverAddress: "registry.example.com:5000", username: "ci", password: "s3cret" },
        }),
      ]);
      expect((service.inputs.taskSpec as { containerSpec: { image: string } }).containerSpec.image).toBe(
        `registry.example.com:5000/team/flask-hello-world@${DIGEST}`,
      );
    }
    expect(run.outputs.image.registry).toEqual({
      address: "registry.example.com:5000/team",
      reference: `registry.example.com:5000/team/flask-hello-world@${DIGEST}`,
      service: null,
    });
  });
});

describe("the program in swarm mode with other config", () => {
  it("publishes through the routing mesh by default and probes it on every node", async () => {
    const { declared } = await runProgram(
      { orchestrator: "swarm", noneMode: "false", hostMode: "false", bridgePorts: "[]", customPorts: "[5004]" },
      1,
    );
    const [registry, service] = ofType(declared, "docker:index/service:Service");
    // The registry too: every node pulls from its own 127.0.0.1:5000 through the mesh.
    expect(registry?.inputs.endpointSpec).toEqual({
      mode: "vip",
      ports: [{ targetPort: 5000, publishedPort: 5000, publishMode: "ingress", protocol: "tcp" }],
    });
    expect(registry?.inputs.taskSpec).not.toHaveProperty("networksAdvanceds");
    expect(service?.inputs.endpointSpec).toEqual({
      mode: "vip",
      ports: [{ targetPort: 5000, publishedPort: 5004, publishMode: "ingress", protocol: "tcp" }],
    });
    // Only the image's platform: no cap of tasks per node, since the mesh publishes every node.
    expect(service?.inputs.taskSpec).toHaveProperty("placement", {
      platforms: [{ os: "linux", architecture: "arm64" }],
    });
    const probe = declared.find((resource) => resource.name === "custom-1-probe");
    expect(probe?.inputs.environment).toMatchObject({ MESH: "true", PORT: "5004" });
  });

  it("declares nothing when the engine is no swarm manager", async () => {
    const declared: Declared[] = [];
    await expect(runProgram(SWARM, null, declared)).rejects.toThrow(
      'Invalid config flask-bridge:orchestrator = "swarm": this Docker engine is not a swarm manager',
    );
    expect(declared).toEqual([]);
  });

  it("runs no script of the project's in engine mode either", async () => {
    const { declared } = await runProgram({}, null);
    const commands = ofType(declared, "command:local:Command").flatMap(({ inputs }) =>
      [inputs.create, inputs.update, inputs.delete].filter((text): text is string => typeof text === "string"),
    );
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((text) => /scripts\/|\.sh\b|cluster/.test(text))).toEqual([]);
  });

  it("does not ask Docker about a swarm in engine mode", async () => {
    const { readEngineFacts, outputs } = await runProgram({}, null);
    expect(readEngineFacts.mock.calls).toEqual([
      [expect.objectContaining({ url: "unix:///var/run/docker.sock" }), false],
    ]);
    expect(outputs.services).toBeUndefined();
  });
});

describe("the env a Swarm service gives the docker provider", () => {
  // Required here: the program tests above import Pulumi on fresh module registries.
  const { providerEnv } =
    require("../../src/components/SwarmService") as typeof import("../../src/components/SwarmService");

  it("keeps one variable, leaving out HOST when it is the app's default", () => {
    expect(providerEnv({ PORT: "19000", HOST: "0.0.0.0" })).toEqual({ PORT: "19000" });
    expect(providerEnv({ HOST: "10.0.0.2" })).toEqual({ HOST: "10.0.0.2" });
  });

  it("refuses a second variable, whose order the provider would shuffle on every update", () => {
    expect(() => providerEnv({ PORT: "5000", HOST: "10.0.0.2" })).toThrow(/at most one environment variable/);
    expect(() => providerEnv({ PORT: "5000", DEBUG: "1" })).toThrow(/not DEBUG, PORT/);
  });
});
