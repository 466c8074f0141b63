/**
 * `npm run bench`: the tutorial's commands and Compose, each with the
 * tutorial's image and with ours, and Terraform (kreuzwerker/docker), vs this
 * project, on one engine in one run, tools alternating round by round. Run it
 * through bench/run.sh.
 *
 *   BENCH_PEERS         which peers run beside the project: tutorial, compose,
 *                       terraform (default all three, comma-separated)
 *   BENCH_ROUNDS        rounds at 8 containers (default 3)
 *   BENCH_SCALES        larger container counts (default 32,64; "" skips)
 *   BENCH_SCALE_ROUNDS  rounds per larger scale (default 1)
 *   BENCH_WRK_ROUNDS    wrk runs per server, alternating (default 2; 0 skips)
 *   BENCH_WRK_SECONDS   length of each wrk run (default 10)
 *   BENCH_SWARM_ROUNDS  swarm mode on 1 node vs 3, rounds (default 2; 0 skips)
 *   BENCH_RESULTS_DIR   where the results go (default bench/results)
 *
 * Writes results.md, results.json and chart.svg. Everything it creates carries
 * the label flask-bridge.bench=... or is in the stack `bench`, and is removed
 * at the end, also on failure or a signal.
 */
import { execFileSync } from "node:child_process";
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { docker, dockerLines, REPO_ROOT, removeLeftovers, requirePrerequisites } from "../tests/e2e/harness";
import { AttributedCpu, busyRate } from "./lib/cpu";
import { BenchProject, PORT_BASE, removeBenchStack, urls } from "./lib/project";
import { type Results, type Sample, writeResults } from "./lib/report";
import { measureSwarm } from "./lib/swarm";
import { MissingPrerequisite, TERRAFORM_STACK, type TerraformPeer, terraformPeer } from "./lib/terraform";
import { buildImage, compose, IMAGES, type Tool, tutorial } from "./lib/tools";
import { log, run, sleep, waitForApps } from "./lib/util";
import { runWrk } from "./lib/wrk";

