/**
 * `npm run bench`: the tutorial's commands vs docker-compose vs this project,
 * on one engine in one run, tools alternating round by round (A B C A B C ...).
 * Run it through bench/run.sh (setup, env, wrk and docker-compose installed).
 *
 *   BENCH_ROUNDS        timed rounds per tool (default 5)
 *   BENCH_SCALES        container counts for the scaling curve (default 8,32,64; "" skips)
 *   BENCH_SCALE_ROUNDS  rounds per scale (default 2)
 *   BENCH_WRK_SECONDS   length of each wrk run (default 10)
 *   BENCH_WRK_ROUNDS    wrk runs per server, alternating (default 2; 0 skips)
 *   BENCH_EXPERIMENTS   1 (default) runs the experiments behind the suggestions; 0 skips
 *   BENCH_PARALLEL      --parallel tried at the largest scale besides the default
 *                       (default 8, the CLI's own on 2 CPUs; 0 skips)
 *   BENCH_SCALE_PARALLEL --parallel for every scaling run (default: PULUMI_PARALLEL from scripts/env.sh)
 *   BENCH_RESULTS_DIR   where the results go (default bench/results)
 *
 * Writes bench/results/{results.md,results.json,chart.svg} and prints the table.
 * Everything it creates carries a label (flask-bridge.bench=..., or the bench
 * stack's flask-bridge.stack=bench) and is removed at the end, also on failure.
 */
import { execFileSync } from "node:child_process";
import { setMaxListeners } from "node:events";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { docker, dockerLines, REPO_ROOT, requirePrerequisites } from "../tests/e2e/harness";
import { healthIntervalExperiment, idleCpu, stopVersusKill, workerClassExperiment } from "./lib/experiments";
import { BenchProject, benchUrls, removeBenchStack } from "./lib/project";
import { type ImageFacts, type Results, type ToolName, writeResults } from "./lib/report";
import { log, run, sleep, summarize, waitForApps } from "./lib/util";
import { runWrk, type WrkResult } from "./lib/wrk";

const BENCH_DIR = path.join(REPO_ROOT, "bench");
const RESULTS_DIR = path.resolve(REPO_ROOT, process.env.BENCH_RESULTS_DIR || path.join(BENCH_DIR, "results"));
const TUTORIAL_SH = path.join(BENCH_DIR, "tutorial.sh");
const COMPOSE = ["-p", "bench-compose", "-f", path.join(BENCH_DIR, "compose.yaml")];
const TUTORIAL_IMAGE = "flask-bridge-bench-tutorial";
const PROJECT_IMAGE = "flask-bridge-bench";
const BASE_IMAGE = process.env.FLASK_BRIDGE_BASE_IMAGE || "python:3.11-slim";

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, not "${raw}"`);
  return value;
}

const ROUNDS = intFromEnv("BENCH_ROUNDS", 5);
const SCALES = (process.env.BENCH_SCALES ?? "8,32,64")
  .split(",")
  .map((text) => text.trim())
  .filter((text) => text !== "")
  .map((text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 2 || value > 90) {
      throw new Error(`BENCH_SCALES: "${text}" is not a container count from 2 to 90`);
    }
    return value;
  });
const SCALE_ROUNDS = intFromEnv("BENCH_SCALE_ROUNDS", 2);
const WRK_SECONDS = intFromEnv("BENCH_WRK_SECONDS", 10);
const WRK_ROUNDS = intFromEnv("BENCH_WRK_ROUNDS", 2);
const EXPERIMENTS = process.env.BENCH_EXPERIMENTS !== "0";
// 64 once left dockerd with a stale endpoint (moby/moby#42119); 8 is the CLI's own default here.
const PARALLEL = intFromEnv("BENCH_PARALLEL", 8);
const SCALE_PARALLEL = intFromEnv("BENCH_SCALE_PARALLEL", 0);
const WRK_OPTIONS = { threads: 2, connections: 16, durationSeconds: WRK_SECONDS };
/** A pause between operations, so one tool's leftovers in dockerd do not land on the next. */
const SETTLE_MS = 1000;

const tutorialUrls = Array.from({ length: 7 }, (_, i) => `http://127.0.0.1:${25000 + i}/`);
const composeUrls = Array.from({ length: 7 }, (_, i) => `http://127.0.0.1:${26000 + i}/`);

const abort = new AbortController();
// One signal is handed to every operation of the run.
setMaxListeners(0, abort.signal);
let project: BenchProject | undefined;
/** Whatever was measured so far; written out even when a later phase fails. */
let partial: Results | undefined;

