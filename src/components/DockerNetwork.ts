import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { toLabelList } from "./labels";

export type NetworkDriver = "bridge" | "overlay";

export interface DockerNetworkArgs {
  networkName: string;
  /** bridge: one engine's network, the tutorial's; overlay: one network spanning every node of a swarm. */
  driver: NetworkDriver;
  /** Lets plain containers (and tests) join an overlay too, as they join the tutorial's bridge. */
  attachable?: boolean;
  /** null: Docker picks a free subnet (an overlay's comes from Swarm's address pool). */
  subnet: string | null;
  gateway: string | null;
  labels: Readonly<Record<string, string>>;
}

/**
 * The type each driver's network had when it was a component of its own. As
 * aliases they keep an existing stack's network (and, through its parent, the
 * docker.Network under it) where it is instead of replacing it.
 */
export const FORMER_TYPES: Readonly<Record<NetworkDriver, string>> = {
  bridge: "flask-bridge:network:BridgeNetwork",
  overlay: "flask-bridge:network:OverlayNetwork",
};

/**
 * The tutorial's `docker network create my-bridge-network`, and in swarm mode
 * the overlay of the same name, so tasks on different nodes reach each other by
 * service and task name (VXLAN between nodes).
 */
export class DockerNetwork extends pulumi.ComponentResource {
  public readonly networkName: pulumi.Output<string>;
  public readonly networkId: pulumi.Output<string>;
  public readonly subnet: pulumi.Output<string | null>;
  public readonly gateway: pulumi.Output<string | null>;

  constructor(name: string, args: DockerNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(
      "flask-bridge:network:DockerNetwork",
      name,
      {},
      {
        ...opts,
        aliases: [...(opts?.aliases ?? []), { type: FORMER_TYPES[args.driver] }],
      },
    );

    // The child's name keeps the driver as it did, e.g. network-bridge, overlay-overlay.
    const network = new docker.Network(
      `${name}-${args.driver}`,
      {
        name: args.networkName,
        driver: args.driver,
        attachable: args.attachable,
        ipamConfigs: args.subnet === null ? undefined : [{ subnet: args.subnet, gateway: args.gateway ?? undefined }],
        labels: toLabelList(args.labels),
      },
      { parent: this },
    );

    // Docker's choice when the args left subnet and gateway to it.
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
