import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { StringDecoder } from "node:string_decoder";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { freshStack, labelled, REPO_ROOT, RUN, removeLeftovers, writeConfig } from "../../tests/e2e/harness";
import { log, median, run } from "./util";

/** The bench stack: the tutorial's shape on names and ports of its own. */
export const STACK = "bench";
export const PORT_BASE = 27000;

export function benchConfig(containers: number): Record<string, unknown> {
  // One host and one none container; the rest split between the two bridges.
  const published = containers - 2;
  if (published < 0) throw new Error(`a scale of ${containers} is below the tutorial's host + none`);
  const bridge = Math.floor(published / 2);
  const custom = published - bridge;
  const ports = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
  return {
    "flask-bridge:imageName": "flask-bridge-bench",
    "flask-bridge:namePrefix": "bench",
    "flask-bridge:networkName": "bench-bridge-network",
    "flask-bridge:bindAddress": "127.0.0.1",
    "flask-bridge:urlHost": "127.0.0.1",
    "flask-bridge:bridgePorts": ports(PORT_BASE + 1, bridge),
    "flask-bridge:customPorts": ports(PORT_BASE + 1 + bridge, custom),
    "flask-bridge:hostMode": true,
    "flask-bridge:hostPort": PORT_BASE,
    "flask-bridge:noneMode": true,
    // Like the tutorial's `docker rm -f` and `docker-compose down`, destroy
    // leaves the image, so every "up" starts with the image cached.
    "flask-bridge:keepImageOnDestroy": true,
  };
}

/** The seven reachable apps at the tutorial's scale. */
export function benchUrls(): string[] {
  return Array.from({ length: 7 }, (_, i) => `http://127.0.0.1:${PORT_BASE + i}/`);
}

/** What one engine event did, with the wall-clock time it arrived (ms since the epoch). */
interface Timed {
  at: number;
  event: EngineEvent;
}

/** Where an up's time went, in seconds from the command's start. */
export interface UpBreakdown {
  /** CLI start, backend, language host and node start until the Stack resource is registered. */
  toStackRegistered: number;
  /** TypeScript compile and program evaluation: Stack registered until the first resource of ours. */
  programLoad: number;
  image: number;
  network: number;
  /** First container registered until the last one is done. */
  containersSpan: number;
  /** One container resource, median: create, start, wait for healthy, read. */
  containerEach: number;
  /** Per container (median): docker `create` until `start` event. */
  createToStart: number;
  /** Per container (median): `start` until its probe is done, i.e. the app answered the host. */
  startToAnswering: number;
  /** Per container (median): `start` until Docker reports it healthy (up does not wait for this). */
  startToHealthy: number;
  /** One probe command, median (runs after its container). */
  probeEach: number;
  /** Container done until its probe done, median. */
  containerDoneToProbeDone: number;
  /** Last resource done until the call returned (outputs, state write, CLI exit). */
  tail: number;
  total: number;
}

function typeOf(event: EngineEvent): string | undefined {
  return (event.resourcePreEvent ?? event.resOutputsEvent)?.metadata.type;
}

function urnOf(event: EngineEvent): string | undefined {
  return (event.resourcePreEvent ?? event.resOutputsEvent)?.metadata.urn;
}

/** Docker events of the bench stack's containers, streamed while an operation runs. */
export class DockerEventLog {
  private readonly child: ChildProcess;
  private buffer = "";
  private stopped = false;
  readonly events: { status: string; name: string; at: number }[] = [];

