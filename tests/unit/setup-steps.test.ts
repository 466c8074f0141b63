import * as fs from "node:fs";
import * as path from "node:path";
import {
  callsOf,
  cleanEnv,
  fakeCommand,
  REPO_ROOT,
  removeTmpDirs,
  runBash,
  runFunctions,
  SCRIPTS,
  tmpDir,
} from "./scriptsHarness";

/**
 * A failed command inside a step fails the step and the script (fb_step in
 * scripts/lib/common.sh), in setup.sh and cluster.sh; fb_wait_for is bounded.
 * Fake npm, docker and ip come first on PATH: no network, no real engine.
 */

// Each run is bounded by its own timeout; a loaded machine may need more than jest's 5 s.
jest.setTimeout(60_000);
afterAll(removeTmpDirs);

/** Fake commands that fail loudly if called; tests replace the ones they expect. */
function fakes(): string {
  const dir = tmpDir("fakes");
  for (const name of ["npm", "docker", "pulumi", "apt-get", "curl"]) {
    fakeCommand(dir, name, `echo "fake ${name}: not expected here" >&2; exit 97`);
  }
  return dir;
}

/**
 * A checkout for setup.sh: the real scripts/ (linked, so FB_REPO_ROOT is this
 * directory), and each npm install current or not as asked.
 */
function checkout(current: { root: boolean; policy: boolean }): string {
  const dir = tmpDir("checkout");
  fs.symlinkSync(SCRIPTS, path.join(dir, "scripts"));
  for (const [sub, isCurrent] of [
    [".", current.root],
    ["policy", current.policy],
  ] as const) {
    const lock = path.join(dir, sub, "package-lock.json");
    const installed = path.join(dir, sub, "node_modules", ".package-lock.json");
    fs.mkdirSync(path.dirname(installed), { recursive: true });
    fs.writeFileSync(lock, "{}\n");
    fs.writeFileSync(installed, "{}\n");
    // npm rewrites node_modules/.package-lock.json on every install: newer than the lock file = current.
    const now = Date.now() / 1000;
    fs.utimesSync(lock, now - 60, now - 60);
    fs.utimesSync(installed, now - (isCurrent ? 0 : 120), now - (isCurrent ? 0 : 120));
  }
  return dir;
}

describe("setup.sh", () => {
  it("fails naming the step when the root's npm ci fails, even with policy/ current, and never says it is done", async () => {
    const bin = fakes();
    fakeCommand(bin, "npm", 'echo "npm ERR! fake failure of npm $1" >&2; exit 1');
    const repo = checkout({ root: false, policy: true });
    const { code, lines } = await runBash([path.join(repo, "scripts", "setup.sh")], cleanEnv(bin), 30_000, repo);

    expect(callsOf(bin, "npm")).toEqual(["ci --prefix . --no-audit --no-fund --ignore-scripts"]);
    expect([code, lines]).toEqual([
      1,
      [
        "==> npm dependencies",
        "npm ERR! fake failure of npm ci",
        expect.stringMatching(/^ERROR: npm dependencies failed \(after \d+s\)$/),
      ],
    ]);
    expect(lines.join("\n")).not.toMatch(/done/);
    expect(callsOf(bin, "docker")).toEqual([]);
  });

  it("stops at a malformed Pulumi.<stack>.yaml with one line naming the file and the cause", async () => {
    const bin = fakes();
    // A current checkout: the real installs, so scripts/stack-config.ts runs under tsx.
    const repo = tmpDir("checkout");
    for (const entry of ["scripts", "node_modules", "package-lock.json", "policy", "Pulumi.yaml"]) {
      fs.symlinkSync(path.join(REPO_ROOT, entry), path.join(repo, entry));
    }
    fs.writeFileSync(
      path.join(repo, "Pulumi.broken.yaml"),
      "config:\n  flask-bridge:baseImage: python:3.12\n   oops: [\n",
    );
    const { code, lines } = await runBash(
      [path.join(repo, "scripts", "setup.sh")],
      cleanEnv(bin, { FB_STACK: "broken" }),
      30_000,
      repo,
    );
    expect([code, lines]).toEqual([
      1,
      ["ERROR: Pulumi.broken.yaml is not valid YAML: bad indentation of a mapping entry (line 3, column 8)"],
    ]);
    expect([callsOf(bin, "npm"), callsOf(bin, "docker")]).toEqual([[], []]);
  });
});

