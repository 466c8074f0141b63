import * as docker from "@pulumi/docker";
import type { Engine } from "../plan/engine";

/**
 * ssh keep-alives: an engine whose connection dies mid-`up` is noticed within
 * about 15 s (3 probes 5 s apart) instead of hanging until TCP gives up.
 * ConnectTimeout bounds a silent address (the docker CLI's default is 30 s).
 */
export const SSH_OPTS: readonly string[] = Object.freeze([
  "-o",
  "ServerAliveInterval=5",
  "-o",
  "ServerAliveCountMax=3",
  "-o",
  "ConnectTimeout=10",
]);

/**
 * The stack's one Docker provider, built from the engine resolved once
 * (src/machine/engine.ts). Every docker resource gets it through its
 * component's `providers`, so none falls back on the shell's DOCKER_HOST or
 * on a default provider that reads other variables than the program did.
 */
export function dockerProvider(name: string, engine: Engine): docker.Provider {
  return new docker.Provider(name, {
    host: engine.url,
    // Stated empty: left out, the provider falls back on the shell's DOCKER_CONTEXT,
    // which it looks up in ~/.docker alone and lets override host.
    context: "",
    ...(engine.certPath === null ? {} : { certPath: engine.certPath }),
    ...(engine.scheme === "ssh" ? { sshOpts: [...SSH_OPTS] } : {}),
  });
}
