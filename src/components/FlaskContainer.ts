import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ContainerOutput } from "../plan/outputs";
import type { ContainerPlan, HealthcheckPlan } from "../plan/plan";
import { toLabelList } from "./labels";
import type { ProbeTarget } from "./ReadinessProbe";

export interface FlaskContainerArgs {
  plan: ContainerPlan;
  /** Image ID from FlaskImage.repoDigest. */
  image: pulumi.Input<string>;
  /** The custom network's name output, so the container waits for the network. */
  customNetwork?: pulumi.Input<string>;
  healthcheck: HealthcheckPlan;
  labels: Readonly<Record<string, string>>;
}

/** One `docker run -d ... flask-hello-world` of the tutorial, hardened. ReadinessProbe waits until it answers. */
export class FlaskContainer extends pulumi.ComponentResource {
  public readonly dockerName: pulumi.Output<string>;
  public readonly containerId: pulumi.Output<string>;
  public readonly ip: pulumi.Output<string | null>;
  public readonly gateway: pulumi.Output<string | null>;
  public readonly output: pulumi.Output<ContainerOutput>;
  /** What ReadinessProbe needs to wait for this one. */
  public readonly probeTarget: ProbeTarget;

  constructor(name: string, args: FlaskContainerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:container:FlaskContainer", name, {}, opts);
    const { plan, healthcheck } = args;

    const container = new docker.Container(
      `${name}-container`,
      {
        name: plan.dockerName,
        image: args.image,
        // "bridge" is stated, not left to the default: older providers diff forever otherwise
        // (kreuzwerker/terraform-provider-docker#603). Custom containers join via networksAdvanced.
        networkMode: plan.kind === "custom" ? undefined : plan.network,
        networksAdvanced: plan.kind === "custom" ? [{ name: args.customNetwork ?? plan.network }] : undefined,
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
      // A replacement must free its name and host port before the new one starts.
      { parent: this, deleteBeforeReplace: true },
    );

    const attachment = container.networkDatas.apply((datas) =>
      plan.kind === "bridge" || plan.kind === "custom"
        ? datas?.find((data) => data.networkName === plan.network)
        : undefined,
    );

    this.dockerName = container.name;
    this.containerId = container.id;
    this.probeTarget = { dockerName: plan.dockerName, url: plan.probeUrl, containerId: container.id };
    this.ip = attachment.apply((data) => data?.ipAddress ?? null);
    this.gateway = attachment.apply((data) => data?.gateway ?? null);
    this.output = pulumi.all([this.ip, this.gateway]).apply(([ip, gateway]) => ({
      network: plan.network,
      ip,
      gateway,
      hostPort: plan.hostPort,
      url: plan.url,
    }));
    this.registerOutputs({
      dockerName: this.dockerName,
      containerId: this.containerId,
      ip: this.ip,
      gateway: this.gateway,
    });
  }
}