describe("cluster.sh up", () => {
  it("fails naming the step and writes no marker when docker swarm init fails", async () => {
    const bin = fakes();
    fakeCommand(
      bin,
      "docker",
      `case "$1 $2" in
  "image inspect") echo 3 ;; # the node image, at scripts/cluster.sh's NODE_RECIPE
  "info --format") echo inactive/false ;;
  "network inspect") echo docker0 ;;
  "swarm init") echo "Error response from daemon: fake: swarm init refused" >&2; exit 1 ;;
  *) echo "fake docker: not expected: $*" >&2; exit 97 ;;
esac`,
    );
    fakeCommand(bin, "ip", 'echo "5: docker0    inet 172.17.0.1/16 brd 172.17.255.255 scope global docker0"');
    const env = cleanEnv(bin);
    const { code, lines } = await runBash([path.join(SCRIPTS, "cluster.sh"), "up"], env);

    expect([code, lines.slice(-3)]).toEqual([
      1,
      [
        "==> swarm manager on the host engine",
        "Error response from daemon: fake: swarm init refused",
        expect.stringMatching(/^ERROR: swarm manager on the host engine failed \(after \d+s\)$/),
      ],
    ]);
    expect(callsOf(bin, "docker")).toContain("swarm init --advertise-addr 172.17.0.1");
    expect(fs.existsSync(path.join(env.FLASK_BRIDGE_HOME as string, "cluster-initialised-swarm"))).toBe(false);
  });
});

describe("fb_step", () => {
  const env = () => cleanEnv(fakes());
  const steps = `set -euo pipefail
inner() { false; echo "inner went on"; }
outer() { echo "outer starts"; inner; echo "outer went on"; }
`;

  it("runs a step to its end and says so", async () => {
    const { code, lines } = await runFunctions(`${steps}\nfb_step "a step" echo hello\necho after`, env());
    expect([code, lines]).toEqual([
      0,
      ["==> a step", expect.stringMatching(/^<== a step done in \d+s$/), "hello", "after"],
    ]);
  });

  it("ends the script at the first failed command inside a step, even in a function of a function", async () => {
    const { code, lines } = await runFunctions(
      `${steps}\nfb_step "the outer step" outer\necho "script went on"`,
      env(),
    );
    expect([code, lines]).toEqual([
      1,
      ["==> the outer step", expect.stringMatching(/^ERROR: the outer step failed \(after \d+s\)$/), "outer starts"],
    ]);
  });

  it("fails at a failed command inside $(...) of a step, and reports a failure in a subshell once", async () => {
    const sub = await runFunctions(
      `${steps}\nsub() { local x; x="$(false; echo text)"; echo "sub went on: $x"; }\nfb_step "command substitution" sub`,
      env(),
    );
    expect([sub.code, sub.lines]).toEqual([
      1,
      ["==> command substitution", expect.stringMatching(/^ERROR: command substitution failed \(after \d+s\)$/)],
    ]);
    const bg = await runFunctions(
      `${steps}\nbg() { ( false; echo "bg went on" ) & wait $!; echo "step went on"; }\nfb_step "background" bg`,
      env(),
    );
    expect([bg.code, bg.lines]).toEqual([
      1,
      ["==> background", expect.stringMatching(/^ERROR: background failed \(after \d+s\)$/)],
    ]);
  });

  it("names the inner step while it runs and the outer one again after it", async () => {
    const ok = await runFunctions(
      `${steps}\ntwo() { fb_step "inner step" true; false; }\nfb_step "outer step" two`,
      env(),
    );
    expect([ok.code, ok.lines]).toEqual([
      1,
      [
        "==> outer step",
        "==> inner step",
        expect.stringMatching(/^<== inner step done in \d+s$/),
        expect.stringMatching(/^ERROR: outer step failed \(after \d+s\)$/),
      ],
    ]);
  });

  it("leaves a failure after the last step to set -e, without naming a step", async () => {
    const { code, lines } = await runFunctions(`${steps}\nfb_step "done step" true\n(exit 4)\necho "went on"`, env());
    expect([code, lines]).toEqual([4, ["==> done step", expect.stringMatching(/^<== done step done in \d+s$/)]]);
  });
});

