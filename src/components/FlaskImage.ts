import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Engine } from "../plan/engine";
import { imageRemover } from "./imageRemover";

export interface FlaskImageArgs {
  /** Tag for the built image, e.g. "flask-hello-world". */
  imageName: string;
  /** Directory holding the Dockerfile, relative to the project. */
  context: string;
  baseImage: string;
  /** The engine's platform, e.g. "linux/amd64". */
  platform: string;
  stack: string;
  /** Leave the image in the engine on `destroy`. */
  keepOnDestroy: boolean;
  /** The engine the image is built on: its remover runs `docker` there and nowhere else. */
  engine: Engine;
}

/** The tutorial's `docker build -t flask-hello-world .`, removed again on destroy. */
export class FlaskImage extends pulumi.ComponentResource {
  public readonly imageName: pulumi.Output<string>;
  /** The local image ID: unique per build, so containers follow every change in app/. */
  public readonly repoDigest: pulumi.Output<string>;

  constructor(name: string, args: FlaskImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:image:FlaskImage", name, {}, opts);

    // Declared first, and the build depends on it: destroy runs it last.
    const remover = args.keepOnDestroy
      ? undefined
      : imageRemover(
          `${name}-remove-on-destroy`,
          { image: args.imageName, stack: args.stack, mode: "untagged", engine: args.engine },
          this,
        );

    const image = new docker.Image(
      `${name}-build`,
      {
        imageName: args.imageName,
        build: {
          context: args.context,
          dockerfile: `${args.context}/Dockerfile`,
          args: { BASE_IMAGE: args.baseImage, STACK: args.stack },
          platform: args.platform,
        },
        skipPush: true,
      },
      { parent: this, dependsOn: remover ? [remover] : [] },
    );

    this.imageName = image.imageName;
    this.repoDigest = image.repoDigest;
    this.registerOutputs({ imageName: this.imageName, repoDigest: this.repoDigest });
  }
}
