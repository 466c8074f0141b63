import { execFileSync } from "node:child_process";

/** Docker reports Go's architecture names; Node's differ for x64 and ia32. */
const GO_ARCH: Readonly<Record<string, string>> = Object.freeze({ x64: "amd64", ia32: "386" });

/**
 * The platform the engine builds for, e.g. "linux/amd64". docker.Image needs it
 * stated: left out, the provider guesses this machine's and warns on every run,
 * and on a remote engine the guess can be wrong.
 */
export function enginePlatform(): string {
  try {
    const platform = execFileSync("docker", ["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 10_000,
    }).trim();
    if (/^[a-z0-9]+\/[a-z0-9_]+$/.test(platform)) return platform;
  } catch {
    // No answer: the provider's own connection reports why, so guess as it would.
  }
  return `linux/${GO_ARCH[process.arch] ?? process.arch}`;
}
