import * as fs from "node:fs";
import * as path from "node:path";
import { type BarRow, renderChart, type ScaleRow } from "./chart";
import type { DestroyBreakdown, UpBreakdown } from "./project";
import { bytes, linearFit, median, medianRange, ratio, type Summary, seconds, summarize } from "./util";
import type { WrkResult } from "./wrk";

export type ToolName = "tutorial" | "compose" | "project";

export interface ImageFacts {
  ref: string;
  bytes: number;
  baseBytes: number;
  appBytes: number;
  appLayers: { bytes: number; createdBy: string }[];
}

export interface Results {
  meta: {
    date: string;
    rounds: number;
    scales: number[];
    scaleRounds: number;
    /** --parallel of every scaling run; null: the CLI's default. */
    scaleParallel?: number | null;
    cpus: number;
    cpuModel: string;
    memoryGB: number;
    kernel: string;
    node: string;
    engine: string;
    compose: string;
    wrk: string;
    pulumi: string;
    pulumiDefaultParallel: number | null;
    baseImage: string;
    /** app/gunicorn.conf.py's worker settings at the time of the run. */
    gunicorn?: string;
    baseImageNote: string | null;
    goBuildRunningAtStart: boolean;
    goBuildRunningAtEnd: boolean;
    cpuBusyPercentAtStart: number;
    otherWorkloadsAtStart: string[];
    otherWorkloadsAtEnd: string[];
    loadAverageAtStart: number[];
    /** Set when the run stopped early: why. */
    incomplete?: string;
  };
  samples: {
    tutorial: { up: number[]; ready: number[]; down: number[] };
    compose: { up: number[]; ready: number[]; down: number[] };
    project: { up: number[]; ready: number[]; preview: number[]; down: number[] };
  };
  /** What each preview on the converged stack reported, e.g. { same: 28 }. */
  previewChanges: Record<string, number>[];
  breakdowns: UpBreakdown[];
  destroyBreakdowns: DestroyBreakdown[];
  images: { tutorial: ImageFacts; project: ImageFacts } | null;
  wrk: {
    options: { threads: number; connections: number; durationSeconds: number };
    runs: { tool: ToolName; round: number; result: WrkResult }[];
  };
  idleCpuPercent: { tutorial: number[]; project: number[] };
  scaling: {
    containers: number;
    round: number;
    up: number;
    destroy: number;
    breakdown: UpBreakdown;
    destroyBreakdown: DestroyBreakdown;
  }[];
  /** Ups that failed in the scaling phase, and why. */
  scalingFailures: { containers: number; round: number; parallel: number | null; seconds: number; reason: string }[];
  /** The largest scale again with another --parallel (BENCH_PARALLEL). */
  scalingParallel: {
    containers: number;
    parallel: number;
    round: number;
    up: number;
    destroy: number;
    breakdown: UpBreakdown;
  }[];
  experiments: {
    healthInterval?: { interval: string; toAnswer: number; toHealthy: number }[];
    /** Preview on the converged stack: policy pack + type-check, no pack + type-check, pack + transpile only (as run). */
    previewVariants?: { asRun: Summary; noPolicy: Summary; transpileOnly: Summary };
    composeDefaultDown?: number;
    stopVersusKill?: { stopThenRemove: number; forceRemove: number };
    workerClass?: { workers: string; result: WrkResult }[];
  };
}

