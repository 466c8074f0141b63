/**
 * scripts/pulumi.sh pipes `up` and `preview` through this:
 *   pulumi ... | node --require tsx/cjs scripts/heal-output.ts RAW_LOG BUILD_LOG STACK
 * Every line goes to RAW_LOG as Pulumi wrote it (colours stripped); the
 * image build's lines to BUILD_LOG; stdout gets the output with each provider
 * error said once, in a few lines (src/machine/providerErrors.ts).
 */
import * as fs from "node:fs";
import * as readline from "node:readline";
import { OutputReader, stripAnsi } from "../src/machine/providerErrors";
import { PROJECT_DIR } from "../src/projectDir";
import { stackEngine } from "./stack-config";

const [rawLog, buildLog, stack] = process.argv.slice(2);
if (!rawLog || !buildLog || !stack) {
  process.stderr.write("usage: scripts/heal-output.ts RAW_LOG BUILD_LOG STACK\n");
  process.exit(2);
}

/** The stack's engine, named when it stops answering; where it cannot be resolved, Pulumi's own error says why. */
function engineUrl(): string | undefined {
  try {
    return stackEngine(PROJECT_DIR, stack as string, process.env).url;
  } catch {
    return undefined;
  }
}
fs.writeFileSync(rawLog, "");
fs.writeFileSync(buildLog, "");
const raw = fs.openSync(rawLog, "a");
const build = fs.openSync(buildLog, "a");

const reader = new OutputReader({
  engine: engineUrl(),
  rawLog,
  buildLog,
  keepBuildLine: (line) => fs.writeSync(build, `${line}\n`),
  buildLines: () => fs.readFileSync(buildLog, "utf8").split("\n").slice(0, -1),
});

function print(lines: string[]): void {
  if (lines.length > 0) process.stdout.write(`${lines.join("\n")}\n`);
}

const input = readline.createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
input.on("line", (line) => {
  fs.writeSync(raw, `${stripAnsi(line)}\n`);
  print(reader.push(line));
});
input.on("close", () => {
  print(reader.end());
  fs.closeSync(raw);
  fs.closeSync(build);
});
// Ctrl-C reaches the whole foreground group: this reader stays to print what Pulumi says while it stops.
process.on("SIGINT", () => {});
