import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  dockerOn,
  httpGet,
  labelled,
  labelledOn,
  printTimings,
  REPO_ROOT,
  reportAssertions,
  requirePrerequisites,
  writeConfig,
} from "./harness";

/**
 * A Pulumi user's own commands, no npm script: plain `pulumi up --policy-pack
 * policy` and `pulumi destroy` with the engine named as Docker users name it
 * (the stack's docker:host, then a Docker context), against a second machine.
 * Everything lands there and goes again; this machine's engine never gets any of it.
 */

const MACHINE = "e2e-plain";
const STACK = "e2e-plain";
const SCRIPT = path.join(REPO_ROOT, "scripts", "remote.sh");
const BASE = 21300;
const CONFIG = {
  "flask-bridge:imageName": `flask-bridge-${STACK}`,
  "flask-bridge:namePrefix": STACK,
  "flask-bridge:bridgePorts": [BASE + 1, BASE + 2, BASE + 3],
  "flask-bridge:customPorts": [BASE + 4, BASE + 5, BASE + 6],
  "flask-bridge:hostPort": BASE,
  "flask-bridge:networkName": `${STACK}-bridge-network`,
  "flask-bridge:networkSubnet": "10.213.73.0/24",
  "flask-bridge:networkGateway": "10.213.73.1",
};

jest.setTimeout(20 * 60 * 1000);
reportAssertions("plain-pulumi");

const timings: Record<string, number> = {};
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fb-plain-"));
let address: string;
let sshEnv: Record<string, string>;

/**
 * The shell of a Pulumi user: the project's backend, plugins and passphrase
 * (what `source scripts/env.sh` gives), and nothing that names an engine.
 */
function userShell(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ["DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY", "FB_STACK"]) {
    if (!(name in extra)) delete env[name];
  }
  for (const name of Object.keys(env).filter((key) => key.startsWith("FLASK_BRIDGE_BASE_IMAGE"))) delete env[name];
  return env;
}

function pulumi(args: string[], env: NodeJS.ProcessEnv): { code: number | null; out: string; seconds: number } {
  const start = Date.now();
  const result = spawnSync(path.join(process.env.FB_PULUMI_BIN_DIR ?? "", "pulumi"), [...args, "--stack", STACK], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env,
    timeout: 10 * 60 * 1000,
  });
  return { code: result.status, out: `${result.stdout}${result.stderr}`, seconds: (Date.now() - start) / 1000 };
}

function ok(label: string, run: { code: number | null; out: string; seconds: number }): string {
  timings[label] = run.seconds;
  if (run.code !== 0) throw new Error(`${label} failed:\n${run.out}`);
  return run.out;
}

async function expectAllAnswerThere(env: NodeJS.ProcessEnv): Promise<void> {
  const outputs = JSON.parse(ok("stack output", pulumi(["stack", "output", "--json"], env))) as {
    containers: Record<string, { url: string | null }>;
  };
  const urls = Object.values(outputs.containers)
    .map((container) => container.url)
    .filter((url): url is string => url !== null);
  expect(urls.length).toBe(7);
  for (const url of urls) {
    expect([url, new URL(url).hostname]).toEqual([url, address]);
    const body = await httpGet(url).then(
      (answer) => answer.body,
      (error: Error) => error.message,
    );
    expect([url, body]).toEqual([url, "Hello, World!"]);
  }
  expect(labelledOn(sshEnv, STACK).containers.length).toBe(8);
  expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
}

function expectNothingLeft(): void {
  expect(labelledOn(sshEnv, STACK)).toEqual({ containers: [], networks: [], images: [] });
  expect(dockerOn(sshEnv, "image", "ls", "-q", `flask-bridge-${STACK}`)).toBe("");
  expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
}

