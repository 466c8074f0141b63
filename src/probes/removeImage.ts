import { type Docker, DockerError, docker } from "./docker";
import { runAsEntry } from "./entry";

/**
 * What `destroy` runs for FlaskImage and SwarmImage, since docker.Image never
 * deletes what it built (pulumi-docker#588): removes IMAGE from the engine, then
 * the stack's other builds, found by its labels: the untagged ones
 * (REMOVE=untagged: earlier builds, when app/ changed and changed back) or every
 * one (REMOVE=all: a build whose push was refused kept the refused registry's
 * name, and no resource in the state holds it). An image already gone is not
 * an error. Reads IMAGE, STACK, REMOVE and the engine's DOCKER_* variables.
 */

const LIMIT_MS = 60_000;

export type RemoveMode = "untagged" | "all";

export async function removeImage(image: string, stack: string, mode: RemoveMode, run: Docker): Promise<void> {
  try {
    await run(["image", "rm", image], LIMIT_MS);
  } catch (error) {
    // Still there: the removal failed for a reason worth saying. Gone: nothing to do.
    const stillThere = await run(["image", "inspect", "--format", "{{.Id}}", image], LIMIT_MS).then(
      () => true,
      () => false,
    );
    if (stillThere) throw error;
  }
  const ours = ["--filter", "label=flask-bridge.project=flask-bridge", "--filter", `label=flask-bridge.stack=${stack}`];
  if (mode === "untagged") {
    await run(["image", "prune", "--force", ...ours], LIMIT_MS);
    return;
  }
  const ids = [...new Set((await run(["image", "ls", "--quiet", ...ours], LIMIT_MS)).split("\n").filter(Boolean))];
  if (ids.length > 0) await run(["image", "rm", "--force", ...ids], LIMIT_MS);
}

export async function main(
  env: NodeJS.ProcessEnv,
  _out: (text: string) => void,
  err: (text: string) => void,
  run: Docker = docker,
): Promise<number> {
  const { IMAGE: image = "", STACK: stack = "", REMOVE: mode = "" } = env;
  if (image === "" || stack === "" || (mode !== "untagged" && mode !== "all")) {
    err(`removeImage: needs IMAGE, STACK and REMOVE (untagged or all), not "${image}", "${stack}" and "${mode}"\n`);
    return 2;
  }
  try {
    await removeImage(image, stack, mode, run);
    return 0;
  } catch (error) {
    err(`could not remove the image ${image}: ${error instanceof DockerError ? error.message : String(error)}\n`);
    return 1;
  }
}

runAsEntry(module, main);
