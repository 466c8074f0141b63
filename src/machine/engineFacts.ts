import type { Engine } from "../plan/engine";
import type { BaseImageOverride, SwarmCluster } from "../plan/plan";
import { docker } from "./docker";

/** What the program needs to know of the engine before it plans. */
export interface EngineFacts {
  /** The platform it builds for, e.g. "linux/amd64". */
  readonly platform: string;
  /** Its ID (`docker info`): a new machine at the same address has another. */
  readonly id: string;
  /** Its swarm, when it manages one; null otherwise. */
  readonly swarm: SwarmCluster | null;
}

/** `docker info` names architectures as uname does; images use Go's names. */
const GO_ARCH: Readonly<Record<string, string>> = Object.freeze({
  x86_64: "amd64",
  aarch64: "arm64",
  armv7l: "arm",
  i686: "386",
});

/** Parses `docker info --format '{{json .}}'`'s fields that matter here. */
export function parseInfo(json: string): { platform: string; id: string; manager: boolean } {
  const info = JSON.parse(json) as {
    OSType?: string;
    Architecture?: string;
    ID?: string;
    Swarm?: { ControlAvailable?: boolean };
  };
  const arch = info.Architecture ?? "";
  return {
    platform: `${info.OSType ?? "linux"}/${GO_ARCH[arch] ?? arch}`,
    id: info.ID ?? "",
    manager: info.Swarm?.ControlAvailable === true,
  };
}

/** One `docker info` (and, on a swarm manager asked for it, one `docker node ls`), each bounded. */
export function readEngineFacts(engine: Engine, wantSwarm: boolean): EngineFacts {
  const info = parseInfo(docker(engine, ["info", "--format", "{{json .}}"]));
  const swarm =
    wantSwarm && info.manager
      ? // Drained and down nodes take no tasks, so they do not count.
        {
          nodes: docker(engine, ["node", "ls", "--format", "{{.Status}} {{.Availability}}"])
            .split("\n")
            .filter((line) => line === "Ready Active").length,
        }
      : null;
  return Object.freeze({ platform: info.platform, id: info.id, swarm });
}

/** The label setup's stand-in base images carry (scripts/lib/base-image.sh). */
const STAND_IN_LABEL = "flask-bridge.stand-in";

/**
 * When the configured base image is not in the engine but a stand-in that
 * setup built from Debian's packages is, the build uses the stand-in and the
 * stack says so. Asked of the engine, so plain `pulumi up` does what setup's
 * commands do. Undefined: the configured image is there, or the build pulls it.
 */
export function baseImageOverride(engine: Engine, configured: string): BaseImageOverride | undefined {
  if (docker(engine, ["image", "ls", "--quiet", "--filter", `reference=${configured}`]) !== "") return undefined;
  // Images built FROM the stand-in inherit its labels; its own name, in a label, tells it apart.
  const candidate = docker(engine, ["image", "ls", "--quiet", "--filter", `label=${STAND_IN_LABEL}=true`]).split(
    "\n",
  )[0];
  if (!candidate) return undefined;
  const [standIn = "", versions = ""] = docker(engine, [
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${STAND_IN_LABEL}.name"}}\t{{index .Config.Labels "${STAND_IN_LABEL}.versions"}}`,
    candidate,
  ]).split("\t");
  if (!standIn) return undefined;
  return Object.freeze({
    replaces: configured,
    standIn,
    note: `Configured base image ${configured} could not be pulled, so the stand-in ${standIn} built from Debian packages${versions ? ` (${versions})` : ""} is used instead.`,
  });
}
