import * as fs from "node:fs";
import * as path from "node:path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

/**
 * How long a new container may take to answer. The probe, not Docker's health
 * status, gates `up`: it polls every 100 ms; Docker checks health every 10 s.
 */
export const READY_TIMEOUT_SECONDS = 180;

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

/** The probe script; `create` carries its text, so a change to it runs the probe again. */
export const READINESS_SCRIPT = fs.readFileSync(path.join(__dirname, "readiness.sh"), "utf8");

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

    const probe = new command.local.Command(
      `${name}-command`,
      {
        create: READINESS_SCRIPT,
        interpreter: ["bash", "-c"],
        environment: {
          PROBE_TARGETS: targets.map((target) => `${target.dockerName} ${target.url ?? "-"}`).join("\n"),
          PROBE_TIMEOUT_SECONDS: String(READY_TIMEOUT_SECONDS),
        },
        triggers: targets.map((target) => target.containerId),
      },
      { parent: this },
    );

    const names = targets.map((target) => target.dockerName);
    this.results = probe.stdout.apply((stdout) => parseReadiness(stdout, names));
    this.registerOutputs({ results: this.results });
  }
}
