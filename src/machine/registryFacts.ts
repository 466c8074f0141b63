import type { Engine } from "../plan/engine";
import { OFFICIAL_REGISTRY_IMAGE, type RegistryFacts } from "../plan/plan";
import { docker } from "./docker";

/** The label setup's stand-in registry image carries (scripts/lib/base-image.sh); not the base's stand-in label. */
export const REGISTRY_STAND_IN_LABEL = "flask-bridge.registry-stand-in";

/**
 * What the swarm's own registry needs: the engine's node, where it and its
 * volume stay, and the image it runs. The official image when the engine has
 * it; else setup's stand-in, by its ID, so no node tries to pull it from a
 * registry it was never in; else the official name, which the node pulls.
 */
export function readRegistryFacts(engine: Engine): RegistryFacts {
  const [nodeId = "", nodeName = ""] = docker(engine, ["info", "--format", "{{.Swarm.NodeID}}\t{{.Name}}"]).split("\t");
  const official = Object.freeze({ nodeId, nodeName, image: OFFICIAL_REGISTRY_IMAGE, note: null });
  if (docker(engine, ["image", "ls", "--quiet", "--filter", `reference=${OFFICIAL_REGISTRY_IMAGE}`]) !== "") {
    return official;
  }
  const candidate = docker(engine, [
    "image",
    "ls",
    "--quiet",
    "--filter",
    `label=${REGISTRY_STAND_IN_LABEL}=true`,
  ]).split("\n")[0];
  if (!candidate) return official;
  const [id = "", name = "", versions = ""] = docker(engine, [
    "image",
    "inspect",
    "--format",
    `{{.Id}}\t{{index .Config.Labels "${REGISTRY_STAND_IN_LABEL}.name"}}\t{{index .Config.Labels "${REGISTRY_STAND_IN_LABEL}.versions"}}`,
    candidate,
  ]).split("\t");
  if (!id || !name) return official;
  return Object.freeze({
    nodeId,
    nodeName,
    image: id,
    note: `The official registry image ${OFFICIAL_REGISTRY_IMAGE} is not in the engine, so the stand-in ${name} built from Debian's docker-registry package${versions ? ` (${versions})` : ""} runs the swarm's registry instead.`,
  });
}