describe("fb_wait_for", () => {
  it("returns as soon as the command succeeds", async () => {
    const dir = tmpDir("wait");
    const flag = path.join(dir, "flag");
    const { code, lines, ms } = await runFunctions(
      `(sleep 1; touch "${flag}") & fb_wait_for 10 "the flag" test -e "${flag}"; rc=$?; wait; exit $rc`,
      cleanEnv(fakes()),
    );
    expect([code, lines]).toEqual([0, []]);
    expect(ms).toBeLessThan(4000);
  });

  it("gives up after SECONDS, polling every 0.5 s, with one line naming what it waited for", async () => {
    const dir = tmpDir("wait");
    const tries = path.join(dir, "tries");
    const { code, lines, ms } = await runFunctions(
      `fb_wait_for 2 "the moon" bash -c 'echo . >>"$1"; exit 1' _ "${tries}"`,
      cleanEnv(fakes()),
    );
    expect([code, lines]).toEqual([1, ["ERROR: timed out after 2s waiting for the moon"]]);
    const count = fs.readFileSync(tries, "utf8").length / 2;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(count).toBeLessThanOrEqual(5);
    expect(ms).toBeGreaterThanOrEqual(2000);
    expect(ms).toBeLessThan(5000);
  });
});

describe("the program's node (lib/node.sh)", () => {
  /** A PATH whose `node` says `version`, and a FLASK_BRIDGE_HOME with Node 24 fetched or not. */
  function machine(version: string, fetched: boolean) {
    const dir = fakes();
    fakeCommand(dir, "node", `echo ${version}`);
    const env = cleanEnv(dir);
    const bin = path.join(env.FLASK_BRIDGE_HOME as string, "node", "24", "bin");
    if (fetched) {
      fs.mkdirSync(bin, { recursive: true });
      fakeCommand(bin, "node", "echo v24.0.0");
    }
    return { env, bin };
  }
  const choose = `fb_program_node_ready && echo ready || echo "not ready"; fb_use_program_node; node`;

  it("runs the program on the fetched Node 24 where the machine's is older than 22", async () => {
    const { env } = machine("v20.20.2", true);
    expect((await runFunctions(choose, env, ["node.sh"])).lines).toEqual(["ready", "v24.0.0"]);
  });

  it("leaves a machine's Node 22 or newer alone, fetched or not", async () => {
    for (const fetched of [true, false]) {
      const { env } = machine("v22.1.0", fetched);
      expect((await runFunctions(choose, env, ["node.sh"])).lines).toEqual(["ready", "v22.1.0"]);
    }
  });

  it("is not ready on Node 20 until setup fetched Node 24, and keeps the machine's node meanwhile", async () => {
    const { env } = machine("v20.20.2", false);
    expect((await runFunctions(choose, env, ["node.sh"])).lines).toEqual(["not ready", "v20.20.2"]);
  });
});

describe("the compile cache's pruning (lib/node.sh)", () => {
  const DAY = 24 * 3600;
  /** A FLASK_BRIDGE_HOME whose cache holds entries last read `ages` days ago, per Node version. */
  function cache(ages: Record<string, Record<string, number>>): { env: Record<string, string>; dir: string } {
    const env = cleanEnv(fakes());
    const dir = path.join(env.FLASK_BRIDGE_HOME as string, "node-compile-cache");
    const now = Date.now() / 1000;
    for (const [version, entries] of Object.entries(ages)) {
      fs.mkdirSync(path.join(dir, version), { recursive: true });
      for (const [entry, days] of Object.entries(entries)) {
        const file = path.join(dir, version, entry);
        fs.writeFileSync(file, "cached");
        fs.utimesSync(file, now - days * DAY, now - 40 * DAY);
      }
    }
    return { env, dir };
  }
  const left = (dir: string) =>
    fs
      .readdirSync(dir, { recursive: true })
      .map(String)
      .filter((entry) => entry !== ".pruned")
      .sort();

  it("drops entries not read for 30 days, and a Node version's folder left empty", async () => {
    const { env, dir } = cache({ "v22-a": { old: 31 }, "v24-b": { old: 45, read: 2, today: 0 } });
    const { code } = await runFunctions("fb_prune_compile_cache", env, ["node.sh"]);
    expect([code, left(dir)]).toEqual([0, ["v24-b", path.join("v24-b", "read"), path.join("v24-b", "today")]]);
  });

  it("prunes at most once a day", async () => {
    const { env, dir } = cache({ "v24-b": { old: 45 } });
    fs.writeFileSync(path.join(dir, ".pruned"), "");
    const { code } = await runFunctions("fb_prune_compile_cache", env, ["node.sh"]);
    expect([code, left(dir)]).toEqual([0, ["v24-b", path.join("v24-b", "old")]]);
  });

  it("does nothing without a cache", async () => {
    const env = cleanEnv(fakes());
    const { code, lines } = await runFunctions("fb_prune_compile_cache", env, ["node.sh"]);
    expect([code, lines]).toEqual([0, []]);
    expect(fs.existsSync(path.join(env.FLASK_BRIDGE_HOME as string, "node-compile-cache"))).toBe(false);
  });
});
