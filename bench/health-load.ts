/**
 * Why the project's up used to fail at 32 and 64 containers on 2 CPUs, with
 * Docker alone: N containers of the project's image, started one after another with
 * the stack's container settings, and a given healthcheck; how many Docker
 * ever reports unhealthy within 90 s, how long until all are healthy, and the
 * CPU load while they run.
 *
 *   npx tsx bench/health-load.ts [containers=32]   (after source scripts/env.sh)
 *
 * Compares the stack's old healthcheck (interval 2s, timeout 2s, start period
 * 10s) with today's (src/plan.ts: 10s, 5s, 30s), both with the bash check. Writes
 * bench/results/health-load.{json,md}. Ports 27101-27199 on 127.0.0.1; every
 * container and the image carry flask-bridge.bench=health-load and are removed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { docker, dockerLines, REPO_ROOT } from "../tests/e2e/harness";
import { removeLabelled, runHardened } from "./lib/containers";
import { idleCpu } from "./lib/experiments";
import { DockerEventLog } from "./lib/project";
import { log, median, run, sleep } from "./lib/util";

const LABEL = "flask-bridge.bench=health-load";
const IMAGE = "flask-bridge-bench-health-load";
const BASE = process.env.FLASK_BRIDGE_BASE_IMAGE || "python:3.11-slim";
const COUNT = Number(process.argv[2] ?? 32);
const VARIANTS = [
  { name: "the stack's old setting", interval: "2s", timeout: "2s", startPeriod: "10s", retries: "3" },
  { name: "as the stack sets it now", interval: "10s", timeout: "5s", startPeriod: "30s", retries: "3" },
];

function removeAll(): void {
  removeLabelled(LABEL);
}

async function main() {
  if (!Number.isInteger(COUNT) || COUNT < 1 || COUNT > 99) throw new Error("containers: 1 to 99");
  await run("docker", [
    "build",
    "-q",
    "--build-arg",
    `BASE_IMAGE=${BASE}`,
    "--build-arg",
    "STACK=bench",
    "--label",
    LABEL,
    "-t",
    IMAGE,
    path.join(REPO_ROOT, "app"),
  ]);
  const rows = [];
  for (const variant of VARIANTS) {
    removeAll();
    await sleep(2000);
    const events = new DockerEventLog(LABEL);
    await sleep(200);
    const names = Array.from({ length: COUNT }, (_, i) => `bench-health-${i + 1}`);
    const t0 = Date.now();
    try {
      for (const [i, name] of names.entries()) {
        runHardened({
          name,
          label: LABEL,
          port: 27101 + i,
          image: IMAGE,
          env: ["PORT=5000", "HOST=0.0.0.0"],
          locked: true,
          health: {
            cmd: "bash /app/healthcheck.sh",
            interval: variant.interval,
            timeout: variant.timeout,
            startPeriod: variant.startPeriod,
            retries: variant.retries,
          },
        });
      }
      const started = (Date.now() - t0) / 1000;
      const deadline = t0 + 90_000;
      const healthyAt = () => names.map((name) => events.first("health_status: healthy", name));
      while (Date.now() < deadline && healthyAt().some((at) => at === undefined)) await sleep(250);
      const unhealthy = names.filter((name) => events.first("health_status: unhealthy", name) !== undefined);
      const healthy = healthyAt().filter((at): at is number => at !== undefined);
      const allHealthy = healthy.length === COUNT ? (Math.max(...healthy) - t0) / 1000 : null;
      const busy = await idleCpu(10);
      rows.push({
        ...variant,
        containers: COUNT,
        secondsToStartAll: started,
        everUnhealthy: unhealthy.length,
        healthyWithin90s: healthy.length,
        secondsUntilAllHealthy: allHealthy,
        medianSecondsToHealthy: median(healthy.map((at) => (at - t0) / 1000)),
        cpuBusyPercentAfter: busy,
      });
      log(JSON.stringify(rows[rows.length - 1]));
    } finally {
      await events.stop();
      removeAll();
    }
  }
  const dir = path.join(REPO_ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "health-load.json"), `${JSON.stringify(rows, null, 2)}\n`);
  const md = [
    `# ${COUNT} containers of the project's image, started one after another, ${new Date().toISOString()}`,
    "",
    "| healthcheck | interval / timeout | ever unhealthy | healthy within 90 s | all healthy after (s) | CPU busy afterwards, 10 s (%) |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.interval} / ${r.timeout} | ${r.everUnhealthy} | ${r.healthyWithin90s} | ${r.secondsUntilAllHealthy?.toFixed(1) ?? "never"} | ${r.cpuBusyPercentAfter.toFixed(0)} |`,
    ),
    "",
  ].join("\n");
  fs.writeFileSync(path.join(dir, "health-load.md"), md);
  process.stdout.write(md);
}

main()
  .catch((error) => {
    log(`FAILED: ${String(error)}`);
    process.exitCode = 1;
  })
  .finally(() => {
    removeAll();
    if (dockerLines("image", "ls", "-q", IMAGE).length > 0) docker("image", "rm", "-f", IMAGE);
  });
