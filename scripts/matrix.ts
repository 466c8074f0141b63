/**
 * npm run matrix [-- --out PATH]
 *
 * Measures who reaches whom on the live stack (dev, or $FB_STACK): one
 * `docker exec` of src/machine/connectivity.py per container, four at a time, each
 * running all of its tries at once. Prints the matrix, writes it as an SVG
 * grid (default docs/connectivity.svg) and exits 1 when any try differs from
 * what Docker's rules predict for the stack's plan (src/plan/connectivity.ts).
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { resolveEngine } from "../src/machine/engine";
import { readConfig } from "../src/plan/config";
import {
  expectedConnectivity,
  type Matrix,
  type Measured,
  measuredMatrix,
  mismatches,
  type ProbeRequest,
  probeRequests,
  type TryResult,
} from "../src/plan/connectivity";
import type { StackOutputs } from "../src/plan/outputs";
import { planTopology, type TopologyPlan } from "../src/plan/plan";
import { matrixDot, matrixTable } from "../src/views/connectivityView";
import { FONT, parseStackOutputs } from "../src/views/diagram";

const REPO_ROOT = path.resolve(__dirname, "..");
const PROBE = readFileSync(path.join(REPO_ROOT, "src", "machine", "connectivity.py"), "utf8");
/** Execs at once: enough to overlap the 1.5 s timeouts, few enough for 2 cores. */
const CONCURRENCY = 4;
/** A hung exec must not hang the matrix: every try inside has its own 1.5 s timeout. */
const EXEC_TIMEOUT_MS = 30_000;
const USAGE = "usage: [FB_STACK=<stack>] npm run matrix [-- --out PATH]   (default PATH: docs/connectivity.svg)";

/** Values as `pulumi config --json` and the Automation API's getAllConfig give them. */
export type StackConfig = Record<string, { value: string }>;

/** The plan the stack was deployed from, rebuilt from its config with the program's own code. */
export function planFor(stack: string, config: StackConfig): TopologyPlan {
  pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(config).map(([key, { value }]) => [key, value])));
  const engine = resolveEngine({ env: process.env, dockerConfigHost: config["docker:host"]?.value });
  return planTopology(readConfig(), stack, { engine });
}

/** Measures every source's row; a source whose exec fails gets "error" for each of its tries. */
export async function measureConnectivity(
  outputs: StackOutputs,
): Promise<{ measured: Matrix<Measured>; tries: number }> {
  const requests = Object.entries(probeRequests(outputs, await registeredNames(outputs)));
  const rows = await mapBounded(requests, CONCURRENCY, ([source, request]) => probe(source, request));
  const results = Object.fromEntries(requests.map(([source], index) => [source, rows[index] ?? []]));
  const tries = requests.reduce((sum, [, request]) => sum + request.tries.length, 0);
  return { measured: measuredMatrix(Object.keys(outputs.containers), results), tries };
}

/** The containers Docker lists on each network the stack's containers use: what its embedded DNS knows. */
async function registeredNames(outputs: StackOutputs): Promise<Record<string, string[]>> {
  const networks = [...new Set(Object.values(outputs.containers).map((container) => container.network))].filter(
    (network) => network !== "host" && network !== "none",
  );
  const lists = await Promise.all(
    networks.map(async (network) => {
      const { code, stdout, stderr } = await run("docker", [
        "network",
        "inspect",
        network,
        "--format",
        "{{range .Containers}}{{.Name}} {{end}}",
      ]);
      if (code !== 0) {
        throw new Error(`docker network inspect ${network}: ${stderr.trim()}`);
      }
      return stdout.split(/\s+/).filter((name) => name !== "");
    }),
  );
  return Object.fromEntries(networks.map((network, index) => [network, lists[index] ?? []]));
}

async function probe(source: string, request: ProbeRequest): Promise<TryResult[]> {
  const { code, stdout, stderr } = await run(
    "docker",
    ["exec", "-i", source, "python3", "-", JSON.stringify(request)],
    PROBE,
  );
  try {
    if (code !== 0) {
      throw new Error(stderr.trim() || `exit code ${code}`);
    }
    return (JSON.parse(stdout) as { results: TryResult[] }).results;
  } catch (error) {
    const detail = `docker exec ${source} failed: ${error instanceof Error ? error.message : String(error)}`;
    return request.tries.map(({ target, way }) => ({ target, way, outcome: "error", detail }));
  }
}

function run(
  command: string,
  args: readonly string[],
  input = "",
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], timeout: EXEC_TIMEOUT_MS });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Lays DOT out with the WebAssembly Graphviz, as scripts/diagram.ts does, under its own title. */
async function renderSvg(dot: string, title: string): Promise<string> {
  // ESM only; a dynamic import loads it from this CommonJS script.
  const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
  const svg = (await Graphviz.load()).dot(dot, "svg");
  return svg
    .replaceAll(`font-family="${FONT}"`, `font-family="${FONT},Helvetica,Arial,sans-serif"`)
    .replace(/<svg\b[^>]*>/, (tag) => `${tag}\n<title>${title}</title>`);
}

function pulumiJson(stack: string, ...args: string[]): unknown {
  const text = execFileSync("bash", [path.join(REPO_ROOT, "scripts/pulumi.sh"), ...args, "--json"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, FB_STACK: stack },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(text);
}

function parseArgs(argv: readonly string[]): { out: string } {
  const [flag, value, ...rest] = argv;
  if (flag === undefined) {
    return { out: path.join(REPO_ROOT, "docs", "connectivity.svg") };
  }
  if (flag !== "--out" || value === undefined || rest.length > 0) {
    throw new Error(USAGE);
  }
  return { out: path.resolve(value) };
}

async function main(): Promise<void> {
  const { out } = parseArgs(process.argv.slice(2));
  const stack = process.env.FB_STACK || "dev";
  const outputs = parseStackOutputs(pulumiJson(stack, "stack", "output"), `outputs of stack ${stack}`);
  const plan = planFor(stack, pulumiJson(stack, "config") as StackConfig);
  if (plan.containers.length === 0) {
    throw new Error(`stack ${stack} plans no containers (swarm services are not measured)`);
  }
  const expected = expectedConnectivity(plan);

  const start = Date.now();
  const { measured, tries } = await measureConnectivity(outputs);
  const seconds = (Date.now() - start) / 1000;

  const title = `Connectivity of stack ${stack}, measured`;
  process.stdout.write(matrixTable(title, measured, expected));
  console.log(`\nmeasured ${tries} tries from ${Object.keys(measured).length} containers in ${seconds.toFixed(2)} s`);

  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, await renderSvg(matrixDot(title, measured, expected), title));
  console.log(`wrote ${path.relative(process.cwd(), out) || out}`);
  if (mismatches(expected, measured).length > 0) {
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`matrix: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
