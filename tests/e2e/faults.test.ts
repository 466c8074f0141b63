import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import {
  changesOf,
  docker,
  dockerLines,
  expectOfficialPlugins,
  freshStack,
  httpGet,
  inspect,
  labelled,
  POLICY_PACK,
  pluginsServing,
  printTimings,
  pulumiCommand,
  REPO_ROOT,
  RUN,
  reportAssertions,
  requirePrerequisites,
  resourceCount,
  stackConfig,
  timed,
} from "./harness";

/**
 * Faults against the real engine: each test states the fault, the recovery
 * command, and what must hold afterwards. Own stack, prefix and ports (16000-16006).
 */

const STACK = "e2e-faults";
const CONFIG = stackConfig("e2f", 16000, 58);
const ALL = [
  "e2f-bridge-1",
  "e2f-bridge-2",
  "e2f-bridge-3",
  "e2f-custom-1",
  "e2f-custom-2",
  "e2f-custom-3",
  "e2f-host",
  "e2f-none",
];

// Real `pulumi up` runs take minutes; a hang still fails.
jest.setTimeout(15 * 60 * 1000);
reportAssertions("faults");

function inlineWorkDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-policy-check-"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "policy-check", version: "0.0.0" }));
  return dir;
}

let stack: Stack;
let servedBy: string[];
const timings: Record<string, number> = {};

function ids(): Record<string, string> {
  return Object.fromEntries(ALL.map((name) => [name, inspect(name).Id as string]));
}

