import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { SWARM_PROBE } from "../../src/components/SwarmService";
import { EngineError, type EngineGet } from "../../src/probes/engineApi";
import {
  formatNotReady,
  nodeAddress,
  parseInput,
  probeUrls,
  type RawNode,
  type RawService,
  type RawTask,
  readyNodes,
  type SwarmProbeInput,
  serviceVip,
  tasksPath,
  toNodes,
  toTasks,
  updateGivenUp,
  updateInProgress,
  waitForService,
} from "../../src/probes/swarm";
import { type FakeEngine, fakeEngine } from "./fakeEngine";

/**
 * SwarmService's probe is the gate of `up` in swarm mode. It runs here for
 * real, by the command line SwarmService gives the command provider, against a
 * fake engine (fakeEngine.ts: its API behind a stand-in `docker system
 * dial-stdio` on PATH) that describes a 3-node swarm with one task, and
 * HTTP servers on 127.0.0.1-3 standing for the nodes' addresses. Its
 * environment is built here, never the user's.
 */

const NODES: RawNode[] = [
  // A manager may report 0.0.0.0; its manager address says where it is.
  {
    ID: "n1",
    Description: { Hostname: "fbvm-1" },
    Status: { State: "ready", Addr: "0.0.0.0" },
    ManagerStatus: { Addr: "127.0.0.1:2377" },
    Spec: { Role: "manager", Availability: "active" },
  },
  {
    ID: "n2",
    Description: { Hostname: "fbvm-2" },
    Status: { State: "ready", Addr: "127.0.0.2" },
    Spec: { Role: "worker", Availability: "active" },
  },
  {
    ID: "n3",
    Description: { Hostname: "fbvm-3" },
    Status: { State: "ready", Addr: "127.0.0.3" },
    Spec: { Role: "worker", Availability: "drain" },
  },
];
const TASKS: RawTask[] = [
  {
    NodeID: "n2",
    Slot: 1,
    Status: { State: "running" },
    NetworksAttachments: [{ Network: { ID: "net1" }, Addresses: ["10.213.90.5/24"] }],
  },
];
const SERVICE: RawService = { Endpoint: { VirtualIPs: [{ NetworkID: "net1", Addr: "10.213.90.2/24" }] } };

let engine: FakeEngine;

beforeAll(async () => {
  engine = await fakeEngine((request) => {
    if (request.url === "/nodes") return { body: NODES };
    if (request.url === tasksPath("svc")) return { body: TASKS };
    if (request.url === "/services/svc") return { body: SERVICE };
    return undefined;
  });
});

afterAll(() => engine.close());

/** Servers answering Hello, World! on one port of each given loopback address. */
async function nodeServers(addresses: readonly string[]): Promise<{ port: number; close: () => Promise<void> }> {
  const servers: http.Server[] = [];
  let port = 0;
  for (const address of addresses) {
    const server = http.createServer((_request, response) => response.end("Hello, World!"));
    await new Promise<void>((resolve) => server.listen(port, address, resolve));
    port = (server.address() as AddressInfo).port;
    servers.push(server);
  }
  return {
    port,
    close: async () => {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}

function runProbe(environment: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      "/bin/sh",
      ["-c", SWARM_PROBE.create],
      {
        cwd: SWARM_PROBE.dir,
        env: {
          PATH: `${engine.bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
          ...engine.env,
          SERVICE: "svc",
          REPLICAS: "1",
          NETWORK_ID: "net1",
          PROBE_TIMEOUT_SECONDS: "2",
          ...environment,
        },
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const NODE_OUTPUTS = [
  { name: "fbvm-1", address: "127.0.0.1", role: "manager", availability: "active" },
  { name: "fbvm-2", address: "127.0.0.2", role: "worker", availability: "active" },
  { name: "fbvm-3", address: "127.0.0.3", role: "worker", availability: "drain" },
];
const TASK_OUTPUT = { name: "svc.1", node: "fbvm-2", nodeAddress: "127.0.0.2", ip: "10.213.90.5", state: "running" };

describe("the swarm probe that gates up", () => {
  it("with ingress, waits for every node's address, nodes with no task included, and reports them all", async () => {
    const servers = await nodeServers(["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    try {
      const before = engine.connections().length;
      const run = await runProbe({ MESH: "true", PORT: String(servers.port) });
      expect(run).toEqual({ code: 0, stdout: expect.any(String), stderr: "" });
      // One connection to the engine for the whole wait.
      expect(engine.connections().slice(before)).toEqual(["system dial-stdio"]);
      expect(JSON.parse(run.stdout)).toEqual({
        vip: "10.213.90.2",
        urls: ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map((address) => `http://${address}:${servers.port}`),
        replicas: { desired: 1, running: 1 },
        tasks: [TASK_OUTPUT],
        nodes: NODE_OUTPUTS,
      });
    } finally {
      await servers.close();
    }
  });

  it("with ingress, fails naming the node that does not answer, even one with no task", async () => {
    const servers = await nodeServers(["127.0.0.1", "127.0.0.2"]);
    try {
      const run = await runProbe({ MESH: "true", PORT: String(servers.port) });
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr: `service svc not ready after 2 s: 1/1 running; 1 URL(s) did not answer:\n  http://127.0.0.3:${servers.port}: connection refused\n`,
      });
    } finally {
      await servers.close();
    }
  });

  it("with host publishing, opens only the nodes running a task", async () => {
    const servers = await nodeServers(["127.0.0.2"]);
    try {
      const run = await runProbe({ MESH: "false", PORT: String(servers.port) });
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).urls).toEqual([`http://127.0.0.2:${servers.port}`]);
    } finally {
      await servers.close();
    }
  });
});

