import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { docker, dockerLines, REPO_ROOT, reportAssertions, requirePrerequisites } from "./harness";

/**
 * scripts/setup.sh in a FLASK_BRIDGE_HOME of its own, as on a machine that
 * has never seen the project, or one that carries a stack of the retired
 * stand-in plugins. The engine and base image are shared with the machine.
 */

jest.setTimeout(5 * 60 * 1000);
reportAssertions("setup");

const STACK = "e2e-legacy";

/** PATH without the toolchain setup chose, so only what a new machine has is found. */
function barePath(): string {
  const chosen = process.env.FB_PULUMI_BIN_DIR ?? "";
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir !== chosen)
    .join(":");
}

function setup(home: string, extra: Record<string, string> = {}): { code: number | null; lines: string[] } {
  const result = spawnSync("bash", ["scripts/setup.sh"], {
    cwd: REPO_ROOT,
    env: {
      HOME: os.homedir(),
      PATH: barePath(),
      FLASK_BRIDGE_HOME: home,
      // Where this machine keeps the offline bundle, when not beside the repository.
      ...(process.env.FLASK_BRIDGE_OFFLINE_DIR
        ? { FLASK_BRIDGE_OFFLINE_DIR: process.env.FLASK_BRIDGE_OFFLINE_DIR }
        : {}),
      ...extra,
    },
    encoding: "utf8",
  });
  const lines = `${result.stdout}${result.stderr}`.split("\n").filter((line) => line !== "");
  return { code: result.status, lines };
}

/** A checkpoint as the stand-in plugins wrote it: `__inputs` as a JSON string. */
function legacyCheckpoint(): string {
  const urn = `urn:pulumi:${STACK}::flask-bridge::docker:index/container:Container::bridge-1-container`;
  return JSON.stringify(
    {
      version: 3,
      checkpoint: {
        stack: `organization/flask-bridge/${STACK}`,
        latest: {
          manifest: { time: "2026-11-01T00:00:00Z", magic: "", version: "v3.248.0" },
          resources: [
            {
              urn,
              custom: true,
              id: "0".repeat(64),
              type: "docker:index/container:Container",
              outputs: { __inputs: '{"name":"e2e-legacy-bridge-1"}', name: "e2e-legacy-bridge-1" },
            },
          ],
        },
      },
    },
    null,
    4,
  );
}

let home: string;

beforeAll(() => {
  requirePrerequisites();
  home = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-home-"));
});

afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  for (const name of dockerLines("ps", "-aq", "--filter", `label=flask-bridge.stack=${STACK}`)) {
    docker("rm", "-f", name);
  }
});

