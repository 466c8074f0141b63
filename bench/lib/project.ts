import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import { freshStack, labelled, REPO_ROOT, removeLeftovers, writeConfig } from "../../tests/e2e/harness";
import { type Part, ProcessTree } from "./cpu";
import { log } from "./util";

/** The bench stack: the tutorial's shape on names and ports of its own. */
export const STACK = "bench";
export const PORT_BASE = 27000;

/** How a scale splits: one host and one none container, the rest halved between the two bridges. */
export function layout(containers: number): { bridge: number; custom: number } {
  const published = containers - 2;
  if (published < 2) throw new Error(`a scale of ${containers} leaves no room for both bridges`);
  const bridge = Math.floor(published / 2);
  return { bridge, custom: published - bridge };
}

/** The reachable apps of a topology of that size: host mode on base, published on base+1... */
export function urls(base: number, containers: number): string[] {
  return Array.from({ length: containers - 1 }, (_, i) => `http://127.0.0.1:${base + i}/`);
}

export function benchConfig(containers: number): Record<string, unknown> {
  const { bridge, custom } = layout(containers);
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
    // Like `docker rm -f` and `docker-compose down`, destroy leaves the image cached.
    "flask-bridge:keepImageOnDestroy": true,
  };
}

/** Where one `up` went: wall-clock phases (seconds), CPU-seconds and peak memory (MB) per process kind. */
export interface UpBreakdown {
  phases: Record<string, number>;
  cpu: Record<Part, number>;
  /** Absent in older results. */
  memory?: Record<Part, number>;
}

export const PHASES = [
  ["cli", "CLI start: state, backend (until the first language host starts)"],
  [
    "policy",
    "language host: runtime info, plugin scan of node_modules, a policy pack if given (until the program's node starts)",
  ],
  ["program", "program load: node, the program's modules (until our first resource registers)"],
  ["providers", "provider start: docker plugin spawned → its first resource step"],
  ["resources", "resource operations: first of ours registered → last container created"],
  ["image", "  of which the image build (a cache hit), step begun → done"],
  ["network", "  of which the user-defined network, step begun → done"],
  ["containers", "  of which the containers, first begun → last done"],
  ["probes", "probe: last container created → the readiness probe done (all apps answer)"],
  ["exit", "outputs, state, CLI exit"],
] as const;

function analyze(start: number, end: number, timeline: { at: number; event: EngineEvent }[], tree: ProcessTree) {
  const pre = (predicate: (type: string, urn: string) => boolean) =>
    timeline
      .filter(
        ({ event }) =>
          event.resourcePreEvent &&
          predicate(event.resourcePreEvent.metadata.type, event.resourcePreEvent.metadata.urn),
      )
      .map(({ at }) => at);
  const done = (predicate: (type: string, urn: string) => boolean) =>
    timeline
      .filter(
        ({ event }) =>
          event.resOutputsEvent && predicate(event.resOutputsEvent.metadata.type, event.resOutputsEvent.metadata.urn),
      )
      .map(({ at }) => at);
  const first = (values: number[]) => (values.length ? Math.min(...values) : Number.NaN);
  const last = (values: number[]) => (values.length ? Math.max(...values) : Number.NaN);
  const languageHost = tree.started("language host") ?? Number.NaN;
  const program = tree.started("program") ?? Number.NaN;
  const ours = first(pre((type) => type.startsWith("flask-bridge:")));
  const dockerSpawn = tree.started("docker provider") ?? Number.NaN;
  const firstDocker = first(pre((type) => type.startsWith("docker:")));
  const containersDone = last(done((type) => type === "docker:index/container:Container"));
  const probesDone = last(done((type, urn) => type === "command:local:Command" && urn.endsWith("::readiness-command")));
  const s = (from: number, to: number) => Math.round((to - from) * 10) / 10000;
  const span = (type: string) => s(first(pre((t) => t === type)), last(done((t) => t === type)));
  return {
    cli: s(start, languageHost),
    policy: s(languageHost, program),
    program: s(program, ours),
    providers: s(dockerSpawn, firstDocker),
    resources: s(ours, containersDone),
    image: span("docker:index/image:Image"),
    network: span("docker:index/network:Network"),
    containers: span("docker:index/container:Container"),
    probes: s(containersDone, probesDone),
    exit: s(Number.isFinite(probesDone) ? probesDone : containersDone, end),
  };
}

export interface Operation {
  seconds: number;
  /** CPU-seconds of the whole process tree (CLI, plugins, program, policy pack, probes) */
  cpu: number;
  /** Peak resident memory, MB, of the tree's largest single process (/usr/bin/time's %M) */
  maxRssMb: number;
  /** Only when instrumented: the event log and the process tree cost the run CPU of their own */
  breakdown?: UpBreakdown;
}

