import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { configuredBaseImage, StackConfigError, stackSwarm } from "../../scripts/stack-config";
import { REPO_ROOT, removeTmpDirs, tmpDir } from "./scriptsHarness";

/** scripts/stack-config.ts: what env.sh exports (the engine, the base image setup prepares, the pinned versions), and one line for a file it cannot use. */

afterAll(removeTmpDirs);

const PROJECT = fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8");
const DEFAULT = (yaml.load(PROJECT) as { config: { baseImage: { default: string } } }).config.baseImage.default;

/** A project directory with the real Pulumi.yaml (or `project`) and the given stack files. */
function project(stacks: Record<string, string>, projectYaml = PROJECT): string {
  const dir = tmpDir("stack-config");
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), projectYaml);
  for (const [stack, text] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

function failure(root: string, stack: string): string {
  try {
    return `no error: ${configuredBaseImage(root, stack)}`;
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as Error).message;
  }
}

describe("configuredBaseImage", () => {
  it("takes the stack's flask-bridge:baseImage, else Pulumi.yaml's default", () => {
    const dir = project({
      custom: "config:\n  flask-bridge:baseImage: registry.example:5000/python:3.12-slim\n",
      other: "config:\n  flask-bridge:imageName: other\n",
      empty: "",
      bare: "encryptionsalt: v1:abc\n",
    });
    expect(["custom", "other", "empty", "bare", "absent"].map((stack) => configuredBaseImage(dir, stack))).toEqual([
      "registry.example:5000/python:3.12-slim",
      DEFAULT,
      DEFAULT,
      DEFAULT,
      DEFAULT,
    ]);
  });

  it("reads this repository's stacks as Pulumi would", () => {
    const dev = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
      config?: Record<string, unknown>;
    };
    expect(configuredBaseImage(REPO_ROOT, "dev")).toBe(dev.config?.["flask-bridge:baseImage"] ?? DEFAULT);
    expect(configuredBaseImage(REPO_ROOT, "no-such-stack-here")).toBe(DEFAULT);
  });

  it("names the file and the cause in one line for a file it cannot use", () => {
    const dir = project({
      broken: "config:\n  flask-bridge:baseImage: python:3.12\n   oops: [\n",
      list: "- a\n- b\n",
      flat: "config: python\n",
      number: "config:\n  flask-bridge:baseImage: 3\n",
      secret: "config:\n  flask-bridge:baseImage:\n    secure: AAAB\n",
      blank: 'config:\n  flask-bridge:baseImage: ""\n',
      twice: "config:\n  flask-bridge:baseImage: a\n  flask-bridge:baseImage: b\n",
    });
    const file = (stack: string) => path.join(dir, `Pulumi.${stack}.yaml`);
    expect(
      ["broken", "list", "flat", "number", "secret", "blank", "twice"].map((stack) => failure(dir, stack)),
    ).toEqual([
      `${file("broken")} is not valid YAML: bad indentation of a mapping entry (line 3, column 8)`,
      `${file("list")} is not a YAML mapping`,
      `${file("flat")}: config is not a mapping`,
      `${file("number")}: flask-bridge:baseImage is 3, not an image name`,
      `${file("secret")}: flask-bridge:baseImage is {"secure":"AAAB"}, not an image name`,
      `${file("blank")}: flask-bridge:baseImage is "", not an image name`,
      `${file("twice")} is not valid YAML: duplicated mapping key (line 3, column 3)`,
    ]);
  });

  it("takes the default from Pulumi.yaml only, and says so when it or a file is not there", () => {
    const noDefault = project({}, "name: flask-bridge\nconfig:\n  baseImage:\n    type: string\n");
    const noProject = tmpDir("stack-config");
    const unreadable = project({});
    fs.mkdirSync(path.join(unreadable, "Pulumi.dev.yaml"));
    expect([
      failure(noDefault, "dev"),
      failure(noProject, "dev"),
      failure(unreadable, "dev"),
      failure(noDefault, "../dev"),
    ]).toEqual([
      `${path.join(noDefault, "Pulumi.yaml")}: config.baseImage.default is missing, not an image name`,
      `${path.join(noProject, "Pulumi.yaml")} does not exist`,
      `${path.join(unreadable, "Pulumi.dev.yaml")} cannot be read: EISDIR: illegal operation on a directory, read`,
      `"../dev" is not a stack name (letters, digits, ".", "_", "-")`,
    ]);
  });
});

