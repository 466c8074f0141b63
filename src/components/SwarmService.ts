import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { EndpointMode, HealthcheckPlan, PublishMode, ServicePlan } from "../plan/plan";
import { toLabelList } from "./labels";

export interface SwarmServiceArgs {
  plan: ServicePlan;
  publishMode: PublishMode;
  endpointMode: EndpointMode;
  /** Image ID, once every node has it (ClusterImage.imageId). */
  image: pulumi.Input<string>;
  /** The overlay's name and ID outputs, for "custom" services: they wait for it and find their VIP on it. */
  overlay?: { name: pulumi.Input<string>; id: pulumi.Input<string> };
  healthcheck: HealthcheckPlan;
  labels: Readonly<Record<string, string>>;
}

/** One task of a service as the swarm placed it. */
export interface TaskOutput {
  /** <service>.<slot> */
  name: string;
  node: string;
  nodeAddress: string;
  /** Its address on the overlay; null for services not on it. */
  ip: string | null;
  state: string;
}

/** One machine of the swarm, with or without a task of the service. */
export interface NodeOutput {
  name: string;
  address: string;
  role: "manager" | "worker";
  /** active, pause or drain. */
  availability: string;
}

/** The stack-output shape for one service in swarm mode. */
export interface ServiceOutput {
  network: string;
  /** Resolves on the overlay: to the VIP (vip) or to the tasks in turn (dnsrr). */
  dnsName: string;
  vip: string | null;
  /** Ingress: one URL per Ready node, each answering (the routing mesh). Host publishing and host mode: one per node running a task. */
  urls: string[];
  replicas: { desired: number; running: number };
  tasks: TaskOutput[];
  /** Every Ready node of the swarm. */
  nodes: NodeOutput[];
}

/**
 * Waits until the service runs its replicas and every URL answers, then prints
 * what the swarm did as JSON. The readiness gate of `up`, like FlaskContainer's
 * probe; Docker's own health status only moves a task from starting to running.
 * It asks the engine of DOCKER_HOST, which may be a remote manager, and opens
 * each node's own address: with ingress every Ready node must answer, tasks or
 * not, so a node whose routing mesh is broken fails the up.
 */
