import { READINESS_PROBE } from "../../src/components/ReadinessProbe";
import { dockerEnv, LOCAL_ENGINE, parseEngine } from "../../src/plan/engine";
import { PROJECT_DIR } from "../../src/projectDir";
import { type Declared, ENGINE_PLATFORM, LABELS, ofType, runProgram as runMocked } from "./mockProgram";

/**
 * Runs index.ts under Pulumi's mocks and checks exactly what it declares.
 * setMocks runs before the program is imported, on a fresh module registry.
 */

const IMAGE_ID = `sha256:${"1".repeat(64)}`;
const CUSTOM_SUBNET = { subnet: "172.18.0.0/16", gateway: "172.18.0.1" };

/** What Docker would report for a container on each network: the tutorial's .2, .3, .4. */
function networkDatas(inputs: Record<string, unknown>): unknown[] {
  const index = Number(/-(\d+)$/.exec(String(inputs.name))?.[1] ?? 0) + 1;
  const mode = inputs.networkMode as string | undefined;
  if (mode === "bridge") {
    return [{ networkName: "bridge", ipAddress: `172.17.0.${index}`, gateway: "172.17.0.1" }];
  }
  if (mode === "host" || mode === "none") {
    return [{ networkName: mode, ipAddress: "", gateway: "" }];
  }
  const [advanced] = inputs.networksAdvanced as { name: string }[];
  // A decoy first entry: the program must match by name, never take [0].
  return [
    { networkName: "decoy", ipAddress: "10.0.0.9", gateway: "10.0.0.1" },
    { networkName: advanced?.name, ipAddress: `172.18.0.${index}`, gateway: "172.18.0.1" },
  ];
}

/** `declared` is filled as the program declares resources, so a failed run can be inspected too. */
/** What Docker and the probes would report for each resource the program declares. */
function outputsOf({ type, inputs }: Declared): Record<string, unknown> {
  if (type === "docker:index/image:Image") return { repoDigest: IMAGE_ID };
  if (type === "docker:index/network:Network") return { ipamConfigs: inputs.ipamConfigs ?? [CUSTOM_SUBNET] };
  if (type === "docker:index/container:Container") return { networkDatas: networkDatas(inputs) };
  if (type === "command:local:Command") return { stdout: readinessStdout(inputs) };
  return {};
}

/** What the readiness script prints for its PROBE_TARGETS: the page, or "lo" inside a none container. */
function readinessStdout(inputs: Declared["inputs"]): string {
  const targets = (inputs.environment as Record<string, string> | undefined)?.PROBE_TARGETS ?? "";
  return targets
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [name, url] = line.split(" ");
      return `${name}\t${url === "-" ? "lo" : "Hello, World!"}\n`;
    })
    .join("");
}

const runProgram = (config: Record<string, string>, declared: Declared[] = []) =>
  runMocked(config, outputsOf, { declared });

function byName<T>(declared: Declared[], pick: (resource: Declared) => T): Record<string, T> {
  return Object.fromEntries(declared.map((resource) => [resource.name, pick(resource)]));
}

function countByType(declared: Declared[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { type } of declared) {
    counts[type] = (counts[type] ?? 0) + 1;
  }
  return counts;
}

describe("the program against an engine on another machine", () => {
  const engine = parseEngine("ssh://root@192.168.0.4", "docker:host");
  let run: Awaited<ReturnType<typeof runProgram>>;
  beforeAll(async () => {
    run = await runMocked({}, outputsOf, { engine });
  });

  it("builds the one provider for that engine, with ssh keep-alives", () => {
    const [provider] = ofType(run.declared, "pulumi:providers:docker");
    expect(provider?.inputs).toEqual({
      host: "ssh://root@192.168.0.4",
      context: "",
      // Provider inputs reach the engine serialized.
      sshOpts: JSON.stringify(["-o", "ServerAliveInterval=4", "-o", "ServerAliveCountMax=3", "-o", "ConnectTimeout=5"]),
    });
  });

  it("runs every command against that engine, and exports the URLs at its address", () => {
    for (const { name, inputs } of ofType(run.declared, "command:local:Command")) {
      expect([name, inputs.environment]).toEqual([name, expect.objectContaining(dockerEnv(engine))]);
    }
    expect(run.outputs.containers["flask-bridge-1"].url).toBe("http://192.168.0.4:5001");
  });
});

