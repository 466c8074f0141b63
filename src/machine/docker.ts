import { execFileSync } from "node:child_process";
import { dockerEnv, type Engine } from "../plan/engine";
import { ConfigError } from "../plan/errors";

/** How long one question to the engine may take: a silent machine fails `preview` in seconds. */
export const DOCKER_TIMEOUT_MS = 15_000;

/**
 * Runs the docker CLI against the stack's engine (and no other: the shell's
 * DOCKER_CONTEXT or DOCKER_HOST do not leak in), bounded, and turns a failure
 * into one line naming the engine and the cause.
 */
export function docker(engine: Engine, args: readonly string[], timeoutMs = DOCKER_TIMEOUT_MS): string {
  try {
    return execFileSync("docker", args, {
      encoding: "utf8",
      env: { ...process.env, ...dockerEnv(engine) },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    }).trim();
  } catch (error) {
    throw new ConfigError(`the Docker engine at ${engine.url} (from ${engine.source}) ${cause(error, timeoutMs)}`);
  }
}

function cause(error: unknown, timeoutMs: number): string {
  const failure = error as { code?: string; signal?: string; stderr?: unknown };
  if (failure.code === "ENOENT") return "cannot be asked: there is no docker CLI on this machine's PATH";
  if (failure.signal === "SIGTERM") return `did not answer within ${timeoutMs / 1000} s`;
  const last = String(failure.stderr ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
  return `did not answer: ${last ?? "the docker CLI failed without a message"}`;
}
