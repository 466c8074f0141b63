import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { dockerEnv, type Engine } from "../plan/engine";
import { probeCommand } from "../probes/command";

/**
 * How long a new container may take to answer (FB_READY_TIMEOUT seconds
 * overrides it). The probe, not Docker's health status, gates `up`: it polls
 * every 100 ms; Docker checks health every 10 s.
 */
export const READY_TIMEOUT_SECONDS = 180;

/** For index.ts: FB_READY_TIMEOUT when it is a whole number of seconds, else 180. */
export function readyTimeoutSeconds(env: Readonly<Record<string, string | undefined>>): number {
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
  /** The stack's engine: a none container is asked with `docker exec` there. */
  engine: Engine;
  /** How long the slowest container may take (readyTimeoutSeconds). */
  timeoutSeconds: number;
}

/** src/probes/readiness.ts, as the command runs it. */
export const READINESS_PROBE = probeCommand("readiness");

/** The probe's PROBE_TARGETS: "<docker name> <url>" per container, "-" for none. */
export function probeTargets(targets: readonly Pick<ProbeTarget, "dockerName" | "url">[]): string {
  return targets.map((target) => `${target.dockerName} ${target.url ?? "-"}`).join("\n");
}

/** The probe's "<docker name><TAB><what it saw>" lines, in the targets' order. */
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
        create: READINESS_PROBE.create,
        dir: READINESS_PROBE.dir,
        environment: {
          ...dockerEnv(args.engine),
          PROBE_TARGETS: probeTargets(targets),
          PROBE_TIMEOUT_SECONDS: String(args.timeoutSeconds),
        },
        // The probe's source and every container's ID: an edit to the probe or a replaced container probes again.
        triggers: [READINESS_PROBE.sha256, ...targets.map((target) => target.containerId)],
      },
      { parent: this },
    );

    const names = targets.map((target) => target.dockerName);
    this.results = probe.stdout.apply((stdout) => parseReadiness(stdout, names));
    this.registerOutputs({ results: this.results });
  }
}
