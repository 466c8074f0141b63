import { execFileSync } from "node:child_process";
import { dockerEnv, type Engine } from "../plan/engine";
import { ConfigError } from "../plan/errors";

/** How long one question to the engine may take: a silent machine fails `preview` in seconds. */
export const DOCKER_TIMEOUT_MS = 15_000;

/**
 * Runs the docker CLI against the stack's engine (and no other: the shell's
 * DOCKER_CONTEXT or DOCKER_HOST do not leak in), bounded, and turns a failure
 * into one line naming the engine and the cause. An ssh:// call that ended
 * without a word is made once more: under load, one to an emulated VM once
 * exited with nothing on stderr and failed a whole preview, where the engine
 * was there all along. A call that ran out of time, or a refusal that says
 * why, is not repeated.
 */
export function docker(engine: Engine, args: readonly string[], timeoutMs = DOCKER_TIMEOUT_MS): string {
  const run = (): string =>
    execFileSync("docker", args, {
      encoding: "utf8",
      env: { ...process.env, ...dockerEnv(engine) },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
    }).trim();
  try {
    return run();
  } catch (first) {
    if (engine.scheme === "ssh" && isSilentFailure(first)) {
      try {
        return run();
      } catch (second) {
        throw failed(engine, args, second, timeoutMs);
      }
    }
    throw failed(engine, args, first, timeoutMs);
  }
}

interface Failure {
  code?: string;
  signal?: string | null;
  status?: number | null;
  stderr?: unknown;
}

function lastLine(text: unknown): string | undefined {
  return String(text ?? "")
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean)
    .pop();
}

/** Exited on its own, without saying why: what a dropped connection looked like. */
function isSilentFailure(error: unknown): boolean {
  const failure = error as Failure;
  return failure.code !== "ENOENT" && !failure.signal && lastLine(failure.stderr) === undefined;
}

function failed(engine: Engine, args: readonly string[], error: unknown, timeoutMs: number): ConfigError {
  return new ConfigError(`the Docker engine at ${engine.url} (from ${engine.source}) ${cause(args, error, timeoutMs)}`);
}

function cause(args: readonly string[], error: unknown, timeoutMs: number): string {
  const failure = error as Failure;
  if (failure.code === "ENOENT") return "cannot be asked: there is no docker CLI on this machine's PATH";
  if (failure.signal === "SIGTERM") return `did not answer within ${timeoutMs / 1000} s`;
  const how = failure.signal ? `was ended by ${failure.signal}` : `exited with status ${failure.status}`;
  return `did not answer: ${lastLine(failure.stderr) ?? `docker ${args[0]} ${how} and said nothing`}`;
}
