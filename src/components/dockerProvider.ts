import * as docker from "@pulumi/docker";
import type { Engine } from "../plan/engine";

/**
 * ssh keep-alives: an engine whose connection dies mid-`up` is noticed within
 * about 12 s (3 probes 4 s apart) instead of hanging until TCP gives up (the
 * heal e2e cut ssh for 45 s: with 5 s apart the up failed 30 s after the cut).
 * ConnectTimeout bounds each new connection to a silent address (the docker CLI's default is 30 s; setup's own check allows 3 s).
 */
export const SSH_OPTS: readonly string[] = Object.freeze([
  "-o",
  "ServerAliveInterval=4",
  "-o",
  "ServerAliveCountMax=3",
  "-o",
  "ConnectTimeout=5",
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