function goBuildRunning(): boolean {
  try {
    return execFileSync("pgrep", ["-f", "go build"], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false;
  }
}

/** The worker settings app/gunicorn.conf.py ships, as the report's label for our server. */
function gunicornSettings(): string {
  const conf = fs.readFileSync(path.join(REPO_ROOT, "app", "gunicorn.conf.py"), "utf8");
  const setting = (key: string) => new RegExp(`^${key}\\s*=\\s*(.+)$`, "m").exec(conf)?.[1]?.trim();
  const workerClass = setting("worker_class")?.replace(/["']/g, "") ?? "sync";
  const threads = workerClass === "gthread" ? ` × ${/"THREADS",\s*"(\d+)"/.exec(conf)?.[1] ?? "?"} threads` : "";
  const workers = /"WORKERS",\s*"(\d+)"/.exec(conf)?.[1] ?? "?";
  return `${workerClass}, ${workers} workers${threads}${setting("preload_app") === "True" ? ", preload" : ""}`;
}

/** What `pulumi up --help` gives as --parallel's default (it depends on the CPU count). */
function defaultParallel(): number | null {
  const help = execFileSync("pulumi", ["up", "--help"], { encoding: "utf8" });
  const match = /--parallel int32.*\(default (\d+)\)/.exec(help);
  return match ? Number(match[1]) : null;
}

/** Other things that load the engine or the CPUs: test runs, Pulumi operations, builds. */
function otherWorkloads(): string[] {
  const found: string[] = [];
  for (const [pattern, name] of [
    ["go build", "go build"],
    ["jest", "jest"],
    ["npm ci", "npm ci"],
    ["tsc --noEmit", "tsc"],
    ["pulumi-language-nodejs", "another Pulumi program"],
  ]) {
    try {
      if (execFileSync("pgrep", ["-f", pattern as string], { encoding: "utf8" }).trim() !== "")
        found.push(name as string);
    } catch {
      // none
    }
  }
  return found;
}

/** The lines of a failed operation that say why: Pulumi's "error:" lines, else the first line. */
function failureReason(error: unknown): string {
  const text = String(error instanceof Error ? error.message : error);
  const reasons = [
    ...new Set(
      text
        .split("\n")
        .filter((line) => /^\s*error: /.test(line))
        .map((line) => line.trim()),
    ),
  ];
  return (reasons.length > 0 ? reasons.slice(0, 4).join(" / ") : (text.split("\n")[0] ?? "")).slice(0, 600);
}

function runningWithLabel(label: string): number {
  return dockerLines("ps", "-q", "--filter", `label=${label}`, "--filter", "status=running").length;
}

function expectRunning(what: string, count: number, actual: number): void {
  if (actual !== count) throw new Error(`${what}: ${actual} containers running, expected ${count}`);
}

const tutorial = {
  up: () => run("bash", [TUTORIAL_SH, "up"], { signal: abort.signal }),
  down: () => run("bash", [TUTORIAL_SH, "down"], { signal: abort.signal }),
};

const compose = {
  up: () => run("docker-compose", [...COMPOSE, "up", "-d"], { signal: abort.signal }),
  // --timeout 0: kill at once, as `docker rm -f` and the Pulumi provider do
  // (`python app.py` as PID 1 ignores SIGTERM; the default waits out 10 s).
  down: (timeout = 0) =>
    run("docker-compose", [...COMPOSE, "down", "--timeout", String(timeout)], { signal: abort.signal }),
};

/** Removes everything the bench made; safe to call at any point and more than once. */
async function cleanup(): Promise<void> {
  const quiet = async (what: string, work: () => Promise<unknown>) => {
    try {
      await work();
    } catch (error) {
      log(`cleanup: ${what}: ${String(error).split("\n")[0]}`);
    }
  };
  await quiet("tutorial", () => run("bash", [TUTORIAL_SH, "down"]));
  await quiet("compose", () => run("docker-compose", [...COMPOSE, "down", "--timeout", "0"]));
  await quiet("stack", () => removeBenchStack(project));
  project = undefined;
  await quiet("labelled containers", async () => {
    const left = dockerLines("ps", "-aq", "--filter", "label=flask-bridge.bench");
    if (left.length > 0) docker("rm", "-f", ...left);
  });
  if (process.env.BENCH_KEEP_IMAGES !== "1") {
    await quiet("images", async () => {
      for (const image of [TUTORIAL_IMAGE, PROJECT_IMAGE]) {
        if (dockerLines("image", "ls", "-q", image).length > 0) docker("image", "rm", "-f", image);
      }
    });
  }
}

function imageFacts(ref: string): ImageFacts {
  const bytes = Number(docker("image", "inspect", "-f", "{{.Size}}", ref));
  const baseBytes = Number(docker("image", "inspect", "-f", "{{.Size}}", BASE_IMAGE));
  const history = dockerLines("history", "--no-trunc", "--human=false", "--format", "{{.Size}}\t{{.CreatedBy}}", ref);
  const baseLayers = dockerLines("history", "-q", BASE_IMAGE).length;
  const appLayers = history.slice(0, history.length - baseLayers).map((line) => {
    const [size, ...rest] = line.split("\t");
    const createdBy = rest
      .join("\t")
      .replace(/^\/bin\/sh -c #\(nop\)\s*/, "")
      .replace(/\s+/g, " ")
      .trim();
    return { bytes: Number(size), createdBy: createdBy.length > 90 ? `${createdBy.slice(0, 87)}...` : createdBy };
  });
  return { ref, bytes, baseBytes, appBytes: bytes - baseBytes, appLayers };
}

async function main(): Promise<number> {
  requirePrerequisites();
  for (const tool of ["wrk", "docker-compose"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      throw new Error(`${tool} is missing; run the bench with \`npm run bench\` (bench/run.sh installs it)`);
    }
  }
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const logDir = path.join(process.env.FB_LOG_DIR ?? os.tmpdir(), "bench");
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = path.join(logDir, `pulumi-${new Date().toISOString().replace(/[:.]/g, "-")}.log`);
  log(`Pulumi output goes to ${logFile}`);

  const buildsAtStart = goBuildRunning();
  if (buildsAtStart) log("WARNING: a `go build` is running; figures will be skewed (recorded in the results)");
  const busyAtStart = await idleCpu(3);
  const othersAtStart = otherWorkloads();
  if (busyAtStart > 15 || othersAtStart.length > 0) {
    log(
      `WARNING: the machine is busy before the bench starts (CPU ${busyAtStart.toFixed(0)}% over 3 s${othersAtStart.length ? `; running: ${othersAtStart.join(", ")}` : ""}); figures will be skewed (recorded in the results)`,
    );
  }

  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      rounds: ROUNDS,
      scales: SCALES,
      scaleRounds: SCALE_ROUNDS,
      scaleParallel: SCALE_PARALLEL || null,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? "unknown",
      memoryGB: Math.round(os.totalmem() / 1e9),
      kernel: os.release(),
      node: process.version,
      engine: docker("version", "--format", "{{.Server.Version}}"),
      compose: (await run("docker-compose", ["version", "--short"])).stdout.trim(),
      wrk: (await run("sh", ["-c", "wrk -v 2>&1 | head -n1 || true"])).stdout.trim(),
      pulumi: (await run("pulumi", ["version"])).stdout.trim(),
      pulumiDefaultParallel: defaultParallel(),
      baseImage: BASE_IMAGE,
      gunicorn: gunicornSettings(),
      baseImageNote: process.env.FLASK_BRIDGE_BASE_IMAGE_NOTE ?? null,
      goBuildRunningAtStart: buildsAtStart,
      cpuBusyPercentAtStart: busyAtStart,
      otherWorkloadsAtStart: othersAtStart,
      goBuildRunningAtEnd: false,
      otherWorkloadsAtEnd: [],
      loadAverageAtStart: os.loadavg(),
    },
    samples: {
      tutorial: { up: [], ready: [], down: [] },
      compose: { up: [], ready: [], down: [] },
      project: { up: [], ready: [], preview: [], down: [] },
    },
    previewChanges: [],
    breakdowns: [],
    destroyBreakdowns: [],
    images: null,
    wrk: { options: WRK_OPTIONS, runs: [] },
    idleCpuPercent: { tutorial: [], project: [] },
    scaling: [],
    scalingParallel: [],
    scalingFailures: [],
    experiments: {},
  };

  partial = results;

  // --- warm-up: images built and cached, stack created; nothing here is timed ---
  log("warm-up: tutorial image, compose, bench stack (first up builds the project's image)");
  await cleanup();
  await run("bash", [TUTORIAL_SH, "build"], { signal: abort.signal });
  await tutorial.up();
  await waitForApps(tutorialUrls);
  await tutorial.down();
  await compose.up();
  await waitForApps(composeUrls);
  await compose.down();
  const stack = await BenchProject.create(logFile, abort.signal);
  project = stack;
  await stack.up();
  await waitForApps(benchUrls());
  await stack.preview();
  await stack.destroy();

  // --- the comparison: A B C, A B C, ... ---
  const order: ToolName[] = ["tutorial", "compose", "project"];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const tool of order) {
      await sleep(SETTLE_MS);
      if (tool === "project") {
        const up = await stack.up();
        const ready = up.seconds + (await waitForApps(benchUrls()));
        expectRunning("project", 8, stack.runningContainers().length);
        await sleep(SETTLE_MS);
        const preview = await stack.preview();
        await sleep(SETTLE_MS);
        const down = await stack.destroy();
        results.samples.project.up.push(up.seconds);
        results.samples.project.ready.push(ready);
        results.samples.project.preview.push(preview.seconds);
        results.samples.project.down.push(down.seconds);
        results.previewChanges.push(preview.changes);
        results.breakdowns.push(up.breakdown);
        results.destroyBreakdowns.push(down.breakdown);
        log(
          `round ${round} project: up ${up.seconds.toFixed(2)}s, preview ${preview.seconds.toFixed(2)}s ${JSON.stringify(preview.changes)}, destroy ${down.seconds.toFixed(2)}s`,
        );
      } else {
        const ops = tool === "tutorial" ? tutorial : compose;
        const urls = tool === "tutorial" ? tutorialUrls : composeUrls;
        const up = await ops.up();
        const ready = up.seconds + (await waitForApps(urls));
        expectRunning(tool, 8, runningWithLabel(`flask-bridge.bench=${tool}`));
        await sleep(SETTLE_MS);
        const down = await ops.down();
        const samples = results.samples[tool];
        samples.up.push(up.seconds);
        samples.ready.push(ready);
        samples.down.push(down.seconds);
        log(
          `round ${round} ${tool}: up ${up.seconds.toFixed(2)}s (all answer at ${ready.toFixed(2)}s), down ${down.seconds.toFixed(2)}s`,
        );
      }
    }
  }

  // --- image sizes: both images are still cached ---
  results.images = { tutorial: imageFacts(TUTORIAL_IMAGE), project: imageFacts(PROJECT_IMAGE) };

  // --- wrk: one app at a time, only that tool's topology up, alternating ---
  for (let round = 1; round <= WRK_ROUNDS; round++) {
    await sleep(SETTLE_MS);
    await tutorial.up();
    await waitForApps(tutorialUrls);
    results.idleCpuPercent.tutorial.push(await idleCpu(5));
    const tutorialRun = await runWrk("http://127.0.0.1:25001/", WRK_OPTIONS);
    await tutorial.down();
    await sleep(SETTLE_MS);
    await stack.up();
    await waitForApps(benchUrls());
    results.idleCpuPercent.project.push(await idleCpu(5));
    const projectRun = await runWrk("http://127.0.0.1:27001/", WRK_OPTIONS);
    await stack.destroy();
    for (const [tool, result] of [
      ["tutorial", tutorialRun],
      ["project", projectRun],
    ] as [ToolName, WrkResult][]) {
      results.wrk.runs.push({ tool, round, result });
      log(
        `wrk ${tool} round ${round}: ${result.requestsPerSecond} req/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, errors ${JSON.stringify(result.errors)}`,
      );
    }
  }

  // --- experiments behind the suggestions ---
  if (EXPERIMENTS) {
    log("experiment: health interval (8 containers of our image per interval)");
    results.experiments.healthInterval = await healthIntervalExperiment(PROJECT_IMAGE, ["10s", "2s", "250ms"]);

    if (WRK_ROUNDS > 0) {
      log("experiment: gunicorn sync vs gthread workers, one container of our image alone, under wrk");
      results.experiments.workerClass = await workerClassExperiment(PROJECT_IMAGE, (url) => runWrk(url, WRK_OPTIONS));
    }

    log("experiment: docker stop + rm vs docker rm -f on our image");
    results.experiments.stopVersusKill = await stopVersusKill(PROJECT_IMAGE);

    log("experiment: preview type-checked, without the policy pack, and transpile-only (as run)");
    await stack.up();
    const asRun: number[] = [];
    const noPolicy: number[] = [];
    const transpileOnly: number[] = [];
    const configured = process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
    try {
      for (let i = 0; i < 3; i++) {
        delete process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
        asRun.push((await stack.preview()).seconds);
        noPolicy.push((await stack.preview(false)).seconds);
        process.env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
        transpileOnly.push((await stack.preview()).seconds);
      }
    } finally {
      if (configured === undefined) delete process.env.PULUMI_NODEJS_TRANSPILE_ONLY;
      else process.env.PULUMI_NODEJS_TRANSPILE_ONLY = configured;
    }
    await stack.destroy();
    results.experiments.previewVariants = {
      asRun: summarize(asRun),
      noPolicy: summarize(noPolicy),
      transpileOnly: summarize(transpileOnly),
    };

    log("experiment: docker-compose down with its default 10 s stop timeout");
    await compose.up();
    await waitForApps(composeUrls);
    const defaultDown = await compose.down(10);
    results.experiments.composeDefaultDown = defaultDown.seconds;
  }

  // --- scaling: the project at several sizes ---
  // A failed up is a result too (e.g. healthchecks timing out on a busy
  // machine): it is recorded, the stack is destroyed, and the run goes on.
  const scaleRun = async (containers: number, round: number, parallel?: number, extra = false) => {
    await sleep(SETTLE_MS);
    stack.configure(containers);
    const options = parallel ? { parallel } : {};
    const started = performance.now();
    let up: Awaited<ReturnType<BenchProject["up"]>>;
    try {
      up = await stack.up(options);
      expectRunning(`project at ${containers}`, containers, stack.runningContainers().length);
    } catch (error) {
      if (abort.signal.aborted) throw error;
      const reason = failureReason(error);
      const seconds = (performance.now() - started) / 1000;
      log(
        `scale ${containers} round ${round}${parallel ? ` --parallel ${parallel}` : ""}: up FAILED after ${seconds.toFixed(1)}s: ${reason}`,
      );
      results.scalingFailures.push({ containers, round, parallel: parallel ?? null, seconds, reason });
      await stack.destroy(options);
      return;
    }
    await sleep(SETTLE_MS);
    const down = await stack.destroy(options);
    if (extra && parallel) {
      results.scalingParallel.push({
        containers,
        parallel,
        round,
        up: up.seconds,
        destroy: down.seconds,
        breakdown: up.breakdown,
      });
    } else {
      results.scaling.push({
        containers,
        round,
        up: up.seconds,
        destroy: down.seconds,
        breakdown: up.breakdown,
        destroyBreakdown: down.breakdown,
      });
    }
    log(
      `scale ${containers} round ${round}${parallel ? ` --parallel ${parallel}` : ""}: up ${up.seconds.toFixed(2)}s, destroy ${down.seconds.toFixed(2)}s`,
    );
  };
  for (let round = 1; round <= SCALE_ROUNDS; round++) {
    for (const containers of SCALES) {
      await scaleRun(containers, round, SCALE_PARALLEL || undefined);
      if (PARALLEL > 0 && containers === Math.max(...SCALES)) {
        // The same size again with more resource operations at once than the CLI's default.
        await scaleRun(containers, round, PARALLEL, true);
      }
    }
  }
  stack.configure(8);

  results.meta.goBuildRunningAtEnd = goBuildRunning();
  results.meta.otherWorkloadsAtEnd = otherWorkloads();

  // --- output ---
  const markdown = await writeResults(results, RESULTS_DIR);
  process.stdout.write(`${markdown}\n`);
  log(`wrote ${path.relative(REPO_ROOT, RESULTS_DIR)}/results.md, results.json and chart.svg`);

  const wrkErrors = results.wrk.runs.filter((entry) => entry.result.errors.total > 0);
  if (wrkErrors.length > 0) {
    log(`FAILED: wrk saw errors in ${wrkErrors.length} run(s); 0 are required (see the table)`);
    return 1;
  }
  return 0;
}

let cleaningUp: Promise<void> | undefined;
function cleanupOnce(): Promise<void> {
  cleaningUp ??= cleanup();
  return cleaningUp;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping and cleaning up`);
    abort.abort();
    cleanupOnce().finally(() => process.exit(130));
  });
}

main()
  .then(async (code) => {
    log("cleaning up");
    await cleanupOnce();
    process.exit(code);
  })
  .catch(async (error) => {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    if (partial) {
      partial.meta.incomplete = failureReason(error);
      try {
        await writeResults(partial, RESULTS_DIR);
        log(`wrote the results measured so far to ${path.relative(REPO_ROOT, RESULTS_DIR)}/ (marked incomplete)`);
      } catch (writeError) {
        log(`could not write the partial results: ${String(writeError)}`);
      }
    }
    await cleanupOnce();
    process.exit(1);
  });
