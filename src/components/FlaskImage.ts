import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";

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

    // docker.Image never deletes what it built (pulumi-docker#588). The remover
    // comes first and the build depends on it, so destroy runs it last: after
    // the containers (which depend on the build) are gone.
    const remover = args.keepOnDestroy
      ? undefined
      : new command.local.Command(
          `${name}-remove-on-destroy`,
          {
            // Earlier builds of this stack (app/ changed, then changed back) are left
            // untagged; prune takes those, and only those, by the stack's label.
            delete: [
              '(docker image rm "$IMAGE" >/dev/null 2>&1 || ! docker image inspect "$IMAGE" >/dev/null 2>&1)',
              'docker image prune --force --filter "label=flask-bridge.project=flask-bridge" --filter "label=flask-bridge.stack=$STACK" >/dev/null',
            ].join(" && "),
            environment: { ...dockerEnv(args.engine), IMAGE: args.imageName, STACK: args.stack },
          },
          { parent: this },
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
