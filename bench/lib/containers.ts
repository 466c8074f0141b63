import { docker, dockerLines } from "../../tests/e2e/harness";

/** A health check as `docker run --health-*` takes it. */
export interface HealthFlags {
  cmd: string;
  interval: string;
  timeout: string;
  startPeriod: string;
  retries: string;
}

/**
 * `docker run -d` of an image the way the stack runs it (non-root, read-only,
 * /tmp tmpfs), published on 127.0.0.1:<port>, carrying a label for cleanup.
 */
export function runHardened(options: {
  name: string;
  label: string;
  port: number;
  image: string;
  env?: string[];
  /** Also drop every capability and set no-new-privileges, as the stack does. */
  locked?: boolean;
  health?: HealthFlags;
}): void {
  const { health } = options;
  docker(
    "run",
    "-d",
    "--name",
    options.name,
    "--label",
    options.label,
    "-p",
    `127.0.0.1:${options.port}:5000`,
    ...(options.env ?? []).flatMap((value) => ["-e", value]),
    "--user",
    "10001:10001",
    "--read-only",
    "--tmpfs",
    "/tmp:rw,noexec,nosuid,size=16m",
    ...(options.locked ? ["--cap-drop", "ALL", "--security-opt", "no-new-privileges:true"] : []),
    ...(health
      ? [
          "--health-cmd",
          health.cmd,
          "--health-interval",
          health.interval,
          "--health-timeout",
          health.timeout,
          "--health-start-period",
          health.startPeriod,
          "--health-retries",
          health.retries,
        ]
      : []),
    options.image,
  );
}

/** Removes every container that carries the label. */
export function removeLabelled(label: string): void {
  const left = dockerLines("ps", "-aq", "--filter", `label=${label}`);
  if (left.length > 0) docker("rm", "-f", ...left);
}
