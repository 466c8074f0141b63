import { cleanEnv, fakeCommand, removeTmpDirs, runBash, tmpDir } from "./scriptsHarness";

/**
 * scripts/pulumi.sh (what `npm run up|preview|destroy` run) and the settings it
 * gives Pulumi: the state saved once per up or destroy, at the end, and the
 * providers' diffs side by side, the Go garbage collector of the CLI and its
 * plugins run less often. A fake `pulumi` prints what it was given.
 */

const SETTINGS = "PULUMI_SKIP_CHECKPOINTS PULUMI_PARALLEL_DIFF PULUMI_PARALLEL GOGC";

function fakes(): string {
  const dir = tmpDir("fakes");
  fakeCommand(dir, "pulumi", `for name in ${SETTINGS}; do echo "$name=\${!name-unset}"; done`);
  return dir;
}

/** What the fake pulumi saw, NAME=value a line, for `scripts/pulumi.sh <subcommand>`. */
async function settingsFor(subcommand: string, extra: Record<string, string> = {}): Promise<string[]> {
  const env = cleanEnv(fakes(), { FB_HEAL: "0", FB_STACK: "wrapper-test", ...extra });
  const ran = await runBash(["scripts/pulumi.sh", subcommand, "--yes"], env);
  expect(ran.code).toBe(0);
  return ran.lines.filter((line) => /^(PULUMI_\w+|GOGC)=/.test(line));
}

afterAll(removeTmpDirs);

describe("scripts/pulumi.sh", () => {
  it("up saves the state once, at the end, with the diffs side by side, 10 operations at once and GOGC=400", async () => {
    expect(await settingsFor("up")).toEqual([
      "PULUMI_SKIP_CHECKPOINTS=true",
      "PULUMI_PARALLEL_DIFF=true",
      "PULUMI_PARALLEL=10",
      "GOGC=400",
    ]);
  });

  it("destroy saves the state once, at the end", async () => {
    expect(await settingsFor("destroy")).toEqual([
      "PULUMI_SKIP_CHECKPOINTS=true",
      "PULUMI_PARALLEL_DIFF=true",
      "PULUMI_PARALLEL=10",
      "GOGC=400",
    ]);
  });

  it("preview and refresh keep Pulumi's checkpoints (the heal step does not run before a refresh)", async () => {
    for (const subcommand of ["preview", "refresh"]) {
      expect(await settingsFor(subcommand)).toEqual([
        "PULUMI_SKIP_CHECKPOINTS=unset",
        "PULUMI_PARALLEL_DIFF=true",
        "PULUMI_PARALLEL=10",
        "GOGC=400",
      ]);
    }
  });

  it("heal resolves the stack's engine itself; a name it cannot use stops the run in one line, before pulumi", async () => {
    const env = cleanEnv(fakes(), { FB_STACK: "../dev" });
    const ran = await runBash(["scripts/pulumi.sh", "up", "--yes"], env);
    expect([ran.code, ran.lines]).toEqual([
      1,
      [
        '[heal] ERROR: could not check the stack before running pulumi: "../dev" is not a stack name (letters, digits, ".", "_", "-")',
      ],
    ]);
  });

  it("a user's own values win", async () => {
    expect(
      await settingsFor("up", {
        PULUMI_SKIP_CHECKPOINTS: "false",
        PULUMI_PARALLEL_DIFF: "false",
        PULUMI_PARALLEL: "4",
        GOGC: "100",
      }),
    ).toEqual(["PULUMI_SKIP_CHECKPOINTS=false", "PULUMI_PARALLEL_DIFF=false", "PULUMI_PARALLEL=4", "GOGC=100"]);
  });
});