describe("setup on a machine with an empty FLASK_BRIDGE_HOME", () => {
  it("fails, naming the three ways, when it finds no Pulumi CLI anywhere", () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-no-bundle-"));
    const { code, lines } = setup(fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-home-")), {
      FLASK_BRIDGE_OFFLINE_DIR: empty,
    });
    expect(code).toBe(1);
    expect(lines.join("\n")).toMatch(/ERROR: no Pulumi CLI v3\.248\.0 or newer\. Any one of these works:/);
    expect(lines.join("\n")).toContain("install it yourself and put it on PATH");
    expect(lines.join("\n")).toContain("give this machine access to Pulumi's downloads");
    expect(lines.join("\n")).toContain("set FLASK_BRIDGE_OFFLINE_DIR to an offline bundle");
  });

  it("refuses a bundle whose archive does not match SHA256SUMS", () => {
    const bundle = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-bad-bundle-"));
    const real = process.env.FLASK_BRIDGE_OFFLINE_DIR ?? path.join(REPO_ROOT, "..", "shared", "pulumi-offline");
    fs.copyFileSync(path.join(real, "SHA256SUMS"), path.join(bundle, "SHA256SUMS"));
    fs.writeFileSync(path.join(bundle, "pulumi-v3.248.0-linux-x64.tar.gz"), "not the release");
    const { code, lines } = setup(fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-home-")), {
      FLASK_BRIDGE_OFFLINE_DIR: bundle,
    });
    expect(code).toBe(1);
    expect(lines).toContainEqual(expect.stringMatching(/ERROR: .*pulumi-v3\.248\.0-linux-x64\.tar\.gz does not match/));
  });

  it("installs the official CLI and plugins from the bundle, retires a stand-in stack, then says one line", () => {
    fs.mkdirSync(path.join(home, "state", ".pulumi", "stacks", "flask-bridge"), { recursive: true });
    const checkpoint = path.join(home, "state", ".pulumi", "stacks", "flask-bridge", `${STACK}.json`);
    fs.writeFileSync(checkpoint, legacyCheckpoint());
    docker(
      "run",
      "-d",
      "--name",
      "e2e-legacy-bridge-1",
      "--label",
      `flask-bridge.stack=${STACK}`,
      process.env.FLASK_BRIDGE_BASE_IMAGE ?? "python:3.11-slim",
      "sleep",
      "300",
    );

    const cold = setup(home);
    expect([cold.code, cold.lines]).toEqual([0, expect.any(Array)]);
    expect(cold.lines).toContainEqual(
      expect.stringContaining(
        `stack ${STACK} was made by the retired stand-in plugins: removing its containers, networks and images (label=flask-bridge.stack=${STACK}) and its state; the next up creates it anew`,
      ),
    );
    expect(fs.existsSync(checkpoint)).toBe(false);
    expect(dockerLines("ps", "-aq", "--filter", `label=flask-bridge.stack=${STACK}`)).toEqual([]);
    expect(fs.existsSync(path.join(home, "toolchain", "pulumi-3.248.0", "bin", "pulumi"))).toBe(true);
    for (const plugin of [
      "resource-docker-v5.0.0/pulumi-resource-docker",
      "resource-command-v1.2.1/pulumi-resource-command",
    ]) {
      expect([plugin, fs.existsSync(path.join(home, "pulumi", "plugins", plugin))]).toEqual([plugin, true]);
    }

    const warm = setup(home);
    expect(warm.code).toBe(0);
    expect(warm.lines).toEqual([expect.stringMatching(/^\[setup [\d:]+\] ready in \d+s: pulumi v3\.248\.0 /)]);
  });
});

describe("a user with a Pulumi of their own", () => {
  it("previews with plain `pulumi`: their CLI, backend and plugin cache, no wrapper, no project plugin path", () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-own-pulumi-"));
    const stackName = "e2e-own-pulumi";
    // Their CLI on PATH; their plugin cache holds the official plugins, as Pulumi would download them.
    const env = {
      HOME: own,
      PATH: `${process.env.FB_PULUMI_BIN_DIR}:${barePath()}`,
      PULUMI_HOME: path.join(own, ".pulumi"),
      PULUMI_BACKEND_URL: `file://${own}`,
      PULUMI_CONFIG_PASSPHRASE: "their-own",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    };
    const pulumi = (...args: string[]) =>
      spawnSync("pulumi", [...args, "--non-interactive"], { cwd: REPO_ROOT, env, encoding: "utf8" });
    const bundle = process.env.FLASK_BRIDGE_OFFLINE_DIR ?? path.join(REPO_ROOT, "..", "shared", "pulumi-offline");
    for (const [name, version] of [
      ["docker", "5.0.0"],
      ["command", "1.2.1"],
    ] as const) {
      const file = path.join(bundle, `pulumi-resource-${name}-v${version}-linux-amd64.tar.gz`);
      expect([name, pulumi("plugin", "install", "resource", name, version, "--file", file).status]).toEqual([name, 0]);
    }
    try {
      expect(pulumi("stack", "init", stackName).status).toBe(0);
      const preview = pulumi("preview", "--stack", stackName);
      expect([preview.status, preview.stderr]).toEqual([0, expect.any(String)]);
      expect(preview.stdout).toMatch(/\+ 24 to create/);
    } finally {
      fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
      fs.rmSync(own, { recursive: true, force: true });
    }
  });
});
