import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { OutputMap, Stack } from "@pulumi/pulumi/automation";
import type { ContainerOutput } from "../../src/plan/outputs";
import {
  changesOf,
  docker,
  E2E_CONFIG,
  expectOfficialPlugins,
  freshStack,
  healthStatuses,
  httpGet,
  inspect,
  labelled,
  netcheck,
  noise,
  officialPluginPath,
  PLUGINS,
  pluginsServing,
  printTimings,
  REPO_ROOT,
  RUN,
  reportAssertions,
  requirePrerequisites,
  resourceCount,
  sha256,
  timed,
  toolchainRecord,
  writeConfig,
} from "./harness";

/**
 * The tutorial, run for real: one `up` of the whole topology on the e2e stack,
 * checked against `docker inspect` and over HTTP, then convergence, a change
 * to app/, bad config, and `destroy`. The steps share one stack, in order.
 */

const STACK = "e2e";
const BRIDGE = ["e2e-bridge-1", "e2e-bridge-2", "e2e-bridge-3"];
const CUSTOM = ["e2e-custom-1", "e2e-custom-2", "e2e-custom-3"];
const ALL = [...BRIDGE, ...CUSTOM, "e2e-host", "e2e-none"];
const PORTS: Record<string, number> = {
  "e2e-bridge-1": 15001,
  "e2e-bridge-2": 15002,
  "e2e-bridge-3": 15003,
  "e2e-custom-1": 15004,
  "e2e-custom-2": 15005,
  "e2e-custom-3": 15006,
};
const APP_FILE = path.join(REPO_ROOT, "app", "app.py");

// Real `pulumi up` runs take minutes; a hang still fails.
jest.setTimeout(15 * 60 * 1000);
reportAssertions("topology");

let stack: Stack;
let outputs: OutputMap;
let containers: Record<string, ContainerOutput>;
/** Executables of the resource plugins that ran during the first up. */
let servedBy: string[];
/** What the first up printed, for the quiet-success check. */
let firstUpOutput: string;
const timings: Record<string, number> = {};

function ipv4InSubnet(ip: string, cidr: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const toInt = (text: string) => text.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(toInt(ip) / size) === Math.floor(toInt(base) / size);
}

beforeAll(async () => {
  requirePrerequisites();
  stack = await freshStack(STACK, { ...E2E_CONFIG });
  const { result, plugins } = await pluginsServing(() => timed("up (empty stack)", timings, () => stack.up(RUN)));
  servedBy = plugins;
  firstUpOutput = `${result.stdout}\n${result.stderr}`;
  outputs = result.outputs;
  containers = outputs.containers?.value;
});

afterAll(() => printTimings("e2e timings (printed, not asserted)", timings));

