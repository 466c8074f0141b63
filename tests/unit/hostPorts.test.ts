import * as net from "node:net";
import {
  checkHostPortsFree,
  clashes,
  parseProcNetTcp,
  parsePs,
  parseRemoteHolders,
  processName,
  takenMessage,
} from "../../src/machine/hostPorts";
import { LOCAL_ENGINE } from "../../src/plan/engine";
import { type ContainerPlan, planTopology } from "../../src/plan/plan";
import { DEFAULTS } from "./projectDefaults";

// Lines as the kernel prints them (trimmed after the inode column).
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1389 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41001 1
   1: 00000000:138A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41002 1
   2: 0100007F:1389 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 41003 1`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:138B 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42001 1
   1: 0000000000000000FFFF00000100007F:138C 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42002 1
   2: 00000000000000000000000001000000:138D 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42003 1`;

describe("parseProcNetTcp", () => {
  it("keeps listening sockets only and decodes the kernel's little-endian words", () => {
    expect(parseProcNetTcp(TCP)).toEqual([
      { address: "127.0.0.1", port: 5001, inode: "41001" },
      { address: "0.0.0.0", port: 5002, inode: "41002" },
    ]);
  });

  it("reads IPv6: the wildcard, v4-mapped addresses, and others as hex", () => {
    expect(parseProcNetTcp(TCP6)).toEqual([
      { address: "::", port: 5003, inode: "42001" },
      { address: "127.0.0.1", port: 5004, inode: "42002" },
      { address: "0:0:0:0:0:0:0:1", port: 5005, inode: "42003" },
    ]);
  });
});

describe("clashes", () => {
  const on = (address: string) => ({ address, port: 5001, inode: "1" });
  it.each([
    ["0.0.0.0", "127.0.0.1", true],
    ["::", "127.0.0.1", true],
    ["127.0.0.1", "127.0.0.1", true],
    ["127.0.0.1", "0.0.0.0", true],
    ["10.1.2.3", "127.0.0.1", false],
    ["0:0:0:0:0:0:0:1", "0.0.0.0", false],
  ])("a listener on %s and a publish on %s: %s", (listener, bind, expected) => {
    expect(clashes(on(listener), 5001, bind)).toBe(expected);
  });

  it("never for another port", () => {
    expect(clashes(on("0.0.0.0"), 5002, "0.0.0.0")).toBe(false);
  });
});

describe("parsePs", () => {
  it("reads id, name, stack label and the host ports a container publishes, once each", () => {
    const text = [
      `${"a".repeat(64)}\tflask-bridge-1\tdev\t0.0.0.0:5001->5000/tcp, :::5001->5000/tcp`,
      `${"b".repeat(64)}\tflask-host\tdev\t`,
      `${"c".repeat(64)}\tweb\t\t127.0.0.1:8080->80/tcp, 127.0.0.1:8443->443/tcp, 9000/tcp`,
      "",
    ].join("\n");
    expect(parsePs(text)).toEqual([
      { id: "a".repeat(64), name: "flask-bridge-1", stack: "dev", hostPorts: [5001] },
      { id: "b".repeat(64), name: "flask-host", stack: "dev", hostPorts: [] },
      { id: "c".repeat(64), name: "web", stack: "", hostPorts: [8080, 8443] },
    ]);
  });
});

describe("takenMessage", () => {
  const bridge1 = planTopology(DEFAULTS, "dev").containers[0] as ContainerPlan;
  it("names the config key, the value, the port and its holder", () => {
    expect(takenMessage(bridge1, { process: "nginx", pid: 42, container: { name: "web", stack: "" } })).toBe(
      "Invalid config flask-bridge:bridgePorts[0] = 5001: host port 5001 is already taken on this machine by nginx (pid 42) in container web, so flask-bridge-1 cannot bind it. Stop that process or choose another port; nothing was created.",
    );
  });

  it("says where: the engine's machine when the engine is elsewhere", () => {
    expect(takenMessage(bridge1, { process: "python3", pid: 310 }, "the engine's machine 172.17.0.5")).toBe(
      "Invalid config flask-bridge:bridgePorts[0] = 5001: host port 5001 is already taken on the engine's machine 172.17.0.5 by python3 (pid 310), so flask-bridge-1 cannot bind it. Stop that process or choose another port; nothing was created.",
    );
  });

  it("says how to look when the holder cannot be found", () => {
    expect(takenMessage(bridge1, undefined)).toContain("another process (see: ss -ltnp 'sport = :5001')");
  });
});

describe("processName", () => {
  it("takes argv[0]'s base name, not the thread name in comm (Node 24 calls its main thread MainThread)", () => {
    expect([
      processName("/usr/local/bin/node\0/repo/server.js\0", "/usr/local/bin/node", "MainThread\n"),
      processName("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\0", "/usr/sbin/sshd", "sshd\n"),
      processName("", "/usr/sbin/docker-proxy", "docker-proxy\n"),
      processName("", "", "nginx\n"),
    ]).toEqual(["node", "sshd", "docker-proxy", "nginx"]);
  });
});

describe("parseRemoteHolders", () => {
  it("reads the engine machine's 'inode pid cgroup-id argv0' lines", () => {
    const cid = "d".repeat(64);
    expect([
      ...parseRemoteHolders(`4242 310 - python3 -m http.server 21901\n5151 77 ${cid} /usr/sbin/docker-proxy\n\n`),
    ]).toEqual([
      ["4242", { pid: 310, process: "python3" }],
      ["5151", { pid: 77, process: "docker-proxy", containerId: cid }],
    ]);
  });
});

describe("checkHostPortsFree on this machine", () => {
  it("names this test's own process when it listens on a planned port", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const plan = planTopology(
        { ...DEFAULTS, bridgePorts: [port], customPorts: [], hostMode: false, bindAddress: "127.0.0.1" },
        "unit",
      );
      expect(() =>
        checkHostPortsFree(plan.containers, "127.0.0.1", "unit", LOCAL_ENGINE, "unused-for-a-local-engine"),
      ).toThrow(`host port ${port} is already taken on this machine by node (pid ${process.pid})`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("passes when nothing listens on the planned port", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise((resolve) => server.close(resolve));
    const plan = planTopology({ ...DEFAULTS, bridgePorts: [port], customPorts: [], hostMode: false }, "unit");
    expect(() =>
      checkHostPortsFree(plan.containers, "0.0.0.0", "unit", LOCAL_ENGINE, "unused-for-a-local-engine"),
    ).not.toThrow();
  });
});
