import { execFileSync } from "node:child_process";
import type { SwarmCluster } from "../plan/plan";

/**
 * Asks this Docker engine about its swarm, for planTopology to validate
 * against (the plan itself stays pure). null: the engine is no swarm manager,
 * so it cannot create services. Only swarm mode calls this.
 */
export function readSwarmCluster(): SwarmCluster | null {
  const docker = (...args: string[]) =>
    execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  if (docker("info", "--format", "{{.Swarm.ControlAvailable}}") !== "true") {
    return null;
  }
  // Drained and down nodes take no tasks, so they do not count.
  const nodes = docker("node", "ls", "--format", "{{.Status}} {{.Availability}}")
    .split("\n")
    .filter((line) => line === "Ready Active").length;
  return { nodes };
}
