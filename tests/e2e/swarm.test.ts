import { type ChildProcess, spawn } from "node:child_process";
import type { Stack } from "@pulumi/pulumi/automation";
import type { ImageOutput, ServiceOutput } from "../../src/plan/outputs";
import {
  clusterScript,
  clusterWorkers,
  docker,
  dockerLines,
  expectOfficialPlugins,
  freshStack,
  httpGet,
  labelled,
  labelledServices,
  noise,
  pluginsServing,
  printTimings,
  REPO_ROOT,
  RUN,
  removeSwarmLeftovers,
  reportAssertions,
  requirePrerequisites,
  resourceCount,
  swarmStackConfig,
  timed,
  upWithRefusingRegistry,
  writeConfig,
} from "./harness";

/**
 * Swarm mode on a real cluster of 3 nodes: the host engine as manager and
 * two workers running dockerd in containers (scripts/cluster.sh). The suite
 * starts the cluster when it is not up and takes it down again at the end.
 * The steps share one stack, in order. The image reaches the workers only
 * through the swarm's own registry, which the program runs (no `load`).
 */

const STACK = "e2e-swarm";
const SERVICES = ["e2e-swarm-bridge-1", "e2e-swarm-custom-1", "e2e-swarm-host"];
const PORTS: Record<string, number> = {
  "e2e-swarm-bridge-1": 19001,
  "e2e-swarm-custom-1": 19004,
  "e2e-swarm-host": 19000,
};
const OVERLAY = "e2e-swarm-overlay";
const REGISTRY_SERVICE = "e2e-swarm-registry";
const REGISTRY_VOLUME = "e2e-swarm-registry-data";
/** Not 5000: the tutorial's host-mode app (the dev stack) may hold it on this machine. */
const REGISTRY_PORT = 19005;
const REPOSITORY = `127.0.0.1:${REGISTRY_PORT}/flask-bridge-e2e-swarm`;

/** The harness's swarm config, with the swarm's own registry on a port of the suite's. */
function stackConfig(replicas: number): Record<string, unknown> {
  return { ...swarmStackConfig(replicas), "flask-bridge:registryPort": REGISTRY_PORT };
}
const HELLO = "Hello, World!";

jest.setTimeout(15 * 60 * 1000);
reportAssertions("swarm");

let stack: Stack;
let services: Record<string, ServiceOutput>;
let image: ImageOutput;
/** Workers found before the suite: a cluster someone else started is left as it was. */
let workersBefore: string[];
let swarmBefore: string;
let servedBy: string[];
/** What the first up printed, for the quiet-success check. */
let firstUpOutput: string;
const timings: Record<string, number> = {};

interface RunningTask {
  id: string;
  slot: number;
  node: string;
  nodeAddress: string;
  containerId: string;
  ip: string | null;
}

