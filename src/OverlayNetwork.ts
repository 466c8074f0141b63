import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toLabelList } from "./labels";

export interface OverlayNetworkArgs {
  networkName: string;
  /** null: Swarm picks a subnet from its address pool. */
  subnet: string | null;
  gateway: string | null;
  labels: Readonly<Record<string, string>>;
}

/**
 * Swarm mode's my-bridge-network: one overlay spanning every node, so tasks on
 * different nodes reach each other by service and task name (VXLAN between nodes).
 */
export class OverlayNetwork extends pulumi.ComponentResource {
  public readonly networkName: pulumi.Output<string>;
  public readonly networkId: pulumi.Output<string>;
  public readonly subnet: pulumi.Output<string | null>;
  public readonly gateway: pulumi.Output<string | null>;

  constructor(name: string, args: OverlayNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:network:OverlayNetwork", name, {}, opts);

    const network = new docker.Network(
      `${name}-overlay`,
      {
        name: args.networkName,
        driver: "overlay",
        // Plain containers (and tests) may join it too, as with the tutorial's bridge.
        attachable: true,
        ipamConfigs: args.subnet === null ? undefined : [{ subnet: args.subnet, gateway: args.gateway ?? undefined }],
        labels: toLabelList(args.labels),
      },
      { parent: this },
    );

    const ipam = network.ipamConfigs.apply((configs) => configs?.[0]);
    this.networkName = network.name;
    this.networkId = network.id;
    this.subnet = ipam.apply((config) => config?.subnet ?? null);
    this.gateway = ipam.apply((config) => config?.gateway ?? null);
    this.registerOutputs({
      networkName: this.networkName,
      networkId: this.networkId,
      subnet: this.subnet,
      gateway: this.gateway,
    });
  }
}
