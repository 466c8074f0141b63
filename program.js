// @ts-check
/**
 * The program Pulumi runs (package.json's "main"; Pulumi.yaml says
 * `typescript: false`). index.ts and what it imports from src/ are bundled into
 * one JavaScript file by esbuild, node_modules left outside, so the program's
 * process loads neither ts-node nor its source-map-support, which mapped every
 * stack trace Pulumi takes per resource (ts-node alone: 0.6 of 2.4 CPU-s).
 * The bundle runs only while every file it was built from is byte for byte the
 * same (SHA-256, in its first line), so an edited index.ts never runs stale:
 * else it is rebuilt here first (about 0.1 s). Types are checked by
 * `npm run build` and the tests, as before.
 */
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ENTRY = "index.ts";
const BUNDLE = path.join(__dirname, ".build", "program.js");
const MARK = "// flask-bridge sources ";

/** @param {string} file project-relative @returns {string | null} */
function sha256(file) {
  try {
    return crypto
      .createHash("sha256")
      .update(fs.readFileSync(path.join(__dirname, file)))
      .digest("hex");
  } catch {
    return null;
  }
}

/** The bundle's own list of sources, if each still has the content it was built from. */
function isFresh() {
  let first;
  try {
    first = fs.readFileSync(BUNDLE, "utf8").split("\n", 1)[0] ?? "";
  } catch {
    return false;
  }
  if (!first.startsWith(MARK)) return false;
  /** @type {Record<string, string>} */
  const sources = JSON.parse(first.slice(MARK.length));
  return Object.entries(sources).every(([file, hash]) => sha256(file) === hash);
}

function build() {
  const esbuild = require("esbuild");
  let result;
  try {
    result = esbuild.buildSync({
      absWorkingDir: __dirname,
      entryPoints: [ENTRY],
      bundle: true,
      packages: "external",
      platform: "node",
      format: "cjs",
      target: "node20",
      metafile: true,
      write: false,
      logLevel: "silent",
    });
  } catch (error) {
    // esbuild's errors name file, line and cause; Pulumi prints a RunError alone, without a trace.
    /** @type {{ text: string, location: { file: string, line: number, column: number } | null }[]} */
    const errors = /** @type {any} */ (error).errors ?? [];
    const lines = errors.map(({ text, location }) =>
      location ? `${location.file}:${location.line}:${location.column + 1}: ${text}` : text,
    );
    const { RunError } = require("@pulumi/pulumi");
    throw new RunError(`${ENTRY} does not compile:\n  ${(lines.length > 0 ? lines : [String(error)]).join("\n  ")}`);
  }
  // This file's own hash too: a change to how it bundles rebuilds.
  const files = [...Object.keys(result.metafile.inputs), "program.js"].sort();
  const sources = Object.fromEntries(files.map((file) => [file, sha256(file)]));
  const code = `${MARK}${JSON.stringify(sources)}\n${result.outputFiles[0]?.text ?? ""}`;
  fs.mkdirSync(path.dirname(BUNDLE), { recursive: true });
  // Renamed into place: a second stack starting at the same moment never reads half a file.
  const partial = `${BUNDLE}.${process.pid}`;
  fs.writeFileSync(partial, code);
  fs.renameSync(partial, BUNDLE);
}

// Pulumi's runner installs source-map-support, and Pulumi takes a whole stack
// trace for every resource it registers: mapping each through @pulumi/*'s
// source maps cost more than registering. Our errors are RunErrors, printed
// without a trace, so V8's own traces (JavaScript positions) lose nothing.
/** @type {{ prepareStackTrace?: unknown }} */ (Error).prepareStackTrace = undefined;
if (!isFresh()) build();
module.exports = require(BUNDLE);
