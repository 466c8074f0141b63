import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT, removeTmpDirs, tmpDir } from "./scriptsHarness";

/**
 * program.js, the program Pulumi runs: index.ts bundled by esbuild, reused
 * while its sources are unchanged, rebuilt when one changed. Each case runs it
 * in a node process of its own in a project folder of its own (the real
 * node_modules linked in), with a two-file program in place of index.ts.
 */

const BUNDLE = path.join(".build", "program.js");

function project(): string {
  const dir = tmpDir("program");
  fs.copyFileSync(path.join(REPO_ROOT, "program.js"), path.join(dir, "program.js"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
  fs.mkdirSync(path.join(dir, "src"));
  fs.writeFileSync(path.join(dir, "src", "greeting.ts"), 'export const greeting: string = "hello";\n');
  fs.writeFileSync(
    path.join(dir, "index.ts"),
    'import { greeting } from "./src/greeting";\nconst outputs: { greeting: string } = { greeting };\nexport = outputs;\n',
  );
  return dir;
}

/** What the program exports, or what it said when it failed. */
function run(dir: string): { status: number | null; out: string; err: string } {
  const result = spawnSync(process.execPath, ["-e", 'console.log(JSON.stringify(require("./program.js")))'], {
    cwd: dir,
    encoding: "utf8",
    env: { PATH: process.env.PATH },
  });
  return { status: result.status, out: result.stdout.trim(), err: result.stderr };
}

afterAll(removeTmpDirs);

describe("program.js", () => {
  it("bundles index.ts with what it imports, and exports what index.ts exports", () => {
    const dir = project();
    expect(run(dir)).toEqual({ status: 0, out: '{"greeting":"hello"}', err: "" });
    const first = fs.readFileSync(path.join(dir, BUNDLE), "utf8").split("\n", 1)[0] ?? "";
    expect(Object.keys(JSON.parse(first.replace(/^\/\/ flask-bridge sources /, "")))).toEqual([
      "index.ts",
      "program.js",
      "src/greeting.ts",
    ]);
  });

  it("reuses the bundle while no source changed", () => {
    const dir = project();
    run(dir);
    const bundle = path.join(dir, BUNDLE);
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(bundle, past, past);
    // As the file system stores it (a float from nanoseconds, not always past.getTime()).
    const before = fs.statSync(bundle).mtimeMs;
    expect(run(dir).out).toBe('{"greeting":"hello"}');
    expect(fs.statSync(bundle).mtimeMs).toBe(before);
    expect(before).toBeLessThan(Date.now() - 30_000);
  });

  it("never runs stale: an edit to index.ts or to a file it imports is bundled before the program runs", () => {
    const dir = project();
    run(dir);
    fs.writeFileSync(path.join(dir, "src", "greeting.ts"), 'export const greeting: string = "bonjour";\n');
    expect(run(dir).out).toBe('{"greeting":"bonjour"}');
    fs.writeFileSync(path.join(dir, "index.ts"), "export = { greeting: 42 };\n");
    expect(run(dir).out).toBe('{"greeting":42}');
  });

  it("fails in a few lines naming the file, line and cause when index.ts does not compile", () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, "index.ts"), 'import { greeting } from "./src/greeting";\nexport = { greeting;\n');
    const { status, err } = run(dir);
    expect(status).toBe(1);
    expect(err).toContain('index.ts does not compile:\n  index.ts:2:20: Expected "}" but found ";"');
    expect(fs.existsSync(path.join(dir, BUNDLE))).toBe(false);
  });
});