describe("one up of the whole topology", () => {
  it("is served by the official docker and command plugins that setup installed, byte for byte", () => {
    expectOfficialPlugins(servedBy);
    for (const name of PLUGINS) {
      expect([name, sha256(fs.readFileSync(officialPluginPath(name)))]).toEqual([
        name,
        toolchainRecord().plugins[name].sha256,
      ]);
    }
  });

  it("runs 8 containers with the exact network mode and port bindings", () => {
    const running = docker("ps", "--filter", `label=flask-bridge.stack=${STACK}`, "--format", "{{.Names}}");
    expect(running.split("\n").sort()).toEqual([...ALL].sort());
    for (const name of ALL) {
      const info = inspect(name);
      const expectedMode = name in PORTS ? (BRIDGE.includes(name) ? "bridge" : "e2e-bridge-network") : name.slice(4);
      const bindings = name in PORTS ? { "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: String(PORTS[name]) }] } : {};
      expect([name, info.State.Status]).toEqual([name, "running"]);
      expect([name, info.HostConfig.NetworkMode]).toEqual([
        name,
        CUSTOM.includes(name) ? expect.stringMatching(/^(default|bridge|e2e-bridge-network)$/) : expectedMode,
      ]);
      expect([name, Object.keys(info.NetworkSettings.Networks)]).toEqual([name, [expectedMode]]);
      expect([name, info.HostConfig.PortBindings ?? {}]).toEqual([name, bindings]);
    }
  });

  it("turns every container healthy by Docker's own healthcheck (up gates on the probes, not on this)", async () => {
    const statuses = await healthStatuses(ALL, 60_000);
    expect(statuses).toEqual(Object.fromEntries(ALL.map((name) => [name, "healthy"])));
  });

  it("runs every container hardened: non-root, read-only, no capabilities, no-new-privileges, unprivileged", () => {
    for (const name of ALL) {
      const info = inspect(name);
      expect([
        name,
        info.Config.User,
        info.HostConfig.ReadonlyRootfs,
        info.HostConfig.Tmpfs,
        info.HostConfig.CapDrop,
        info.HostConfig.CapAdd ?? null,
        info.HostConfig.SecurityOpt,
        info.HostConfig.Privileged,
        info.HostConfig.RestartPolicy.Name,
      ]).toEqual([
        name,
        "10001:10001",
        true,
        { "/tmp": "rw,noexec,nosuid,size=16m" },
        ["ALL"],
        null,
        ["no-new-privileges:true"],
        false,
        "unless-stopped",
      ]);
    }
    // The app really runs as that user, not just the config.
    expect(docker("exec", "e2e-bridge-1", "id", "-u")).toBe("10001");
  });

  it("puts the default-bridge containers in 172.17.0.0/16 behind gateway 172.17.0.1, as the tutorial saw", () => {
    for (const name of BRIDGE) {
      const net = inspect(name).NetworkSettings.Networks.bridge;
      expect([name, ipv4InSubnet(net.IPAddress, "172.17.0.0/16"), net.Gateway]).toEqual([name, true, "172.17.0.1"]);
    }
  });

  it("puts the custom-bridge containers in the custom network's subnet", () => {
    const network = JSON.parse(docker("network", "inspect", "e2e-bridge-network"))[0];
    expect(network.IPAM.Config).toEqual([{ Subnet: "10.213.57.0/24", Gateway: "10.213.57.1" }]);
    expect(outputs.network?.value).toEqual({
      name: "e2e-bridge-network",
      id: network.Id,
      subnet: "10.213.57.0/24",
      gateway: "10.213.57.1",
    });
    for (const name of CUSTOM) {
      const ip = inspect(name).NetworkSettings.Networks["e2e-bridge-network"].IPAddress;
      expect([name, ipv4InSubnet(ip, "10.213.57.0/24")]).toEqual([name, true]);
    }
  });

  it("exports every container's ip and gateway exactly as docker inspect reports them", () => {
    const expected = Object.fromEntries(
      ALL.map((name) => {
        const info = inspect(name);
        const net = info.NetworkSettings.Networks[BRIDGE.includes(name) ? "bridge" : "e2e-bridge-network"];
        const published = name in PORTS;
        const hostPort = published ? PORTS[name] : name === "e2e-host" ? 15000 : null;
        return [
          name,
          {
            network: BRIDGE.includes(name) ? "bridge" : CUSTOM.includes(name) ? "e2e-bridge-network" : name.slice(4),
            ip: published ? net.IPAddress : null,
            gateway: published ? net.Gateway : null,
            hostPort,
            url: hostPort === null ? null : `http://127.0.0.1:${hostPort}`,
          },
        ];
      }),
    );
    expect(containers).toEqual(expected);
  });

  it("answers Hello, World! on every url over 127.0.0.1, host mode included", async () => {
    const urls = Object.values(containers).flatMap(({ url }) => (url === null ? [] : [url]));
    expect(urls).toHaveLength(7);
    for (const url of urls) {
      expect([url, await httpGet(url)]).toEqual([url, { status: 200, body: "Hello, World!" }]);
    }
    expect(outputs.probes?.value).toEqual({
      ...Object.fromEntries(ALL.filter((name) => name !== "e2e-none").map((name) => [name, "Hello, World!"])),
      "e2e-none": "lo",
    });
  });

  it("leaves the none container with no network but loopback", () => {
    expect(containers["e2e-none"]).toEqual({ network: "none", ip: null, gateway: null, hostPort: null, url: null });
    expect(netcheck("e2e-none", "interfaces")).toEqual({ interfaces: ["lo"] });
    expect(inspect("e2e-none").NetworkSettings.Networks.none.IPAddress).toBe("");
  });

  it("keeps the default bridge and the custom bridge apart", () => {
    const customIp = containers["e2e-custom-1"]?.ip ?? "";
    const attempt = netcheck("e2e-bridge-1", "http", customIp, "5000");
    expect(attempt).toEqual({ ok: false, error: expect.stringMatching(/timed out|unreachable|refused/i) });
    // The same port answers from inside the custom network, so the block is the isolation.
    expect(netcheck("e2e-custom-2", "http", customIp, "5000")).toMatchObject({ ok: true, body: "Hello, World!" });
  });

  it("lets custom-bridge containers reach each other by name through Docker's embedded DNS", () => {
    for (const [from, to] of [
      ["e2e-custom-1", "e2e-custom-2"],
      ["e2e-custom-2", "e2e-custom-3"],
      ["e2e-custom-3", "e2e-custom-1"],
    ] as const) {
      expect([from, netcheck(from, "names", to).nameservers]).toEqual([from, ["127.0.0.11"]]);
      expect([from, netcheck(from, "dns", to)]).toEqual([from, { resolver: true, address: containers[to]?.ip }]);
      expect([from, netcheck(from, "http", to, "5000")]).toEqual([
        from,
        { ok: true, address: containers[to]?.ip, status: 200, body: "Hello, World!" },
      ]);
    }
  });

  it("gives default-bridge containers no way to resolve each other's names", () => {
    // Only loopback is asked: a real lookup would go to the host's outside resolver.
    const names = netcheck("e2e-bridge-1", "names", "e2e-bridge-2");
    expect(names.inHosts).toBe(false);
    expect(names.nameservers).not.toContain("127.0.0.11");
    expect(netcheck("e2e-bridge-1", "dns", "e2e-bridge-2")).toEqual({
      resolver: false,
      error: expect.stringMatching(/^(TimeoutError|ConnectionRefusedError)$/),
    });
  });
});

describe("convergence", () => {
  it("prints no warning or diagnostic on a clean up and a clean preview", async () => {
    const preview = await stack.preview(RUN);
    expect(noise(firstUpOutput)).toEqual([]);
    expect(noise(`${preview.stdout}\n${preview.stderr}`)).toEqual([]);
  });

  it("previews no changes and a second up changes nothing", async () => {
    await timed("preview (converged)", timings, () => stack.preview({ ...RUN, expectNoChanges: true }));
    const second = await timed("up (converged)", timings, () => stack.up(RUN));
    expect(changesOf(second.summary)).toEqual({ same: expect.any(Number) });
  });

  it("rebuilds the image and replaces the containers when app/ changes, then converges back", async () => {
    const original = fs.readFileSync(APP_FILE, "utf8");
    const before = inspect("e2e-bridge-1");
    try {
      fs.writeFileSync(APP_FILE, `${original}\n# e2e: a change to app/\n`);
      const changed = await timed("up (app/ changed)", timings, () => stack.up(RUN));
      // The official docker plugin updates the image in place; the 8 containers
      // follow its new ID (replaced), and the readiness probe runs again.
      expect(changesOf(changed.summary)).toMatchObject({ update: 1, replace: 9 });
      expect(changed.outputs.image?.value.digest).not.toBe(outputs.image?.value.digest);
      for (const name of ALL) {
        expect([name, inspect(name).Image]).toEqual([name, changed.outputs.image?.value.digest]);
      }
      expect(inspect("e2e-bridge-1").Id).not.toBe(before.Id);
    } finally {
      fs.writeFileSync(APP_FILE, original);
    }
    await timed("up (app/ reverted)", timings, () => stack.up(RUN));
    await stack.preview({ ...RUN, expectNoChanges: true });
    expect(await httpGet("http://127.0.0.1:15001")).toEqual({ status: 200, body: "Hello, World!" });
  });
});

describe("destroy and bad config", () => {
  it("destroy stops every app with SIGTERM (destroyGraceSeconds), never SIGKILL, and leaves nothing labelled", async () => {
    const events = spawn("docker", [
      "events",
      "--filter",
      `label=flask-bridge.stack=${STACK}`,
      "--filter",
      "event=kill",
      "--format",
      "{{.Actor.Attributes.name}} {{.Actor.Attributes.signal}}",
    ]);
    let kills = "";
    events.stdout.on("data", (chunk) => {
      kills += chunk;
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await timed("destroy", timings, () => stack.destroy({ color: "never" }));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      events.kill();
    }
    const signals = kills.split("\n").filter((line) => line !== "");
    expect(signals.sort()).toEqual(ALL.map((name) => `${name} 15`).sort());
    expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
    expect(await resourceCount(stack)).toBe(0);
  });

  it("rejects a clashing host port at preview, leaving 0 resources", async () => {
    writeConfig(STACK, { ...E2E_CONFIG, "flask-bridge:customPorts": [15001, 15005, 15006] });
    await expect(stack.preview(RUN)).rejects.toThrow(
      'Invalid config: host port 15001 is used twice, by e2e-bridge-1 (flask-bridge:bridgePorts[0]) and by e2e-custom-1 (flask-bridge:customPorts[0]); Docker would fail with "port is already allocated". Give each container its own host port.',
    );
    await expect(stack.up(RUN)).rejects.toThrow("host port 15001 is used twice");
    expect(await resourceCount(stack)).toBe(0);
    expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
  });
});
