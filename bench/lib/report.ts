import * as fs from "node:fs";
import * as path from "node:path";
import { type BarRow, renderChart, type ScaleRow } from "./chart";
import type { Part } from "./cpu";
import { PHASES, type UpBreakdown } from "./project";
import { SWARM_SERVICES, type SwarmSample } from "./swarm";
import { median, medianRange, type Summary, seconds, summarize } from "./util";
import type { WrkResult } from "./wrk";

/**
 * One timed round of one tool at one size. Seconds; CPU: CPU-seconds of the
 * tool's processes, the host's dockerd and containerd, and (up) the started
 * containers and their shims (bench/lib/cpu.ts).
 */
export interface Sample {
  tool: string;
  containers: number;
  round: number;
  /** CPUs busy with others' work just before (subtracted from the CPU figures) */
  baseline: number;
  /** the up command alone */
  up: number;
  /** up until every reachable app answers HTTP 200 */
  ready: number;
  upCpu: number;
  /** CPU-seconds of the up command's own process tree (the tool alone: no engine, no apps); absent in older results */
  upToolCpu?: number;
  /** MB: the up's largest single process at its peak (absent in older results) */
  upMaxRssMb?: number;
  preview?: number;
  /** CPU-seconds of the preview's process tree */
  previewCpu?: number;
  down: number;
  downCpu: number;
  breakdown?: UpBreakdown;
}

export interface Results {
  meta: {
    date: string;
    rounds: number;
    scales: number[];
    scaleRounds: number;
    cpus: number;
    cpuModel: string;
    memoryGB: number;
    engine: string;
    compose: string;
    pulumi: string;
    /** The program's node, e.g. "v24.22.3"; absent in runs from before it. */
    programNode?: string;
    /** "Terraform v1.11.4, kreuzwerker/docker 4.2.0" when the Terraform peer ran */
    terraform?: string;
    /** The tools measured (BENCH_PEERS and the project); absent in runs from before it. */
    tools?: string[];
    plugins: string[];
    baseImage: string;
    busyCpusAtStart: number;
    loadAverageAtStart: number[];
    loadAverageAtEnd?: number[];
    otherWorkloadsAtStart: string[];
    otherContainersAtStart: number;
    otherWorkloadsAtEnd: string[];
    /** When the swarm phase began (it may come from a run of its own: BENCH_ROUNDS=0 BENCH_SCALES= BENCH_WRK_ROUNDS=0). */
    swarmDate?: string;
    incomplete?: string;
  };
  samples: Sample[];
  /** Swarm mode, the same services on 1 node and on 3 (bench/lib/swarm.ts). */
  swarm?: SwarmSample[];
  wrk: {
    options: { threads: number; connections: number; durationSeconds: number };
    runs: {
      tool: string;
      round: number;
      memory: { mib: number; pids: number };
      memoryAfter: { mib: number; pids: number };
      result: WrkResult;
    }[];
  };
}

export const TOOLS = [
  "tutorial (theirs)",
  "Compose (theirs)",
  "tutorial (ours)",
  "Compose (ours)",
  "Terraform",
  "project",
];

/** The peers the project is divided by in the ratio columns, when they ran. */
const BASELINES = ["tutorial (ours)", "Terraform"];

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

function ratio(a: Summary, b: Summary): string {
  return a.n && b.n && b.median > 0 ? `${(a.median / b.median).toFixed(2)}×` : "–";
}