export const SWARM_PROBE = `
const { execFileSync } = require("node:child_process");
const http = require("node:http");
const env = process.env;
const deadline = Date.now() + Number(env.PROBE_TIMEOUT_SECONDS) * 1000;
const docker = (...args) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
const inspect = (...args) => JSON.parse(docker(...args));
// A connection of its own each time (no keep-alive pool: a pooled socket to a
// task that went away stalled a probe), and a hard limit on the whole exchange.
const answers = (url) => new Promise((resolve) => {
  const request = http.get(url, { agent: false, timeout: 2000 }, (response) => {
    response.resume();
    response.on("end", () => resolve(response.statusCode === 200));
    response.on("error", () => resolve(false));
  });
  const limit = setTimeout(() => {
    request.destroy();
    resolve(false);
  }, 3000);
  request.on("close", () => clearTimeout(limit));
  request.on("timeout", () => request.destroy(new Error("timed out")));
  request.on("error", () => resolve(false));
});
// A manager may report 0.0.0.0 as its address; its manager address says where it listens.
const address = (node) =>
  node.Status.Addr && node.Status.Addr !== "0.0.0.0" ? node.Status.Addr : (node.ManagerStatus?.Addr ?? "").replace(/:[0-9]+$/, "");
function nodes() {
  return inspect("node", "inspect", ...docker("node", "ls", "-q").split("\\n").filter(Boolean)).map((node) => ({
    id: node.ID,
    ready: node.Status.State === "ready",
    output: {
      name: node.Description.Hostname,
      address: address(node),
      role: node.Spec.Role,
      availability: node.Spec.Availability,
    },
  }));
}
function tasks(byId) {
  const ids = docker("service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", env.SERVICE).split("\\n").filter(Boolean);
  if (ids.length === 0) return [];
  return inspect("inspect", "--type", "task", ...ids).map((task) => {
    const node = byId.get(task.NodeID)?.output ?? { name: task.NodeID, address: "" };
    const overlay = (task.NetworksAttachments ?? []).find((attachment) => attachment.Network.ID === env.NETWORK_ID);
    return {
      name: env.SERVICE + "." + task.Slot,
      node: node.name,
      nodeAddress: node.address,
      ip: overlay?.Addresses?.[0]?.split("/")[0] ?? null,
      state: task.Status.State,
    };
  }).sort((a, b) => a.name.localeCompare(b.name));
}
// Over ssh every docker call starts a docker CLI on the manager as well; on a
// small machine (the project's emulated VMs) polling each second starved the
// tasks' own healthchecks. So: fewer calls (the nodes once, the service only
// once its tasks run) and a slower pace there.
const pause = (env.DOCKER_HOST ?? "").startsWith("ssh://") ? 3000 : 1000;
(async () => {
  const desired = Number(env.REPLICAS);
  let last = "nothing yet";
  let all = null;
  for (;;) {
    try {
      all ??= nodes();
      let byId = new Map(all.map((node) => [node.id, node]));
      let placed = tasks(byId);
      if (placed.some((task) => task.nodeAddress === "")) {
        all = nodes();
        byId = new Map(all.map((node) => [node.id, node]));
        placed = tasks(byId);
      }
      const ready = all.filter((node) => node.ready).map((node) => node.output).sort((a, b) => a.name.localeCompare(b.name));
      const running = placed.filter((task) => task.state === "running");
      const addresses = env.MESH === "true" ? ready.map((node) => node.address) : running.map((task) => task.nodeAddress);
      const urls = [...new Set(addresses)].map((addr) => "http://" + addr + ":" + env.PORT).sort();
      last = running.length + "/" + desired + " running";
      if (running.length === desired) {
        const service = inspect("service", "inspect", env.SERVICE)[0];
        // A rolling update still replacing tasks is not done, even with every replica running.
        const rolling = ["updating", "rollback_started"].includes(service.UpdateStatus?.State);
        if (rolling) last = "update " + service.UpdateStatus.State;
        const answered = rolling ? [] : await Promise.all(urls.map(answers));
        if (answered.length > 0 && answered.every(Boolean)) {
          const vips = service.Endpoint.VirtualIPs ?? [];
          const vip = vips.find((entry) => entry.NetworkID === env.NETWORK_ID)?.Addr?.split("/")[0] ?? null;
          process.stdout.write(JSON.stringify({ vip, urls, replicas: { desired, running: running.length }, tasks: placed, nodes: ready }));
          return;
        }
        if (answered.length > 0) last += "; no answer from " + urls.filter((_, index) => !answered[index]).join(", ");
      }
    } catch (error) {
      last = String(error.message ?? error).split("\\n")[0];
      all = null;
    }
    if (Date.now() > deadline) {
      console.error("service " + env.SERVICE + " not ready after " + env.PROBE_TIMEOUT_SECONDS + " s: " + last);
      process.exit(1);
    }
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
})();`;

/**
 * How long up waits for a service. Longer than a container's wait: on real
 * machines a rollout places tasks one at a time across nodes, and on the
 * project's emulated VMs one task takes 10-30 s to start.
 */
export const SWARM_READY_TIMEOUT_SECONDS = 420;

/** The app's own default bind address (app/Dockerfile, app/healthcheck.sh). */
const APP_DEFAULT_HOST = "0.0.0.0";

/**
 * The task's environment as the docker provider gets it: at most one variable.
 * Swarm keeps a task's env as an ordered list and treats any change to it, the
 * order included, as a new task template, which replaces every running task.
 * The provider (terraform-provider-docker) builds that list by ranging over a
 * Go map, so in a random order on every create and update, and an update sends
 * the whole spec. With two variables, any update (a replica count alone) had
 * even odds per service of reordering them and rolling all its tasks; with
 * stop-first and host publishing, each node's port went down while its task
 * restarted. One variable has one order. HOST is left out when it is the app's
 * own default; a second variable is refused rather than left to roll tasks at
 * random.
 */
export function providerEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  const { HOST, ...rest } = env;
  const kept: Record<string, string> = HOST === undefined || HOST === APP_DEFAULT_HOST ? rest : { ...rest, HOST };
  const names = Object.keys(kept);
  if (names.length > 1) {
    throw new Error(
      `a Swarm service gets at most one environment variable here, not ${names.sort().join(", ")}: the docker provider sends them in a random order, and Swarm would restart every task on each update whose order differs`,
    );
  }
  return kept;
}