const BREAKDOWN_ROWS: [keyof UpBreakdown, string][] = [
  ["toStackRegistered", "CLI, backend, policy pack and language host start, until the Stack resource is registered"],
  ["programLoad", "TypeScript compile (ts-node, transpile only) and program run, until our first resource"],
  ["image", "image (`docker build`, a cache hit)"],
  ["network", "user-defined network"],
  ["containersSpan", "containers: first registered to last done (in parallel)"],
  ["containerEach", "  one container resource (median)"],
  ["createToStart", "    of which docker create → start (median)"],
  ["startToAnswering", "    of which start → its probe done (the app answered the host; what up waits for)"],
  ["startToHealthy", "    of which start → Docker reports healthy (first check after 10 s; up does not wait)"],
  ["probeEach", "  one probe command (median)"],
  ["containerDoneToProbeDone", "  container done → its probe done (median)"],
  ["tail", "last resource done → call returns (outputs, state, CLI exit)"],
  ["total", "total"],
];

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export function renderMarkdown(results: Results): string {
  const { meta, samples } = results;
  const s = {
    tutorial: {
      up: summarize(samples.tutorial.up),
      ready: summarize(samples.tutorial.ready),
      down: summarize(samples.tutorial.down),
    },
    compose: {
      up: summarize(samples.compose.up),
      ready: summarize(samples.compose.ready),
      down: summarize(samples.compose.down),
    },
    project: {
      up: summarize(samples.project.up),
      ready: summarize(samples.project.ready),
      preview: summarize(samples.project.preview),
      down: summarize(samples.project.down),
    },
  };
  const out: string[] = [];
  out.push("# Benchmark: the tutorial's commands vs Compose vs this project");
  out.push("");
  out.push(
    `${meta.date} · ${meta.cpus} × ${meta.cpuModel}, ${meta.memoryGB} GB · Docker Engine ${meta.engine} · docker-compose ${meta.compose} · ${meta.pulumi ? `Pulumi ${meta.pulumi}` : ""} · ${meta.wrk} · Node ${meta.node}`,
  );
  out.push("");
  out.push(
    `Base image for both images: \`${meta.baseImage}\`${meta.baseImageNote ? ` (${meta.baseImageNote})` : ""}. ` +
      `${meta.rounds} timed rounds per tool after one untimed warm-up, tools alternating (tutorial, Compose, project, tutorial, ...), one engine, one run. ` +
      `Machine before the start: CPU ${meta.cpuBusyPercentAtStart.toFixed(0)}% busy over 3 s; a \`go build\` running: ${meta.goBuildRunningAtStart ? "YES" : "no"}; ` +
      `other workloads at start: ${meta.otherWorkloadsAtStart.join(", ") || "none"}, at the end: ${meta.otherWorkloadsAtEnd.join(", ") || "none"}${meta.goBuildRunningAtEnd ? " (and a go build)" : ""}.`,
  );
  out.push("");
  if (meta.incomplete) {
    out.push(`**INCOMPLETE RUN**: stopped early: ${meta.incomplete}`);
    out.push("");
  }
  out.push("## Up, preview, down");
  out.push("");
  out.push("Seconds, median (min–max). Ratio: this project's median over the other's.");
  out.push("");
  out.push(
    table(
      [
        "operation",
        "tutorial (`docker` CLI)",
        "Compose",
        "this project (Pulumi)",
        "project ÷ tutorial",
        "project ÷ Compose",
      ],
      [
        [
          "up from empty, image cached (command returns)",
          medianRange(s.tutorial.up),
          medianRange(s.compose.up),
          medianRange(s.project.up),
          ratio(s.project.up, s.tutorial.up),
          ratio(s.project.up, s.compose.up),
        ],
        [
          "up until all 7 reachable apps answer HTTP 200",
          medianRange(s.tutorial.ready),
          medianRange(s.compose.ready),
          medianRange(s.project.ready),
          ratio(s.project.ready, s.tutorial.ready),
          ratio(s.project.ready, s.compose.ready),
        ],
        ["preview on the converged stack", "–", "–", medianRange(s.project.preview), "–", "–"],
        [
          "down / destroy",
          medianRange(s.tutorial.down),
          medianRange(s.compose.down),
          medianRange(s.project.down),
          ratio(s.project.down, s.tutorial.down),
          ratio(s.project.down, s.compose.down),
        ],
      ],
    ),
  );
  out.push("");
  const changes = [...new Set(results.previewChanges.map((c) => JSON.stringify(c)))].join(", ");
  out.push(
    "- **tutorial**: `bench/tutorial.sh up` = `docker build` (cache hit) + 8 sequential `docker run -d` + `docker network create`; " +
      "down = one `docker rm -f` of all 8 + `docker network rm`. Its `up` returns when the containers are started, before the apps listen.",
  );
  out.push(
    "- **Compose**: `docker-compose up -d` / `down --timeout 0` on `bench/compose.yaml` (same image; `--timeout 0` kills at once like `docker rm -f`: " +
      "`python app.py` as PID 1 ignores SIGTERM).",
  );
  out.push(
    "- **this project**: `scripts/pulumi.sh up --yes --skip-preview` / `destroy --yes --skip-preview` on stack `bench`, exactly what `npm run up` / `npm run destroy` run " +
      "(8 containers, 127.0.0.1, `keepImageOnDestroy: true` so the image stays cached as for the others); `preview` through the Automation API. " +
      "`up` and `preview` run the mandatory policy pack. " +
      `Its \`up\` returns only when every app answered its probe from the host (the none container's from inside). Preview reported: ${changes || "–"}.`,
  );
  out.push("");

  if (results.breakdowns.length > 0) {
    out.push("## Where this project's `up` spends its time");
    out.push("");
    out.push(
      `Median over ${results.breakdowns.length} rounds, seconds from the command's start; engine events from the CLI's \`--event-log\` (read every 20 ms), container events from \`docker events\`.`,
    );
    out.push("");
    out.push(
      table(
        ["phase", "seconds"],
        BREAKDOWN_ROWS.map(([key, label]) => [label, seconds(median(results.breakdowns.map((b) => b[key])))]),
      ),
    );
    out.push("");
  }

  if (results.destroyBreakdowns.length > 0) {
    const d = results.destroyBreakdowns;
    out.push("And its `destroy` (the program does not run; median, seconds):");
    out.push("");
    out.push(
      table(
        ["phase", "seconds"],
        [
          [
            "CLI start, state, provider plugins, until the first delete",
            seconds(median(d.map((b) => b.toFirstDelete))),
          ],
          [
            "containers: first delete begun to last done (in parallel)",
            seconds(median(d.map((b) => b.containersSpan))),
          ],
          [
            "  one container delete (median): `docker stop` (SIGTERM, gunicorn exits) then remove",
            seconds(median(d.map((b) => b.containerEach))),
          ],
          ["last delete done → call returns", seconds(median(d.map((b) => b.tail)))],
          ["total", seconds(median(d.map((b) => b.total)))],
        ],
      ),
    );
    out.push("");
  }

  if (results.images) {
    out.push("## Image size");
    out.push("");
    const { tutorial, project } = results.images;
    out.push(
      table(
        ["image", "total", "base", "app layers (above the base)"],
        [
          [
            "tutorial's Dockerfile (`bench/tutorial-app`)",
            bytes(tutorial.bytes),
            bytes(tutorial.baseBytes),
            bytes(tutorial.appBytes),
          ],
          ["this project (`app/Dockerfile`)", bytes(project.bytes), bytes(project.baseBytes), bytes(project.appBytes)],
        ],
      ),
    );
    out.push("");
    if (meta.baseImageNote) {
      out.push(
        "On this stand-in base, Flask and gunicorn already come from Debian's packages, so both images' `pip install` steps add nothing; " +
          "on `python:3.11-slim` they would add the wheels (Flask and its dependencies, and gunicorn for this project).",
      );
      out.push("");
    }
    for (const [name, facts] of [
      ["tutorial", tutorial],
      ["this project", project],
    ] as const) {
      out.push(`Layers above the base, ${name} (\`docker history\`, newest first):`);
      out.push("");
      out.push(
        table(
          ["bytes", "created by"],
          facts.appLayers.map((layer) => [String(layer.bytes), `\`${layer.createdBy.replace(/\|/g, "\\|")}\``]),
        ),
      );
      out.push("");
    }
  }

  if (results.wrk.runs.length > 0) {
    const { threads, connections, durationSeconds } = results.wrk.options;
    out.push("## Throughput and latency of one app");
    out.push("");
    out.push(
      `\`wrk -t${threads} -c${connections} -d${durationSeconds}s --latency\` on loopback against the first app on the default bridge (published on 127.0.0.1), ` +
        "runs alternating; only that tool's topology is up during its run. Median (min–max) over runs.",
    );
    out.push("");
    const rows: string[][] = [];
    for (const [tool, server] of [
      ["tutorial", "tutorial: Flask dev server (`python app.py`)"],
      ["project", `this project: gunicorn (${meta.gunicorn ?? "app/gunicorn.conf.py"})`],
    ] as const) {
      const runs = results.wrk.runs.filter((entry) => entry.tool === tool).map((entry) => entry.result);
      if (runs.length === 0) continue;
      const pick = (f: (r: WrkResult) => number, digits = 2) => medianRange(summarize(runs.map(f)), digits);
      const errors = runs.map((r) => r.errors);
      rows.push([
        server,
        pick((r) => r.requestsPerSecond, 0),
        pick((r) => r.latencyMs.p50),
        pick((r) => r.latencyMs.p99),
        pick((r) => r.latencyMs.max),
        errors
          .map((e) =>
            e.total === 0
              ? "0"
              : `**${e.total}** (connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}, non-2xx ${e.non2xx})`,
          )
          .join(", "),
        medianRange(summarize(results.idleCpuPercent[tool]), 1),
      ]);
    }
    out.push(
      table(
        [
          "server",
          "requests/s",
          "p50 ms",
          "p99 ms",
          "max ms",
          "errors per run",
          "idle CPU % with its topology up (5 s)",
        ],
        rows,
      ),
    );
    out.push("");
  }

  if (results.scaling.length > 0 || results.scalingFailures.length > 0) {
    out.push("## Scaling: this project's up and destroy by container count");
    out.push("");
    out.push(
      "Half of the published containers on the default bridge, half on the user-defined network, plus host and none (64 = 31 + 31 + 1 + 1). " +
        `\`--parallel\`: ${meta.scaleParallel ?? `the CLI's default (${meta.pulumiDefaultParallel ?? "?"})`}. Seconds, median (min–max).`,
    );
    out.push("");
    const counts = [...new Set(results.scaling.map((row) => row.containers))].sort((a, b) => a - b);
    const rows = counts.map((n) => {
      const at = results.scaling.filter((row) => row.containers === n);
      const up = summarize(at.map((row) => row.up));
      const destroy = summarize(at.map((row) => row.destroy));
      const containersSpan = median(at.map((row) => row.breakdown.containersSpan));
      return [
        String(n),
        medianRange(up),
        medianRange(destroy),
        seconds(up.median / n, 3),
        seconds(destroy.median / n, 3),
        seconds(containersSpan),
        seconds(median(at.map((row) => row.breakdown.containerEach))),
        seconds(median(at.map((row) => row.breakdown.startToAnswering))),
        seconds(median(at.map((row) => row.destroyBreakdown.containerEach))),
      ];
    });
    out.push(
      table(
        [
          "containers",
          "up",
          "destroy",
          "up per container",
          "destroy per container",
          "up: containers span",
          "up: one container resource (median)",
          "up: start → app answers (median)",
          "destroy: one container delete (median)",
        ],
        rows,
      ),
    );
    out.push("");
    if (counts.length >= 2) {
      const xs = results.scaling.map((row) => row.containers);
      const upFit = linearFit(
        xs,
        results.scaling.map((row) => row.up),
      );
      const downFit = linearFit(
        xs,
        results.scaling.map((row) => row.destroy),
      );
      const first = counts[0] as number;
      const last = counts[counts.length - 1] as number;
      const at = (n: number, key: "up" | "destroy") =>
        summarize(results.scaling.filter((row) => row.containers === n).map((row) => row[key]));
      out.push(
        `Least-squares fit over all runs: **up ≈ ${upFit.intercept.toFixed(1)} s + ${upFit.slope.toFixed(3)} s × containers** (R² ${upFit.r2.toFixed(3)}), ` +
          `**destroy ≈ ${downFit.intercept.toFixed(1)} s + ${downFit.slope.toFixed(3)} s × containers** (R² ${downFit.r2.toFixed(3)}). ` +
          `From ${first} to ${last} containers (${(last / first).toFixed(0)}× as many) up takes ${ratio(at(last, "up"), at(first, "up"))} as long and destroy ${ratio(at(last, "destroy"), at(first, "destroy"))}.`,
      );
      out.push("");
    }
    if (results.scalingFailures.length > 0) {
      out.push("Ups that **failed** (recorded, then the stack was destroyed and the run went on):");
      out.push("");
      out.push(
        table(
          ["containers", "round", "--parallel", "failed after (s)", "why"],
          results.scalingFailures.map((f) => [
            String(f.containers),
            String(f.round),
            f.parallel === null ? "default" : String(f.parallel),
            seconds(f.seconds, 1),
            f.reason.replace(/\|/g, "\\|"),
          ]),
        ),
      );
      out.push("");
    }
  }

  const { healthInterval, previewVariants, composeDefaultDown } = results.experiments;
  const wide = results.scalingParallel;
  if (
    healthInterval ||
    previewVariants ||
    composeDefaultDown !== undefined ||
    results.experiments.stopVersusKill ||
    results.experiments.workerClass ||
    wide.length > 0
  ) {
    out.push("## Experiments behind the suggestions");
    out.push("");
    if (wide.length > 0) {
      const n = wide[0]?.containers as number;
      const p = wide[0]?.parallel as number;
      const base = results.scaling.filter((row) => row.containers === n);
      const pick = (rows: { up: number; destroy: number }[], key: "up" | "destroy") =>
        summarize(rows.map((r) => r[key]));
      out.push(
        `\`--parallel\` at ${n} containers, runs interleaved with the scaling runs (default here: ${meta.pulumiDefaultParallel ?? "?"}, from \`PULUMI_PARALLEL\` in scripts/env.sh; the CLI's own is 4 × CPUs):`,
      );
      out.push("");
      out.push(
        table(
          ["--parallel", "up", "destroy", "up: containers span", "up: one container (median)"],
          [
            [
              `default (${meta.pulumiDefaultParallel ?? "?"})`,
              medianRange(pick(base, "up")),
              medianRange(pick(base, "destroy")),
              seconds(median(base.map((r) => r.breakdown.containersSpan))),
              seconds(median(base.map((r) => r.breakdown.containerEach))),
            ],
            [
              String(p),
              medianRange(pick(wide, "up")),
              medianRange(pick(wide, "destroy")),
              seconds(median(wide.map((r) => r.breakdown.containersSpan))),
              seconds(median(wide.map((r) => r.breakdown.containerEach))),
            ],
          ],
        ),
      );
      out.push("");
    }
    if (healthInterval) {
      out.push(
        "Health interval: 8 containers of this project's image, hardened as in the stack, started with `docker run`; seconds from Docker's `start` event (median). " +
          "`up` waits for the first column (its probes poll every 100 ms), no longer for the second:",
      );
      out.push("");
      out.push(
        table(
          [
            "--health-interval",
            "start → app answers HTTP",
            "start → Docker reports healthy",
            "wait the healthcheck adds",
          ],
          healthInterval.map((row) => [
            row.interval,
            seconds(row.toAnswer),
            seconds(row.toHealthy),
            seconds(row.toHealthy - row.toAnswer),
          ]),
        ),
      );
      out.push("");
    }
    if (previewVariants) {
      out.push("Preview on the converged 8-container stack, 3 runs each, alternating:");
      out.push("");
      out.push(
        table(
          ["preview", "seconds"],
          [
            [
              "policy pack, program type-checked by ts-node (`PULUMI_NODEJS_TRANSPILE_ONLY` unset)",
              medianRange(previewVariants.asRun),
            ],
            ["no policy pack, type-checked", medianRange(previewVariants.noPolicy)],
            [
              "policy pack, transpile only: as `npm run preview` runs it (scripts/env.sh sets `PULUMI_NODEJS_TRANSPILE_ONLY=true`)",
              medianRange(previewVariants.transpileOnly),
            ],
          ],
        ),
      );
      out.push("");
    }
    if (results.experiments.workerClass) {
      out.push(
        "gunicorn workers: one container of this project's image alone (no stack, no healthcheck load), workers set with `GUNICORN_CMD_ARGS`, same wrk settings, once each:",
      );
      out.push("");
      out.push(
        table(
          ["workers", "requests/s", "p50 ms", "p99 ms", "errors"],
          results.experiments.workerClass.map(({ workers, result }) => [
            workers,
            result.requestsPerSecond.toFixed(0),
            seconds(result.latencyMs.p50),
            seconds(result.latencyMs.p99),
            String(result.errors.total),
          ]),
        ),
      );
      out.push("");
    }
    if (results.experiments.stopVersusKill) {
      const { stopThenRemove, forceRemove } = results.experiments.stopVersusKill;
      out.push(
        `Removing one container of this project's image (4 each, one after the other, median): \`docker stop\` + \`docker rm\` ${seconds(stopThenRemove)} s ` +
          `(what the stand-in provider's delete does: SIGTERM, gunicorn's graceful shutdown) vs \`docker rm -f\` ${seconds(forceRemove)} s (SIGKILL, as the tutorial does).`,
      );
      out.push("");
    }
    if (composeDefaultDown !== undefined) {
      out.push(
        `\`docker-compose down\` with its default 10 s stop timeout on the tutorial's image: ${seconds(composeDefaultDown)} s (once), ` +
          `vs ${medianRange(s.compose.down)} s with \`--timeout 0\`.`,
      );
      out.push("");
    }
  }
  return out.join("\n");
}