export function renderMarkdown(results: Results): string {
  const { meta } = results;
  const at = (tool: string, n: number) => results.samples.filter((s) => s.tool === tool && s.containers === n);
  const stat = (tool: string, n: number, pick: (s: Sample) => number | undefined) =>
    summarize(
      at(tool, n)
        .map(pick)
        .filter((v): v is number => v !== undefined),
    );
  const tools = TOOLS.filter((tool) => results.samples.some((s) => s.tool === tool));
  const baselines = BASELINES.filter((tool) => tools.includes(tool));
  const peers = tools.filter((tool) => tool !== "project");
  const out: string[] = [];
  out.push(
    tools.some((tool) => tool.startsWith("tutorial") || tool.startsWith("Compose")) || tools.length === 0
      ? "# Benchmark: the tutorial's commands and Compose, with the tutorial's image and ours, vs this project"
      : `# Benchmark: this project vs ${peers.join(", ")}`,
  );
  out.push("");
  out.push(
    `${meta.date} · ${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGB} GB · Docker Engine ${meta.engine} · docker-compose ${meta.compose} · Pulumi ${meta.pulumi} (${meta.plugins.join(", ")})` +
      `${meta.programNode ? `, the program on Node ${meta.programNode}` : ""}` +
      `${meta.terraform ? ` · ${meta.terraform}` : ""} · base image \`${meta.baseImage}\``,
  );
  out.push("");
  out.push(
    `Tools alternate within each round (order rotated every round), one engine, one run; ${meta.rounds} rounds at 8 containers, ${meta.scaleRounds} at ${meta.scales.join(", ") || "–"}. ` +
      `Machine at the start: ${meta.busyCpusAtStart.toFixed(2)} of ${meta.cpus} CPUs busy over 3 s, load average ${meta.loadAverageAtStart.map((l) => l.toFixed(1)).join(" ")}, ` +
      `${meta.otherContainersAtStart} other containers running, other workloads: ${meta.otherWorkloadsAtStart.join(", ") || "none"} (at the end: ${meta.otherWorkloadsAtEnd.join(", ") || "none"}` +
      `${meta.loadAverageAtEnd ? `, load average ${meta.loadAverageAtEnd.map((l) => l.toFixed(1)).join(" ")}` : ""}).`,
  );
  out.push("");
  if (meta.incomplete) out.push(`**INCOMPLETE RUN**: ${meta.incomplete}\n`);

  const sizes = [...new Set(results.samples.map((s) => s.containers))].sort((a, b) => a - b);
  const metrics: [string, (s: Sample) => number | undefined, number][] = [
    ["up: command returns", (s) => s.up, 2],
    ["up until every app answers", (s) => s.ready, 2],
    ["CPU-s per container, up until all answer", (s) => s.upCpu / s.containers, 3],
    [
      "  of which the tool's own processes",
      (s) => (s.upToolCpu === undefined ? undefined : s.upToolCpu / s.containers),
      3,
    ],
    ["up: peak memory of its largest process, MB", (s) => s.upMaxRssMb, 0],
    ["down / destroy", (s) => s.down, 2],
    ["CPU-s per container, down", (s) => s.downCpu / s.containers, 3],
    ["preview, converged", (s) => s.preview, 2],
  ];
  const describeTools = () => {
    const describe = (prefix: string, line: string) => {
      if (tools.some((tool) => tool.startsWith(prefix))) out.push(line);
    };
    describe(
      "tutorial",
      "- **tutorial**: `bench/tutorial.sh up`: `docker build` (cache hit), then `docker run -d` one after the other, `docker network create`; down: with their image `docker rm -f` (the tutorial's; " +
        "`python app.py` as PID 1 ignores SIGTERM), with ours `docker stop` then `docker rm` (graceful, as the project).",
    );
    describe(
      "Compose",
      "- **Compose**: `docker-compose up -d` of a generated file of that size; down `--timeout 0` with their image, the default 10 s (graceful) with ours.",
    );
    describe(
      "Terraform",
      "- **Terraform**: `bench/terraform/main.tf` (kreuzwerker/docker, the provider @pulumi/docker bridges): the same image build (a cache hit), network and hardened containers as the project, " +
        "ports on 28000-28xxx; up: `terraform apply -auto-approve`, then the same HTTP wait; preview: `terraform plan -detailed-exitcode` (it refreshes every resource; must find no changes); " +
        "down: `terraform destroy -auto-approve` (`destroy_grace_seconds = 10`). Defaults otherwise (parallelism 10), local state.",
    );
    out.push(
      "- **project**: `scripts/pulumi.sh up|preview|destroy` (what `npm run up|preview|destroy` run; the stack's rules are checked in the program, no policy pack) on the stack `bench`; up returns when every probe has its answer.",
    );
    out.push("");
  };
  for (const [index, n] of (sizes.includes(8) ? [8, ...sizes.filter((m) => m !== 8)] : sizes).entries()) {
    out.push(n === 8 ? "## 8 containers (the tutorial's topology)" : `## ${n} containers`);
    out.push("");
    if (index === 0) {
      out.push(
        "Seconds, median (min–max). CPU: CPU-seconds from the command's start until every app answers, of the tool's own processes, the host's dockerd and containerd, " +
          "and the started containers (apps, healthchecks, shims), per container started; others' containers and processes are left out; preview: the command's own processes. " +
          "Last columns: this project's median over the peer's (below 1: the project is faster).",
      );
      out.push("");
    }
    out.push(
      table(
        [`${n} containers`, ...tools, ...baselines.map((peer) => `project ÷ ${peer}`)],
        metrics.map(([label, pick, digits]) => [
          label,
          ...tools.map((tool) => medianRange(stat(tool, n, pick), digits)),
          ...baselines.map((peer) =>
            label.startsWith("preview") && peer === "tutorial (ours)"
              ? `${ratio(
                  stat("project", n, pick),
                  stat("project", n, (s) => s.ready),
                )} of our up`
              : ratio(stat("project", n, pick), stat(peer, n, pick)),
          ),
        ]),
      ),
    );
    out.push("");
    if (index === 0) describeTools();
  }
  if (sizes.length === 0) describeTools();

  if (sizes.length > 1) {
    out.push("## By container count");
    out.push("");
    out.push("Up until every app answers / down, seconds (median), and CPU-seconds per container started (up).");
    out.push("");
    out.push(
      table(
        ["containers", ...tools, ...baselines.map((peer) => `project ÷ ${peer}, up / down`)],
        sizes.map((n) => [
          String(n),
          ...tools.map(
            (tool) =>
              `${seconds(stat(tool, n, (s) => s.ready).median)} / ${seconds(stat(tool, n, (s) => s.down).median)} s, ${seconds(stat(tool, n, (s) => s.upCpu / n).median, 3)} CPU-s`,
          ),
          ...baselines.map(
            (peer) =>
              `${ratio(
                stat("project", n, (s) => s.ready),
                stat(peer, n, (s) => s.ready),
              )} / ${ratio(
                stat("project", n, (s) => s.down),
                stat(peer, n, (s) => s.down),
              )}`,
          ),
        ]),
      ),
    );
    out.push("");
  }

  const ups = results.samples.filter((s) => s.tool === "project" && s.breakdown);
  if (ups.length > 0) {
    out.push("## Where one `up` goes");
    out.push("");
    out.push(
      "From one more `up` after each timed round of the project, not timed above: wall clock from the CLI's `--event-log` (followed every 20 ms) and its process tree (every 40 ms), median seconds; CPU-seconds per process kind " +
        "(probes: what the command provider's children used; a process that lives less than one 40 ms poll is missed unless its parent waited for it).",
    );
    out.push("");
    out.push(
      table(
        ["phase", ...sizes.map((n) => `${n} containers`)],
        PHASES.map(([key, label]) => [
          label,
          ...sizes.map((n) =>
            seconds(median(ups.filter((s) => s.containers === n).map((s) => s.breakdown?.phases[key] ?? Number.NaN))),
          ),
        ]),
      ),
    );
    out.push("");
    const parts = Object.keys(ups[0]?.breakdown?.cpu ?? {}) as Part[];
    out.push(
      table(
        ["CPU-seconds", ...sizes.map((n) => `${n} containers`)],
        [
          ...parts.map((part) => [
            part,
            ...sizes.map((n) =>
              seconds(median(ups.filter((s) => s.containers === n).map((s) => s.breakdown?.cpu[part] ?? Number.NaN))),
            ),
          ]),
          [
            "attributed, as in the tables above (the timed runs): the CLI's tree, dockerd and containerd, the containers (up until all answer)",
            ...sizes.map((n) => seconds(median(ups.filter((s) => s.containers === n).map((s) => s.upCpu)))),
          ],
        ],
      ),
    );
    out.push("");
    if (ups.some((s) => s.breakdown?.memory)) {
      out.push(
        table(
          ["peak memory, MB (largest process of the kind, VmHWM)", ...sizes.map((n) => `${n} containers`)],
          parts.map((part) => [
            part,
            ...sizes.map((n) =>
              seconds(
                median(ups.filter((s) => s.containers === n).map((s) => s.breakdown?.memory?.[part] ?? Number.NaN)),
                0,
              ),
            ),
          ]),
        ),
      );
      out.push("");
    }
  }

  if (results.wrk.runs.length > 0) {
    const { threads, connections, durationSeconds } = results.wrk.options;
    out.push("## One app: throughput, latency, memory");
    out.push("");
    out.push(
      `\`wrk -t${threads} -c${connections} -d${durationSeconds}s\` on loopback against the first app on the default bridge, only that tool's 8 containers up, runs alternating. ` +
        "Memory: `docker stats` of that container after 5 s idle, and after wrk.",
    );
    out.push("");
    const rows = ["tutorial (theirs)", "project"].flatMap((tool) => {
      const runs = results.wrk.runs.filter((r) => r.tool === tool);
      if (runs.length === 0) return [];
      const pick = (f: (r: (typeof runs)[number]) => number, digits = 1) => medianRange(summarize(runs.map(f)), digits);
      return [
        [
          tool === "project" ? "project: uWSGI (app/uwsgi.ini)" : "tutorial: Flask dev server (`python app.py`)",
          pick((r) => r.result.requestsPerSecond, 0),
          pick((r) => r.result.latencyMs.p50, 2),
          pick((r) => r.result.latencyMs.p99, 2),
          runs.map((r) => String(r.result.errors.total)).join(", "),
          pick((r) => r.memory.mib),
          pick((r) => r.memoryAfter.mib),
          String(median(runs.map((r) => r.memory.pids))),
        ],
      ];
    });
    out.push(table(["server", "requests/s", "p50 ms", "p99 ms", "errors", "MiB idle", "MiB after wrk", "tasks"], rows));
    out.push("");
  }
  if (results.swarm?.length) {
    const on = (nodes: number, pick: (s: SwarmSample) => number) =>
      summarize(results.swarm?.filter((s) => s.nodes === nodes).map(pick) ?? []);
    out.push("## Swarm mode: 1 node against 3");
    out.push("");
    out.push(
      `${meta.swarmDate ?? meta.date}: the project in swarm mode, ${SWARM_SERVICES} services × 1 replica (the tutorial's shape without none), host publishing and DNS round-robin; ` +
        "the local cluster (scripts/cluster.sh) with its 2 workers drained (1 node) or active (3 nodes), alternating. Seconds, median (min–max).",
    );
    out.push("");
    out.push(
      table(
        ["swarm mode", "1 node", "3 nodes", "3 ÷ 1"],
        [
          [
            "up until every task runs and every URL answers",
            medianRange(on(1, (s) => s.up)),
            medianRange(on(3, (s) => s.up)),
            ratio(
              on(3, (s) => s.up),
              on(1, (s) => s.up),
            ),
          ],
          [
            "destroy",
            medianRange(on(1, (s) => s.destroy)),
            medianRange(on(3, (s) => s.destroy)),
            ratio(
              on(3, (s) => s.destroy),
              on(1, (s) => s.destroy),
            ),
          ],
          [
            "nodes the tasks ran on",
            medianRange(
              on(1, (s) => s.nodesUsed),
              0,
            ),
            medianRange(
              on(3, (s) => s.nodesUsed),
              0,
            ),
            "–",
          ],
        ],
      ),
    );
    out.push("");
  }
  return out.join("\n");
}

/** Writes results.md, results.json and chart.svg into dir; returns the Markdown. */
export async function writeResults(results: Results, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const markdown = renderMarkdown(results);
  fs.writeFileSync(path.join(dir, "results.md"), `${markdown}\n`);
  fs.writeFileSync(path.join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const bars: BarRow[] = [];
  for (const tool of TOOLS) {
    const eight = results.samples.filter((s) => s.tool === tool && s.containers === 8);
    for (const [metric, values] of [
      ["up until all answer", eight.map((s) => s.ready)],
      ["down / destroy", eight.map((s) => s.down)],
      ["preview", eight.flatMap((s) => (s.preview === undefined ? [] : [s.preview]))],
    ] as [string, number[]][]) {
      const { n, median: m, min, max } = summarize(values);
      if (n > 0) bars.push({ metric, tool, median: m, min, max });
    }
  }
  const scale: ScaleRow[] = results.samples.map((s) => ({
    containers: s.containers,
    tool: s.tool,
    seconds: s.ready,
    cpuPerContainer: s.upCpu / s.containers,
  }));
  fs.writeFileSync(path.join(dir, "chart.svg"), await renderChart(bars, scale));
  return markdown;
}