beforeAll(() => {
  requirePrerequisites();
  const up = spawnSync("bash", [SCRIPT, "up", MACHINE], { encoding: "utf8", timeout: 10 * 60 * 1000 });
  const match = /^DOCKER_HOST=(ssh:\/\/root@([\d.]+))$/.exec(up.stdout.trim().split("\n").pop() ?? "");
  if (up.status !== 0 || !match) throw new Error(`scripts/remote.sh up failed:\n${up.stderr}`);
  address = match[2] as string;
  sshEnv = { DOCKER_HOST: match[1] as string };
  // What a pull of the base image would do on a machine with a registry: here the stand-in is copied.
  const base = "flask-bridge/debian-python:bookworm";
  const copy = spawnSync(
    "bash",
    ["-c", `docker save "$1" | DOCKER_HOST="$2" docker load`, "_", base, match[1] as string],
    {
      encoding: "utf8",
    },
  );
  if (copy.status !== 0) throw new Error(`could not copy ${base} to ${MACHINE}: ${copy.stderr}`);
  spawnSync(path.join(process.env.FB_PULUMI_BIN_DIR ?? "", "pulumi"), ["stack", "rm", "--yes", "--force", STACK], {
    cwd: REPO_ROOT,
    env: userShell(),
  });
  fs.rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
  ok("stack init", pulumi(["stack", "init"], userShell()));
  writeConfig(STACK, CONFIG);
});

afterAll(() => {
  pulumi(["destroy", "--yes", "--skip-preview"], userShell({ DOCKER_HOST: sshEnv?.DOCKER_HOST ?? "" }));
  pulumi(["stack", "rm", "--yes", "--force"], userShell());
  fs.rmSync(path.join(REPO_ROOT, `Pulumi.${STACK}.yaml`), { force: true });
  spawnSync("bash", [SCRIPT, "down", MACHINE], { encoding: "utf8" });
  fs.rmSync(tmp, { recursive: true, force: true });
  printTimings("plain pulumi e2e timings (printed, not asserted)", timings);
});

describe("plain pulumi with the stack's docker:host", () => {
  it("up with the policy pack runs all 8 containers there, and every URL answers at that machine's address", async () => {
    ok("config set docker:host", pulumi(["config", "set", "docker:host", sshEnv.DOCKER_HOST as string], userShell()));
    const out = ok(
      "up (docker:host)",
      pulumi(["up", "--yes", "--skip-preview", "--policy-pack", "policy"], userShell()),
    );
    expect(out).not.toMatch(/warning/i);
    await expectAllAnswerThere(userShell());
  });

  it("destroy leaves no container, network or image there, and nothing here", () => {
    ok("destroy (docker:host)", pulumi(["destroy", "--yes", "--skip-preview"], userShell()));
    expectNothingLeft();
    ok("config rm docker:host", pulumi(["config", "rm", "docker:host"], userShell()));
  });
});

describe("plain pulumi with DOCKER_CONTEXT", () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    const config = path.join(tmp, "docker");
    const create = spawnSync("docker", ["context", "create", MACHINE, "--docker", `host=${sshEnv.DOCKER_HOST}`], {
      encoding: "utf8",
      env: userShell({ DOCKER_CONFIG: config }),
    });
    if (create.status !== 0) throw new Error(`docker context create failed: ${create.stderr}`);
    env = userShell({ DOCKER_CONFIG: config, DOCKER_CONTEXT: MACHINE });
  });

  it("up runs everything on the context's engine, and every URL answers there", async () => {
    ok("up (DOCKER_CONTEXT)", pulumi(["up", "--yes", "--skip-preview", "--policy-pack", "policy"], env));
    await expectAllAnswerThere(env);
  });

  it("preview then shows no change", () => {
    ok("preview (DOCKER_CONTEXT)", pulumi(["preview", "--expect-no-changes", "--policy-pack", "policy"], env));
  });

  it("destroy leaves nothing there and nothing here", () => {
    ok("destroy (DOCKER_CONTEXT)", pulumi(["destroy", "--yes", "--skip-preview"], env));
    expectNothingLeft();
  });
});
