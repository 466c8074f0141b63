/**
 * `npm run bench:vm`: swarm mode on the VM cluster (FLASK_BRIDGE_CLUSTER=vm),
 * 1 VM against 3, in one run, alternating, with Swarm's defaults (VIP and the
 * ingress routing mesh), 3 services of 1 task each. "1 VM" is the cluster with
 * its 2 workers drained.
 * The program's up returns once every task runs and every node answers every
 * published port (SwarmService's probe), so its time is the time until all answer.
 *
 *   BENCH_VM_ROUNDS       rounds, each 1 VM and 3 VMs in alternating order (default 2)
 *   BENCH_RESULTS_DIR     where swarm-vm.md and swarm-vm.json go (default bench/results)
 *
 * Starts the VM cluster when it is not up, and takes it down again at the end.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, requirePrerequisites, writeConfig } from "../tests/e2e/harness";
import { log, medianRange, run, summarize } from "./lib/util";

const STACK = "bench-vm";
const RESULTS_DIR = path.resolve(REPO_ROOT, process.env.BENCH_RESULTS_DIR || "bench/results");
const ROUNDS = Number(process.env.BENCH_VM_ROUNDS ?? "2");
const CLUSTER_ENV = path.join(process.env.FLASK_BRIDGE_HOME ?? "", "vm", "run", "cluster.env");
const WORKERS = ["fbvm-2", "fbvm-3"];
const SERVICES = 3;
// One task each: 9 tasks never all became healthy on one emulated vCPU (their
// healthchecks alone, a docker exec each every 10 s, took more CPU than it had).
const REPLICAS = 1;

interface Sample {
  vms: number;
  round: number;
  up: number;
  destroy: number;
}

const config = {
  "flask-bridge:orchestrator": "swarm",
  "flask-bridge:replicas": REPLICAS,
  "flask-bridge:swarmPublishMode": "ingress",
  "flask-bridge:swarmEndpointMode": "vip",
  "flask-bridge:imageName": "flask-bridge-bench-vm",
  "flask-bridge:namePrefix": "bench-vm",
  "flask-bridge:networkName": "bench-vm-overlay",
  "flask-bridge:networkSubnet": "10.213.91.0/24",
  "flask-bridge:bridgePorts": [19151],
  "flask-bridge:customPorts": [19154, 19155],
  "flask-bridge:hostMode": false,
  "flask-bridge:noneMode": false,
  // The image stays built between rounds, as in the other swarm bench.
  "flask-bridge:keepImageOnDestroy": true,
};

function vmCluster(action: "up" | "down"): string {
  return execFileSync("bash", ["scripts/cluster.sh", action], {
    cwd: REPO_ROOT,
    env: { ...process.env, FLASK_BRIDGE_CLUSTER: "vm" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
}

async function main(): Promise<void> {
  requirePrerequisites();
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_VM_ROUNDS must be 1 or more, not "${ROUNDS}"`);
  const startedCluster = !fs.existsSync(CLUSTER_ENV);
  log("swarm on VMs: cluster:up (FLASK_BRIDGE_CLUSTER=vm)");
  const dockerHost = (vmCluster("up").trim().split("\n").pop() ?? "").replace(/^DOCKER_HOST=/, "");
  const env = { ...process.env, DOCKER_HOST: dockerHost, FB_STACK: STACK };
  const docker = (...args: string[]) => execFileSync("docker", args, { env, encoding: "utf8" }).trim();
  const pulumi = async (...args: string[]) =>
    (await run("bash", ["scripts/pulumi.sh", ...args, "--yes", "--skip-preview"], { cwd: REPO_ROOT, env })).seconds;
  const samples: Sample[] = [];
  try {
    // Setup creates the stack from the config defaults (and checks the manager answers).
    await run("bash", ["scripts/setup.sh"], { cwd: REPO_ROOT, env });
    writeConfig(STACK, config);
    // Warm-up, untimed: builds the image on the manager and pushes it to the swarm's registry.
    log("warm-up (untimed): up builds the image on the manager and pushes it to the swarm's registry, about 4 min");
    await pulumi("up");
    await pulumi("destroy");
    for (let round = 1; round <= ROUNDS; round++) {
      for (const vms of round % 2 === 1 ? [1, 3] : [3, 1]) {
        for (const node of WORKERS) docker("node", "update", "--availability", vms === 1 ? "drain" : "active", node);
        log(`swarm on ${vms} VM(s), round ${round}: up and destroy`);
        const up = await pulumi("up");
        const destroy = await pulumi("destroy");
        samples.push({ vms, round, up, destroy });
        log(`swarm on ${vms} VM(s), round ${round}: all answer at ${up.toFixed(1)} s, destroy ${destroy.toFixed(1)} s`);
      }
    }
  } finally {
    for (const node of WORKERS) docker("node", "update", "--availability", "active", node);
    await pulumi("destroy").catch(() => undefined);
    await run("bash", ["scripts/pulumi.sh", "stack", "rm", "--yes", "--force"], { cwd: REPO_ROOT, env }).catch(
      () => undefined,
    );
    fs.rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    if (startedCluster) vmCluster("down");
  }
  const on = (vms: number, pick: (sample: Sample) => number) =>
    summarize(samples.filter((sample) => sample.vms === vms).map(pick));
  const ratio = (pick: (sample: Sample) => number) => (on(3, pick).median / on(1, pick).median).toFixed(2);
  const markdown = [
    "## Swarm mode on VMs: 1 VM against 3",
    "",
    `${new Date().toISOString()}: the project in swarm mode on the VM cluster (QEMU TCG, 1 vCPU and 1 GiB each, Debian's kernel), ` +
      `${SERVICES} services × ${REPLICAS} replicas, VIP and ingress; 1 VM is the cluster with its 2 workers drained. ` +
      `${ROUNDS} round(s), alternating. Seconds, median (min–max).`,
    "",
    "| swarm mode on VMs | 1 VM | 3 VMs | 3 ÷ 1 |",
    "| --- | --- | --- | --- |",
    `| up until every task runs and every node answers | ${medianRange(
      on(1, (s) => s.up),
      1,
    )} | ${medianRange(
      on(3, (s) => s.up),
      1,
    )} | ${ratio((s) => s.up)} |`,
    `| destroy | ${medianRange(
      on(1, (s) => s.destroy),
      1,
    )} | ${medianRange(
      on(3, (s) => s.destroy),
      1,
    )} | ${ratio((s) => s.destroy)} |`,
    "",
  ].join("\n");
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, "swarm-vm.md"), markdown);
  fs.writeFileSync(path.join(RESULTS_DIR, "swarm-vm.json"), `${JSON.stringify(samples, null, 2)}\n`);
  process.stdout.write(`${markdown}\n`);
}

main().catch((error) => {
  process.stderr.write(`bench:vm failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
