import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";
import type { ServiceOutput } from "../plan/outputs";
import type { EndpointMode, HealthcheckPlan, PublishMode, ServicePlan } from "../plan/plan";
import { probeCommand } from "../probes/command";
import type { SwarmReport } from "../probes/swarm";
import { toLabelList } from "./labels";

export interface SwarmServiceArgs {
  plan: ServicePlan;
  publishMode: PublishMode;
  endpointMode: EndpointMode;
  /** <repository>@sha256:<digest> once pushed (SwarmImage.reference): every node pulls this very build. */
  image: pulumi.Input<string>;
  /** The registry login, handed to every node for its pull (`--with-registry-auth`); none for an open registry. */
  auth?: { serverAddress: string; username: string; password: pulumi.Input<string> };
  /** The overlay's name and ID outputs, for "custom" services: they wait for it and find their VIP on it. */
  overlay?: { name: pulumi.Input<string>; id: pulumi.Input<string> };
  healthcheck: HealthcheckPlan;
  labels: Readonly<Record<string, string>>;
  /** The stack's engine, a swarm manager: the probe asks its API about nodes and tasks. */
  engine: Engine;
  /** The platform the image is built for, e.g. "linux/amd64". */
  platform: string;
}

/** src/probes/swarm.ts, as the command runs it: waits until the service runs its replicas and every URL answers. */
export const SWARM_PROBE = probeCommand("swarm");

/**
 * How long up waits for a service: longer than a container's wait, and
 * growing with the replicas, since a rollout replaces one task at a time
 * (parallelism 1). On the project's emulated VMs one task starts in 10-30 s
 * alone, but took up to about 150 s while two services rolled at once on a
 * busy host: a fixed 420 s cut 2 of 5 rebuilds of 3 replicas short.
 */
export function swarmReadyTimeoutSeconds(replicas: number): number {
  return 300 + 120 * replicas;
}

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

/** "linux/amd64" (or "linux/arm/v7") as a service's placement platform. */
export function imagePlatform(platform: string): { os: string; architecture: string } {
  const [os = "", architecture = ""] = platform.split("/");
  return { os, architecture };
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
        ...(args.auth ? { auth: { ...args.auth, password: pulumi.secret(args.auth.password) } } : {}),
        mode: { replicated: { replicas: plan.replicas } },
        taskSpec: {
          containerSpec: {
            image: args.image,
            // uWSGI behind a drain after SIGTERM (app/drain.sh): no refused request while a
            // slow node's routing mesh still sends new connections to a task being stopped.
            commands: ["bash", "/app/drain.sh", String(plan.drainSeconds)],
            env: providerEnv(plan.env),
            healthcheck: { ...healthcheck, tests: [...healthcheck.tests] },
            labels: toLabelList({ ...args.labels, "flask-bridge.network-kind": plan.kind }),
            // As hardened as FlaskContainers, minus what Swarm 20.10 lacks: no-new-privileges
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
          // By ID (the provider's deprecated `name` warns on every run); Swarm's own
          // "bridge" and "host" go by name, which Docker takes as an ID too.
          networksAdvanceds: [{ id: plan.kind === "custom" && args.overlay ? args.overlay.id : plan.network }],
          // The image's platform, as the docker client writes it when it resolves the
          // digest: left out, a refresh would read it back and the next up update every task.
          placement: {
            platforms: [imagePlatform(args.platform)],
            ...(plan.maxReplicasPerNode === null ? {} : { maxReplicas: plan.maxReplicasPerNode }),
          },
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
      // A replacement must free the service's name before the new one takes it. Swarm
      // reports its own "bridge" and "host" by IDs of its own that no API lists, so a
      // refresh would read back an ID the program cannot name and replace the service.
      {
        parent: this,
        deleteBeforeReplace: true,
        ignoreChanges: plan.kind === "custom" ? [] : ["taskSpec.networksAdvanceds"],
      },
    );

    // Ingress: every node answers, tasks or not (the routing mesh).
    const mesh = args.publishMode === "ingress" && plan.publish !== null;
    const probe = new command.local.Command(
      `${name}-probe`,
      {
        create: SWARM_PROBE.create,
        dir: SWARM_PROBE.dir,
        environment: {
          ...dockerEnv(args.engine),
          SERVICE: service.name,
          REPLICAS: String(plan.replicas),
          PORT: String(plan.hostPort),
          NETWORK_ID: args.overlay?.id ?? "",
          MESH: String(mesh),
          PROBE_TIMEOUT_SECONDS: String(swarmReadyTimeoutSeconds(plan.replicas)),
        },
        // Runs again whenever the service's spec may change, so up waits for every rollout, and after an edit to the probe.
        triggers: [
          service.id,
          args.image,
          JSON.stringify({ plan, healthcheck, publishMode: args.publishMode, endpointMode: args.endpointMode }),
          SWARM_PROBE.sha256,
        ],
      },
      { parent: this, dependsOn: [service] },
    );

    this.serviceName = service.name;
    this.serviceId = service.id;
    this.output = probe.stdout.apply((stdout) => {
      const seen = JSON.parse(stdout) as SwarmReport;
      return { network: plan.network, dnsName: plan.serviceName, ...seen };
    });
    this.registerOutputs({ serviceName: this.serviceName, serviceId: this.serviceId, output: this.output });
  }
}