describe("the swarm probe's parts, on docker's own JSON", () => {
  const nodes = toNodes(NODES);
  const byId = new Map(nodes.map((node) => [node.id, node]));

  it("takes a node's address, or a manager's from its manager address when it reports 0.0.0.0", () => {
    expect(NODES.map(nodeAddress)).toEqual(["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
    expect(nodeAddress({ ...(NODES[0] as RawNode), ManagerStatus: null })).toBe("");
    expect(readyNodes(nodes)).toEqual(NODE_OUTPUTS);
    const down = toNodes([{ ...(NODES[1] as RawNode), Status: { State: "down", Addr: "127.0.0.2" } }]);
    expect(readyNodes(down)).toEqual([]);
  });

  it("names tasks <service>.<slot>, on their node, with their overlay address, sorted", () => {
    const tasks: RawTask[] = [
      { ...(TASKS[0] as RawTask), Slot: 2 },
      { NodeID: "n9", Slot: 1, Status: { State: "starting" }, NetworksAttachments: null },
    ];
    expect(toTasks(tasks, byId, "svc", "net1")).toEqual([
      // A node not seen yet has no address: the probe then reads the nodes again.
      { name: "svc.1", node: "n9", nodeAddress: "", ip: null, state: "starting" },
      { ...TASK_OUTPUT, name: "svc.2" },
    ]);
    expect(toTasks(TASKS, byId, "svc", "other")[0]?.ip).toBeNull();
  });

  it("opens every Ready node with ingress, else the nodes running a task, each once", () => {
    const ready = readyNodes(nodes);
    const running = [TASK_OUTPUT, { ...TASK_OUTPUT, name: "svc.2" }];
    expect(probeUrls(ready, running, true, 5004)).toEqual([
      "http://127.0.0.1:5004",
      "http://127.0.0.2:5004",
      "http://127.0.0.3:5004",
    ]);
    expect(probeUrls(ready, running, false, 5004)).toEqual(["http://127.0.0.2:5004"]);
  });

  it("reads the VIP on the overlay and a rolling update from the service", () => {
    expect(serviceVip(SERVICE, "net1")).toBe("10.213.90.2");
    expect(serviceVip(SERVICE, "other")).toBeNull();
    expect(serviceVip({}, "net1")).toBeNull();
    expect(updateInProgress({ UpdateStatus: { State: "updating" } })).toBe("updating");
    expect(updateInProgress({ UpdateStatus: { State: "rollback_started" } })).toBe("rollback_started");
    expect(updateInProgress({ UpdateStatus: { State: "completed" } })).toBeNull();
    expect(updateInProgress({})).toBeNull();
    expect(updateInProgress({ UpdateStatus: { State: "rollback_completed" } })).toBeNull();
  });

  it("reads an update Swarm gave up on, with its reason", () => {
    const message = "update rolled back due to failure or early termination of task abc";
    expect(updateGivenUp({ UpdateStatus: { State: "rollback_completed", Message: message } })).toBe(
      `update rollback_completed (${message})`,
    );
    expect(updateGivenUp({ UpdateStatus: { State: "rollback_paused" } })).toBe("update rollback_paused");
    expect(updateGivenUp({ UpdateStatus: { State: "paused", Message: "" } })).toBe("update paused");
    expect(updateGivenUp({ UpdateStatus: { State: "completed" } })).toBeNull();
    expect(updateGivenUp({ UpdateStatus: { State: "updating" } })).toBeNull();
    expect(updateGivenUp({ UpdateStatus: null })).toBeNull();
    expect(updateGivenUp({})).toBeNull();
  });

  it("reads its input, at one pace over any engine", () => {
    const env = { SERVICE: "svc", REPLICAS: "2", PORT: "5004", NETWORK_ID: "net1", MESH: "true" };
    expect(parseInput({ ...env, PROBE_TIMEOUT_SECONDS: "420", DOCKER_HOST: "unix:///var/run/docker.sock" })).toEqual({
      service: "svc",
      replicas: 2,
      port: 5004,
      networkId: "net1",
      mesh: true,
      timeoutSeconds: 420,
      pauseMs: 1000,
    });
    expect(parseInput({ ...env, PROBE_TIMEOUT_SECONDS: "420", DOCKER_HOST: "ssh://root@10.0.0.5" }).pauseMs).toBe(1000);
    expect(() => parseInput({ ...env, PROBE_TIMEOUT_SECONDS: "later" })).toThrow(
      'PROBE_TIMEOUT_SECONDS is "later", not a whole number of at least 1',
    );
  });

  it("says which service, how long, how far it got and each URL that did not answer", () => {
    const input = { service: "svc", timeoutSeconds: 420 } as SwarmProbeInput;
    expect(formatNotReady(input, { state: "update rollback_completed (task abc failed)", unanswered: [] }, true)).toBe(
      "service svc: Swarm gave the update up, update rollback_completed (task abc failed); its tasks run the previous spec (docker service ps --no-trunc svc shows why the new ones failed)\n",
    );
    expect(formatNotReady(input, { state: "1/2 running", unanswered: [] })).toBe(
      "service svc not ready after 420 s: 1/2 running\n",
    );
    expect(
      formatNotReady(input, {
        state: "2/2 running",
        unanswered: [
          { url: "http://10.0.0.5:5004", cause: "connection refused" },
          { url: "http://10.0.0.6:5004", cause: "no answer within 3 s" },
        ],
      }),
    ).toBe(
      [
        "service svc not ready after 420 s: 2/2 running; 2 URL(s) did not answer:",
        "  http://10.0.0.5:5004: connection refused",
        "  http://10.0.0.6:5004: no answer within 3 s",
        "",
      ].join("\n"),
    );
  });
});

describe("the swarm probe's wait, with a fake engine", () => {
  const INPUT: SwarmProbeInput = {
    service: "svc",
    replicas: 1,
    port: 5004,
    networkId: "net1",
    mesh: false,
    timeoutSeconds: 5,
    pauseMs: 10,
  };

  /** An engine's API answering one path; `T` is whatever the caller asks for. */
  const answering =
    (answer: (path: string) => unknown): EngineGet =>
    async <T>(path: string) =>
      answer(path) as T;

  /** Answers like the engine would, round by round: a call fails once, the task starts, an update rolls, then done. */
  function fakeSwarm() {
    const calls: string[] = [];
    const run = answering((path) => {
      calls.push(path);
      const times = calls.filter((entry) => entry === path).length;
      if (path === "/nodes") {
        if (times === 1) throw new EngineError("docker engine GET /nodes: Cannot connect to the Docker daemon");
        return NODES;
      }
      if (path === tasksPath("svc")) return [{ ...TASKS[0], Status: { State: times < 2 ? "starting" : "running" } }];
      if (path === "/services/svc")
        return { ...SERVICE, UpdateStatus: { State: times < 2 ? "updating" : "completed" } };
      throw new Error(`unexpected GET ${path}`);
    });
    return { run, calls };
  }

  it("rides out a failed docker call, a starting task and a rolling update, reading the nodes only when needed", async () => {
    const { run, calls } = fakeSwarm();
    const asked: string[] = [];
    const result = await waitForService(INPUT, run, async (url) => {
      asked.push(url);
      return { ok: true, cause: "" };
    });
    expect(result).toMatchObject({
      ok: true,
      value: {
        vip: "10.213.90.2",
        urls: ["http://127.0.0.2:5004"],
        replicas: { desired: 1, running: 1 },
        tasks: [TASK_OUTPUT],
        nodes: NODE_OUTPUTS,
      },
    });
    // Only once the update finished were the URLs opened.
    expect(asked).toEqual(["http://127.0.0.2:5004"]);
    // The nodes twice: the failed first read, then once for all rounds.
    expect(calls.filter((call) => call === "/nodes")).toHaveLength(2);
    expect(calls.filter((call) => call === "/services/svc")).toHaveLength(2);
  });

  it("fails at once on an update Swarm rolled back, though the old tasks run and answer", async () => {
    const run = answering((path) => {
      if (path === "/nodes") return NODES;
      if (path === tasksPath("svc")) return [{ ...TASKS[0], Status: { State: "running" } }];
      if (path === "/services/svc") {
        return { ...SERVICE, UpdateStatus: { State: "rollback_completed", Message: "task t2 failed" } };
      }
      throw new Error(`unexpected GET ${path}`);
    });
    const asked: string[] = [];
    const result = await waitForService({ ...INPUT, timeoutSeconds: 60 }, run, async (url) => {
      asked.push(url);
      return { ok: true, cause: "" };
    });
    expect(result).toEqual({
      ok: false,
      cause: "update rollback_completed (task t2 failed)",
      progress: { state: "update rollback_completed (task t2 failed)", unanswered: [] },
      givenUp: true,
    });
    expect(asked).toEqual([]);
  });

  it("stops at its deadline with where it got to", async () => {
    const run = answering(() => {
      throw new EngineError("docker engine GET /nodes: ssh: connect to host 10.0.0.5 port 22: Connection refused");
    });
    const started = Date.now();
    const result = await waitForService({ ...INPUT, timeoutSeconds: 1, pauseMs: 100 }, run);
    expect(result).toEqual({
      ok: false,
      cause: "docker engine GET /nodes: ssh: connect to host 10.0.0.5 port 22: Connection refused",
      progress: {
        state: "docker engine GET /nodes: ssh: connect to host 10.0.0.5 port 22: Connection refused",
        unanswered: [],
      },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(Date.now() - started).toBeLessThan(1500);
  });
});
