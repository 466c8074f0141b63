import * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";
import { probeCommand } from "../probes/command";
import type { RemoveMode } from "../probes/removeImage";

/** src/probes/removeImage.ts, as `destroy` runs it. */
export const REMOVE_IMAGE = probeCommand("removeImage");

export interface ImageRemoverArgs {
  /** The image's name as built (FlaskImage) or pushed (SwarmImage). */
  image: pulumi.Input<string>;
  stack: string;
  /** untagged: the stack's untagged builds go too; all: every build of the stack. */
  mode: RemoveMode;
  /** Where the image is: the remover runs `docker` there and nowhere else. */
  engine: Engine;
}

/**
 * docker.Image never deletes what it built (pulumi-docker#588). This command
 * does, on destroy only. Its component declares it before the build, which
 * depends on it, so destroy runs it last: after everything that used the image.
 */
export function imageRemover(name: string, args: ImageRemoverArgs, parent: pulumi.Resource): command.local.Command {
  return new command.local.Command(
    name,
    {
      delete: REMOVE_IMAGE.create,
      dir: REMOVE_IMAGE.dir,
      environment: { ...dockerEnv(args.engine), IMAGE: args.image, STACK: args.stack, REMOVE: args.mode },
    },
    { parent },
  );
}
