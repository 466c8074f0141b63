import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Engine } from "../plan/engine";
import { imageRemover } from "./imageRemover";

export interface SwarmImageArgs {
  /** What is built and pushed, e.g. "127.0.0.1:5000/flask-hello-world" (RegistryPlan.repository). */
  repository: string;
  /** The registry's host[:port], for the login. */
  server: string;
  /** With password: the push logs in with these; without, the engine's machine's own docker login is used. */
  username: string | null;
  /** A secret. */
  password?: pulumi.Input<string>;
  /** Directory holding the Dockerfile, relative to the project. */
  context: string;
  baseImage: string;
  /** The engine's platform, e.g. "linux/amd64". */
  platform: string;
  stack: string;
  /** Leave the built image in the engine on `destroy`. */
  keepOnDestroy: boolean;
  /** The engine that builds and pushes: a manager of the swarm. */
  engine: Engine;
  /** What must be up before the push: the swarm's own registry. */
  registry?: pulumi.Resource;
}

/**
 * The tutorial's image for a swarm: built on the engine, pushed to the
 * registry every node pulls from, and known by the digest the push gave.
 * A push the registry refuses fails `up` here, before any service changes,
 * since every service takes its image from `reference`.
 */
export class SwarmImage extends pulumi.ComponentResource {
  /** <repository>@sha256:<digest>: what every service pins, so every task runs this very build. */
  public readonly reference: pulumi.Output<string>;
  /** sha256:<digest> of the pushed manifest. */
  public readonly digest: pulumi.Output<string>;

  constructor(name: string, args: SwarmImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:image:SwarmImage", name, {}, opts);

    // Declared first, and the build depends on it: destroy runs it last.
    // The pushed copy goes with the registry (or stays in the user's).
    const remover = args.keepOnDestroy
      ? undefined
      : imageRemover(
          `${name}-remove-on-destroy`,
          { image: args.repository, stack: args.stack, mode: "all", engine: args.engine },
          this,
        );

    const login =
      args.username === null || args.password === undefined
        ? { server: args.server }
        : { server: args.server, username: args.username, password: pulumi.secret(args.password) };
    const image = new docker.Image(
      `${name}-build`,
      {
        imageName: args.repository,
        build: {
          context: args.context,
          dockerfile: `${args.context}/Dockerfile`,
          args: { BASE_IMAGE: args.baseImage, STACK: args.stack },
          platform: args.platform,
        },
        skipPush: false,
        registry: login,
      },
      { parent: this, dependsOn: [...(remover ? [remover] : []), ...(args.registry ? [args.registry] : [])] },
    );

    this.reference = image.repoDigest;
    this.digest = image.repoDigest.apply((reference) => reference.slice(reference.indexOf("@") + 1));
    this.registerOutputs({ reference: this.reference, digest: this.digest });
  }
}