async function answersWithin(url: string, seconds: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < seconds * 1000) {
    try {
      const { status, body } = await httpGet(url);
      if (status === 200 && body === "Hello, World!") return (Date.now() - start) / 1000;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${seconds} s`);
}

/** The project's pulumi wrapper on this stack, as a user would run it. */
function runWrapper(...args: string[]): ChildProcess {
  return spawn("bash", ["scripts/pulumi.sh", ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, FB_STACK: STACK },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function finished(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, output })));
}

beforeAll(async () => {
  requirePrerequisites();
  stack = await freshStack(STACK, { ...CONFIG });
  ({ plugins: servedBy } = await pluginsServing(() => timed("up (empty stack)", timings, () => stack.up(RUN))));
});

afterAll(() => printTimings("fault recovery timings (printed, not asserted)", timings));

describe("faults and recovery", () => {
  it("runs on the official docker and command plugins", () => {
    expectOfficialPlugins(servedBy);
  });

  it("removed container: `up --refresh` recreates exactly that one, same name, network and port", async () => {
    const before = ids();
    docker("rm", "-f", "e2f-custom-2");
    const result = await timed("removed container → up --refresh", timings, () => stack.up({ ...RUN, refresh: true }));
    expect(changesOf(result.summary)).toMatchObject({ create: 1 });
    const after = ids();
    for (const name of ALL.filter((n) => n !== "e2f-custom-2")) {
      expect([name, after[name]]).toEqual([name, before[name]]);
    }
    const info = inspect("e2f-custom-2");
    expect(after["e2f-custom-2"]).not.toBe(before["e2f-custom-2"]);
    expect(Object.keys(info.NetworkSettings.Networks)).toEqual(["e2f-bridge-network"]);
    expect(info.HostConfig.PortBindings).toEqual({ "5000/tcp": [{ HostIp: "127.0.0.1", HostPort: "16005" }] });
    expect(await httpGet("http://127.0.0.1:16005")).toEqual({ status: 200, body: "Hello, World!" });
  });

  it("stopped container: `up --refresh` replaces it (mustRun), and the probe runs again", async () => {
    const before = inspect("e2f-bridge-2").Id;
    docker("stop", "e2f-bridge-2");
    expect(inspect("e2f-bridge-2").State.Running).toBe(false);
    const result = await timed("stopped container → up --refresh", timings, () => stack.up({ ...RUN, refresh: true }));
    expect(inspect("e2f-bridge-2").State.Running).toBe(true);
    // The official provider's refresh drops a stopped mustRun container from
    // state, so up replaces it, and the readiness probe runs again: it answers at once.
    expect(changesOf(result.summary)).toEqual({ replace: 2, same: 17 });
    expect(inspect("e2f-bridge-2").Id).not.toBe(before);
    expect(await httpGet("http://127.0.0.1:16002")).toEqual({ status: 200, body: "Hello, World!" });
  });

  it("crashed app: the restart policy brings it back with no command at all", async () => {
    const before = inspect("e2f-bridge-3");
    const killedAt = Date.now();
    // SIGKILL to uWSGI (PID 1) from the host: a crash, not a stop Docker knows of.
    process.kill(before.State.Pid, "SIGKILL");
    while (inspect("e2f-bridge-3").RestartCount === before.RestartCount) {
      if (Date.now() - killedAt > 30_000) throw new Error("Docker did not restart the container within 30 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await answersWithin("http://127.0.0.1:16003", 30);
    timings["crashed app → answers again"] = (Date.now() - killedAt) / 1000;
    const after = inspect("e2f-bridge-3");
    expect([after.Id, after.RestartCount, after.State.Running]).toEqual([before.Id, before.RestartCount + 1, true]);
    expect(after.State.Pid).not.toBe(before.State.Pid);
  });

  it("host port taken by someone else: up fails naming the key, port and holder, creates nothing, then converges", async () => {
    docker("rm", "-f", "e2f-bridge-3");
    const squatter = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => squatter.listen(16003, "127.0.0.1", resolve));
    try {
      const attempt = stack.up({ ...RUN, refresh: true });
      await expect(attempt).rejects.toThrow(
        `Invalid config flask-bridge:bridgePorts[2] = 16003: host port 16003 is already taken on this machine by node (pid ${process.pid})`,
      );
      // Pulumi's RunError: the message alone, no stack trace.
      await expect(attempt).rejects.not.toThrow(/unhandled exception|at Object\.<anonymous>/);
      const created = docker(
        "ps",
        "-a",
        "--filter",
        `label=flask-bridge.stack=${STACK}`,
        "--format",
        "{{.Names}} {{.State}}",
      );
      expect(created.split("\n").filter((line) => !line.endsWith(" running"))).toEqual([]);
      expect(created).not.toContain("e2f-bridge-3");
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    await timed("port freed → up --refresh", timings, () => stack.up({ ...RUN, refresh: true }));
    expect(await httpGet("http://127.0.0.1:16003")).toEqual({ status: 200, body: "Hello, World!" });
    await stack.preview({ ...RUN, expectNoChanges: true });
  });

  it("interrupted up (SIGINT, then SIGTERM): `npm run recover` converges with no state surgery", async () => {
    await stack.destroy({ color: "never" });
    const up = runWrapper("up", "--yes", "--skip-preview");
    const done = finished(up);
    // Interrupt once containers are being created.
    await new Promise<void>((resolve) => {
      const watch = (chunk: Buffer) => {
        if (/docker:index:Container.*creating/.test(chunk.toString())) {
          up.stdout?.off("data", watch);
          resolve();
        }
      };
      up.stdout?.on("data", watch);
    });
    up.kill("SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    up.kill("SIGTERM");
    const interrupted = await done;
    expect(interrupted.code).not.toBe(0);

    const recover = await timed("interrupted up → npm run recover", timings, () =>
      finished(
        spawn("npm", ["run", "recover"], {
          cwd: REPO_ROOT,
          env: { ...process.env, FB_STACK: STACK },
          stdio: ["ignore", "pipe", "pipe"],
        }),
      ),
    );
    expect([recover.code, recover.output]).toEqual([0, expect.stringContaining("recovered")]);
    await stack.preview({ ...RUN, expectNoChanges: true });
    expect(labelled(STACK).containers).toEqual([...ALL].sort());
    for (const name of ALL) {
      expect([name, inspect(name).State.Status]).toEqual([name, "running"]);
    }
  });

  it("destroy after all of the above leaves no container, network or image with the stack's label", async () => {
    await timed("destroy after faults", timings, () => stack.destroy({ color: "never" }));
    expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
    expect(await resourceCount(stack)).toBe(0);
  });
});

/** A host-mode container that publishes a port and runs privileged, and a Swarm service with no healthcheck. */
async function rogueStack(): Promise<import("@pulumi/pulumi/automation").Stack> {
  const ws = await import("@pulumi/pulumi/automation");
  const dockerProvider = await import("@pulumi/docker");
  return ws.LocalWorkspace.createOrSelectStack(
    {
      stackName: "e2e-policy",
      projectName: "flask-bridge-policy-check",
      program: async () => {
        new dockerProvider.Container("rogue", {
          name: "e2e-policy-rogue",
          image: "flask-bridge/debian-python:bookworm",
          networkMode: "host",
          ports: [{ internal: 5000, external: 16999 }],
          privileged: true,
        });
        new dockerProvider.Service("rogue-service", {
          name: "e2e-policy-rogue-service",
          taskSpec: { containerSpec: { image: "flask-bridge/debian-python:bookworm" } },
          endpointSpec: { ports: [{ targetPort: 5000, publishedPort: 16998 }] },
        });
      },
    },
    {
      pulumiCommand: await pulumiCommand(),
      // The engine starts the policy pack in the program's directory, where
      // @pulumi/policy reads a package.json; an inline program has none of its own.
      workDir: inlineWorkDir(),
      projectSettings: { name: "flask-bridge-policy-check", runtime: "nodejs" },
    },
  );
}

describe("the stack's rules", () => {
  it("in the program: refuse the violating resource, by name, in one line, before anything is created", async () => {
    // A program of its own (not inline): the language host runs it in its own
    // process, as `pulumi up` runs the project.
    const ws = await import("@pulumi/pulumi/automation");
    const rogue = await ws.LocalWorkspace.createOrSelectStack(
      { stackName: "e2e-rules", workDir: path.join(__dirname, "fixtures", "rogue") },
      { pulumiCommand: await pulumiCommand() },
    );
    try {
      const attempt = rogue.up({ ...RUN, onOutput: () => undefined });
      await expect(attempt).rejects.toThrow(
        "error: the stack's rules refuse rogue: container e2e-rules-rogue in host mode declares ports; Docker discards them and the provider would replace the container on every run; container e2e-rules-rogue is privileged; container e2e-rules-rogue has no healthcheck",
      );
      await expect(attempt).rejects.not.toThrow(/at new |\.ts:\d+/);
      expect(dockerLines("ps", "-a", "--filter", "name=e2e-rules-rogue", "--format", "{{.Names}}")).toEqual([]);
    } finally {
      await rogue.workspace.removeStack("e2e-rules", { force: true });
    }
  });

  it("as the policy pack: reject a violating program with every message, before anything is created", async () => {
    const violating = await rogueStack();
    try {
      const attempt = violating.preview({ ...RUN, policyPacks: [POLICY_PACK] });
      await expect(attempt).rejects.toThrow(/no-ports-on-host-or-none/);
      await expect(attempt).rejects.toThrow(
        "container e2e-policy-rogue in host mode declares ports; Docker discards them and the provider would replace the container on every run",
      );
      await expect(attempt).rejects.toThrow("container e2e-policy-rogue is privileged");
      await expect(attempt).rejects.toThrow("container e2e-policy-rogue has no healthcheck");
      await expect(attempt).rejects.toThrow("service e2e-policy-rogue-service has no healthcheck");
      expect(dockerLines("ps", "-a", "--filter", "name=e2e-policy-rogue", "--format", "{{.Names}}")).toEqual([]);
    } finally {
      await violating.workspace.removeStack("e2e-policy", { force: true });
    }
  });
});
