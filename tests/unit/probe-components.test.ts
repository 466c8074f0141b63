import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type * as pulumiType from "@pulumi/pulumi";
import type * as readinessModule from "../../src/components/ReadinessProbe";
import type * as swarmModule from "../../src/components/SwarmService";
import { dockerEnv, LOCAL_ENGINE, parseEngine } from "../../src/plan/engine";
import type { ServicePlan } from "../../src/plan/plan";
import { sourceFiles, sourceHash } from "../../src/probes/command";

/**
 * ReadinessProbe and SwarmService under Pulumi's mocks: what their probe
 * commands are given. setMocks runs first, on a fresh module registry; the
 * engine is data here, never this machine's environment.
 */

interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

const REMOTE = parseEngine("ssh://root@10.0.0.5", "docker:host");
const declared: Declared[] = [];
let pulumi: typeof pulumiType;
let readiness: typeof readinessModule;
let swarm: typeof swarmModule;

/** What a probe would print, by what it was asked. */
function stdoutOf(inputs: Record<string, unknown>): string {
  const environment = (inputs.environment ?? {}) as Record<string, string>;
  if (environment.PROBE_TARGETS) {
    return environment.PROBE_TARGETS.split("\n")
      .map((line) => {
        const [name, url] = line.split(" ");
        return `${name}\t${url === "-" ? "lo" : "Hello, World!"}\n`;
      })
      .join("");
  }
  if (environment.SERVICE) {
    return JSON.stringify({
      vip: "10.213.61.2",
      urls: [`http://10.0.0.5:${environment.PORT}`],
      replicas: { desired: Number(environment.REPLICAS), running: Number(environment.REPLICAS) },
      tasks: [],
      nodes: [],
    });
  }
  return "";
}

beforeAll(async () => {
  jest.resetModules();
  pulumi = require("@pulumi/pulumi");
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        declared.push({ type: args.type, name: args.name, inputs: args.inputs });
        const stdout = args.type === "command:local:Command" ? { stdout: stdoutOf(args.inputs) } : {};
        return { id: `${args.name}-id`, state: { ...args.inputs, ...stdout } };
      },
      call: (args) => args.inputs,
    },
    "flask-bridge",
    "dev",
  );
  readiness = require("../../src/components/ReadinessProbe");
  swarm = require("../../src/components/SwarmService");
});

const resolved = <T>(output: pulumiType.Output<T>): Promise<T> => new Promise((resolve) => output.apply(resolve));
const named = (name: string): Declared | undefined => declared.find((resource) => resource.name === name);

describe("ReadinessProbe", () => {
  it("runs src/probes/readiness.ts by one short line, on the engine and with the wait it is given", async () => {
    const probe = new readiness.ReadinessProbe("ready", {
      targets: [
        { dockerName: "flask-bridge-1", url: "http://10.0.0.5:5001", containerId: pulumi.output("c1") },
        { dockerName: "flask-none", url: null, containerId: "c2" },
      ],
      engine: REMOTE,
      timeoutSeconds: 42,
    });
    expect(await resolved(probe.results)).toEqual({ "flask-bridge-1": "Hello, World!", "flask-none": "lo" });
    const command = named("ready-command");
    expect(command?.inputs).toEqual({
      create: "node --require tsx/cjs src/probes/readiness.ts",
      dir: path.resolve(__dirname, "..", ".."),
      environment: {
        DOCKER_HOST: "ssh://root@10.0.0.5",
        DOCKER_CONTEXT: "",
        DOCKER_CERT_PATH: "",
        DOCKER_TLS_VERIFY: "",
        PROBE_TARGETS: "flask-bridge-1 http://10.0.0.5:5001\nflask-none -",
        PROBE_TIMEOUT_SECONDS: "42",
      },
      // The probe's source and each container's ID: an edit or a replaced container probes again.
      triggers: [readiness.READINESS_PROBE.sha256, "c1", "c2"],
    });
    expect(readiness.READINESS_PROBE.sha256).toBe(sourceHash("src/probes/readiness.ts"));
  });

  it("names the local engine too, so the probe never follows the shell's DOCKER_HOST or context", async () => {
    const probe = new readiness.ReadinessProbe("local", {
      targets: [{ dockerName: "flask-host", url: "http://127.0.0.1:5000", containerId: "c3" }],
      engine: LOCAL_ENGINE,
      timeoutSeconds: 180,
    });
    await resolved(probe.results);
    expect(named("local-command")?.inputs.environment).toEqual({
      ...dockerEnv(LOCAL_ENGINE),
      PROBE_TARGETS: "flask-host http://127.0.0.1:5000",
      PROBE_TIMEOUT_SECONDS: "180",
    });
    expect(dockerEnv(LOCAL_ENGINE).DOCKER_HOST).toBe("unix:///var/run/docker.sock");
  });
});

