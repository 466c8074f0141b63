import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";
import type { BuiltInRegistryPlan } from "../plan/plan";
import { type ProbeCommand, sourceHash } from "../probes/command";
import { PROJECT_DIR } from "../projectDir";
import { toLabelList } from "./labels";

export interface SwarmRegistryArgs {
  plan: BuiltInRegistryPlan;
  labels: Readonly<Record<string, string>>;
  /** The stack's engine: every command gets its environment, though this probe asks no docker. */
  engine: Engine;
}

/** src/probes/registry.ts, as the command runs it: waits until the registry answers. */
export const REGISTRY_PROBE: ProbeCommand = {
  create: "node --require tsx/cjs src/probes/registry.ts",
  dir: PROJECT_DIR,
  sha256: sourceHash("src/probes/registry.ts"),
};

/** A registry task starts in seconds; an emulated VM may first need a minute to schedule it. */
export const REGISTRY_READY_TIMEOUT_SECONDS = 180;

/** Where the registry listens inside its container, in the official image and in setup's stand-in alike. */
const REGISTRY_CONTAINER_PORT = 5000;
/** Where the registry keeps its blobs, in both alike. */
const STORAGE = "/var/lib/registry";

/**
 * The swarm's own registry, as in Docker's swarm tutorial (`docker service
 * create --name registry --publish published=5000,target=5000 registry:2`):
 * one task on the engine's node, beside its storage volume, published on
 * port 5000 so that each node's daemon pulls from 127.0.0.1:5000. With
 * ingress publishing the routing mesh carries that to the registry from every
 * node; with host publishing only its own node answers there, and the other
 * nodes must reach it some other way (our dind workers: scripts/cluster.sh).
 * destroy removes the service, then its volume and everything pushed.
 */
export class SwarmRegistry extends pulumi.ComponentResource {
  public readonly serviceName: pulumi.Output<string>;
  public readonly volumeName: pulumi.Output<string>;
  /** The URL that answered, once the registry did: what the push waits for. */
  public readonly ready: pulumi.Output<string>;

  constructor(name: string, args: SwarmRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:registry:SwarmRegistry", name, {}, opts);
    const { plan } = args;
    const labels = toLabelList(args.labels);

    const volume = new docker.Volume(`${name}-volume`, { name: plan.volumeName, labels }, { parent: this });

    const service = new docker.Service(
      `${name}-service`,
      {
        name: plan.serviceName,
        labels,
        mode: { replicated: { replicas: 1 } },
        taskSpec: {
          containerSpec: {
            image: plan.image,
            // wget: busybox's in the official image, Debian's in setup's stand-in.
            // 30 s, as the app's tasks (SWARM_HEALTHCHECK): on an emulated VM a 5 s check
            // timed out while the push and the tasks' start loaded it, and Swarm killed the
            // registry the workers were about to pull from.
            healthcheck: {
              tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${REGISTRY_CONTAINER_PORT}/v2/`],
              interval: "10s",
              timeout: "30s",
              startPeriod: "30s",
              retries: 3,
            },
            labels: toLabelList({ ...args.labels, "flask-bridge.role": "registry" }),
            // It writes only to its volume; port 5000 needs no capability.
            readOnly: true,
            capDrops: ["ALL"],
            mounts: [
              { type: "volume", source: volume.name, target: STORAGE },
              { type: "tmpfs", target: "/tmp", tmpfsOptions: { sizeBytes: 16 * 1024 * 1024 } },
            ],
            stopGracePeriod: "30s",
            sysctl: {},
          },
          // Host publishing goes through the node's own bridge, as the bridge services do.
          networksAdvanceds: plan.publishMode === "host" ? [{ id: "bridge" }] : undefined,
          placement: { constraints: [`node.id==${plan.nodeId}`] },
          restartPolicy: { condition: "any", delay: "1s", maxAttempts: 0, window: "0s" },
        },
        endpointSpec: {
          // The mesh balances over a virtual IP; host publishing needs none (and no IPVS).
          mode: plan.publishMode === "ingress" ? "vip" : "dnsrr",
          ports: [
            {
              targetPort: REGISTRY_CONTAINER_PORT,
              publishedPort: plan.port,
              publishMode: plan.publishMode,
              protocol: "tcp",
            },
          ],
        },
      },
      // A replacement must free the service's name and port before the new one takes them.
      // Swarm reports its "bridge" by an ID of its own (SwarmService.ts says why it is ignored).
      { parent: this, dependsOn: [volume], deleteBeforeReplace: true, ignoreChanges: ["taskSpec.networksAdvanceds"] },
    );

    const probe = new command.local.Command(
      `${name}-probe`,
      {
        create: REGISTRY_PROBE.create,
        dir: REGISTRY_PROBE.dir,
        environment: {
          ...dockerEnv(args.engine),
          REGISTRY_URL: plan.probeUrl,
          SERVICE: plan.serviceName,
          PROBE_TIMEOUT_SECONDS: String(REGISTRY_READY_TIMEOUT_SECONDS),
        },
        triggers: [service.id, JSON.stringify(plan), REGISTRY_PROBE.sha256],
      },
      { parent: this, dependsOn: [service] },
    );

    this.serviceName = service.name;
    this.volumeName = volume.name;
    this.ready = pulumi.all([service.name, probe.stdout]).apply(([, stdout]) => stdout.trim());
    this.registerOutputs({ serviceName: this.serviceName, volumeName: this.volumeName, ready: this.ready });
  }
}
