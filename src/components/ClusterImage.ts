import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

export interface ClusterImageArgs {
  imageName: string;
  /** Image ID from FlaskImage.repoDigest: a new build copies again. */
  imageId: pulumi.Input<string>;
}

/**
 * Puts the built image on every worker of the local cluster (scripts/cluster.sh
 * load: docker save | docker load, which keeps the image ID the services pin).
 * The build is never pushed, so on a cluster of real machines the image must
 * reach each node some other way (a registry); there this finds no workers.
 */
export class ClusterImage extends pulumi.ComponentResource {
  /** The image ID, once every node has it. */
  public readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: ClusterImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:image:ClusterImage", name, {}, opts);

    const copy = new command.local.Command(
      `${name}-copy`,
      {
        create: 'bash scripts/cluster.sh load "$IMAGE"',
        environment: { IMAGE: args.imageName },
        triggers: [args.imageId],
      },
      { parent: this },
    );

    this.imageId = pulumi.all([args.imageId, copy.stdout]).apply(([id]) => id);
    this.registerOutputs({ imageId: this.imageId });
  }
}
