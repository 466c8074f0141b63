import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { currentEngine } from "../machine/dockerHost";

/**
 * How long a new container may take to answer (FB_READY_TIMEOUT seconds
 * overrides it). The probe, not Docker's health status, gates `up`: it polls
 * every 100 ms; Docker checks health every 10 s.
 */
export const READY_TIMEOUT_SECONDS = 180;

export function readyTimeoutSeconds(env: NodeJS.ProcessEnv): number {
  const seconds = Number(env.FB_READY_TIMEOUT);
  return Number.isInteger(seconds) && seconds > 0 ? seconds : READY_TIMEOUT_SECONDS;
}

/** One container the probe waits for. */
export interface ProbeTarget {
  dockerName: string;
  /** What the host opens; null for a container with no way in (none mode): it is asked from inside. */
  url: string | null;
  /** A new ID (a replaced container) runs the probe again. */
  containerId: pulumi.Input<string>;
}

export interface ReadinessProbeArgs {
  targets: readonly ProbeTarget[];
}

export const READINESS_SCRIPT_FILE = path.join(__dirname, "readiness.sh");
/**
 * What `create` runs: a short line, because the command provider repeats it in
 * every error. The script's hash is a trigger, so a change to it probes again.
 */
export const READINESS_COMMAND = 'bash "$PROBE_SCRIPT"';
export const READINESS_SCRIPT_SHA256 = createHash("sha256")
  .update(fs.readFileSync(READINESS_SCRIPT_FILE))
  .digest("hex");

/** The script's "<docker name><TAB><what it saw>" lines, in the targets' order. */
export function parseReadiness(stdout: string, names: readonly string[]): Record<string, string> {
  const seen = new Map(
    stdout
      .split("\n")
      .filter((line) => line.includes("\t"))
      .map((line) => {
        const tab = line.indexOf("\t");
        return [line.slice(0, tab), line.slice(tab + 1)] as const;
      }),
  );
  return Object.fromEntries(names.map((name) => [name, seen.get(name) ?? ""]));
}

/**
 * `up`'s readiness gate: one command that waits until every app answers (the
 * host opens its URL; a none container is asked from inside).
 */
export class ReadinessProbe extends pulumi.ComponentResource {
  /** Per Docker name what the probe saw: the page body, or a none container's interfaces. */
  public readonly results: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ReadinessProbeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("flask-bridge:probe:ReadinessProbe", name, {}, opts);
    const { targets } = args;
    const engine = currentEngine();

    const probe = new command.local.Command(
      `${name}-command`,
      {
        create: READINESS_COMMAND,
        interpreter: ["bash", "-c"],
        environment: {
          PROBE_SCRIPT: READINESS_SCRIPT_FILE,
          PROBE_TARGETS: targets.map((target) => `${target.dockerName} ${target.url ?? "-"}`).join("\n"),
          PROBE_TIMEOUT_SECONDS: String(readyTimeoutSeconds(process.env)),
          // The none container is asked with `docker exec`, on the stack's engine.
          ...(engine.remote ? { DOCKER_HOST: engine.url } : {}),
        },
        triggers: [READINESS_SCRIPT_SHA256, ...targets.map((target) => target.containerId)],
      },
      { parent: this },
    );

    const names = targets.map((target) => target.dockerName);
    this.results = probe.stdout.apply((stdout) => parseReadiness(stdout, names));
    this.registerOutputs({ results: this.results });
  }
}