/** The service's tasks that run now, as the swarm reports them (the stack's outputs are from the last up). */
function runningTasks(service: string): RunningTask[] {
  const ids = dockerLines("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service);
  if (ids.length === 0) return [];
  // biome-ignore lint/suspicious/noExplicitAny: docker inspect JSON is untyped.
  const tasks: any[] = JSON.parse(docker("inspect", "--type", "task", ...ids));
  return tasks
    .filter((task) => task.Status.State === "running")
    .map((task) => {
      const node = JSON.parse(docker("node", "inspect", task.NodeID))[0];
      // biome-ignore lint/suspicious/noExplicitAny: as above.
      const overlay = (task.NetworksAttachments ?? []).find((entry: any) => entry.Network.Spec.Name === OVERLAY);
      return {
        id: task.ID,
        slot: task.Slot,
        node: node.Description.Hostname,
        nodeAddress: node.Status.Addr,
        containerId: task.Status.ContainerStatus.ContainerID,
        ip: overlay ? overlay.Addresses[0].split("/")[0] : null,
      };
    });
}

/** Runs a command in a task's container, on whichever node it is: workers are reached through their container. */
function execInTask(task: RunningTask, ...command: string[]): string {
  const inContainer = ["exec", task.containerId, ...command];
  return clusterWorkers().includes(task.node)
    ? docker("exec", task.node, "docker", ...inContainer)
    : docker(...inContainer);
}

/** Polls until the check passes or the time is up; returns whether it passed. */
async function eventually(timeoutMs: number, check: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

function urlsOfRunningTasks(): string[] {
  return SERVICES.flatMap((service) => {
    return runningTasks(service).map((task) => `http://${task.nodeAddress}:${PORTS[service]}`);
  });
}

async function allAnswer(urls: string[]): Promise<boolean> {
  const bodies = await Promise.all(
    urls.map((url) =>
      httpGet(url).then(
        (reply) => reply.body,
        () => "",
      ),
    ),
  );
  return bodies.every((body) => body === HELLO);
}

beforeAll(async () => {
  requirePrerequisites();
  workersBefore = clusterWorkers();
  swarmBefore = docker("info", "--format", "{{.Swarm.LocalNodeState}}");
  await timed("cluster:up", timings, async () => clusterScript("up"));
  removeSwarmLeftovers(STACK);
  await eventually(60_000, () => labelled(STACK).containers.length === 0);
  // A crashed earlier run's registry storage; its service went above.
  for (const volume of labelledVolumes()) docker("volume", "rm", volume);
  stack = await freshStack(STACK, stackConfig(2));
  const { result, plugins } = await pluginsServing(() =>
    timed("up (empty stack, 2 replicas)", timings, () => stack.up(RUN)),
  );
  servedBy = plugins;
  firstUpOutput = `${result.stdout}\n${result.stderr}`;
  services = result.outputs.services?.value;
  image = result.outputs.image?.value;
});

function labelledVolumes(): string[] {
  return dockerLines("volume", "ls", "-q", "--filter", `label=flask-bridge.stack=${STACK}`);
}

/** The image each service's spec names now. */
function serviceImages(): Record<string, string> {
  return Object.fromEntries(
    SERVICES.map((service) => [
      service,
      docker("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service),
    ]),
  );
}

afterAll(() => printTimings("swarm e2e timings (printed, not asserted)", timings));

/** A child's exit code and its stdout and stderr together; SIGKILLed after timeoutMs. */
function finished(child: ChildProcess, timeoutMs = 10 * 60_000): Promise<{ code: number | null; output: string }> {
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

/** `npm run <command>` as a user runs it, on the suite's stack. */
function npmRun(command: "up" | "preview"): Promise<{ code: number | null; output: string }> {
  return finished(
    spawn("npm", ["run", "--silent", command], {
      cwd: REPO_ROOT,
      env: { ...process.env, FB_STACK: STACK },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
}

/** The lines the heal step printed (scripts/heal.ts), without their time. */
function healLines(output: string): string[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("[heal"))
    .map((line) => line.replace(/^\[heal [\d:]+\] /, ""));
}

describe("the stack on a 3-node swarm", () => {
  it("runs on the official docker and command plugins", () => {
    expectOfficialPlugins(servedBy);
  });

  it("runs on a cluster of at least 3 Ready nodes", () => {
    expect(
      dockerLines("node", "ls", "--format", "{{.Status}}").filter((status) => status === "Ready").length,
    ).toBeGreaterThanOrEqual(3);
    expect(clusterWorkers().length).toBeGreaterThanOrEqual(2);
  });

  it("exports every service with its replicas running, each task on a node of its own", () => {
    expect(Object.keys(services).sort()).toEqual(SERVICES);
    for (const name of SERVICES) {
      const service = services[name] as ServiceOutput;
      expect([name, service.replicas]).toEqual([name, { desired: 2, running: 2 }]);
      expect(service.tasks.map((task) => task.state)).toEqual(["running", "running"]);
      expect(new Set(service.tasks.map((task) => task.node)).size).toBe(2);
      expect(service.dnsName).toBe(name);
      // DNS round-robin: no virtual IP.
      expect(service.vip).toBeNull();
    }
    expect(services["e2e-swarm-custom-1"]?.network).toBe(OVERLAY);
    for (const task of services["e2e-swarm-custom-1"]?.tasks ?? []) {
      expect(task.ip).toMatch(/^10\.213\.61\.\d+$/);
    }
  });

  it("pushes the image to the swarm's own registry, and every task runs that digest, pulled on its node", () => {
    expect(image.name).toBe(REPOSITORY);
    expect(image.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(image.registry?.address).toBe(`127.0.0.1:${REGISTRY_PORT}`);
    expect(image.registry?.reference).toBe(`${REPOSITORY}@${image.digest}`);
    expect(image.registry?.service).toMatchObject({
      name: REGISTRY_SERVICE,
      volume: REGISTRY_VOLUME,
      publishMode: "host",
    });
    // The registry: one task on the manager, its storage a labelled volume there.
    expect(docker("service", "ps", "--format", "{{.Node}} {{.CurrentState}}", REGISTRY_SERVICE)).toMatch(
      new RegExp(`^${docker("info", "--format", "{{.Name}}")} Running`),
    );
    expect(labelledVolumes()).toEqual([REGISTRY_VOLUME]);
    const reference = image.registry?.reference ?? "";
    expect(serviceImages()).toEqual(Object.fromEntries(SERVICES.map((service) => [service, reference])));
    // Each worker running a task has the image by that digest: it pulled it from the registry.
    const workersWithTasks = new Set(
      SERVICES.flatMap((service) => runningTasks(service).map((task) => task.node)).filter((node) =>
        clusterWorkers().includes(node),
      ),
    );
    expect(workersWithTasks.size).toBe(2);
    for (const node of workersWithTasks) {
      expect([node, docker("exec", node, "docker", "image", "inspect", "--format", "{{.Id}}", reference)]).toEqual([
        node,
        expect.stringMatching(/^sha256:/),
      ]);
    }
  });

  it("answers on every published URL, one per node running a task", async () => {
    for (const name of SERVICES) {
      const service = services[name] as ServiceOutput;
      expect(service.urls).toEqual(service.tasks.map((task) => `http://${task.nodeAddress}:${PORTS[name]}`).sort());
      for (const url of service.urls) {
        expect([url, (await httpGet(url)).body]).toEqual([url, HELLO]);
      }
    }
  });

  it("lets a task on one node reach a task on another over the overlay, by DNS name", () => {
    const [from, to] = runningTasks("e2e-swarm-custom-1");
    if (!from || !to) throw new Error("expected 2 running tasks of e2e-swarm-custom-1");
    expect(from.node).not.toBe(to.node);
    // Every task's container is named <service>.<slot>.<task id> on the overlay.
    const name = `e2e-swarm-custom-1.${to.slot}.${to.id}`;
    const script = [
      "import socket, sys, urllib.request",
      "name = sys.argv[1]",
      "print(socket.gethostbyname(name))",
      "print(' '.join(sorted(socket.gethostbyname_ex('tasks.e2e-swarm-custom-1')[2])))",
      "print(urllib.request.urlopen(f'http://{name}:5000/', timeout=5).read().decode())",
    ].join("\n");
    const [resolved, all, body] = execInTask(from, "python3", "-c", script, name).split("\n");
    expect(resolved).toBe(to.ip);
    expect(all).toBe([from.ip, to.ip].sort().join(" "));
    expect(body).toBe(HELLO);
  });

  it("reschedules a drained node's tasks elsewhere, and the URLs answer again", async () => {
    const drained = runningTasks("e2e-swarm-custom-1")
      .map((task) => task.node)
      .find((node) => clusterWorkers().includes(node));
    if (!drained) throw new Error("no task of e2e-swarm-custom-1 on a worker");
    docker("node", "update", "--availability", "drain", drained);
    try {
      const moved = await timed("drain: tasks rescheduled", timings, () =>
        eventually(120_000, () =>
          SERVICES.every((service) => {
            const tasks = runningTasks(service);
            return tasks.length === 2 && tasks.every((task) => task.node !== drained);
          }),
        ),
      );
      expect(moved).toBe(true);
      const answered = await timed("drain: URLs answer again", timings, async () => {
        const deadline = Date.now() + 60_000;
        while (!(await allAnswer(urlsOfRunningTasks()))) {
          if (Date.now() > deadline) return false;
          await new Promise((resolve) => setTimeout(resolve, 500));
        }
        return true;
      });
      expect(answered).toBe(true);
    } finally {
      docker("node", "update", "--availability", "active", drained);
    }
  });

  it("scales 2 -> 3 replicas with no failed request on the running tasks' URLs", async () => {
    const urls = urlsOfRunningTasks();
    expect(urls).toHaveLength(6);
    const tasksBefore = SERVICES.flatMap((service) => runningTasks(service).map((task) => ({ service, id: task.id })));
    let requests = 0;
    const failures: string[] = [];
    let done = false;
    // Bounded: stops when the up ends, or after 5000 requests.
    const poll = (async () => {
      while (!done && requests < 5000) {
        for (const url of urls) {
          requests += 1;
          const body = await httpGet(url).then(
            (reply) => reply.body,
            // fetch's message is only "fetch failed"; the cause says refused, reset or timed out.
            (error: Error & { cause?: { code?: string } }) => `${error.message} (${error.cause?.code ?? error.name})`,
          );
          if (body !== HELLO) failures.push(`${url}: ${body}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    writeConfig(STACK, stackConfig(3));
    let result: Awaited<ReturnType<Stack["up"]>>;
    try {
      result = await timed("up (2 -> 3 replicas)", timings, () => stack.up(RUN));
    } finally {
      done = true;
      await poll;
    }
    // Only the replica count changed, so Swarm must keep every running task and start no
    // rolling update: a task template that differs in any way (once, the env's order)
    // replaces them all. What became of a replaced task says why (an update, a failed healthcheck).
    const replaced = tasksBefore.flatMap(({ service, id }) => {
      const task = JSON.parse(docker("inspect", "--type", "task", id))[0];
      return task.DesiredState === "running" && task.Status.State === "running"
        ? []
        : [`${service} ${id}: ${task.Status.State}: ${task.Status.Err ?? task.Status.Message}`];
    });
    const updates = SERVICES.flatMap((service) => {
      const status = JSON.parse(docker("service", "inspect", service))[0].UpdateStatus;
      return status ? [`${service}: ${status.State}: ${status.Message}`] : [];
    });
    expect({ failures, replaced, updates }).toEqual({ failures: [], replaced: [], updates: [] });
    expect(requests).toBeGreaterThan(urls.length);
    services = result.outputs.services?.value;
    for (const name of SERVICES) {
      const service = services[name] as ServiceOutput;
      expect([name, service.replicas]).toEqual([name, { desired: 3, running: 3 }]);
      expect(new Set(service.tasks.map((task) => task.node)).size).toBe(3);
      for (const url of service.urls) {
        expect([url, (await httpGet(url)).body]).toEqual([url, HELLO]);
      }
    }
  });

  it("previews nothing to do on the converged stack, and a clean up and preview print no warning", async () => {
    // expectNoChanges makes the CLI itself fail on any change.
    const preview = await timed("preview (converged)", timings, () => stack.preview({ ...RUN, expectNoChanges: true }));
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
    expect(preview.changeSummary.same).toBeGreaterThan(await resourceCount(stack));
    expect(noise(firstUpOutput)).toEqual([]);
    expect(noise(`${preview.stdout}\n${preview.stderr}`)).toEqual([]);
  });

  it("refreshes and then previews no change: no service is replaced for what Swarm reports of its own networks", async () => {
    // Heal refreshes a stack whose engine lost something; that refresh must not make the next up replace services.
    const refresh = await timed("refresh", timings, () => stack.refresh({ color: "never" }));
    expect(refresh.summary.result).toBe("succeeded");
    const preview = await timed("preview (after refresh)", timings, () =>
      stack.preview({ ...RUN, expectNoChanges: true }),
    );
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  });

  it("fails up naming a registry that refuses the push, before any service changes; the next up converges", async () => {
    const before = serviceImages();
    const updatedAt = Object.fromEntries(
      SERVICES.map((service) => [service, docker("service", "inspect", "--format", "{{.UpdatedAt}}", service)]),
    );
    const message = await upWithRefusingRegistry(stack, stackConfig(3), timings);
    expect(message).toContain("127.0.0.1:1");
    expect(message).toMatch(/connection refused/);
    expect(serviceImages()).toEqual(before);
    expect(
      Object.fromEntries(
        SERVICES.map((service) => [service, docker("service", "inspect", "--format", "{{.UpdatedAt}}", service)]),
      ),
    ).toEqual(updatedAt);
    // The swarm's own registry is still there, and the next up needs no change to any service.
    expect(dockerLines("service", "ls", "--filter", `name=${REGISTRY_SERVICE}`, "--format", "{{.Name}}")).toEqual([
      REGISTRY_SERVICE,
    ]);
    const result = await timed("up (registry restored)", timings, () => stack.up(RUN));
    expect(result.summary.result).toBe("succeeded");
    expect(serviceImages()).toEqual(before);
  });

  it("an up SIGKILLed after its services exist, its checkpoints skipped: the next npm run up removes them and converges", async () => {
    await timed("destroy (before the killed up)", timings, () => stack.destroy({ color: "never" }));
    // The npm commands write the state only at the end of a run (PULUMI_SKIP_CHECKPOINTS),
    // so a killed run leaves everything it made unknown to the state. Its own process
    // group, killed whole: pulumi, its plugins and the program go at once, as with kill -9 of a session.
    const up = spawn("bash", ["scripts/pulumi.sh", "up", "--yes", "--skip-preview"], {
      cwd: REPO_ROOT,
      env: { ...process.env, FB_STACK: STACK, PULUMI_SKIP_CHECKPOINTS: "true" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const killed = finished(up);
    const all = [REGISTRY_SERVICE, ...SERVICES].sort();
    const created = await timed("killed up: until its 4 services exist", timings, () =>
      eventually(5 * 60_000, () => labelledServices(STACK).length === all.length),
    );
    process.kill(-(up.pid as number), "SIGKILL");
    const { output: killedOutput } = await killed;
    expect([created, labelledServices(STACK)]).toEqual([true, all]);
    // Nothing of that run in the state: every service, the overlay and the volume are orphans.
    if ((await resourceCount(stack)) !== 0) throw new Error(`the killed up recorded resources:\n${killedOutput}`);

    const next = await timed("killed up → npm run up", timings, () => npmRun("up"));
    if (next.code !== 0) process.stdout.write(next.output);
    expect(next.code).toBe(0);
    const said = healLines(next.output);
    expect(said).toEqual([
      expect.stringMatching(/^removed the lock of pulumi pid \d+ .*which is gone: a killed run left it$/),
      expect.stringMatching(/^removed 4 services the state does not know: /),
      `removed 1 network the state does not know: ${OVERLAY}`,
      `removed 1 volume the state does not know: ${REGISTRY_VOLUME}`,
    ]);
    expect((said[1] ?? "").replace(/^.*: /, "").split(", ").sort()).toEqual(all);
    process.stdout.write(`\nheal after the killed swarm up:\n${said.join("\n")}\n`);
    expect(labelledServices(STACK)).toEqual(all);
    services = (await stack.outputs()).services?.value;
    for (const name of SERVICES) {
      expect([name, services[name]?.replicas]).toEqual([name, { desired: 3, running: 3 }]);
    }
    // Converged: the heal step says nothing, and Pulumi plans no change.
    const preview = await timed("preview (healed)", timings, () => npmRun("preview"));
    expect([preview.code, healLines(preview.output)]).toEqual([0, []]);
    expect(preview.output).toMatch(/Resources:\n\s+\d+ unchanged\s*$/);
  });

  it("destroys every service, network and container, on every node", async () => {
    await timed("destroy", timings, () => stack.destroy({ color: "never" }));
    expect(await resourceCount(stack)).toBe(0);
    expect(labelledServices(STACK)).toEqual([]);
    const gone = await eventually(60_000, () => {
      const here = labelled(STACK);
      const onWorkers = clusterWorkers().flatMap((node) =>
        dockerLines("exec", node, "docker", "ps", "-a", "-q", "--filter", `label=flask-bridge.stack=${STACK}`),
      );
      return here.containers.length === 0 && here.networks.length === 0 && onWorkers.length === 0;
    });
    expect([gone, labelled(STACK).containers, labelled(STACK).networks]).toEqual([true, [], []]);
    expect(dockerLines("network", "ls", "--filter", `name=^${OVERLAY}$`, "--format", "{{.Name}}")).toEqual([]);
    // The registry and its storage go too, and the engine keeps no copy of the pushed image.
    expect(dockerLines("service", "ls", "--filter", `name=${REGISTRY_SERVICE}`, "-q")).toEqual([]);
    expect(labelledVolumes()).toEqual([]);
    expect(dockerLines("image", "ls", "-q", REPOSITORY)).toEqual([]);
    // The refused registry's build too, which no resource held.
    expect(labelled(STACK).images).toEqual([]);
  });

  it("leaves no node behind after cluster:down, when the suite started the cluster", async () => {
    if (workersBefore.length > 0) {
      // Someone else's cluster: it stays exactly as the suite found it.
      expect(clusterWorkers()).toEqual(workersBefore);
      return;
    }
    await timed("cluster:down", timings, async () => clusterScript("down"));
    expect(clusterWorkers()).toEqual([]);
    expect(dockerLines("ps", "-a", "--filter", "label=flask-bridge.cluster=node", "-q")).toEqual([]);
    // The swarm is left only if cluster:up initialised it, and its gateway bridge with it.
    expect(docker("info", "--format", "{{.Swarm.LocalNodeState}}")).toBe(swarmBefore);
    if (swarmBefore === "inactive") {
      expect(dockerLines("network", "ls", "--filter", "name=^docker_gwbridge$", "-q")).toEqual([]);
    }
  });
});
