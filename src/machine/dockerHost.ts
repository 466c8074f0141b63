import { execFileSync } from "node:child_process";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../plan/errors";

/**
 * Which Docker engine the stack runs on, named as Docker users name it:
 * DOCKER_HOST, else Pulumi config docker:host, else DOCKER_CONTEXT resolved to
 * its host (scripts/env.sh already resolves a context, and the CLI's current
 * context, into DOCKER_HOST, so the provider's two halves agree).
 */
export interface Engine {
  /** As given, e.g. "ssh://root@172.17.0.5" or "unix:///var/run/docker.sock". */
  readonly url: string;
  readonly scheme: "unix" | "ssh" | "tcp" | "npipe";
  /** The machine's host name or address; null for a socket. */
  readonly host: string | null;
  /** On another machine: its ports are not this machine's. */
  readonly remote: boolean;
}

export const LOCAL_ENGINE: Engine = Object.freeze({
  url: "unix:///var/run/docker.sock",
  scheme: "unix",
  host: null,
  remote: false,
});

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/** Parses a Docker host URL; throws a ConfigError naming it when Docker would not accept it. */
export function parseEngine(url: string): Engine {
  const match = /^(unix|npipe|ssh|tcp):\/\/(.*)$/.exec(url);
  if (!match) {
    throw new ConfigError(
      `Docker host "${url}" is not unix://PATH, ssh://[user@]host[:port] or tcp://host:port (from DOCKER_HOST or docker:host)`,
    );
  }
  const scheme = match[1] as Engine["scheme"];
  if (scheme === "unix" || scheme === "npipe") return Object.freeze({ url, scheme, host: null, remote: false });
  let host: string;
  try {
    host = new URL(url.replace(/^(ssh|tcp):/, "http:")).hostname.replace(/^\[|\]$/g, "");
  } catch {
    host = "";
  }
  if (host === "") {
    throw new ConfigError(`Docker host "${url}" names no host (from DOCKER_HOST or docker:host)`);
  }
  return Object.freeze({ url, scheme, host, remote: !LOOPBACK.test(host) });
}

/** The engine this process talks to. `dockerConfigHost` is Pulumi config docker:host. */
export function resolveEngine(
  env: NodeJS.ProcessEnv,
  dockerConfigHost: string | undefined,
  contextHost: (name: string) => string = dockerContextHost,
): Engine {
  if (env.DOCKER_HOST) return parseEngine(env.DOCKER_HOST);
  if (dockerConfigHost) return parseEngine(dockerConfigHost);
  if (env.DOCKER_CONTEXT && env.DOCKER_CONTEXT !== "default") return parseEngine(contextHost(env.DOCKER_CONTEXT));
  return LOCAL_ENGINE;
}

function dockerContextHost(name: string): string {
  try {
    return execFileSync("docker", ["context", "inspect", name, "--format", "{{.Endpoints.docker.Host}}"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 5000,
    }).trim();
  } catch {
    throw new ConfigError(`DOCKER_CONTEXT names "${name}", which \`docker context inspect\` does not know`);
  }
}

let current: Engine | undefined;

/**
 * The program's engine, resolved once. When it came from docker:host alone,
 * DOCKER_HOST is set to it so the docker commands the program runs go there too.
 */
export function currentEngine(): Engine {
  if (current === undefined) {
    current = resolveEngine(process.env, new pulumi.Config("docker").get("host"));
    if (current.scheme !== "unix" || current.url !== LOCAL_ENGINE.url) process.env.DOCKER_HOST = current.url;
  }
  return current;
}
