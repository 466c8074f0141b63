/**
 * The topology diagram: exact DOT for a fixed set of outputs, and a real render
 * through the WebAssembly Graphviz. That package is ESM only, which Jest's
 * CommonJS runtime cannot load on Node 20, so the render runs the real
 * `npm run diagram` script (scripts/diagram.ts, under tsx) in a child process.
 *
 * After an intended change to the drawing, regenerate the expected files with:
 *   npx tsx scripts/diagram.ts --from tests/unit/fixtures/outputs.json \
 *     --out docs/topology-fixture.svg --dot tests/unit/fixtures/topology.dot
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import type { StackOutputs } from "../../src/plan/outputs";
import { html, id, parseStackOutputs, topologyDot } from "../../src/views/diagram";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURES = path.join(__dirname, "fixtures");
const OUTPUTS_FILE = path.join(FIXTURES, "outputs.json");

function fixture(): StackOutputs {
  return parseStackOutputs(JSON.parse(readFileSync(OUTPUTS_FILE, "utf8")), OUTPUTS_FILE);
}

/** The text a reader sees in an SVG: every <text> element, entities decoded. */
function visibleText(svg: string): string[] {
  return [...svg.matchAll(/<text\b[^>]*>([\s\S]*?)<\/text>/g)].map((match) =>
    (match[1] ?? "")
      .replace(/<[^>]+>/g, "")
      .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
      .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(Number.parseInt(code, 16)))
      .replace(/&lt;/g, "<")
      .replace(/&gt;/g, ">")
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, "&"),
  );
}

