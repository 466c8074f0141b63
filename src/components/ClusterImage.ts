import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";

export interface ClusterImageArgs {
  imageName: string;
  /** Image ID from FlaskImage.repoDigest: a new build copies again. */
  imageId: pulumi.Input<string>;
  /** The swarm's manager, where the image was built. */
  engine: Engine;
}

/**
 * Puts the built image on every other node of the project's own cluster, with
 * no registry (scripts/cluster.sh load, which keeps the image ID the services
 * pin), and takes it off them again on destroy. The build runs on the engine of
 * DOCKER_HOST, the manager: dockerd-in-container workers get a `docker save |
 * docker load` from it; VMs (DOCKER_HOST is their manager) get only the image's
 * own layers, as every VM has the base image from its disk. On other clusters
 * of real machines it finds no nodes of its own, and the image must reach them
 * some other way (a registry).
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
        // By ID: after a rebuild the name is the new copy's, and the old one goes.
        // The services go first (they depend on this), then their tasks' containers.
        delete: 'bash scripts/cluster.sh unload "$IMAGE_ID"',
        environment: { ...dockerEnv(args.engine), IMAGE: args.imageName, IMAGE_ID: args.imageId },
        triggers: [args.imageId],
      },
      { parent: this },
    );

    this.imageId = pulumi.all([args.imageId, copy.stdout]).apply(([id]) => id);
    this.registerOutputs({ imageId: this.imageId });
  }
}