describe("SwarmService's probe", () => {
  const plan: ServicePlan = {
    key: "custom-1",
    kind: "custom",
    serviceName: "flask-custom-1",
    network: "my-bridge-network",
    replicas: 2,
    hostPort: 5004,
    publish: { targetPort: 5000, publishedPort: 5004 },
    env: { PORT: "5000" },
    updateOrder: "stop-first",
    maxReplicasPerNode: null,
    drainSeconds: 10,
  };

  it("runs src/probes/swarm.ts by one short line on the engine it is given, and reports what it printed", async () => {
    const service = new swarm.SwarmService("custom-1", {
      plan,
      publishMode: "ingress",
      endpointMode: "vip",
      image: "sha256:abc",
      overlay: { name: "my-bridge-network", id: "overlay-id" },
      healthcheck: { tests: ["CMD", "true"], interval: "10s", timeout: "5s", retries: 3, startPeriod: "5s" },
      labels: {},
      engine: REMOTE,
      platform: "linux/amd64",
    });
    expect(await resolved(service.output)).toEqual({
      network: "my-bridge-network",
      dnsName: "flask-custom-1",
      vip: "10.213.61.2",
      urls: ["http://10.0.0.5:5004"],
      replicas: { desired: 2, running: 2 },
      tasks: [],
      nodes: [],
    });
    const probe = named("custom-1-probe");
    expect(probe?.inputs.create).toBe("node --require tsx/cjs src/probes/swarm.ts");
    expect(probe?.inputs.dir).toBe(path.resolve(__dirname, "..", ".."));
    expect(probe?.inputs.interpreter).toBeUndefined();
    expect(probe?.inputs.environment).toEqual({
      ...dockerEnv(REMOTE),
      SERVICE: "flask-custom-1",
      REPLICAS: "2",
      PORT: "5004",
      NETWORK_ID: "overlay-id",
      MESH: "true",
      // 300 s and 120 s per replica: a rollout replaces one task at a time.
      PROBE_TIMEOUT_SECONDS: "540",
    });
    expect([1, 3, 10].map(swarm.swarmReadyTimeoutSeconds)).toEqual([420, 660, 1500]);
    const triggers = probe?.inputs.triggers as string[];
    // The service, its image and spec as before, and now the probe's source.
    expect(triggers.slice(0, 2)).toEqual(["custom-1-service-id", "sha256:abc"]);
    expect(triggers[3]).toBe(swarm.SWARM_PROBE.sha256);
    expect(swarm.SWARM_PROBE.sha256).toBe(sourceHash("src/probes/swarm.ts"));
  });
});

describe("the probes' sources", () => {
  it("hash each probe with the files it imports, so an edit to a helper probes again", () => {
    expect(sourceFiles("src/probes/readiness.ts")).toEqual([
      "src/probes/docker.ts",
      "src/probes/entry.ts",
      "src/probes/http.ts",
      "src/probes/readiness.ts",
    ]);
    expect(sourceFiles("src/probes/swarm.ts")).toEqual([
      "src/plan/outputs.ts",
      "src/probes/docker.ts",
      "src/probes/engineApi.ts",
      "src/probes/entry.ts",
      "src/probes/http.ts",
      "src/probes/swarm.ts",
    ]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "probe-hash-"));
    try {
      fs.writeFileSync(path.join(dir, "main.ts"), 'import { x } from "./helper";\nconsole.log(x);\n');
      fs.writeFileSync(path.join(dir, "helper.ts"), "export const x = 1;\n");
      const before = sourceHash("main.ts", dir);
      fs.writeFileSync(path.join(dir, "helper.ts"), "export const x = 2;\n");
      expect(sourceHash("main.ts", dir)).not.toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keep components free of process.env and of script text: the engine and the wait come in as data", () => {
    for (const file of ["ReadinessProbe.ts", "SwarmService.ts"]) {
      const text = fs.readFileSync(path.join(__dirname, "..", "..", "src", "components", file), "utf8");
      expect([file, text.includes("process.env")]).toEqual([file, false]);
      expect([file, /node -e|bash -c|readiness\.sh/.test(text)]).toEqual([file, false]);
    }
    expect(fs.existsSync(path.join(__dirname, "..", "..", "src", "components", "readiness.sh"))).toBe(false);
  });
});