describe("the program with the tutorial's config", () => {
  let run: Awaited<ReturnType<typeof runProgram>>;
  beforeAll(async () => {
    run = await runProgram({});
  });

  it("declares exactly 1 image, 1 network, 8 containers under one component, and one probe for them all", () => {
    expect(countByType(run.declared)).toEqual({
      "flask-bridge:image:FlaskImage": 1,
      "flask-bridge:network:DockerNetwork": 1,
      "flask-bridge:container:FlaskContainers": 1,
      "flask-bridge:probe:ReadinessProbe": 1,
      "docker:index/image:Image": 1,
      "docker:index/network:Network": 1,
      "docker:index/container:Container": 8,
      // The probe and the image remover.
      "command:local:Command": 2,
      "pulumi:providers:docker": 1,
      "pulumi:providers:command": 1,
    });
  });

  it("gives every command the one explicit command provider, declared before any resource", () => {
    const [first] = run.declared.filter(({ type }) => !type.startsWith("pulumi:providers:"));
    const providers = run.declared.slice(0, run.declared.indexOf(first as Declared));
    expect(providers.map(({ type, name }) => `${type}::${name}`).sort()).toEqual([
      "pulumi:providers:command::command",
      "pulumi:providers:docker::docker",
    ]);
    for (const { name, provider } of ofType(run.declared, "command:local:Command")) {
      expect([name, provider]).toEqual([
        name,
        "urn:pulumi:dev::flask-bridge::pulumi:providers:command::command::command-id",
      ]);
    }
  });

  it("gives every docker resource the one explicit provider, for this machine's socket", () => {
    const [provider] = ofType(run.declared, "pulumi:providers:docker");
    // context stated empty, so the shell's DOCKER_CONTEXT cannot override host.
    expect(provider?.inputs).toEqual({ host: "unix:///var/run/docker.sock", context: "" });
    const docker = run.declared.filter(({ type }) => type.startsWith("docker:"));
    expect(docker).toHaveLength(10);
    for (const { name, provider: reference } of docker) {
      expect([name, reference]).toEqual([
        name,
        "urn:pulumi:dev::flask-bridge::pulumi:providers:docker::docker::docker-id",
      ]);
    }
  });

  it("builds app/ on the configured base, for the engine's platform, and labels it with the stack", () => {
    const [image] = ofType(run.declared, "docker:index/image:Image");
    expect(image?.name).toBe("image-build");
    expect(image?.inputs).toEqual({
      imageName: "flask-hello-world",
      build: {
        context: "./app",
        dockerfile: "./app/Dockerfile",
        args: { BASE_IMAGE: "python:3.11-slim", STACK: "dev" },
        platform: ENGINE_PLATFORM,
      },
      skipPush: true,
      buildOnPreview: false,
    });
  });

  it("removes the image on destroy, by its name, and the stack's untagged earlier builds, with a file", () => {
    const remover = run.declared.find((resource) => resource.name === "image-remove-on-destroy");
    // On the stack's engine, whatever the shell that runs destroy names.
    expect(remover?.inputs).toEqual({
      delete: "node --require tsx/cjs src/probes/removeImage.ts",
      dir: PROJECT_DIR,
      environment: { ...dockerEnv(LOCAL_ENGINE), IMAGE: "flask-hello-world", STACK: "dev", REMOVE: "untagged" },
    });
  });

  it("creates my-bridge-network as a labelled bridge, letting Docker pick the subnet", () => {
    const [network] = ofType(run.declared, "docker:index/network:Network");
    expect(network?.inputs).toEqual({ name: "my-bridge-network", driver: "bridge", labels: LABELS });
  });

  it("attaches every container exactly as the tutorial did", () => {
    // Keyed by name: registration order depends on which inputs resolve first.
    const containers = byName(ofType(run.declared, "docker:index/container:Container"), ({ name, inputs }) => ({
      name,
      dockerName: inputs.name,
      image: inputs.image,
      networkMode: inputs.networkMode,
      networksAdvanced: inputs.networksAdvanced,
      ports: inputs.ports,
      envs: inputs.envs,
    }));
    const publishedOn = (port: number) => [{ internal: 5000, external: port, ip: "0.0.0.0", protocol: "tcp" }];
    const bridge = (n: number) => ({
      name: `bridge-${n}-container`,
      dockerName: `flask-bridge-${n}`,
      image: IMAGE_ID,
      networkMode: "bridge",
      networksAdvanced: undefined,
      ports: publishedOn(5000 + n),
      envs: ["PORT=5000", "HOST=0.0.0.0"],
    });
    const custom = (n: number) => ({
      name: `custom-${n}-container`,
      dockerName: `flask-custom-${n}`,
      image: IMAGE_ID,
      networkMode: undefined,
      networksAdvanced: [{ name: "my-bridge-network" }],
      ports: publishedOn(5003 + n),
      envs: ["PORT=5000", "HOST=0.0.0.0"],
    });
    expect(containers).toEqual({
      "bridge-1-container": bridge(1),
      "bridge-2-container": bridge(2),
      "bridge-3-container": bridge(3),
      "custom-1-container": custom(1),
      "custom-2-container": custom(2),
      "custom-3-container": custom(3),
      "host-container": {
        name: "host-container",
        dockerName: "flask-host",
        image: IMAGE_ID,
        networkMode: "host",
        networksAdvanced: undefined,
        ports: undefined,
        envs: ["PORT=5000", "HOST=0.0.0.0"],
      },
      "none-container": {
        name: "none-container",
        dockerName: "flask-none",
        image: IMAGE_ID,
        networkMode: "none",
        networksAdvanced: undefined,
        ports: undefined,
        envs: ["PORT=5000", "HOST=0.0.0.0"],
      },
    });
  });

  it("checks the planned host ports against this machine once, before declaring anything", () => {
    expect(run.portCheck.mock.calls).toEqual([
      [
        expect.arrayContaining([expect.objectContaining({ dockerName: "flask-bridge-1", hostPort: 5001 })]),
        "0.0.0.0",
        "dev",
        LOCAL_ENGINE,
        "python:3.11-slim",
      ],
    ]);
    expect(run.portCheck.mock.calls[0]?.[0]).toHaveLength(8);
    // What had been declared when it ran: nothing.
    expect(run.portCheck.mock.results).toEqual([{ type: "return", value: 0 }]);
  });

  it("gives every container the healthcheck and hardens it; the probe, not the health status, gates up", () => {
    for (const { name, inputs } of ofType(run.declared, "docker:index/container:Container")) {
      const kind = name.replace(/-\d+/, "").replace("-container", "");
      expect([name, inputs]).toEqual([
        name,
        expect.objectContaining({
          healthcheck: {
            tests: ["CMD", "bash", "/app/healthcheck.sh"],
            interval: "10s",
            timeout: "5s",
            startPeriod: "30s",
            retries: 3,
          },
          wait: false,
          restart: "unless-stopped",
          destroyGraceSeconds: 10,
          mustRun: true,
          labels: [...LABELS, { label: "flask-bridge.network-kind", value: kind }],
          user: "10001:10001",
          readOnly: true,
          tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
          capabilities: { drops: ["ALL"] },
          securityOpts: ["no-new-privileges:true"],
          privileged: false,
        }),
      ]);
    }
  });

  it("probes every URL from the host over loopback, and the none container from inside, in one command", () => {
    const probes = ofType(run.declared, "command:local:Command").filter(({ name }) => name === "readiness-command");
    expect(probes.map(({ inputs }) => [inputs.create, inputs.dir, inputs.environment])).toEqual([
      [
        READINESS_PROBE.create,
        READINESS_PROBE.dir,
        {
          ...dockerEnv(LOCAL_ENGINE),
          PROBE_TARGETS: [
            "flask-bridge-1 http://127.0.0.1:5001",
            "flask-bridge-2 http://127.0.0.1:5002",
            "flask-bridge-3 http://127.0.0.1:5003",
            "flask-custom-1 http://127.0.0.1:5004",
            "flask-custom-2 http://127.0.0.1:5005",
            "flask-custom-3 http://127.0.0.1:5006",
            "flask-host http://127.0.0.1:5000",
            "flask-none -",
          ].join("\n"),
          PROBE_TIMEOUT_SECONDS: "180",
        },
      ],
    ]);
    // The probe's hash and every container's ID: a changed probe or a replaced container runs the probe again.
    expect(probes[0]?.inputs.triggers).toEqual([
      READINESS_PROBE.sha256,
      ...["bridge-1", "bridge-2", "bridge-3", "custom-1", "custom-2", "custom-3", "host", "none"].map(
        (name) => `${name}-container-id`,
      ),
    ]);
  });

  it("exports the output contract for all 8 containers", () => {
    expect(run.outputs.containers).toEqual({
      "flask-bridge-1": {
        network: "bridge",
        ip: "172.17.0.2",
        gateway: "172.17.0.1",
        hostPort: 5001,
        url: "http://localhost:5001",
      },
      "flask-bridge-2": {
        network: "bridge",
        ip: "172.17.0.3",
        gateway: "172.17.0.1",
        hostPort: 5002,
        url: "http://localhost:5002",
      },
      "flask-bridge-3": {
        network: "bridge",
        ip: "172.17.0.4",
        gateway: "172.17.0.1",
        hostPort: 5003,
        url: "http://localhost:5003",
      },
      "flask-custom-1": {
        network: "my-bridge-network",
        ip: "172.18.0.2",
        gateway: "172.18.0.1",
        hostPort: 5004,
        url: "http://localhost:5004",
      },
      "flask-custom-2": {
        network: "my-bridge-network",
        ip: "172.18.0.3",
        gateway: "172.18.0.1",
        hostPort: 5005,
        url: "http://localhost:5005",
      },
      "flask-custom-3": {
        network: "my-bridge-network",
        ip: "172.18.0.4",
        gateway: "172.18.0.1",
        hostPort: 5006,
        url: "http://localhost:5006",
      },
      "flask-host": { network: "host", ip: null, gateway: null, hostPort: 5000, url: "http://localhost:5000" },
      "flask-none": { network: "none", ip: null, gateway: null, hostPort: null, url: null },
    });
  });

  it("exports the network, the image and what the probes saw", () => {
    expect(run.outputs.network).toEqual({
      name: "my-bridge-network",
      id: "network-bridge-id",
      subnet: "172.18.0.0/16",
      gateway: "172.18.0.1",
    });
    expect(run.outputs.image).toEqual({
      name: "flask-hello-world",
      digest: IMAGE_ID,
      baseImage: "python:3.11-slim",
      configuredBaseImage: "python:3.11-slim",
      standInNote: null,
    });
    expect(run.outputs.probes).toEqual({
      "flask-bridge-1": "Hello, World!",
      "flask-bridge-2": "Hello, World!",
      "flask-bridge-3": "Hello, World!",
      "flask-custom-1": "Hello, World!",
      "flask-custom-2": "Hello, World!",
      "flask-custom-3": "Hello, World!",
      "flask-host": "Hello, World!",
      "flask-none": "lo",
    });
  });
});

