import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type BridgeNetworkArgs, networkOutputs } from "./BridgeNetwork";
import { toLabelList } from "./labels";

/** The same settings as the tutorial's bridge; null subnet: Swarm picks one from its address pool. */
export type OverlayNetworkArgs = BridgeNetworkArgs;

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

    ({
      networkName: this.networkName,
      networkId: this.networkId,
      subnet: this.subnet,
      gateway: this.gateway,
    } = networkOutputs(network));
    this.registerOutputs({
      networkName: this.networkName,
      networkId: this.networkId,
      subnet: this.subnet,
      gateway: this.gateway,
    });
  }
}
