/**
 * `npm run bench:node`: this project's up (until every app answers), preview
 * and destroy on the machine's Node and on Node 22 and 24, each of those with
 * and without Node's compile cache, alternating in one run (the order rotates
 * every round). Medians go to results/node.md.
 *
 *   BENCH_NODE_ROUNDS    timed rounds (default 5)
 *   BENCH_NODE_VERSIONS  Node majors besides the machine's (default "22 24")
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, requirePrerequisites } from "../tests/e2e/harness";
import { BenchProject, type Operation, removeBenchStack } from "./lib/project";
import { log, median } from "./lib/util";

const ROUNDS = Number(process.env.BENCH_NODE_ROUNDS ?? 5);
const MAJORS = (process.env.BENCH_NODE_VERSIONS ?? "22 24").split(/\s+/).filter(Boolean);
const RESULTS = path.join(REPO_ROOT, "bench", "results", "node.md");

interface Variant {
  name: string;
  env: NodeJS.ProcessEnv;
}

/** Node's bin/ for a major, fetched by the same code as scripts/test-node.sh. */
function nodeBin(major: string): string {
  return execFileSync(
    "bash",
    ["-c", 'source scripts/lib/common.sh && source scripts/lib/node.sh && fb_node_bin "$0"', major],
    {
      cwd: REPO_ROOT,
      encoding: "utf8",
    },
  ).trim();
}

function variants(): Variant[] {
  const cacheRoot = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-compile-cache-"));
  const own = { name: `node ${process.version} (this machine)`, env: { NODE_COMPILE_CACHE: "" } };
  return [
    own,
    ...MAJORS.flatMap((major) => {
      const bin = nodeBin(major);
      const PATH = `${bin}:${process.env.PATH}`;
      const version = execFileSync(path.join(bin, "node"), ["--version"], { encoding: "utf8" }).trim();
      return [
        { name: `node ${version}`, env: { PATH, NODE_COMPILE_CACHE: "" } },
        { name: `node ${version} + compile cache`, env: { PATH, NODE_COMPILE_CACHE: path.join(cacheRoot, major) } },
      ];
    }),
  ];
}

interface Sample {
  up: number;
  program: number;
  policy: number;
  preview: number;
  destroy: number;
}

async function main(): Promise<void> {
  requirePrerequisites();
  const logFile = path.join(process.env.FB_LOG_DIR ?? os.tmpdir(), "bench-node.log");
  const all = variants();
  const project = await BenchProject.create(logFile, new AbortController().signal);
  const samples = new Map<string, Sample[]>(all.map((variant) => [variant.name, []]));
  try {
    const once = async (variant: Variant, timed: boolean) => {
      project.env = variant.env;
      const up: Operation = await project.up();
      const preview = await project.preview();
      const destroy = await project.destroy();
      if (!timed) return;
      const sample = {
        up: up.seconds,
        program: up.breakdown?.phases.program ?? Number.NaN,
        policy: up.breakdown?.phases.policy ?? Number.NaN,
        preview: preview.seconds,
        destroy: destroy.seconds,
      };
      samples.get(variant.name)?.push(sample);
      log(
        `${variant.name}: up ${sample.up.toFixed(2)} s (program load ${sample.program.toFixed(2)} s), preview ${sample.preview.toFixed(2)} s`,
      );
    };
    log("warm-up: every variant once (fills the compile caches)");
    for (const variant of all) await once(variant, false);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < all.length; i++) await once(all[(i + round) % all.length] as Variant, true);
    }
  } finally {
    await removeBenchStack(project);
  }
  const rows = all.map((variant) => {
    const got = samples.get(variant.name) ?? [];
    const m = (key: keyof Sample) => median(got.map((sample) => sample[key])).toFixed(2);
    return `| ${variant.name} | ${m("up")} s | ${m("policy")} s | ${m("program")} s | ${m("preview")} s | ${m("destroy")} s |`;
  });
  const table = [
    `Node runtimes: medians of ${ROUNDS} rounds, alternating (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs, load ${os.loadavg()[0]?.toFixed(2)} at the end)`,
    "",
    "| runtime | up until all answer | language host start | program load | preview, converged | destroy |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
  fs.writeFileSync(RESULTS, `${table}\n`);
  process.stdout.write(`${table}\n`);
}

main().catch((error) => {
  log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