describe("the program with other config", () => {
  it("runs 6 containers when host and none modes are off", async () => {
    const { declared, outputs } = await runProgram({ hostMode: "false", noneMode: "false" });
    const names = ofType(declared, "docker:index/container:Container").map(({ inputs }) => inputs.name);
    expect(names.sort()).toEqual([
      "flask-bridge-1",
      "flask-bridge-2",
      "flask-bridge-3",
      "flask-custom-1",
      "flask-custom-2",
      "flask-custom-3",
    ]);
    expect(Object.keys(outputs.containers)).toHaveLength(6);
  });

  it("passes a subnet and gateway to IPAM and keeps the image when asked", async () => {
    const { declared } = await runProgram({
      networkSubnet: "172.30.0.0/24",
      networkGateway: "172.30.0.1",
      keepImageOnDestroy: "true",
    });
    expect(ofType(declared, "docker:index/network:Network")[0]?.inputs.ipamConfigs).toEqual([
      { subnet: "172.30.0.0/24", gateway: "172.30.0.1" },
    ]);
    expect(declared.some((resource) => resource.name === "image-remove-on-destroy")).toBe(false);
  });

  it("declares nothing at all when config is bad", async () => {
    const declared: Declared[] = [];
    await expect(runProgram({ customPorts: "[5001]" }, declared)).rejects.toThrow("host port 5001 is used twice");
    expect(declared).toEqual([]);
  });
});