  constructor(labelFilter: string) {
    this.child = spawn(
      "docker",
      [
        "events",
        "--filter",
        `label=${labelFilter}`,
        "--filter",
        "type=container",
        "--filter",
        "event=create",
        "--filter",
        "event=start",
        "--filter",
        "event=health_status",
        "--filter",
        "event=destroy",
        "--format",
        "{{json .}}",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    this.child.stdout?.on("data", (chunk) => {
      this.buffer += chunk;
      let newline = this.buffer.indexOf("\n");
      while (newline >= 0) {
        const line = this.buffer.slice(0, newline);
        this.buffer = this.buffer.slice(newline + 1);
        try {
          const event = JSON.parse(line);
          this.events.push({
            status: String(event.status ?? event.Action),
            name: String(event.Actor?.Attributes?.name ?? ""),
            at: Number(BigInt(event.timeNano) / 1_000_000n),
          });
        } catch {
          // not an event line
        }
        newline = this.buffer.indexOf("\n");
      }
    });
  }

  /** Lets a last event arrive, then stops the stream. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await new Promise((resolve) => setTimeout(resolve, 300));
    this.child.kill("SIGTERM");
  }

  first(status: string, name: string): number | undefined {
    return this.events.find((event) => event.status.startsWith(status) && event.name === name)?.at;
  }
}

/** Per resource URN: its type, when its step began and ended, and its Docker name if it has one. */
function indexEvents(timeline: Timed[]) {
  const pre = new Map<string, number>();
  const done = new Map<string, number>();
  const types = new Map<string, string>();
  const names = new Map<string, string>();
  for (const { at, event } of timeline) {
    const urn = urnOf(event);
    const type = typeOf(event);
    if (!urn || !type) continue;
    types.set(urn, type);
    if (event.resourcePreEvent && !pre.has(urn)) pre.set(urn, at);
    if (event.resOutputsEvent) {
      done.set(urn, at);
      const name = event.resOutputsEvent.metadata.new?.outputs?.name;
      if (typeof name === "string") names.set(urn, name);
    }
  }
  return { pre, done, types, names };
}

export function analyzeUp(start: number, end: number, timeline: Timed[], docker: DockerEventLog): UpBreakdown {
  const { pre, done, types, names } = indexEvents(timeline);
  const urnsOf = (predicate: (type: string, urn: string) => boolean) =>
    [...types.entries()].filter(([urn, type]) => predicate(type, urn)).map(([urn]) => urn);
  const span = (urns: string[]) => {
    const starts = urns.map((urn) => pre.get(urn)).filter((v): v is number => v !== undefined);
    const ends = urns.map((urn) => done.get(urn)).filter((v): v is number => v !== undefined);
    return starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1000 : Number.NaN;
  };
  const each = (urns: string[]) =>
    median(
      urns.map((urn) => ((done.get(urn) ?? Number.NaN) - (pre.get(urn) ?? Number.NaN)) / 1000).filter(Number.isFinite),
    );

  const stackUrn = urnsOf((type) => type === "pulumi:pulumi:Stack")[0];
  const ours = urnsOf((type) => type.startsWith("flask-bridge:"));
  const firstOurs = Math.min(...ours.map((urn) => pre.get(urn) ?? Number.POSITIVE_INFINITY));
  const stackAt = stackUrn ? (pre.get(stackUrn) ?? Number.NaN) : Number.NaN;
  const containers = urnsOf((type) => type === "docker:index/container:Container");
  const probes = urnsOf((type, urn) => type === "command:local:Command" && urn.endsWith("-probe"));
  const probeFor = (containerUrn: string) => {
    // "...FlaskContainer::bridge-1$docker:index/container:Container::bridge-1-container" -> "bridge-1-probe"
    const key = containerUrn
      .split("::")
      .pop()
      ?.replace(/-container$/, "");
    return probes.find((urn) => urn.endsWith(`::${key}-probe`));
  };

  const perContainer = containers.map((urn) => {
    const name = names.get(urn) ?? "";
    const created = docker.first("create", name);
    const started = docker.first("start", name);
    const healthy = docker.first("health_status: healthy", name);
    const resourceDone = done.get(urn);
    const probe = probeFor(urn);
    const probeDone = probe ? done.get(probe) : undefined;
    const diff = (a?: number, b?: number) => (a !== undefined && b !== undefined ? (b - a) / 1000 : Number.NaN);
    return {
      createToStart: diff(created, started),
      startToAnswering: diff(started, probeDone),
      startToHealthy: diff(started, healthy),
      containerDoneToProbeDone: diff(resourceDone, probeDone),
    };
  });
  const medianOf = (key: keyof (typeof perContainer)[number]) =>
    median(perContainer.map((row) => row[key]).filter(Number.isFinite));

  const allDone = [...done.entries()].filter(([urn]) => urn !== stackUrn).map(([, at]) => at);
  return {
    toStackRegistered: (stackAt - start) / 1000,
    programLoad: (firstOurs - stackAt) / 1000,
    image: span(urnsOf((type) => type === "docker:index/image:Image")),
    network: span(urnsOf((type) => type === "docker:index/network:Network")),
    containersSpan: span(containers),
    containerEach: each(containers),
    createToStart: medianOf("createToStart"),
    startToAnswering: medianOf("startToAnswering"),
    startToHealthy: medianOf("startToHealthy"),
    probeEach: each(probes),
    containerDoneToProbeDone: medianOf("containerDoneToProbeDone"),
    tail: (end - Math.max(...allDone)) / 1000,
    total: (end - start) / 1000,
  };
}

/** Where a destroy's time went, in seconds from the command's start. */
export interface DestroyBreakdown {
  /** CLI start, state load, provider plugins start, until the first delete begins. */
  toFirstDelete: number;
  /** First container delete begun until the last one is done (in parallel). */
  containersSpan: number;
  /** One container delete, median: stop (SIGTERM, gunicorn's graceful shutdown), then remove. */
  containerEach: number;
  /** Last delete done until the call returned. */
  tail: number;
  total: number;
}

export function analyzeDestroy(start: number, end: number, timeline: Timed[]): DestroyBreakdown {
  const { pre, done, types } = indexEvents(timeline);
  const containers = [...types.entries()]
    .filter(([, type]) => type === "docker:index/container:Container")
    .map(([urn]) => urn);
  const starts = containers.map((urn) => pre.get(urn)).filter((v): v is number => v !== undefined);
  const ends = containers.map((urn) => done.get(urn)).filter((v): v is number => v !== undefined);
  const firstDelete = Math.min(...pre.values());
  return {
    toFirstDelete: (firstDelete - start) / 1000,
    containersSpan: starts.length && ends.length ? (Math.max(...ends) - Math.min(...starts)) / 1000 : Number.NaN,
    containerEach: median(
      containers
        .map((urn) => ((done.get(urn) ?? Number.NaN) - (pre.get(urn) ?? Number.NaN)) / 1000)
        .filter(Number.isFinite),
    ),
    tail: (end - Math.max(...done.values())) / 1000,
    total: (end - start) / 1000,
  };
}

/**
 * Runs scripts/pulumi.sh on the bench stack, exactly as `npm run up` and
 * `npm run destroy` run the CLI, and follows its --event-log file as it grows,
 * stamping each engine event with the time it was seen (every 20 ms). The
 * Automation API's up adds two more CLI calls after the update (stack output,
 * history), about 1.5 s that a user of `npm run up` never waits for.
 */
async function runWrapper(
  subcommand: "up" | "destroy",
  parallel: number | undefined,
  timeline: Timed[],
  output: (text: string) => void,
  signal: AbortSignal,
): Promise<number> {
  const eventLog = path.join(os.tmpdir(), `flask-bridge-bench-events-${process.pid}-${Date.now()}.jsonl`);
  fs.writeFileSync(eventLog, "");
  const decoder = new StringDecoder("utf8");
  let offset = 0;
  let rest = "";
  const follow = () => {
    const size = fs.statSync(eventLog).size;
    if (size <= offset) return;
    const chunk = Buffer.alloc(size - offset);
    const fd = fs.openSync(eventLog, "r");
    try {
      fs.readSync(fd, chunk, 0, chunk.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    offset = size;
    rest += decoder.write(chunk);
    const lines = rest.split("\n");
    rest = lines.pop() ?? "";
    const at = Date.now();
    for (const line of lines) {
      if (line.trim() !== "") timeline.push({ at, event: JSON.parse(line) as EngineEvent });
    }
  };
  const timer = setInterval(follow, 20);
  const args = [subcommand, "--yes", "--skip-preview", ...(parallel ? ["--parallel", String(parallel)] : [])];
  try {
    const result = await run("bash", ["scripts/pulumi.sh", ...args, "--event-log", eventLog], {
      cwd: REPO_ROOT,
      // --event-log exists only with PULUMI_DEBUG_COMMANDS, as the Automation API sets it.
      env: { ...process.env, FB_STACK: STACK, PULUMI_DEBUG_COMMANDS: "true" },
      signal,
    });
    output(result.stdout + result.stderr);
    return result.seconds;
  } finally {
    clearInterval(timer);
    follow();
    fs.rmSync(eventLog, { force: true });
  }
}

/** The bench stack: up and destroy as `npm run up`/`destroy` run them, preview through the Automation API. */
export class BenchProject {
  private constructor(
    readonly stack: Stack,
    private readonly logFile: string,
    private readonly signal: AbortSignal,
  ) {}

  static async create(logFile: string, signal: AbortSignal): Promise<BenchProject> {
    // The file backend is shared with the dev and e2e stacks; `stack ls` can
    // read a state file another run is writing ("error: EOF"). Try again.
    for (let attempt = 1; ; attempt++) {
      try {
        return new BenchProject(await freshStack(STACK, benchConfig(8)), logFile, signal);
      } catch (error) {
        if (attempt >= 3) throw error;
        log(`creating the stack failed (${String(error).split("\n")[0]}); again in 3 s`);
        await new Promise((resolve) => setTimeout(resolve, 3000));
      }
    }
  }

  configure(containers: number): void {
    writeConfig(STACK, benchConfig(containers));
  }

  private output = (text: string) => fs.appendFileSync(this.logFile, text);

  async up(options: { parallel?: number } = {}): Promise<{ seconds: number; breakdown: UpBreakdown }> {
    fs.appendFileSync(this.logFile, `\n=== up ${new Date().toISOString()}\n`);
    const docker = new DockerEventLog(`flask-bridge.stack=${STACK}`);
    await new Promise((resolve) => setTimeout(resolve, 200)); // the event stream is listening
    const timeline: Timed[] = [];
    const start = Date.now();
    try {
      // As `npm run up` runs it: the wrapper adds the mandatory policy pack.
      const seconds = await runWrapper("up", options.parallel, timeline, this.output, this.signal);
      const end = Date.now();
      await docker.stop();
      return { seconds, breakdown: analyzeUp(start, end, timeline, docker) };
    } finally {
      await docker.stop();
    }
  }

  /** As `npm run preview` runs it (with the policy pack), unless withPolicy is false. */
  async preview(withPolicy = true): Promise<{ seconds: number; changes: Record<string, number> }> {
    fs.appendFileSync(this.logFile, `\n=== preview ${new Date().toISOString()}\n`);
    const t0 = performance.now();
    const result = await this.stack.preview({
      ...(withPolicy ? RUN : { color: "never" as const }),
      onOutput: this.output,
      signal: this.signal,
    });
    const seconds = (performance.now() - t0) / 1000;
    const changes = Object.fromEntries(Object.entries(result.changeSummary).filter(([, count]) => (count ?? 0) > 0));
    return { seconds, changes: changes as Record<string, number> };
  }

  async destroy(options: { parallel?: number } = {}): Promise<{ seconds: number; breakdown: DestroyBreakdown }> {
    fs.appendFileSync(this.logFile, `\n=== destroy ${new Date().toISOString()}\n`);
    const timeline: Timed[] = [];
    const start = Date.now();
    const seconds = await runWrapper("destroy", options.parallel, timeline, this.output, this.signal);
    const end = Date.now();
    const left = labelled(STACK).containers;
    if (left.length > 0) throw new Error(`destroy left containers behind: ${left.join(", ")}`);
    return { seconds, breakdown: analyzeDestroy(start, end, timeline) };
  }

  runningContainers(): string[] {
    return labelled(STACK).containers;
  }
}

/** Removes the bench stack and all it made (the image too), even after a crash. */
export async function removeBenchStack(project: BenchProject | undefined): Promise<void> {
  if (project) {
    try {
      await project.stack.destroy({ color: "never" });
    } catch (error) {
      log(`cleanup: pulumi destroy failed (${String(error).split("\n")[0]}); removing by label`);
    }
    try {
      await project.stack.workspace.removeStack(STACK, { force: true });
    } catch (error) {
      log(`cleanup: could not remove stack ${STACK}: ${String(error).split("\n")[0]}`);
    }
  }
  removeLeftovers(STACK);
  fs.rmSync(`${REPO_ROOT}/Pulumi.${STACK}.yaml`, { force: true });
}
