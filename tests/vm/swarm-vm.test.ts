import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, type Stack, type UpResult } from "@pulumi/pulumi/automation";
import type { ImageOutput, ServiceOutput } from "../../src/plan/outputs";
import { engineApi } from "../../src/probes/engineApi";
import { type RawNode, type RawTask, tasksPath } from "../../src/probes/swarm";
import {
  printTimings,
  pulumiCommand,
  REPO_ROOT,
  RUN,
  reportAssertions,
  requirePrerequisites,
  timed,
  upWithRefusingRegistry,
  writeConfig,
} from "../e2e/harness";

/**
 * Swarm's defaults for real: service VIPs and the ingress routing mesh (both
 * IPVS, which this machine's kernel lacks) on 3 QEMU VMs with Debian's own
 * kernel (FLASK_BRIDGE_CLUSTER=vm npm run cluster:up). The suite starts the VM
 * cluster, drives the program against its manager through DOCKER_HOST=ssh://…,
 * and takes the cluster down at the end. One stack goes through every step, in order.
 * To the program the VMs are a plain swarm: it builds on the manager, pushes to
 * the swarm's own registry there (its image comes with the base disk) and every
 * VM pulls from its own 127.0.0.1:5000 through the routing mesh (no `load`).
 */

const STACK = "e2e-vm";
const HELLO = "Hello, World!";
// Two custom-group services (one calls the other through its VIP), lean: 6
// tasks at most on 3 emulated single-CPU VMs.
const PORTS: Record<string, number> = { "e2e-vm-custom-1": 19104, "e2e-vm-custom-2": 19105 };
const SERVICES = Object.keys(PORTS);
const OVERLAY = "e2e-vm-overlay";
const SUBNET_PREFIX = "10.213.90.";
const IMAGE_NAME = "flask-bridge-e2e-vm";
// The swarm's own registry at the default registryPort (Docker's tutorial's 5000):
// on the VMs nothing else holds it.
const REGISTRY = "127.0.0.1:5000";
const REGISTRY_SERVICE = "e2e-vm-registry";
const REGISTRY_VOLUME = "e2e-vm-registry-data";
const CLUSTER_SCRIPT = path.join(REPO_ROOT, "scripts", "cluster.sh");
const APP_SOURCE = path.join(REPO_ROOT, "app", "app.py");
const CLUSTER_ENV = path.join(process.env.FLASK_BRIDGE_HOME ?? "", "vm", "run", "cluster.env");

function config(replicas: number): Record<string, unknown> {
  return {
    "flask-bridge:orchestrator": "swarm",
    "flask-bridge:imageName": IMAGE_NAME,
    "flask-bridge:namePrefix": "e2e-vm",
    "flask-bridge:bridgePorts": [],
    "flask-bridge:customPorts": [19104, 19105],
    "flask-bridge:hostMode": false,
    "flask-bridge:noneMode": false,
    "flask-bridge:networkName": OVERLAY,
    "flask-bridge:networkSubnet": "10.213.90.0/24",
    "flask-bridge:replicas": replicas,
    "flask-bridge:swarmPublishMode": "ingress",
    "flask-bridge:swarmEndpointMode": "vip",
  };
}

jest.setTimeout(40 * 60 * 1000);
reportAssertions("swarm-vm");

let dockerHost = "";
let stack: Stack;
let services: Record<string, ServiceOutput>;
let image: ImageOutput;
const timings: Record<string, number> = {};