describe("topologyDot", () => {
  test("draws the fixture exactly as the checked-in DOT", () => {
    expect(topologyDot(fixture())).toEqual(readFileSync(path.join(FIXTURES, "topology.dot"), "utf8"));
  });

  test("does not depend on the order of the outputs", () => {
    const outputs = fixture();
    const reversed: StackOutputs = {
      ...outputs,
      containers: Object.fromEntries(Object.entries(outputs.containers).reverse()),
    };
    expect(topologyDot(reversed)).toEqual(topologyDot(outputs));
  });

  test("puts each container in its place: networks, host box, or alone", () => {
    const dot = topologyDot(fixture());
    const host = dot.indexOf('subgraph "cluster_host"');
    const bridge = dot.indexOf('subgraph "cluster_net_bridge"');
    const custom = dot.indexOf('subgraph "cluster_net_my-bridge-network"');
    const hostEnd = dot.indexOf("\n  }\n");
    const at = (name: string) => dot.indexOf(`"container:${name}" [`);

    expect([host, bridge, custom].every((index) => index >= 0)).toBe(true);
    expect(at("flask-host")).toBeGreaterThan(host);
    expect(at("flask-host")).toBeLessThan(bridge);
    for (const name of ["flask-bridge-1", "flask-bridge-2", "flask-bridge-3"]) {
      expect(at(name)).toBeGreaterThan(bridge);
      expect(at(name)).toBeLessThan(custom);
    }
    for (const name of ["flask-custom-1", "flask-custom-2", "flask-custom-3"]) {
      expect(at(name)).toBeGreaterThan(custom);
      expect(at(name)).toBeLessThan(hostEnd);
    }
    expect(at("flask-none")).toBeGreaterThan(hostEnd);
    expect(dot).toContain("<b>flask-none</b><br/>no network");
    expect(dot).toContain("<b>bridge (docker0)</b><br/>subnet 172.17.0.0/16");
    expect(dot).toContain("docker0<br/>gateway 172.17.0.1");
    expect(dot).toContain("<b>my-bridge-network (br-8b2c4e6a1d3f)</b><br/>subnet 172.18.0.0/16");
    expect(dot).toContain("br-8b2c4e6a1d3f<br/>gateway 172.18.0.1");
    expect(dot).toContain('"port:5000" -> "container:flask-host";');
    expect(dot).not.toContain('-> "container:flask-none"');
  });

  test("escapes names in IDs and labels", () => {
    const name = 'odd"<name>&\\x\n';
    const dot = topologyDot({
      containers: { [name]: { network: "bridge", ip: "172.17.0.9", gateway: "172.17.0.1", hostPort: 5009, url: null } },
      network: { name: "my<net>", id: "", subnet: null, gateway: null },
    });
    expect(dot).toContain(`"container:odd\\"<name>&\\\\x " [label=<<b>odd&quot;&lt;name&gt;&amp;\\x </b>`);
    expect(id('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(html(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  });

  test("says what the outputs do not tell instead of guessing", () => {
    const dot = topologyDot({
      containers: {
        a: { network: "bridge", ip: "10.200.0.2", gateway: "10.200.0.1", hostPort: 5001, url: null },
        b: { network: "mynet", ip: null, gateway: null, hostPort: 5004, url: null },
      },
      network: { name: "mynet", id: "not-a-docker-id", subnet: null, gateway: null },
    });
    // A daemon with its own bip: the bridge is not 172.17.0.0/16.
    expect(dot).toContain("<b>bridge (docker0)</b><br/>subnet not in outputs");
    expect(dot).toContain("docker0<br/>gateway 10.200.0.1");
    expect(dot).toContain("<b>mynet</b><br/>subnet not in outputs");
    expect(dot).toContain("bridge device<br/>gateway unknown");
    expect(dot).toContain("<b>b</b><br/>ip unknown<br/>5004&#8594;5000");
  });

  test("draws only what exists: no host or none container, no custom network box", () => {
    const dot = topologyDot({
      containers: { only: { network: "bridge", ip: "172.17.0.2", gateway: "172.17.0.1", hostPort: 5001, url: null } },
      network: { name: "my-bridge-network", id: "", subnet: "172.18.0.0/16", gateway: "172.18.0.1" },
    });
    expect(dot).not.toContain("cluster_net_my-bridge-network");
    expect(dot).not.toContain("no network");
    expect(dot).not.toContain("host network");
    expect(dot).not.toContain("rank=same");
  });
});

describe("parseStackOutputs", () => {
  test("rejects a stack with no outputs, saying to deploy it", () => {
    expect(() => parseStackOutputs({}, "pulumi stack output --json")).toThrow(
      "pulumi stack output --json: the stack has no outputs; deploy it first (npm run up)",
    );
  });

  test("names the container whose outputs have the wrong shape", () => {
    const outputs = JSON.parse(readFileSync(OUTPUTS_FILE, "utf8"));
    outputs.containers["flask-bridge-2"].hostPort = "5002";
    expect(() => parseStackOutputs(outputs, "f.json")).toThrow(
      'f.json: "containers.flask-bridge-2" must be {network, ip, gateway, hostPort, url}',
    );
  });
});

describe("npm run diagram (real WebAssembly Graphviz, in a child process)", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flask-bridge-diagram-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const svgFile = path.join(dir, "nested", "topology.svg");
  const dotFile = path.join(dir, "topology.dot");
  let svg = "";

  beforeAll(() => {
    execFileSync(
      process.execPath,
      [require.resolve("tsx/cli"), "scripts/diagram.ts", "--from", OUTPUTS_FILE, "--out", svgFile, "--dot", dotFile],
      { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
    );
    svg = readFileSync(svgFile, "utf8");
  }, 60_000);

  test("writes an SVG laid out by Graphviz, and the DOT it came from", () => {
    expect(svg).toMatch(/^<\?xml[\s\S]*<svg [\s\S]*<\/svg>\s*$/);
    expect(svg).toMatch(/Generated by graphviz version \d+/);
    expect(readFileSync(dotFile, "utf8")).toEqual(topologyDot(fixture()));
  });

  test("shows every container, IP, port, subnet and gateway", () => {
    const text = visibleText(svg);
    const outputs = fixture();
    const expected = [
      ...Object.keys(outputs.containers),
      ...Object.values(outputs.containers).flatMap((container) => (container.ip === null ? [] : [container.ip])),
      ...["5001", "5002", "5003", "5004", "5005", "5006"].map((port) => `${port}\u2192${5000}`),
      ":5000",
      "bridge (docker0)",
      "subnet 172.17.0.0/16",
      "gateway 172.17.0.1",
      "my-bridge-network (br-8b2c4e6a1d3f)",
      "subnet 172.18.0.0/16",
      "gateway 172.18.0.1",
      "no network",
      "host network",
    ];
    for (const item of expected) {
      expect([item, text.includes(item)]).toEqual([item, true]);
    }
    expect(svg).toContain('font-family="DejaVu Sans,Helvetica,Arial,sans-serif"');
  });

  test("matches the checked-in docs/topology-fixture.svg", () => {
    expect(svg).toEqual(readFileSync(path.join(ROOT, "docs/topology-fixture.svg"), "utf8"));
  });

  test("fails with a clear message on outputs of the wrong shape", () => {
    let stderr = "";
    try {
      execFileSync(process.execPath, [require.resolve("tsx/cli"), "scripts/diagram.ts", "--from", "package.json"], {
        cwd: ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (error) {
      stderr = String((error as { stderr?: string }).stderr);
    }
    expect(stderr).toContain('package.json: expected the outputs "containers" and "network"');
  }, 60_000);
});

describe("topologyDot in swarm mode", () => {
  const task = (name: string, node: string, nodeAddress: string, ip: string | null) => ({
    name,
    node,
    nodeAddress,
    ip,
    state: "running",
  });
  const service = (network: string, tasks: ReturnType<typeof task>[]) => ({
    network,
    dnsName: tasks[0]?.name.split(".")[0] ?? "",
    vip: null,
    urls: [],
    replicas: { desired: tasks.length, running: tasks.length },
    tasks,
  });
  const outputs = parseStackOutputs(
    {
      network: { name: "ov", id: "n1", subnet: "10.213.61.0/24", gateway: null },
      services: {
        "s-custom-1": service("ov", [
          task("s-custom-1.1", "vm", "172.17.0.1", "10.213.61.2"),
          task("s-custom-1.2", "worker-1", "172.17.0.5", "10.213.61.3"),
        ]),
        "s-bridge-1": service("bridge", [task("s-bridge-1.1", "worker-1", "172.17.0.5", null)]),
      },
    },
    "swarm.json",
  );
  const dot = topologyDot(outputs);

  it("draws a box per node with the tasks it runs", () => {
    expect(dot).toContain(`subgraph ${id("cluster_node:vm")}`);
    expect(dot).toContain(`subgraph ${id("cluster_node:worker-1")}`);
    const worker = dot.slice(dot.indexOf(id("cluster_node:worker-1")));
    expect(worker.indexOf(id("task:s-bridge-1.1"))).toBeGreaterThan(0);
    expect(worker.indexOf(id("task:s-custom-1.2"))).toBeGreaterThan(0);
  });

  it("links exactly the tasks on the overlay to it", () => {
    const links = dot.split("\n").filter((line) => line.includes(`-> ${id("overlay")}`));
    expect(links.map((line) => line.trim())).toEqual([
      `${id("task:s-custom-1.1")} -> ${id("overlay")};`,
      `${id("task:s-custom-1.2")} -> ${id("overlay")};`,
    ]);
    expect(dot).toContain("ov (overlay)");
    expect(dot).toContain("bridge network");
  });

  it("draws every machine of the swarm with its address, one with no task included", () => {
    const machines = [
      { name: "fbvm-1", address: "10.213.200.11", role: "manager", availability: "active" },
      { name: "fbvm-2", address: "10.213.200.12", role: "worker", availability: "active" },
      { name: "fbvm-3", address: "10.213.200.13", role: "worker", availability: "drain" },
    ];
    const vm = topologyDot(
      parseStackOutputs(
        {
          network: { name: "ov", id: "n1", subnet: "10.213.90.0/24", gateway: null },
          services: {
            "s-custom-1": {
              ...service("ov", [
                task("s-custom-1.1", "fbvm-1", "10.213.200.11", "10.213.90.3"),
                task("s-custom-1.2", "fbvm-2", "10.213.200.12", "10.213.90.4"),
              ]),
              nodes: machines,
            },
          },
        },
        "vm.json",
      ),
    );
    const labels = vm
      .split("\n")
      .filter((line) => line.includes("label=<<b>node "))
      .map((line) => /label=<(.*)>\];$/.exec(line)?.[1]);
    expect(labels).toEqual([
      '<b>node fbvm-1</b><br/><font point-size="9">10.213.200.11, manager</font>',
      '<b>node fbvm-2</b><br/><font point-size="9">10.213.200.12, worker</font>',
      '<b>node fbvm-3</b><br/><font point-size="9">10.213.200.13, worker, drain</font>',
    ]);
    const idle = vm.slice(vm.indexOf(id("cluster_node:fbvm-3")));
    expect(idle).toContain(`${id("idle:fbvm-3")}`);
    expect(idle).not.toContain(id("task:"));
  });

  it("draws the swarm's own registry in the box of the node it runs on", () => {
    const digest = `sha256:${"3".repeat(64)}`;
    const withRegistry = topologyDot({
      ...outputs,
      image: {
        name: "127.0.0.1:5000/app",
        digest,
        baseImage: "python:3.11-slim",
        configuredBaseImage: "python:3.11-slim",
        standInNote: null,
        registry: {
          address: "127.0.0.1:5000",
          reference: `127.0.0.1:5000/app@${digest}`,
          service: {
            name: "s-registry",
            node: "vm",
            volume: "s-registry-data",
            image: "registry:2",
            note: null,
            publishMode: "host",
          },
        },
      },
    });
    const vm = withRegistry.slice(
      withRegistry.indexOf(id("cluster_node:vm")),
      withRegistry.indexOf(id("cluster_node:worker-1")),
    );
    const line = vm.split("\n").find((text) => text.trim().startsWith(id("registry")));
    expect(line?.trim()).toBe(
      `${id("registry")} [shape="cylinder", style="filled", fillcolor="#fff7cc", label=<<b>registry 127.0.0.1:5000</b><br/><font point-size="9">service s-registry, volume s-registry-data; every node pulls from 127.0.0.1</font><br/><font point-size="9">127.0.0.1:5000/app@${digest}</font>>];`,
    );
  });

  it("draws a registry of the user's outside every node", () => {
    const withRegistry = topologyDot({
      ...outputs,
      image: {
        name: "registry.example.com/team/app",
        digest: "sha256:1",
        baseImage: "b",
        configuredBaseImage: "b",
        standInNote: null,
        registry: {
          address: "registry.example.com/team",
          reference: "registry.example.com/team/app@sha256:1",
          service: null,
        },
      },
    });
    const outside = withRegistry.split("\n").filter((text) => text.startsWith(`  ${id("registry")} `));
    expect(outside).toHaveLength(1);
    expect(outside[0]).toContain("<b>registry registry.example.com/team</b>");
    expect(outside[0]).toContain("every node pulls from it");
  });

  it("refuses a service without its tasks", () => {
    expect(() =>
      parseStackOutputs(
        { network: { name: "ov", id: "n1", subnet: null, gateway: null }, services: { s: {} } },
        "f.json",
      ),
    ).toThrow('f.json: "services.s" must be {network, tasks, ...}');
  });
});

describe("topologyDot for an engine on another machine (npm run remote:up, a real run's outputs)", () => {
  const file = path.join(FIXTURES, "remote-outputs.json");
  const outputs = parseStackOutputs(JSON.parse(readFileSync(file, "utf8")), file);

  it("draws this machine opening the ports of the engine's machine, as the tutorial's PC opened the VM's", () => {
    expect(topologyDot(outputs)).toBe(readFileSync(path.join(FIXTURES, "remote-topology.dot"), "utf8"));
  });

  it("names the engine's machine by its address, and host mode on that address", () => {
    const dot = topologyDot(outputs);
    expect(
      ["<b>the engine&#39;s machine 172.17.0.5</b>", "runs pulumi; opens the URLs", ":21100 on 172.17.0.5 itself"].map(
        (text) => dot.includes(text),
      ),
    ).toEqual([true, true, true]);
  });

  it("keeps the local picture: no separate machine when the URLs are on localhost", () => {
    expect(topologyDot(fixture()).includes("this machine")).toBe(false);
  });
});
