/**
 * npm run diagram [-- --from FILE] [-- --out PATH]
 *
 * Draws the live stack's topology as topology.svg: reads the outputs with
 * `scripts/pulumi.sh stack output --json` (or from FILE, a saved copy of that
 * JSON), builds DOT with src/views/diagram.ts and lays it out with Graphviz compiled
 * to WebAssembly (@hpcc-js/wasm-graphviz): no browser, no dot binary.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { FONT, parseStackOutputs, topologyDot } from "../src/views/diagram";

const REPO_ROOT = path.resolve(__dirname, "..");
const SVG_TITLE = "flask-bridge: Docker network topology";

const USAGE = `usage: npm run diagram [-- --from OUTPUTS.json] [-- --out PATH] [-- --dot PATH]
  --from FILE   read stack outputs from FILE (JSON of \`pulumi stack output --json\`)
                instead of asking the dev stack through scripts/pulumi.sh
  --out PATH    where to write the SVG (default: topology.svg at the repo root)
  --dot PATH    also write the DOT source to PATH`;

interface Options {
  from: string | null;
  out: string;
  dot: string | null;
}

export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { from: null, out: path.join(REPO_ROOT, "topology.svg"), dot: null };
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    if (flag !== "--from" && flag !== "--out" && flag !== "--dot") {
      throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
    const value = inline ?? argv[++index];
    if (value === undefined || value === "") {
      throw new Error(`${flag} needs a value\n${USAGE}`);
    }
    options[flag.slice(2) as keyof Options] = path.resolve(value);
  }
  return options;
}

/** Lays DOT out with the WebAssembly Graphviz and returns the SVG text. */
export async function renderSvg(dot: string): Promise<string> {
  // The package is ESM only; a dynamic import loads it from this CommonJS script.
  const { Graphviz } = await import("@hpcc-js/wasm-graphviz");
  const graphviz = await Graphviz.load();
  const svg = graphviz.dot(dot, "svg");
  // Laid out with FONT's metrics; viewers without it fall back to narrower sans-serif fonts.
  // A <title> right under <svg> names the picture for screen readers.
  return svg
    .replaceAll(`font-family="${FONT}"`, `font-family="${FONT},Helvetica,Arial,sans-serif"`)
    .replace(/<svg\b[^>]*>/, (tag) => `${tag}\n<title>${SVG_TITLE}</title>`);
}

function readOutputs(from: string | null): unknown {
  if (from !== null) {
    return JSON.parse(readFileSync(from, "utf8"));
  }
  let text: string;
  try {
    text = execFileSync("bash", [path.join(REPO_ROOT, "scripts/pulumi.sh"), "stack", "output", "--json"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
  } catch {
    throw new Error("could not read the stack's outputs (see above); or pass --from FILE with saved outputs");
  }
  return JSON.parse(text);
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const source = options.from ?? "pulumi stack output --json";
  const dot = topologyDot(parseStackOutputs(readOutputs(options.from), source));
  const svg = await renderSvg(dot);
  for (const [file, text] of [
    [options.out, svg],
    [options.dot, dot],
  ] as const) {
    if (file !== null) {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      console.log(`wrote ${path.relative(process.cwd(), file) || file}`);
    }
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(`diagram: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
