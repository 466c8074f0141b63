import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type Engine, LOCAL_ENGINE, parseEngine } from "../plan/engine";
import { ConfigError } from "../plan/errors";

/** What names the engine: the process environment and the stack's docker:host. */
export interface EngineSources {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Pulumi config docker:host, or undefined. */
  readonly dockerConfigHost: string | undefined;
}

/**
 * The one answer to "which engine?", in the docker CLI's order: DOCKER_HOST,
 * then the stack's docker:host, then DOCKER_CONTEXT, then the CLI's current
 * context (`docker context use`). Contexts are read from Docker's own files
 * (no docker CLI, no network), so the answer is quick and the same everywhere.
 */
export function resolveEngine(sources: EngineSources): Engine {
  const engine = resolveName(sources);
  if (engine.scheme === "ssh" && sources.env.DOCKER_CERT_PATH) {
    throw new ConfigError(
      `${engine.source} is ${engine.url} but DOCKER_CERT_PATH is set, so the docker provider would use TLS and never ssh: unset DOCKER_CERT_PATH`,
    );
  }
  return engine;
}

function resolveName({ env, dockerConfigHost }: EngineSources): Engine {
  const tls = env.DOCKER_CERT_PATH ? env.DOCKER_CERT_PATH : null;
  if (env.DOCKER_HOST) return parseEngine(env.DOCKER_HOST, "DOCKER_HOST", tls);
  if (dockerConfigHost) return parseEngine(dockerConfigHost, "docker:host", tls);
  const configDir = env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), ".docker");
  const context = env.DOCKER_CONTEXT || currentContext(configDir);
  if (!context || context === "default") return LOCAL_ENGINE;
  return contextEngine(configDir, context, env.DOCKER_CONTEXT ? "DOCKER_CONTEXT" : "docker context use");
}

/** config.json's currentContext, as `docker context use` writes it. */
function currentContext(configDir: string): string | undefined {
  const file = path.join(configDir, "config.json");
  const config = readJson(file);
  const name = (config as { currentContext?: unknown } | undefined)?.currentContext;
  return typeof name === "string" && name !== "" ? name : undefined;
}

/** A context's endpoint and TLS files, where the docker CLI keeps them (named by the SHA-256 of its name). */
function contextEngine(configDir: string, name: string, namedBy: string): Engine {
  const digest = createHash("sha256").update(name).digest("hex");
  const meta = readJson(path.join(configDir, "contexts", "meta", digest, "meta.json")) as
    | { Endpoints?: { docker?: { Host?: unknown } } }
    | undefined;
  const host = meta?.Endpoints?.docker?.Host;
  if (typeof host !== "string" || host === "") {
    throw new ConfigError(`Docker context "${name}" (from ${namedBy}) does not exist in ${configDir}/contexts`);
  }
  const tlsDir = path.join(configDir, "contexts", "tls", digest, "docker");
  const certPath = fs.existsSync(path.join(tlsDir, "ca.pem")) ? tlsDir : null;
  return parseEngine(host, `context ${name}`, certPath);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
