import * as fs from "node:fs";
import { docker, dockerLines, freshStack, REPO_ROOT, removeLeftovers } from "../../tests/e2e/harness";
import { log, run } from "./util";

/**
 * Swarm mode on 1 node against 3, the same services and replicas: the local
 * cluster (scripts/cluster.sh) with its two workers drained, then active,
 * alternating. The project's `up` returns once every task runs and every URL
 * answers (SwarmService's probe), so its time is the time until all answer.
 */

export const SWARM_STACK = "bench-swarm";
const PORT_BASE = 28000;
/** The tutorial's shape without none (Swarm has no none network): 7 services. */
export const SWARM_SERVICES = 7;

export interface SwarmSample {
  nodes: number;
  round: number;
  /** up until every service runs its replicas and every URL answers */
  up: number;
  /** nodes the tasks ran on, from `docker service ps` */
  nodesUsed: number;
  destroy: number;
}

function swarmConfig(): Record<string, unknown> {
  const ports = (from: number) => [from, from + 1, from + 2];
  return {
    "flask-bridge:orchestrator": "swarm",
    "flask-bridge:replicas": 1,
    // No IPVS on these machines: host publishing and DNS round-robin answer (README, Swarm mode).
    "flask-bridge:swarmPublishMode": "host",
    "flask-bridge:swarmEndpointMode": "dnsrr",
    "flask-bridge:imageName": "flask-bridge-bench-swarm",
    "flask-bridge:namePrefix": "bench-swarm",
    "flask-bridge:networkName": "bench-swarm-overlay",
    "flask-bridge:bridgePorts": ports(PORT_BASE + 1),
    "flask-bridge:customPorts": ports(PORT_BASE + 4),
    "flask-bridge:hostMode": true,
    "flask-bridge:hostPort": PORT_BASE,
    "flask-bridge:noneMode": false,
    "flask-bridge:urlHost": "127.0.0.1",
    // Like the other tools' runs, destroy leaves the image cached (removed at the end).
    "flask-bridge:keepImageOnDestroy": true,
  };
}

const workers = () => dockerLines("ps", "--filter", "label=flask-bridge.cluster=node", "--format", "{{.Names}}");

function nodesUsed(): number {
  const services = dockerLines("service", "ls", "-q", "--filter", `label=flask-bridge.stack=${SWARM_STACK}`);
  const nodes = services.flatMap((id) =>
    dockerLines("service", "ps", "--filter", "desired-state=running", "--format", "{{.Node}}", id),
  );
  return new Set(nodes).size;
}

async function pulumi(args: string[], signal: AbortSignal): Promise<number> {
  const env = { ...process.env, FB_STACK: SWARM_STACK };
  return (await run("bash", ["scripts/pulumi.sh", ...args], { cwd: REPO_ROOT, env, signal })).seconds;
}

export async function measureSwarm(rounds: number, signal: AbortSignal): Promise<SwarmSample[]> {
  const samples: SwarmSample[] = [];
  const startedCluster = workers().length === 0;
  log("swarm: the local cluster (host engine as manager + 2 workers)");
  await run("bash", ["scripts/cluster.sh", "up"], { cwd: REPO_ROOT, signal });
  const nodes = workers();
  if (nodes.length < 2) throw new Error(`swarm: the cluster has ${nodes.length} workers, 2 are needed`);
  await freshStack(SWARM_STACK, swarmConfig());
  try {
    // Warm-up, untimed: builds the image and copies it onto the workers.
    await pulumi(["up", "--yes", "--skip-preview"], signal);
    await pulumi(["destroy", "--yes", "--skip-preview"], signal);
    for (let round = 1; round <= rounds; round++) {
      for (const count of round % 2 === 1 ? [1, 3] : [3, 1]) {
        for (const node of nodes) {
          docker("node", "update", "--availability", count === 1 ? "drain" : "active", node);
        }
        const up = await pulumi(["up", "--yes", "--skip-preview"], signal);
        const used = nodesUsed();
        const destroy = await pulumi(["destroy", "--yes", "--skip-preview"], signal);
        samples.push({ nodes: count, round, up, nodesUsed: used, destroy });
        log(
          `swarm ${count} node(s) round ${round}: all answer at ${up.toFixed(2)} s on ${used} node(s), destroy ${destroy.toFixed(2)} s`,
        );
      }
    }
  } finally {
    for (const node of nodes) docker("node", "update", "--availability", "active", node);
    await removeSwarmStack(signal);
    if (startedCluster) await run("bash", ["scripts/cluster.sh", "down"], { cwd: REPO_ROOT });
  }
  return samples;
}

async function removeSwarmStack(signal?: AbortSignal): Promise<void> {
  try {
    await pulumi(["destroy", "--yes", "--skip-preview"], signal ?? new AbortController().signal);
  } catch (error) {
    log(`cleanup: swarm destroy failed (${String(error).split("\n")[0]}); removing by label`);
    const services = dockerLines("service", "ls", "-q", "--filter", `label=flask-bridge.stack=${SWARM_STACK}`);
    if (services.length > 0) docker("service", "rm", ...services);
  }
  removeLeftovers(SWARM_STACK);
  await run("bash", ["scripts/pulumi.sh", "stack", "rm", "--yes", "--force"], {
    cwd: REPO_ROOT,
    env: { ...process.env, FB_STACK: SWARM_STACK },
  }).catch(() => undefined);
  fs.rmSync(`${REPO_ROOT}/Pulumi.${SWARM_STACK}.yaml`, { force: true });
  if (dockerLines("image", "ls", "-q", "flask-bridge-bench-swarm").length > 0) {
    docker("image", "rm", "-f", "flask-bridge-bench-swarm");
  }
}