/**
 * Runs scripts/pulumi.sh (what `npm run up|preview|destroy` run; up and
 * preview, as npm runs them) on the bench stack, follows its
 * --event-log every 20 ms, and its process tree every 40 ms.
 */
export async function runWrapper(
  args: string[],
  {
    logFile,
    signal,
    env,
    instrument,
  }: { logFile: string; signal: AbortSignal; env: NodeJS.ProcessEnv; instrument: boolean },
): Promise<Operation> {
  const eventLog = path.join(os.tmpdir(), `flask-bridge-bench-events-${process.pid}.jsonl`);
  fs.writeFileSync(eventLog, "");
  const timeline: { at: number; event: EngineEvent }[] = [];
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
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    const at = Date.now();
    for (const line of lines) if (line.trim() !== "") timeline.push({ at, event: JSON.parse(line) as EngineEvent });
  };
  const timer = instrument ? setInterval(follow, 20) : undefined;
  fs.appendFileSync(logFile, `\n=== ${args.join(" ")} ${new Date().toISOString()}\n`);
  const out = fs.openSync(logFile, "a");
  const timeFile = `${eventLog}.time`;
  const start = Date.now();
  const child = spawn(
    "/usr/bin/time",
    [
      "-f",
      "%U %S %M",
      "-o",
      timeFile,
      "bash",
      "scripts/pulumi.sh",
      ...args,
      ...(instrument ? ["--event-log", eventLog] : []),
    ],
    {
      cwd: REPO_ROOT,
      // --event-log exists only with PULUMI_DEBUG_COMMANDS (the Automation API sets it too).
      env: { ...process.env, ...env, FB_STACK: STACK, PULUMI_DEBUG_COMMANDS: "true" },
      stdio: ["ignore", out, out],
      signal,
    },
  );
  const tree = instrument ? new ProcessTree(child.pid as number) : undefined;
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (status) => resolve(status ?? 1));
    });
    const end = Date.now();
    tree?.stop();
    if (instrument) follow();
    if (code !== 0) {
      const tail = fs.readFileSync(logFile, "utf8").split("\n").slice(-12).join("\n");
      throw new Error(`pulumi ${args[0]} failed (exit ${code}):\n${tail}`);
    }
    const [user, system, maxRssKb] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()?.split(" ") ?? [];
    return {
      seconds: (end - start) / 1000,
      cpu: Number(user) + Number(system),
      maxRssMb: Number(maxRssKb) / 1024,
      ...(tree
        ? { breakdown: { phases: analyze(start, end, timeline, tree), cpu: tree.cpu(), memory: tree.memory() } }
        : {}),
    };
  } finally {
    tree?.stop();
    clearInterval(timer);
    fs.closeSync(out);
    fs.rmSync(eventLog, { force: true });
    fs.rmSync(timeFile, { force: true });
  }
}

/** The bench stack: up, preview and destroy as `npm run up|preview|destroy` run them. */
export class BenchProject {
  /** Added to every operation's environment, e.g. another node on PATH. */
  env: NodeJS.ProcessEnv = {};
  /** Follow the event log and the process tree (a breakdown), at a cost of their own. */
  instrument = true;

  private constructor(
    readonly stack: Stack,
    private readonly logFile: string,
    private readonly signal: AbortSignal,
  ) {}

  static async create(logFile: string, signal: AbortSignal): Promise<BenchProject> {
    // The file backend is shared with other stacks; `stack ls` can read a state file mid-write.
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

  /** scripts/pulumi.sh with these arguments on the bench stack. */
  private run(args: string[]): Promise<Operation> {
    return runWrapper(args, { logFile: this.logFile, signal: this.signal, env: this.env, instrument: this.instrument });
  }

  up(): Promise<Operation> {
    return this.run(["up", "--yes", "--skip-preview"]);
  }

  preview(): Promise<Operation> {
    return this.run(["preview"]);
  }

  async destroy(): Promise<Operation> {
    const result = await this.run(["destroy", "--yes", "--skip-preview"]);
    const left = labelled(STACK).containers;
    if (left.length > 0) throw new Error(`destroy left containers behind: ${left.join(", ")}`);
    return result;
  }
}

/** Removes the bench stack and all it made, even after a crash. */
export async function removeBenchStack(project: BenchProject | undefined): Promise<void> {
  if (project) {
    try {
      await project.stack.destroy({ color: "never" });
      await project.stack.workspace.removeStack(STACK, { force: true });
    } catch (error) {
      log(`cleanup: pulumi destroy failed (${String(error).split("\n")[0]}); removing by label`);
    }
  }
  removeLeftovers(STACK);
  fs.rmSync(`${REPO_ROOT}/Pulumi.${STACK}.yaml`, { force: true });
}
