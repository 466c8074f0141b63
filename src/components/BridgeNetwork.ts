import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toLabelList } from "./labels";

export interface BridgeNetworkArgs {
  networkName: string;
  /** null: Docker picks a free subnet, as `docker network create` does. */
  subnet: string | null;
  gateway: string | null;
  labels: Readonly<Record<string, string>>;
}

/** The tutorial's `docker network create my-bridge-network`. */
export class BridgeNetwork extends pulumi.ComponentResource {
  public readonly networkName: pulumi.Output<string>;
  public readonly networkId: pulumi.Output<string>;
  public readonly subnet: pulumi.Output<string | null>;
  public readonly gateway: pulumi.Output<string | null>;

  constructor(name: string, args: BridgeNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:network:BridgeNetwork", name, {}, opts);

    const network = new docker.Network(
      `${name}-bridge`,
      {
        name: args.networkName,
        driver: "bridge",
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

/** Name, ID and the subnet and gateway Docker chose (or was given): shared with OverlayNetwork. */
export function networkOutputs(network: docker.Network) {
  const ipam = network.ipamConfigs.apply((configs) => configs?.[0]);
  return {
    networkName: network.name,
    networkId: network.id,
    subnet: ipam.apply((config) => config?.subnet ?? null),
    gateway: ipam.apply((config) => config?.gateway ?? null),
  };
}