/** Writes results.md, results.json and chart.svg into dir; returns the Markdown. */
export async function writeResults(results: Results, dir: string): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  const markdown = renderMarkdown(results);
  fs.writeFileSync(path.join(dir, "results.md"), markdown);
  fs.writeFileSync(path.join(dir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
  const label = { tutorial: "tutorial", compose: "Compose", project: "this project" } as const;
  const bars: BarRow[] = [];
  for (const tool of ["tutorial", "compose", "project"] as const) {
    const samples = results.samples[tool];
    const metrics: [string, number[]][] = [
      ["up", samples.up],
      ["up until all answer", samples.ready],
      ["down / destroy", samples.down],
    ];
    if (tool === "project") metrics.splice(2, 0, ["preview", results.samples.project.preview]);
    for (const [metric, values] of metrics) {
      const { n, median, min, max } = summarize(values);
      if (n > 0) bars.push({ metric, tool: label[tool], median, min, max });
    }
  }
  const scaleRows: ScaleRow[] = [
    ...results.scaling.flatMap((row) => [
      { containers: row.containers, operation: "up" as const, seconds: row.up },
      { containers: row.containers, operation: "destroy" as const, seconds: row.destroy },
    ]),
    ...(results.scalingFailures ?? [])
      .filter((failure) => failure.parallel === null || failure.parallel === results.meta.scaleParallel)
      .map((failure) => ({
        containers: failure.containers,
        operation: "up (failed)" as const,
        seconds: failure.seconds,
      })),
  ];
  fs.writeFileSync(path.join(dir, "chart.svg"), await renderChart(bars, scaleRows));
  return markdown;
}
