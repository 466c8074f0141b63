import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerOutput } from "../plan/outputs";
import type { ContainerPlan, HealthcheckPlan } from "../plan/plan";
import { toLabelList } from "./labels";
import type { ProbeTarget } from "./ReadinessProbe";

export interface FlaskContainersArgs {
  /** One entry per `docker run` of the tutorial, in the plan's order. */
  containers: readonly ContainerPlan[];
  /** Image ID from FlaskImage.repoDigest. */
  image: pulumi.Input<string>;
  /** The custom network's name output, so its containers wait for the network. */
  customNetwork: pulumi.Input<string>;
  healthcheck: HealthcheckPlan;
  labels: Readonly<Record<string, string>>;
}

/**
 * The type of the component each container had of its own until the containers
 * became one component's children. As an alias (by way of that parent's URN)
 * it keeps an existing stack's containers where they are.
 */
export const FORMER_PARENT_TYPE = "flask-bridge:container:FlaskContainer";

/**
 * The tutorial's `docker run -d ... flask-hello-world`s, hardened. One
 * component for all of them, not one each: every resource costs the engine a
 * step and a state write, and at 64 containers a component per container was
 * half the stack. ReadinessProbe waits until they answer.
 */
export class FlaskContainers extends pulumi.ComponentResource {
  /** Per Docker name, as the stack exports it. */
  public readonly outputs: pulumi.Output<Record<string, ContainerOutput>>;
  /** What ReadinessProbe needs to wait for each one. */
  public readonly probeTargets: readonly ProbeTarget[];

  constructor(name: string, args: FlaskContainersArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:container:FlaskContainers", name, {}, opts);
    const { healthcheck } = args;

    const containers = args.containers.map(
      (plan) =>
        new docker.Container(
          `${plan.key}-container`,
          {
            name: plan.dockerName,
            image: args.image,
            // "bridge" is stated, not left to the default: older providers diff forever otherwise
            // (kreuzwerker/terraform-provider-docker#603). Custom containers join via networksAdvanced.
            networkMode: plan.kind === "custom" ? undefined : plan.network,
            networksAdvanced: plan.kind === "custom" ? [{ name: args.customNetwork }] : undefined,
            // Host and none containers get no ports at all: Docker drops them, and the provider
            // would then replace the container on every run.
            ports: plan.publish
              ? [
                  {
                    internal: plan.publish.containerPort,
                    external: plan.publish.hostPort,
                    ip: plan.publish.hostIp,
                    protocol: "tcp",
                  },
                ]
              : undefined,
            envs: [...plan.env],
            healthcheck: { ...healthcheck, tests: [...healthcheck.tests] },
            // ReadinessProbe is the readiness gate.
            wait: false,
            restart: "unless-stopped",
            // The official provider kills at once (timeout 0) unless told otherwise;
            // SIGTERM lets uWSGI finish its requests (it exits in ~0.3 s).
            destroyGraceSeconds: 10,
            mustRun: true,
            labels: toLabelList({ ...args.labels, "flask-bridge.network-kind": plan.kind }),
            // Least privilege: the app writes nothing; /tmp is a small tmpfs for scratch.
            user: "10001:10001",
            readOnly: true,
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
            capabilities: { drops: ["ALL"] },
            securityOpts: ["no-new-privileges:true"],
            privileged: false,
          },
          {
            parent: this,
            aliases: [{ parent: pulumi.createUrn(plan.key, FORMER_PARENT_TYPE) }],
            // A replacement must free its name and host port before the new one starts.
            deleteBeforeReplace: true,
          },
        ),
    );

    this.probeTargets = args.containers.map((plan, index) => ({
      dockerName: plan.dockerName,
      url: plan.probeUrl,
      containerId: (containers[index] as docker.Container).id,
    }));
    this.outputs = pulumi.all(containers.map((container) => container.networkDatas)).apply((allDatas) =>
      Object.fromEntries(
        args.containers.map((plan, index) => {
          const attached =
            plan.kind === "bridge" || plan.kind === "custom"
              ? allDatas[index]?.find((data) => data.networkName === plan.network)
              : undefined;
          const output: ContainerOutput = {
            network: plan.network,
            ip: attached?.ipAddress ?? null,
            gateway: attached?.gateway ?? null,
            hostPort: plan.hostPort,
            url: plan.url,
          };
          return [plan.dockerName, output];
        }),
      ),
    );
    this.registerOutputs({ outputs: this.outputs });
  }
}
