import { ConfigError } from "./errors";

/**
 * The Docker engine a stack runs on, as data. src/machine/engine.ts resolves
 * it once (DOCKER_HOST, docker:host, DOCKER_CONTEXT, the CLI's current
 * context); everything else receives it.
 */
export interface Engine {
  /** As Docker names it, e.g. "ssh://root@172.17.0.5" or "unix:///var/run/docker.sock". */
  readonly url: string;
  readonly scheme: "unix" | "ssh" | "tcp" | "npipe";
  /** The machine's host name or address; null for a socket. */
  readonly host: string | null;
  /** On another machine: its ports are not this machine's. */
  readonly remote: boolean;
  /** Directory with ca.pem, cert.pem and key.pem for tcp:// with TLS; null without TLS. */
  readonly certPath: string | null;
  /** Where the name came from, for messages: "DOCKER_HOST", "docker:host", "context NAME" or "default". */
  readonly source: string;
}

export const LOCAL_ENGINE: Engine = Object.freeze({
  url: "unix:///var/run/docker.sock",
  scheme: "unix",
  host: null,
  remote: false,
  certPath: null,
  source: "default",
});

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[?::1\]?)$/i;

/** Parses a Docker host URL; throws a ConfigError naming it and its source when Docker would not accept it. */
export function parseEngine(
  url: string,
  source = "DOCKER_HOST or docker:host",
  certPath: string | null = null,
): Engine {
  const match = /^(unix|npipe|ssh|tcp):\/\/(.*)$/.exec(url);
  if (!match) {
    throw new ConfigError(
      `Docker host "${url}" is not unix://PATH, ssh://[user@]host[:port] or tcp://host:port (from ${source})`,
    );
  }
  const scheme = match[1] as Engine["scheme"];
  if (scheme === "unix" || scheme === "npipe") {
    return Object.freeze({ url, scheme, host: null, remote: false, certPath: null, source });
  }
  let host: string;
  try {
    host = new URL(url.replace(/^(ssh|tcp):/, "http:")).hostname.replace(/^\[|\]$/g, "");
  } catch {
    host = "";
  }
  if (host === "") throw new ConfigError(`Docker host "${url}" names no host (from ${source})`);
  return Object.freeze({
    url,
    scheme,
    host,
    remote: !LOOPBACK.test(host),
    certPath: scheme === "tcp" ? certPath : null,
    source,
  });
}

/**
 * The environment a docker CLI (or a probe that runs one) needs to reach this
 * engine and no other: given to every command resource, so none falls back on
 * the shell's own DOCKER_HOST or DOCKER_CONTEXT.
 */
export function dockerEnv(engine: Engine): Record<string, string> {
  return {
    DOCKER_HOST: engine.url,
    // DOCKER_HOST wins over a context; an empty one means "none" to the docker CLI.
    DOCKER_CONTEXT: "",
    ...(engine.certPath === null
      ? { DOCKER_CERT_PATH: "", DOCKER_TLS_VERIFY: "" }
      : { DOCKER_CERT_PATH: engine.certPath, DOCKER_TLS_VERIFY: "1" }),
  };
}