describe("stackSwarm (what heal asks: list services and volumes too?)", () => {
  it("says yes only for `flask-bridge:orchestrator: swarm`, the stack's or else Pulumi.yaml's default", () => {
    const dir = project({
      swarm: "config:\n  flask-bridge:orchestrator: swarm\n",
      engine: "config:\n  flask-bridge:orchestrator: engine\n",
      unset: "config:\n  flask-bridge:replicas: 2\n",
    });
    expect(["swarm", "engine", "unset", "missing"].map((stack) => stackSwarm(dir, stack))).toEqual([
      true,
      false,
      false,
      false,
    ]);
    const swarmByDefault = project(
      { unset: "config:\n  flask-bridge:replicas: 2\n", engine: "config:\n  flask-bridge:orchestrator: engine\n" },
      PROJECT.replace(/(orchestrator:\n(?:\s+\w+:.*\n)*?\s+default:) engine/, "$1 swarm"),
    );
    expect(["unset", "engine"].map((stack) => stackSwarm(swarmByDefault, stack))).toEqual([true, false]);
  });

  it("names a file it cannot read, in one line, as the base image's reader does", () => {
    const dir = project({ broken: "config: [\n  flask-bridge:orchestrator: swarm\n" });
    expect(() => stackSwarm(dir, "broken")).toThrow(
      new StackConfigError(
        `${path.join(dir, "Pulumi.broken.yaml")} is not valid YAML: unexpected end of the stream within a flow collection (line 3, column 1)`,
      ),
    );
  });
});

describe("scripts/stack-config.ts, as setup runs it", () => {
  function run(...args: string[]) {
    return spawnSync("node", ["--require", "tsx/cjs", path.join(REPO_ROOT, "scripts", "stack-config.ts"), ...args], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
  }

  it("prints what env.sh exports, or one line on stderr and status 1", () => {
    const dir = project({ custom: "config:\n  flask-bridge:baseImage: python:3.12-slim\n", broken: "config: [\n" });
    const ok = run("env", "custom", dir);
    const bad = run("env", "broken", dir);
    const usage = run("base-image", "custom", dir);
    // The project folder has no node_modules: no pinned versions yet, and no error.
    expect([ok.status, ok.stdout.split("\n").filter((line) => !line.startsWith("DOCKER_")), ok.stderr]).toEqual([
      0,
      ["FB_CONFIGURED_BASE_IMAGE=python:3.12-slim", "FB_PINNED_CLI=", "FB_PINNED_DOCKER=", "FB_PINNED_COMMAND=", ""],
      "",
    ]);
    expect([bad.status, bad.stdout, bad.stderr.split("\n")]).toEqual([
      1,
      "",
      [
        expect.stringMatching(
          new RegExp(`^ERROR: ${dir}/Pulumi\\.broken\\.yaml is not valid YAML: .+\\(line \\d+, column \\d+\\)$`),
        ),
        "",
      ],
    ]);
    expect([usage.status, usage.stderr]).toEqual([
      2,
      "ERROR: usage: node --require tsx/cjs scripts/stack-config.ts env STACK [ROOT]\n",
    ]);
  });

  it("pins the CLI and plugin versions that node_modules holds", () => {
    const lines = run("env", "dev", REPO_ROOT).stdout.split("\n");
    const pkg = (name: string) =>
      JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "node_modules", name, "package.json"), "utf8"));
    expect(lines.filter((line) => line.startsWith("FB_PINNED_"))).toEqual([
      `FB_PINNED_CLI=${pkg("@pulumi/pulumi").version}`,
      `FB_PINNED_DOCKER=${pkg("@pulumi/docker").pulumi.version}`,
      `FB_PINNED_COMMAND=${pkg("@pulumi/command").pulumi.version}`,
    ]);
  });

  it("names the stack's engine by the program's resolver: docker:host, or one line naming what is wrong", () => {
    const dir = project({
      vm: "config:\n  docker:host: ssh://root@192.0.2.7\n",
      typo: "config:\n  docker:host: 192.0.2.7:2376\n",
    });
    // A shell that names no engine, with a Docker config folder of its own: nothing of the user's is read.
    const env = { PATH: process.env.PATH ?? "", DOCKER_CONFIG: path.join(dir, "docker-config") };
    const engine = (stack: string, extra: Record<string, string> = {}) => {
      const result = spawnSync(
        "node",
        ["--require", "tsx/cjs", path.join(REPO_ROOT, "scripts", "stack-config.ts"), "env", stack, dir],
        { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000, env: { ...env, ...extra } },
      );
      // The engine's lines alone (the base image and versions are the test above's).
      const dockerLines = result.stdout.split("\n").filter((line) => line.startsWith("DOCKER_"));
      return [result.status, dockerLines.map((line) => `${line}\n`).join(""), result.stderr];
    };
    expect(engine("vm")).toEqual([
      0,
      "DOCKER_HOST=ssh://root@192.0.2.7\nDOCKER_CONTEXT=\nDOCKER_CERT_PATH=\nDOCKER_TLS_VERIFY=\n",
      "",
    ]);
    expect(engine("vm", { DOCKER_HOST: "tcp://192.0.2.8:2375" })[1]).toContain("DOCKER_HOST=tcp://192.0.2.8:2375\n");
    expect(engine("none")[1]).toContain("DOCKER_HOST=unix:///var/run/docker.sock\n");
    expect(engine("typo")).toEqual([
      1,
      "",
      'ERROR: Docker host "192.0.2.7:2376" is not unix://PATH, ssh://[user@]host[:port] or tcp://host:port (from docker:host)\n',
    ]);
    expect(engine("none", { DOCKER_CONTEXT: "nowhere" })).toEqual([
      1,
      "",
      `ERROR: Docker context "nowhere" (from DOCKER_CONTEXT) does not exist in ${env.DOCKER_CONFIG}/contexts\n`,
    ]);
  });
});
