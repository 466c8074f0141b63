import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { SWARM_PROBE } from "../../src/components/SwarmService";

/**
 * SwarmService's probe is the gate of `up` in swarm mode. It runs here for
 * real, against a stand-in `docker` on PATH that describes a 3-node swarm with
 * one task, and HTTP servers on 127.0.0.1-3 standing for the nodes' addresses.
 */

const NODES = [
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
const TASKS = [
  {
    NodeID: "n2",
    Slot: 1,
    Status: { State: "running" },
    NetworksAttachments: [{ Network: { ID: "net1" }, Addresses: ["10.213.90.5/24"] }],
  },
];
const SERVICE = [{ Endpoint: { VirtualIPs: [{ NetworkID: "net1", Addr: "10.213.90.2/24" }] } }];

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarm-probe-"));
  fs.writeFileSync(path.join(dir, "nodes.json"), JSON.stringify(NODES));
  fs.writeFileSync(path.join(dir, "tasks.json"), JSON.stringify(TASKS));
  fs.writeFileSync(path.join(dir, "service.json"), JSON.stringify(SERVICE));
  fs.writeFileSync(
    path.join(dir, "docker"),
    [
      "#!/bin/sh",
      `d=${dir}`,
      'case "$1 $2" in',
      '  "node ls") printf "n1\\nn2\\nn3\\n" ;;',
      '  "node inspect") cat "$d/nodes.json" ;;',
      '  "service ps") echo t1 ;;',
      '  "inspect --type") cat "$d/tasks.json" ;;',
      '  "service inspect") cat "$d/service.json" ;;',
      '  *) echo "unexpected: $*" >&2; exit 1 ;;',
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

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
      "node",
      ["-e", SWARM_PROBE],
      {
        env: {
          ...process.env,
          PATH: `${dir}:${process.env.PATH}`,
          SERVICE: "svc",
          REPLICAS: "1",
          NETWORK_ID: "net1",
          PROBE_TIMEOUT_SECONDS: "2",
          ...environment,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
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
      const run = await runProbe({ MESH: "true", PORT: String(servers.port) });
      expect(run).toEqual({ code: 0, stdout: expect.any(String), stderr: "" });
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
        stderr: `service svc not ready after 2 s: 1/1 running; no answer from http://127.0.0.3:${servers.port}\n`,
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
