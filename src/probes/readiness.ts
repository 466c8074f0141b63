import { type Docker, docker } from "./docker";
import { runAsEntry } from "./entry";
import { messageOf, type Waited, waitForPage, waitUntil } from "./http";

/**
 * `up`'s readiness gate (ReadinessProbe runs it): every app answers. One
 * process for all containers, not one per container: at 64 containers the 63
 * extra resources cost ~5 s of up and ~3 s of destroy on 2 cores (bench/).
 *
 * Input, from the environment:
 *   PROBE_TARGETS          one line per container: "<docker name> <url>", or
 *                          "<docker name> -" for one with no way in (none mode)
 *   PROBE_TIMEOUT_SECONDS  how long the slowest may take
 *   DOCKER_HOST and the rest: the stack's engine, for `docker exec`
 * Prints "<docker name><TAB><what it saw>" per container: the page body, or the
 * interfaces of a none container. Fails with one line per container that did
 * not answer, naming it, its URL and the wait: the error a person reads.
 */

export interface Target {
  name: string;
  /** null: no way in from here (none mode); it is asked from inside. */
  url: string | null;
}

/** Between tries, per container. */
export const PACE_MS = 100;
/** One HTTP exchange, connect included. */
export const HTTP_TRY_LIMIT_MS = 2000;
/** One `docker exec`: over ssh:// each starts an ssh session. */
export const EXEC_TRY_LIMIT_MS = 10_000;
/** The least an exec gets, even at the deadline: less would never finish one. */
export const EXEC_TRY_FLOOR_MS = 1000;

export class ProbeInputError extends Error {}

export function parseTargets(text: string | undefined): Target[] {
  const targets = (text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const [name = "", url = "", ...rest] = line.split(/\s+/);
      if (url === "" || rest.length > 0) {
        throw new ProbeInputError(`PROBE_TARGETS line "${line}" is not "<docker name> <url or ->"`);
      }
      return { name, url: url === "-" ? null : url };
    });
  if (targets.length === 0) throw new ProbeInputError("PROBE_TARGETS names no container");
  return targets;
}

export function parseTimeoutSeconds(text: string | undefined): number {
  const seconds = Number(text);
  if (!Number.isInteger(seconds) || seconds <= 0) {
    throw new ProbeInputError(`PROBE_TIMEOUT_SECONDS is "${text ?? ""}", not a whole number of seconds above 0`);
  }
  return seconds;
}

/**
 * A none container cannot be reached: app/inside.sh, in one `docker exec`,
 * runs its healthcheck against the app inside it, then lists its interfaces.
 */
export function askInside(name: string, deadline: number, run: Docker): Promise<Waited<string>> {
  return waitUntil(
    async (limitMs) => {
      try {
        const interfaces = await run(["exec", name, "bash", "/app/inside.sh"], limitMs);
        return { ok: true, value: interfaces.split(/\s+/).filter(Boolean).join(" ") };
      } catch (error) {
        return { ok: false, cause: messageOf(error) };
      }
    },
    deadline,
    { paceMs: PACE_MS, tryLimitMs: EXEC_TRY_LIMIT_MS, tryFloorMs: EXEC_TRY_FLOOR_MS },
  );
}

/** Waits for every target at once; the results are in the targets' order. */
export function probeAll(targets: readonly Target[], timeoutSeconds: number, run: Docker): Promise<Waited<string>[]> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return Promise.all(
    targets.map((target) =>
      target.url === null
        ? askInside(target.name, deadline, run)
        : waitForPage(target.url, deadline, { paceMs: PACE_MS, tryLimitMs: HTTP_TRY_LIMIT_MS, tryFloorMs: PACE_MS }),
    ),
  );
}

/** stdout: "<docker name><TAB><what it saw>" per container that answered, on one line each. */
export function formatSeen(targets: readonly Target[], results: readonly Waited<string>[]): string {
  return targets
    .map((target, index) => {
      const result = results[index];
      if (!result?.ok) return "";
      return `${target.name}\t${result.value.replace(/\s+$/, "").replace(/\r?\n/g, " ")}\n`;
    })
    .join("");
}

/** stderr: one line naming each container that did not answer, its URL and why; "" when all did. */
export function formatFailure(
  targets: readonly Target[],
  results: readonly Waited<string>[],
  timeoutSeconds: number,
): string {
  const failed = targets.flatMap((target, index) => {
    const result = results[index];
    if (result?.ok) return [];
    const cause = `last try: ${result?.cause ?? "none"}`;
    return target.url === null
      ? [`  ${target.name}: no answer inside the container (none mode; ${cause})`]
      : [`  ${target.name}: no answer from ${target.url} (${cause})`];
  });
  if (failed.length === 0) return "";
  return `${failed.length} of ${targets.length} containers did not answer within ${timeoutSeconds} s:\n${failed.join("\n")}\n`;
}

/** The whole probe; returns the exit status. */
export async function main(
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
  run: Docker = docker,
): Promise<number> {
  let targets: Target[];
  let timeoutSeconds: number;
  try {
    targets = parseTargets(env.PROBE_TARGETS);
    timeoutSeconds = parseTimeoutSeconds(env.PROBE_TIMEOUT_SECONDS);
  } catch (error) {
    err(`readiness probe: ${messageOf(error)}\n`);
    return 2;
  }
  const results = await probeAll(targets, timeoutSeconds, run);
  out(formatSeen(targets, results));
  const failure = formatFailure(targets, results, timeoutSeconds);
  if (failure === "") return 0;
  err(failure);
  return 1;
}

runAsEntry(module, main);