/** scripts/cluster.sh for the VM kind; progress goes to stderr, stdout is returned. */
function vmCluster(action: "up" | "down"): string {
  return execFileSync("bash", [CLUSTER_SCRIPT, action], {
    env: { ...process.env, FLASK_BRIDGE_CLUSTER: "vm" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

/** The docker CLI against the VM manager, over ssh. */
function manager(...args: string[]): string {
  return execFileSync("docker", args, {
    env: { ...process.env, DOCKER_HOST: dockerHost },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** A shell command on one VM, by its address. */
function onNode(address: string, command: string): string {
  return execFileSync("ssh", [address, command], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

interface SwarmNode {
  name: string;
  address: string;
  availability: string;
}

function swarmNodes(): SwarmNode[] {
  // biome-ignore lint/suspicious/noExplicitAny: docker inspect JSON is untyped.
  const inspected: any[] = JSON.parse(manager("node", "inspect", ...lines(manager("node", "ls", "-q"))));
  return inspected
    .map((node) => ({
      name: node.Description.Hostname,
      address: node.Status.Addr === "0.0.0.0" ? node.ManagerStatus.Addr.split(":")[0] : node.Status.Addr,
      availability: node.Spec.Availability,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

interface RunningTask {
  node: string;
  nodeAddress: string;
  containerId: string;
  ip: string | null;
}

function runningTasks(service: string): RunningTask[] {
  const ids = lines(manager("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service));
  if (ids.length === 0) return [];
  const byId = new Map(swarmNodes().map((node) => [node.name, node]));
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  const tasks: any[] = JSON.parse(manager("inspect", "--type", "task", ...ids));
  return tasks
    .filter((task) => task.Status.State === "running")
    .map((task) => {
      const name = JSON.parse(manager("node", "inspect", task.NodeID))[0].Description.Hostname;
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      const overlay = (task.NetworksAttachments ?? []).find((entry: any) => entry.Network.Spec.Name === OVERLAY);
      return {
        node: name,
        nodeAddress: byId.get(name)?.address ?? "",
        containerId: task.Status.ContainerStatus.ContainerID,
        ip: overlay ? overlay.Addresses[0].split("/")[0] : null,
      };
    });
}

/** One GET on a connection of its own, so the routing mesh balances each one afresh. */
function getFresh(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 5000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve(`${response.statusCode} ${body}`));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error("timed out after 5 s")));
    request.on("error", reject);
  });
}

/** Every service on every node's address: what answered other than 200 Hello, World!. */
async function meshFailures(nodes: readonly SwarmNode[]): Promise<string[]> {
  const urls = SERVICES.flatMap((service) => nodes.map((node) => `http://${node.address}:${PORTS[service]}/`));
  const answers = await Promise.all(urls.map((url) => getFresh(url).catch((error: Error) => error.message)));
  return urls.flatMap((url, index) => (answers[index] === `200 ${HELLO}` ? [] : [`${url}: ${answers[index]}`]));
}

/**
 * Requests every URL in turn, one at a time, until `work` settles: bounded by
 * `maxRequests`. Returns how many were sent and the ones that failed.
 */
async function whileRequesting<T>(
  urls: readonly string[],
  work: Promise<T>,
  maxRequests: number,
): Promise<{ result: T; sent: number; failed: string[] }> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  let sent = 0;
  const failed: string[] = [];
  while (!settled && sent < maxRequests) {
    const url = urls[sent % urls.length] as string;
    sent += 1;
    const answer = await getFresh(url).catch((error: Error) => error.message);
    if (answer !== `200 ${HELLO}`) failed.push(`${url}: ${answer}`);
    // A steady trickle: the VMs' single emulated CPUs also run the rollout.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { result: await done, sent, failed };
}

async function eventually(timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

/**
 * What any node still holds of the stack, by its label: containers, networks and
 * volumes everywhere; on the manager also services (the registry's included) and
 * the images the program built there. A worker keeps the app image it pulled, as
 * any swarm node keeps what it pulled: that copy is the node's, not the stack's.
 */
function leftovers(address: string): string[] {
  const filter = `label=flask-bridge.stack=${STACK}`;
  const isManager = address === swarmNodes()[0]?.address;
  return lines(
    onNode(
      address,
      [
        `docker ps -a -q --filter ${filter}`,
        `docker network ls -q --filter ${filter}`,
        `docker volume ls -q --filter ${filter}`,
        ...(isManager
          ? [
              `docker service ls -q --filter ${filter}`,
              `docker service ls -q --filter name=${REGISTRY_SERVICE}`,
              `docker image ls -q --filter ${filter}`,
            ]
          : []),
      ].join("; "),
    ),
  );
}

/** The image each running task's spec names, per service. */
function taskImages(service: string): string[] {
  const ids = lines(manager("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service));
  return lines(manager("inspect", "--type", "task", "--format", "{{.Spec.ContainerSpec.Image}}", ...ids));
}

beforeAll(async () => {
  requirePrerequisites();
  const out = await timed("cluster:up", timings, async () => vmCluster("up"));
  const last = lines(out).pop() ?? "";
  if (!last.startsWith("DOCKER_HOST=ssh://")) {
    throw new Error(`cluster:up's last stdout line should be DOCKER_HOST=ssh://…, not "${last}"`);
  }
  dockerHost = last.slice("DOCKER_HOST=".length);
  const envVars = { DOCKER_HOST: dockerHost };
  const command = await pulumiCommand();
  const ws = await LocalWorkspace.create({ workDir: REPO_ROOT, pulumiCommand: command, envVars });
  if ((await ws.listStacks()).some((existing) => existing.name === STACK)) {
    await ws.removeStack(STACK, { force: true });
  }
  fs.rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
  // A crashed earlier run's services, then its overlay, by the stack's label.
  // A crashed earlier run's services, then its overlay and registry storage, by the stack's label.
  const label = `label=flask-bridge.stack=${STACK}`;
  const stale = lines(manager("service", "ls", "-q", "--filter", label));
  if (stale.length > 0) manager("service", "rm", ...stale);
  await eventually(60_000, () => {
    const env = { ...process.env, DOCKER_HOST: dockerHost };
    for (const network of lines(manager("network", "ls", "-q", "--filter", label)))
      spawnSync("docker", ["network", "rm", network], { env });
    for (const volume of lines(manager("volume", "ls", "-q", "--filter", label)))
      spawnSync("docker", ["volume", "rm", volume], { env });
    return (
      lines(manager("network", "ls", "-q", "--filter", label)).length === 0 &&
      lines(manager("volume", "ls", "-q", "--filter", label)).length === 0
    );
  });
  stack = await LocalWorkspace.createStack(
    { stackName: STACK, workDir: REPO_ROOT },
    { pulumiCommand: command, envVars },
  );
  writeConfig(STACK, config(1));
  const result = await timed("up (empty stack, 1 replica)", timings, () => stack.up(RUN));
  services = result.outputs.services?.value;
  image = result.outputs.image?.value;
});

afterAll(() => {
  // A failed run still leaves no VM behind.
  if (fs.existsSync(CLUSTER_ENV)) vmCluster("down");
  printTimings("swarm-vm e2e timings (printed, not asserted)", timings);
});

describe("Swarm's defaults (VIP, ingress) on 3 VMs with their own kernels", () => {
  it("runs on 3 Ready nodes, each with Debian's kernel and IPVS, not this machine's kernel", () => {
    const nodes = swarmNodes();
    expect(nodes.map((node) => node.name)).toEqual(["fbvm-1", "fbvm-2", "fbvm-3"]);
    expect(lines(manager("node", "ls", "--format", "{{.Status}}"))).toEqual(["Ready", "Ready", "Ready"]);
    for (const node of nodes) {
      const [kernel, ipvs] = lines(onNode(node.address, "uname -r; test -e /proc/net/ip_vs && echo ipvs"));
      expect(kernel).toMatch(/-amd64$/);
      expect(kernel).not.toBe(os.release());
      expect(ipvs).toBe("ipvs");
    }
  });

  it("exports each service with one task, its VIP on the overlay and a URL on every node", () => {
    const nodes = swarmNodes();
    expect(Object.keys(services).sort()).toEqual(SERVICES);
    for (const service of SERVICES) {
      const output = services[service] as ServiceOutput;
      expect(output.replicas).toEqual({ desired: 1, running: 1 });
      expect(output.urls).toEqual(nodes.map((node) => `http://${node.address}:${PORTS[service]}`));
      expect(output.nodes.map(({ name, address }) => ({ name, address }))).toEqual(
        nodes.map(({ name, address }) => ({ name, address })),
      );
      expect(output.tasks).toHaveLength(1);
      expect(nodes.map((node) => node.name)).toContain(output.tasks[0]?.node);
    }
    expect(services["e2e-vm-custom-1"]?.vip).toMatch(new RegExp(`^${SUBNET_PREFIX.replace(/\./g, "\\.")}\\d+$`));
    expect(services["e2e-vm-custom-2"]?.tasks[0]?.ip).toMatch(/^10\.213\.90\.\d+$/);
  });

  it("answers every service's URL on every node's address, nodes with no task included (the routing mesh)", async () => {
    const nodes = swarmNodes();
    for (const service of SERVICES) {
      const withTask = new Set(runningTasks(service).map((task) => task.node));
      expect(nodes.filter((node) => !withTask.has(node.name))).toHaveLength(2);
    }
    expect(await timed("mesh check (6 URLs)", timings, () => meshFailures(nodes))).toEqual([]);
  });

  it("scales 1 -> 3 replicas with no failed request on any node", async () => {
    writeConfig(STACK, config(3));
    const urls = SERVICES.flatMap((service) => swarmNodes().map((node) => `http://${node.address}:${PORTS[service]}/`));
    const { result, sent, failed } = await timed("scale 1 -> 3 (up)", timings, () =>
      whileRequesting(urls, stack.up(RUN), 5000),
    );
    expect(failed).toEqual([]);
    expect(sent).toBeGreaterThan(urls.length);
    process.stdout.write(`\nscale 1 -> 3: ${sent} requests during the up, ${failed.length} failed\n`);
    services = result.outputs.services?.value;
    for (const service of SERVICES) {
      expect(services[service]?.replicas).toEqual({ desired: 3, running: 3 });
      expect(runningTasks(service)).toHaveLength(3);
    }
  });

  it("runs the pushed digest in every task, on all three nodes, pulled from the swarm's own registry", () => {
    const reference = `${REGISTRY}/${IMAGE_NAME}@${image.digest}`;
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.registry?.address).toBe(REGISTRY);
    expect(image.registry?.reference).toBe(reference);
    expect(image.registry?.service).toMatchObject({
      name: REGISTRY_SERVICE,
      node: "fbvm-1",
      volume: REGISTRY_VOLUME,
      publishMode: "ingress",
    });
    // The registry: one task, Running on the manager, its storage a labelled volume there.
    expect(
      lines(
        manager(
          "service",
          "ps",
          "--filter",
          "desired-state=running",
          "--format",
          "{{.Node}} {{.CurrentState}}",
          REGISTRY_SERVICE,
        ),
      ).map((line) => line.split(" ").slice(0, 2)),
    ).toEqual([["fbvm-1", "Running"]]);
    expect(lines(manager("volume", "ls", "-q", "--filter", `label=flask-bridge.stack=${STACK}`))).toEqual([
      REGISTRY_VOLUME,
    ]);
    const nodes = new Set<string>();
    for (const service of SERVICES) {
      expect(manager("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service)).toBe(
        reference,
      );
      expect(taskImages(service)).toEqual([reference, reference, reference]);
      for (const task of runningTasks(service)) nodes.add(task.node);
    }
    expect([...nodes].sort()).toEqual(["fbvm-1", "fbvm-2", "fbvm-3"]);
    // Every node has that very build (the same image ID as on the manager, where it was built),
    // and every running task container on it runs it: by image ID, since `docker ps` shows
    // a tag instead of the pinned reference where one names the image (the manager's push tag).
    const builtId = manager("image", "inspect", "--format", "{{.Id}}", reference);
    for (const node of swarmNodes()) {
      const [id, ...containers] = lines(
        onNode(
          node.address,
          `docker image inspect --format '{{.Id}}' '${reference}' && docker ps -q | xargs -r docker inspect --format '{{index .Config.Labels "com.docker.swarm.service.name"}} {{.Image}}'`,
        ),
      );
      expect([node.name, id]).toEqual([node.name, builtId]);
      const running = containers.map((line) => line.split(" ")).filter(([name]) => SERVICES.includes(name ?? ""));
      expect(running.length).toBeGreaterThan(0);
      expect([node.name, new Set(running.map(([, ran]) => ran))]).toEqual([node.name, new Set([builtId])]);
    }
  });

  it("lets a custom-group task reach another service by name through its VIP, spread over its 3 tasks", async () => {
    const [client] = runningTasks("e2e-vm-custom-1");
    const backends = runningTasks("e2e-vm-custom-2").map((task) => task.ip);
    expect(client).toBeDefined();
    const { node, containerId } = client as RunningTask;
    const address = swarmNodes().find((entry) => entry.name === node)?.address ?? "";
    const script = [
      "import json, socket, urllib.request",
      "vip = socket.gethostbyname('e2e-vm-custom-2')",
      "bodies = [urllib.request.urlopen('http://e2e-vm-custom-2:5000/', timeout=5).read().decode() for _ in range(12)]",
      "print(json.dumps({'vip': vip, 'bodies': sorted(set(bodies)), 'count': len(bodies)}))",
    ].join("\n");
    // Docker balances a VIP in the overlay's load-balancer sandbox on the caller's node
    // (lb_ and the network ID's first 9 characters), not in the container: connections
    // so far per real server (task address).
    const networkId = manager("network", "inspect", "-f", "{{.Id}}", OVERLAY);
    const sandbox = `/var/run/docker/netns/lb_${networkId.slice(0, 9)}`;
    const reals = (): Map<string, number> =>
      new Map(
        lines(onNode(address, `nsenter --net=${sandbox} ipvsadm -Ln --stats`))
          .map((line) => line.trim().split(/\s+/))
          .filter((fields) => fields[0] === "->" && /^\d+\.\d+\.\d+\.\d+:/.test(fields[1] ?? ""))
          .map((fields) => [(fields[1] as string).split(":")[0] as string, Number(fields[2])]),
      );
    // A new task reaches other nodes' sandboxes through Swarm's gossip, a moment after it runs.
    const known = await eventually(90_000, () => backends.every((ip) => ip !== null && reals().has(ip)));
    expect(known).toBe(true);
    const before = reals();
    const seen = await timed("VIP check (12 requests)", timings, async () =>
      JSON.parse(onNode(address, `docker exec -i ${containerId} python3 - <<'EOF'\n${script}\nEOF`)),
    );
    expect(seen).toEqual({ vip: services["e2e-vm-custom-2"]?.vip, bodies: [HELLO], count: 12 });
    // The kernel folds its per-CPU counters into what ipvsadm reads every 2 s or so.
    const used = (): Set<string> =>
      new Set([...reals()].filter(([ip, conns]) => conns > (before.get(ip) ?? 0)).map(([ip]) => ip));
    await eventually(30_000, () => used().size === backends.length);
    expect(used()).toEqual(new Set(backends));
    expect(backends).toHaveLength(3);
  });

  it("previews no change", async () => {
    const preview = await timed("preview", timings, () => stack.preview({ ...RUN, expectNoChanges: true }));
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  });

  it("fails up naming a registry that refuses the push, before any service changes; the next up converges", async () => {
    const specs = (): string[] =>
      SERVICES.map((service) =>
        manager("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.UpdatedAt}}", service),
      );
    const before = specs();
    // A closed port on the manager, where the engine pushes from.
    const message = await upWithRefusingRegistry(stack, config(3), timings);
    expect(message).toContain("127.0.0.1:1");
    expect(message).toMatch(/connection refused/);
    expect(specs()).toEqual(before);
    const result = await timed("up (registry restored)", timings, () => stack.up(RUN));
    expect(result.summary.result).toBe("succeeded");
    expect(specs()).toEqual(before);
  });

  it("rolls a rebuild of app/ over every task, start-first, with no failed request on any node", async () => {
    const before = image.digest;
    const original = fs.readFileSync(APP_SOURCE, "utf8");
    const urls = SERVICES.flatMap((service) => swarmNodes().map((node) => `http://${node.address}:${PORTS[service]}/`));
    let outcome: Awaited<ReturnType<typeof whileRequesting<UpResult>>>;
    try {
      // A change to app/ that keeps the page: a new last layer, so a new digest.
      fs.writeFileSync(APP_SOURCE, `${original}\n# e2e rebuild ${Date.now()}\n`);
      outcome = await timed("rebuild of app/ (up)", timings, () => whileRequesting(urls, stack.up(RUN), 5000));
    } finally {
      fs.writeFileSync(APP_SOURCE, original);
    }
    const { result, sent, failed } = outcome;
    process.stdout.write(`\nrebuild: ${sent} requests during the rolling update, ${failed.length} failed\n`);
    expect(failed).toEqual([]);
    expect(sent).toBeGreaterThan(urls.length);
    image = result.outputs.image?.value;
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.digest).not.toBe(before);
    const reference = `${REGISTRY}/${IMAGE_NAME}@${image.digest}`;
    expect(image.registry?.reference).toBe(reference);
    for (const service of SERVICES) {
      expect(
        manager("service", "inspect", "--format", "{{.Spec.UpdateConfig.Order}} {{.UpdateStatus.State}}", service),
      ).toBe("start-first completed");
      expect(taskImages(service)).toEqual([reference, reference, reference]);
    }
  });

  it("keeps every URL answering on every node while a node drains, and after", async () => {
    const drained = "fbvm-3";
    const nodes = swarmNodes();
    const urls = SERVICES.flatMap((service) => nodes.map((node) => `http://${node.address}:${PORTS[service]}/`));
    const moved = (async () => {
      manager("node", "update", "--availability", "drain", drained);
      // The API over one connection, as the probe asks it: a docker CLI per poll
      // costs the emulated manager 1.2 CPU-s, which the moving tasks need.
      const engine = engineApi({ env: { ...process.env, DOCKER_HOST: dockerHost } });
      try {
        const names = new Map(
          (await engine.get<RawNode[]>("/nodes", 30_000)).map((node) => [node.ID, node.Description.Hostname]),
        );
        return await eventually(420_000, async () => {
          const tasks = await Promise.all(SERVICES.map((service) => engine.get<RawTask[]>(tasksPath(service), 30_000)));
          return tasks.every(
            (own) =>
              own.length === 3 &&
              own.every((task) => names.get(task.NodeID) !== drained && task.Status.State === "running"),
          );
        });
      } finally {
        engine.close();
      }
    })();
    const { result, sent, failed } = await timed("drain fbvm-3", timings, () => whileRequesting(urls, moved, 5000));
    process.stdout.write(`\ndrain: ${sent} requests while tasks moved, ${failed.length} failed\n`);
    expect(result).toBe(true);
    expect(failed).toEqual([]);
    expect(await meshFailures(nodes)).toEqual([]);
    manager("node", "update", "--availability", "active", drained);
  });

  it("destroys everything it made, on every node: services, the registry and its volume, the overlay", async () => {
    await timed("destroy", timings, () => stack.destroy({ color: "never" }));
    const nodes = swarmNodes();
    const clean = await eventually(60_000, () => nodes.every((node) => leftovers(node.address).length === 0));
    expect(nodes.map((node) => [node.name, leftovers(node.address)])).toEqual(nodes.map((node) => [node.name, []]));
    expect(clean).toBe(true);
    expect(lines(manager("network", "ls", "-q", "--filter", `name=^${OVERLAY}$`))).toEqual([]);
    expect(lines(manager("image", "ls", "-q", `${REGISTRY}/${IMAGE_NAME}`))).toEqual([]);
  });

  it("cluster:down leaves no QEMU process, disk overlay, tap, bridge or ssh setting", async () => {
    await timed("cluster:down", timings, async () => vmCluster("down"));
    // ps exits 1 when no process matches.
    const qemu = lines(spawnSync("ps", ["-C", "qemu-system-x86_64", "-o", "args="], { encoding: "utf8" }).stdout);
    expect(qemu.filter((args) => / -name fbvm-/.test(args))).toEqual([]);
    const links = lines(execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }));
    expect(links.filter((line) => / fbvm\d*[:@]/.test(line))).toEqual([]);
    expect(fs.existsSync(path.dirname(CLUSTER_ENV))).toBe(false);
    expect(fs.existsSync("/etc/ssh/ssh_config.d/flask-bridge-vm.conf")).toBe(false);
  });
});