/** One of the tutorial's containers as a Swarm service: `replicas` hardened tasks, rolled one at a time. */
export class SwarmService extends pulumi.ComponentResource {
  public readonly serviceName: pulumi.Output<string>;
  public readonly serviceId: pulumi.Output<string>;
  public readonly output: pulumi.Output<ServiceOutput>;

  constructor(name: string, args: SwarmServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:service:SwarmService", name, {}, opts);
    const { plan, healthcheck } = args;
    // One task at a time; a task that fails within the monitor window rolls the update back.
    const update = { parallelism: 1, delay: "1s", order: plan.updateOrder, monitor: "5s" };

    const service = new docker.Service(
      `${name}-service`,
      {
        name: plan.serviceName,
        labels: toLabelList(args.labels),
        mode: { replicated: { replicas: plan.replicas } },
        taskSpec: {
          containerSpec: {
            image: args.image,
            env: providerEnv(plan.env),
            healthcheck: { ...healthcheck, tests: [...healthcheck.tests] },
            labels: toLabelList({ ...args.labels, "flask-bridge.network-kind": plan.kind }),
            // As hardened as FlaskContainer, minus what Swarm 20.10 lacks: no-new-privileges
            // (no such service option) and tmpfs noexec/nosuid (a tmpfs mount takes size and mode only).
            user: "10001:10001",
            readOnly: true,
            mounts: [{ type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16 * 1024 * 1024 } }],
            capDrops: ["ALL"],
            // Also the provider's budget, per task container, for waiting it out and removing
            // it on destroy: 10 s and 30 s ran out on emulated VMs. The app stops in 0.3 s, so
            // only a hung task waits this long. Written as the provider reads it back ("2m0s" would diff).
            stopGracePeriod: "2m",
            sysctl: {},
          },
          networksAdvanceds: [{ name: plan.kind === "custom" && args.overlay ? args.overlay.name : plan.network }],
          placement: plan.maxReplicasPerNode === null ? undefined : { maxReplicas: plan.maxReplicasPerNode },
          // Window and sysctl stated as the provider reads them back, or every preview diffs.
          restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
        },
        endpointSpec: {
          mode: args.endpointMode,
          ports: plan.publish
            ? [
                {
                  targetPort: plan.publish.targetPort,
                  publishedPort: plan.publish.publishedPort,
                  publishMode: args.publishMode,
                  protocol: "tcp",
                },
              ]
            : undefined,
        },
        updateConfig: { ...update, failureAction: "rollback" },
        rollbackConfig: { ...update, failureAction: "pause" },
      },
      { parent: this },
    );

    // Ingress: every node answers, tasks or not (the routing mesh).
    const mesh = args.publishMode === "ingress" && plan.publish !== null;
    const probe = new command.local.Command(
      `${name}-probe`,
      {
        create: SWARM_PROBE,
        interpreter: ["node", "-e"],
        environment: {
          SERVICE: service.name,
          REPLICAS: String(plan.replicas),
          PORT: String(plan.hostPort),
          NETWORK_ID: args.overlay?.id ?? "",
          MESH: String(mesh),
          PROBE_TIMEOUT_SECONDS: String(SWARM_READY_TIMEOUT_SECONDS),
        },
        // Runs again whenever the service's spec may change, so up waits for every rollout.
        triggers: [
          service.id,
          args.image,
          JSON.stringify({ plan, healthcheck, publishMode: args.publishMode, endpointMode: args.endpointMode }),
        ],
      },
      { parent: this, dependsOn: [service] },
    );

    this.serviceName = service.name;
    this.serviceId = service.id;
    this.output = probe.stdout.apply((stdout) => {
      const seen = JSON.parse(stdout) as Omit<ServiceOutput, "network" | "dnsName">;
      return { network: plan.network, dnsName: plan.serviceName, ...seen };
    });
    this.registerOutputs({ serviceName: this.serviceName, serviceId: this.serviceId, output: this.output });
  }
}