const RESULTS_DIR = path.resolve(REPO_ROOT, process.env.BENCH_RESULTS_DIR || "bench/results");

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not "${raw}"`);
  return value;
}

const ROUNDS = intFromEnv("BENCH_ROUNDS", 3);
const SCALES = (process.env.BENCH_SCALES ?? "32,64")
  .split(",")
  .filter((text) => text.trim() !== "")
  .map((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 4 || value > 90) throw new Error(`BENCH_SCALES: "${text}" is not 4-90`);
    return value;
  });
const SCALE_ROUNDS = intFromEnv("BENCH_SCALE_ROUNDS", 1);
const PEER_NAMES = ["tutorial", "compose", "terraform"] as const;
const PEERS = (process.env.BENCH_PEERS ?? PEER_NAMES.join(","))
  .split(",")
  .map((text) => text.trim())
  .filter((text) => text !== "")
  .map((text) => {
    if (!(PEER_NAMES as readonly string[]).includes(text)) {
      throw new Error(`BENCH_PEERS: "${text}" is none of ${PEER_NAMES.join(", ")}`);
    }
    return text as (typeof PEER_NAMES)[number];
  });
const SWARM_ROUNDS = intFromEnv("BENCH_SWARM_ROUNDS", 2);
const WRK_ROUNDS = intFromEnv("BENCH_WRK_ROUNDS", 2);
const WRK_OPTIONS = { threads: 2, connections: 16, durationSeconds: intFromEnv("BENCH_WRK_SECONDS", 10) };
/** A pause between operations; its second half measures the machine's load from others. */
const SETTLE_MS = 2000;

const abort = new AbortController();
setMaxListeners(0, abort.signal);
let project: BenchProject | undefined;
let terraform: TerraformPeer | undefined;
let partial: Results | undefined;

/** Other things that load the engine or the CPUs: test runs, other Pulumi programs, builds. */
function otherWorkloads(): string[] {
  const found: string[] = [];
  for (const [pattern, name] of [
    ["go build", "go build"],
    ["jest", "jest"],
    ["pulumi-language-nodejs", "another Pulumi program"],
    ["dockerd --host", "docker-in-docker"],
  ] as const) {
    try {
      if (execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim() !== "") found.push(name);
    } catch {
      // none
    }
  }
  return found;
}

function expectRunning(what: string, count: number, actual: number): void {
  if (actual !== count) throw new Error(`${what}: ${actual} containers running, expected ${count}`);
}

/** Memory and processes of one running container, as `docker stats` reports them. */
function containerMemory(name: string): { mib: number; pids: number } {
  const [mem, pids] = docker("stats", "--no-stream", "--format", "{{.MemUsage}}\t{{.PIDs}}", name).split("\t");
  const match = /^([\d.]+)(KiB|MiB|GiB)/.exec(mem ?? "");
  const factor = match?.[2] === "KiB" ? 1 / 1024 : match?.[2] === "GiB" ? 1024 : 1;
  return { mib: Number(match?.[1]) * factor, pids: Number(pids) };
}

/** Removes what the bench made; `final` also removes the Terraform peer's working directory. */
async function cleanup(final = true): Promise<void> {
  const quiet = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      log(`cleanup: ${what}: ${String(error).split("\n")[0]}`);
    }
  };
  const signal = new AbortController().signal;
  await quiet("tutorial", () => tutorial("theirs", signal).down(8));
  await quiet("compose", () => compose("theirs", signal).down(8));
  await quiet("stack", () => removeBenchStack(project));
  project = undefined;
  await quiet("terraform", async () => {
    if (terraform && final) await terraform.remove();
    else removeLeftovers(TERRAFORM_STACK);
  });
  if (final) terraform = undefined;
  await quiet("labelled containers", async () => {
    const left = dockerLines("ps", "-aq", "--filter", "label=flask-bridge.bench");
    if (left.length > 0) docker("rm", "-f", ...left);
  });
  await quiet("images", async () => {
    for (const image of Object.values(IMAGES)) {
      if (dockerLines("image", "ls", "-q", image).length > 0) docker("image", "rm", "-f", image);
    }
  });
}

async function main(): Promise<number> {
  requirePrerequisites();
  for (const tool of ["wrk", "docker-compose"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new MissingPrerequisite(
        `${tool} is missing; run the bench with \`npm run bench\` (bench/run.sh installs it)`,
      );
    }
  }
  const logDir = path.join(process.env.FB_LOG_DIR ?? os.tmpdir(), "bench");
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `pulumi-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  log(`Pulumi output goes to ${logFile}`);
  // First, so a missing Terraform or provider fails before anything is built.
  if (PEERS.includes("terraform")) {
    terraform = await terraformPeer(logFile, abort.signal);
    log(`Terraform peer: ${terraform.version}`);
  }

  const busyAtStart = await busyRate(3000);
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      scales: SCALES,
      scaleRounds: SCALE_ROUNDS,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGB: Math.round(os.totalmem() / 1e9),
      engine: docker("version", "--format", "{{.Server.Version}}"),
      compose: (await run("docker-compose", ["version", "--short"])).stdout.trim(),
      pulumi: (await run("pulumi", ["version"])).stdout.trim(),
      // The node scripts/pulumi.sh gives the program (scripts/lib/node.sh).
      programNode: (
        await run(
          "bash",
          ["-c", "source scripts/env.sh && source scripts/lib/node.sh && fb_use_program_node && node --version"],
          {
            cwd: REPO_ROOT,
          },
        )
      ).stdout.trim(),
      ...(terraform ? { terraform: terraform.version } : {}),
      tools: [],
      plugins: fs.readdirSync(path.join(process.env.PULUMI_HOME ?? "", "plugins")).filter((p) => !p.endsWith(".lock")),
      baseImage: process.env.FLASK_BRIDGE_BASE_IMAGE || "python:3.11-slim",
      busyCpusAtStart: busyAtStart,
      loadAverageAtStart: os.loadavg(),
      otherWorkloadsAtStart: otherWorkloads(),
      otherContainersAtStart: dockerLines("ps", "-q").length,
      otherWorkloadsAtEnd: [],
    },
    samples: [],
    wrk: { options: WRK_OPTIONS, runs: [] },
  };
  partial = results;
  if (busyAtStart > 0.3 || results.meta.otherWorkloadsAtStart.length > 0) {
    log(
      `WARNING: the machine is busy (${busyAtStart.toFixed(2)} CPUs over 3 s; ${results.meta.otherWorkloadsAtStart.join(", ") || "-"}; ${results.meta.otherContainersAtStart} containers); recorded in the results`,
    );
  }

  // --- warm-up, untimed: both images built and cached, the stack created, every tool once ---
  await cleanup(false);
  const tools: Tool[] = [
    ...(PEERS.includes("tutorial") ? [tutorial("theirs", abort.signal), tutorial("ours", abort.signal)] : []),
    ...(PEERS.includes("compose") ? [compose("theirs", abort.signal), compose("ours", abort.signal)] : []),
    ...(terraform ? [terraform] : []),
  ];
  results.meta.tools = [...tools.map((tool) => tool.name), "project"];
  log(`warm-up: images, the bench stack, every tool once at 8 containers (${results.meta.tools.join(", ")})`);
  await buildImage("theirs");
  await buildImage("ours");
  const stack = await BenchProject.create(logFile, abort.signal);
  stack.instrument = false;
  project = stack;
  await stack.up();
  await stack.destroy();
  for (const tool of tools) {
    await tool.up(8);
    await waitForApps(urls(tool.port, 8), 60_000);
    await tool.down(8);
  }

  /** One timed round of one tool at one size: up until all answer, (preview), down; CPU over each. */
  const measure = async (tool: Tool | "project", containers: number, round: number) => {
    const name = tool === "project" ? "project" : tool.name;
    const port = tool === "project" ? PORT_BASE : tool.port;
    await sleep(SETTLE_MS / 2);
    const baseline = await busyRate(SETTLE_MS / 2);
    const sample: Sample = { tool: name, containers, round, baseline, up: 0, ready: 0, upCpu: 0, down: 0, downCpu: 0 };
    const label = tool === "project" ? "flask-bridge.stack=bench" : `flask-bridge.bench=${tool.kind}`;
    let cpu = new AttributedCpu();
    const started = Date.now();
    const up = tool === "project" ? await stack.up() : await tool.up(containers);
    sample.up = up.seconds;
    await waitForApps(urls(port, containers), 120_000);
    sample.ready = (Date.now() - started) / 1000;
    const ids = dockerLines("ps", "-q", "--no-trunc", "--filter", `label=${label}`, "--filter", "status=running");
    sample.upCpu = cpu.stop(up.cpu, ids);
    sample.upToolCpu = up.cpu;
    sample.upMaxRssMb = up.maxRssMb;
    expectRunning(name, containers, ids.length);
    await sleep(SETTLE_MS / 2);
    if (tool === "project" || tool === terraform) {
      const preview = tool === "project" ? await stack.preview() : await (tool as TerraformPeer).preview(containers);
      sample.preview = preview.seconds;
      sample.previewCpu = preview.cpu;
      await sleep(SETTLE_MS / 2);
    }
    cpu = new AttributedCpu();
    const down = tool === "project" ? await stack.destroy() : await tool.down(containers);
    sample.down = down.seconds;
    sample.downCpu = cpu.stop(down.cpu);
    if (tool === "project") {
      // Where the time goes, from one more up, untimed: its event log and process
      // tree cost CPU of their own, which the timed runs (like the peers') do not pay.
      await sleep(SETTLE_MS / 2);
      stack.instrument = true;
      try {
        sample.breakdown = (await stack.up()).breakdown;
        await stack.destroy();
      } finally {
        stack.instrument = false;
      }
    }
    results.samples.push(sample);
    log(
      `${containers} × ${name} round ${round}: all answer at ${sample.ready.toFixed(2)} s (command ${sample.up.toFixed(2)} s, ${(sample.upCpu / containers).toFixed(3)} CPU-s per container)` +
        `${sample.preview !== undefined ? `, preview ${sample.preview.toFixed(2)} s` : ""}, down ${sample.down.toFixed(2)} s (baseline load ${baseline.toFixed(2)} CPUs)`,
    );
  };

  const sizes = [
    ...Array.from({ length: ROUNDS }, () => 8),
    ...SCALES.flatMap((n) => Array.from({ length: SCALE_ROUNDS }, () => n)),
  ];
  const roundOf = new Map<number, number>();
  for (const containers of sizes) {
    const round = (roundOf.get(containers) ?? 0) + 1;
    roundOf.set(containers, round);
    if (containers !== 8) stack.configure(containers);
    // Rotate the order each round, so no tool always follows the same one.
    const order: (Tool | "project")[] = [...tools, "project"];
    const turn = order.map((_, i) => order[(i + round - 1) % order.length] as Tool | "project");
    log(
      `${containers} containers, round ${round} of ${containers === 8 ? ROUNDS : SCALE_ROUNDS}: ${turn.map((tool) => (tool === "project" ? "project" : tool.name)).join(" → ")}`,
    );
    for (const tool of turn) await measure(tool, containers, round);
    if (containers !== 8) stack.configure(8);
  }

  // --- one app under wrk, and its memory: the tutorial's dev server vs this project's uWSGI ---
  for (let round = 1; round <= WRK_ROUNDS; round++) {
    for (const tool of [tutorial("theirs", abort.signal), "project" as const]) {
      await sleep(SETTLE_MS);
      const port = tool === "project" ? PORT_BASE : tool.port;
      if (tool === "project") await stack.up();
      else await tool.up(8);
      await waitForApps(urls(port, 8));
      await sleep(5000);
      const container = tool === "project" ? "bench-bridge-1" : "bench-tutorial-bridge-1";
      const memory = containerMemory(container);
      const result = await runWrk(`http://127.0.0.1:${port + 1}/`, WRK_OPTIONS);
      const memoryAfter = containerMemory(container);
      if (tool === "project") await stack.destroy();
      else await tool.down(8);
      const name = tool === "project" ? "project" : tool.name;
      results.wrk.runs.push({ tool: name, round, memory, memoryAfter, result });
      log(
        `wrk ${name} round ${round}: ${result.requestsPerSecond} req/s, p99 ${result.latencyMs.p99} ms, errors ${result.errors.total}; memory ${memory.mib.toFixed(1)} MiB in ${memory.pids} tasks`,
      );
    }
  }

  // --- swarm mode: the same services on 1 node and on 3 (last: it makes this engine a swarm manager) ---
  if (SWARM_ROUNDS > 0) {
    results.meta.swarmDate = new Date().toISOString();
    results.swarm = await measureSwarm(SWARM_ROUNDS, abort.signal);
  }

  results.meta.otherWorkloadsAtEnd = otherWorkloads();
  results.meta.loadAverageAtEnd = os.loadavg();
  const markdown = await writeResults(results, RESULTS_DIR);
  process.stdout.write(`${markdown}\n`);
  log(`wrote ${path.relative(REPO_ROOT, RESULTS_DIR)}/results.md, results.json and chart.svg`);
  const wrkErrors = results.wrk.runs.filter((entry) => entry.result.errors.total > 0);
  if (wrkErrors.length > 0) {
    log(`FAILED: wrk saw errors in ${wrkErrors.length} run(s); 0 are required`);
    return 1;
  }
  return 0;
}

let cleaningUp: Promise<void> | undefined;
const cleanupOnce = () => {
  cleaningUp ??= cleanup();
  return cleaningUp;
};

// Node exits 0 when its event loop empties; the bench must never end that way unnoticed.
let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  finished = true;
  log("FAILED: the bench stopped waiting for anything before it finished (node's event loop emptied); cleaning up");
  cleanupOnce().finally(() => process.exit(1));
});

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping and cleaning up`);
    abort.abort();
    cleanupOnce().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    finished = true;
    log("cleaning up");
    await cleanupOnce();
    process.exit(code);
  })
  .catch(async (error) => {
    finished = true;
    log(
      `FAILED: ${error instanceof MissingPrerequisite ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    if (partial) {
      partial.meta.incomplete = String(error instanceof Error ? error.message : error).slice(0, 600);
      try {
        await writeResults(partial, RESULTS_DIR);
        log(`wrote what was measured so far to ${path.relative(REPO_ROOT, RESULTS_DIR)}/ (marked incomplete)`);
      } catch (writeError) {
        log(`could not write the partial results: ${String(writeError)}`);
      }
    }
    await cleanupOnce();
    process.exit(1);
  });
