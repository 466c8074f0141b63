import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { pipeline } from "node:stream/promises";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import * as yaml from "js-yaml";

/**
 * Shared by the end-to-end suites: the real Docker engine, the real Pulumi
 * engine (through the Automation API) and a stack of their own, with their
 * own ports and name prefix so they never touch a running dev stack.
 */

export const REPO_ROOT = path.join(__dirname, "..", "..");
/** Options for every up and preview: plain output, as `npm run up` runs it (the stack's rules are the program's). */
export const RUN = Object.freeze({ color: "never" as const });

/** Lines a person would read as a warning or a diagnostic, the provider's platform guess included. */
export function noise(output: string): string[] {
  return output.split("\n").filter((line) => /warning|diagnostics:|Building your image for/i.test(line));
}
/** The same rules as a policy pack, for `--policy-pack policy`. */
export const POLICY_PACK = path.join(REPO_ROOT, "policy");
const NETCHECK = fs.readFileSync(path.join(__dirname, "fixtures", "netcheck.py"), "utf8");

/**
 * An e2e stack's config: the tutorial's shape with a name prefix, ports
 * (base+0 for host mode, base+1..6 published) and a 10.213.<n>.0/24 subnet of
 * its own, so stacks never collide with each other or with dev (5000-5006).
 */
export function stackConfig(prefix: string, basePort: number, subnetOctet: number): Record<string, unknown> {
  return {
    "flask-bridge:imageName": `flask-bridge-${prefix}`,
    "flask-bridge:namePrefix": prefix,
    "flask-bridge:bridgePorts": [basePort + 1, basePort + 2, basePort + 3],
    "flask-bridge:customPorts": [basePort + 4, basePort + 5, basePort + 6],
    "flask-bridge:hostMode": true,
    "flask-bridge:hostPort": basePort,
    "flask-bridge:noneMode": true,
    "flask-bridge:networkName": `${prefix}-bridge-network`,
    // Outside Docker's default address pools, so it never meets an auto-allocated network.
    "flask-bridge:networkSubnet": `10.213.${subnetOctet}.0/24`,
    "flask-bridge:networkGateway": `10.213.${subnetOctet}.1`,
    "flask-bridge:bindAddress": "127.0.0.1",
    "flask-bridge:urlHost": "127.0.0.1",
  };
}

/** The main e2e stack: host-mode port 15000, published 15001-15006. */
export const E2E_CONFIG: Readonly<Record<string, unknown>> = Object.freeze(stackConfig("e2e", 15000, 57));

/** Fails loudly, never skips: the suite is worthless without a real engine and CLI. */
export function requirePrerequisites(): void {
  const binDir = process.env.FB_PULUMI_BIN_DIR;
  if (!binDir || !process.env.PULUMI_BACKEND_URL || !process.env.PULUMI_HOME || !process.env.FLASK_BRIDGE_HOME) {
    throw new Error(
      "The e2e suite needs the project's environment: run it with `npm test` or `npm run test:e2e` (they run setup and source scripts/env.sh).",
    );
  }
  if (!fs.existsSync(path.join(binDir, "pulumi"))) {
    throw new Error(`No pulumi CLI at ${binDir}/pulumi: run \`npm run setup\` first.`);
  }
  const record = toolchainRecord();
  for (const name of PLUGINS) {
    const file = officialPluginPath(name);
    if (!fs.existsSync(file)) {
      throw new Error(`No official ${name} plugin at ${file}: run \`npm run setup\` first.`);
    }
    if (record.plugins[name]?.path !== fs.realpathSync(file)) {
      throw new Error(
        `${TOOLCHAIN_RECORD} has no record of the ${name} plugin at ${file} (it names ${record.plugins[name]?.path}): run \`npm run setup\` again.`,
      );
    }
  }
  const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" });
  if (info.status !== 0) {
    throw new Error(`The Docker engine does not answer (docker info: ${info.stderr.trim()}); run \`npm run setup\`.`);
  }
}

export const PLUGINS = ["docker", "command"] as const;

/** Where setup installed the official plugin, at the version the npm package pins. */
export function officialPluginPath(name: (typeof PLUGINS)[number]): string {
  const { version } = require(path.join(REPO_ROOT, "node_modules", "@pulumi", name, "package.json")).pulumi;
  return path.join(process.env.PULUMI_HOME ?? "", "plugins", `resource-${name}-v${version}`, `pulumi-resource-${name}`);
}

export function sha256(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** One binary setup installed (scripts/lib/toolchain.sh): where it came from, where it is, its sha256. */
export interface Installed {
  version: string;
  source: "PATH" | "plugin cache" | "download" | "mirror" | "bundle";
  /** The binary on PATH or in the user's plugin cache, the URL, or the bundle's archive. */
  from: string;
  path: string;
  sha256: string;
}

export interface ToolchainRecord {
  cli: Installed;
  plugins: Record<(typeof PLUGINS)[number], Installed>;
}

const TOOLCHAIN_RECORD = "toolchain.json";

/** What setup recorded in FLASK_BRIDGE_HOME/toolchain.json: the one truth the proofs compare with. */
export function toolchainRecord(home = process.env.FLASK_BRIDGE_HOME ?? ""): ToolchainRecord {
  const file = path.join(home, TOOLCHAIN_RECORD);
  if (!fs.existsSync(file)) throw new Error(`No ${file}: run \`npm run setup\` first.`);
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

/**
 * Where a bundle was the source: its SHA256SUMS lists the archive's sha256,
 * and the archive's `member` is byte for byte the binary setup recorded.
 */
export function expectBundleMatches(label: string, installed: Installed, member: string): void {
  if (installed.source !== "bundle") return;
  const archive = path.basename(installed.from);
  const listed = fs
    .readFileSync(path.join(path.dirname(installed.from), "SHA256SUMS"), "utf8")
    .split("\n")
    .map((line) => line.split(/\s+\*?/))
    .find(([, file]) => file === archive)?.[0];
  expect([label, archive, sha256(fs.readFileSync(installed.from))]).toEqual([label, archive, listed]);
  const inside = execFileSync("tar", ["-xzOf", installed.from, "--wildcards", "--no-anchored", member], {
    maxBuffer: 512 << 20,
  });
  expect([label, member, sha256(inside)]).toEqual([label, member, installed.sha256]);
}

/** The sha256 of each executable pluginsServing saw, read through /proc while it ran, by the list it returned. */
const servedSha256 = new WeakMap<readonly string[], ReadonlyMap<string, string>>();

/**
 * Every resource plugin process that served a stack runs the binary setup
 * recorded, byte for byte; where a bundle was its source, the bundle's
 * SHA256SUMS vouches for it too.
 */
export function expectOfficialPlugins(servedBy: readonly string[], record = toolchainRecord()): void {
  const hashes = servedSha256.get(servedBy);
  if (!hashes) throw new Error("expectOfficialPlugins takes the plugins list that pluginsServing returned");
  expect(servedBy.map((exe) => ({ exe, sha256: hashes.get(exe) }))).toEqual(
    PLUGINS.map((name) => ({ exe: record.plugins[name].path, sha256: record.plugins[name].sha256 })).sort((a, b) =>
      a.exe.localeCompare(b.exe),
    ),
  );
  for (const name of PLUGINS) expectBundleMatches(name, record.plugins[name], `pulumi-resource-${name}`);
}

async function sha256Of(file: fs.ReadStream): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(file, hash);
  return hash.digest("hex");
}

/** Whether pid was started, through any number of parents, by this process (the machine runs other stacks too). */
function startedByUs(pid: string): boolean {
  for (let current = pid, steps = 0; steps < 64; steps++) {
    const stat = fs.readFileSync(`/proc/${current}/stat`, "utf8");
    // The name in parentheses may hold spaces; the parent's pid is the second field after it.
    const parent = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] ?? "0";
    if (Number(parent) === process.pid) return true;
    if (Number(parent) <= 1) return false;
    current = parent;
  }
  return false;
}

/**
 * Watches /proc while work runs and returns the executables of every
 * resource plugin process that this process started (through the CLI);
 * expectOfficialPlugins then compares them, and the bytes each process ran,
 * with what setup recorded (a version string proves nothing).
 */
export async function pluginsServing<T>(work: () => Promise<T>): Promise<{ result: T; plugins: string[] }> {
  const seen = new Map<string, Promise<string>>();
  const look = () => {
    for (const pid of fs.readdirSync("/proc").filter((entry) => /^\d+$/.test(entry))) {
      try {
        const exe = fs.readlinkSync(`/proc/${pid}/exe`);
        if (!/pulumi-resource-(docker|command)$/.test(exe) || seen.has(exe) || !startedByUs(pid)) continue;
        // Opened while the process runs: the bytes it runs, whatever happens to the path later.
        const file = fs.createReadStream("", { fd: fs.openSync(`/proc/${pid}/exe`, "r") });
        seen.set(
          exe,
          sha256Of(file).catch((error: Error) => `unreadable: ${error.message}`),
        );
      } catch {
        // gone, or a kernel thread
      }
    }
  };
  const timer = setInterval(look, 100);
  try {
    const result = await work();
    const plugins = [...seen.keys()].sort();
    servedSha256.set(
      plugins,
      new Map(await Promise.all(plugins.map(async (exe) => [exe, await seen.get(exe)] as [string, string]))),
    );
    return { result, plugins };
  } finally {
    clearInterval(timer);
  }
}

export function docker(...args: string[]): string {
  return execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

export function dockerLines(...args: string[]): string[] {
  return docker(...args)
    .split("\n")
    .filter((line) => line !== "");
}

// biome-ignore lint/suspicious/noExplicitAny: docker inspect JSON is untyped.
export function inspect(name: string): any {
  return JSON.parse(docker("inspect", name))[0];
}

/** Runs a check from fixtures/netcheck.py inside a container and returns its JSON answer. */
/** Docker's health status of each container, once all are healthy or the time is up. */
export async function healthStatuses(names: readonly string[], timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const statuses = Object.fromEntries(names.map((name) => [name, inspect(name).State.Health?.Status ?? "none"]));
    if (Object.values(statuses).every((status) => status === "healthy") || Date.now() > deadline) return statuses;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

export function netcheck(container: string, ...args: string[]): Record<string, unknown> {
  const out = execFileSync("docker", ["exec", "-i", container, "python3", "-", ...args], {
    input: NETCHECK,
    encoding: "utf8",
  });
  return JSON.parse(out);
}

export interface Labelled {
  containers: string[];
  networks: string[];
  images: string[];
}

/** Everything in the engine that carries the stack's label. */
export function labelled(stackName: string): Labelled {
  const filter = `label=flask-bridge.stack=${stackName}`;
  return {
    containers: dockerLines("ps", "-a", "--filter", filter, "--format", "{{.Names}}").sort(),
    networks: dockerLines("network", "ls", "--filter", filter, "--format", "{{.Name}}").sort(),
    images: dockerLines("image", "ls", "--filter", filter, "--format", "{{.ID}}").sort(),
  };
}

/** Removes whatever a crashed earlier run left behind, selected by label. */
export function removeLeftovers(stackName: string): void {
  const { containers, networks, images } = labelled(stackName);
  if (containers.length > 0) docker("rm", "-f", ...containers);
  if (networks.length > 0) docker("network", "rm", ...networks);
  if (images.length > 0) docker("image", "rm", "-f", ...images);
}

/** The project's own CLI, never a download. */
export function pulumiCommand(): Promise<PulumiCommand> {
  return PulumiCommand.get({ root: path.dirname(process.env.FB_PULUMI_BIN_DIR ?? "") });
}

async function workspace(): Promise<LocalWorkspace> {
  return LocalWorkspace.create({ workDir: REPO_ROOT, pulumiCommand: await pulumiCommand() });
}

/** A fresh stack: the old one (if any) and its leftovers are removed first. */
export async function freshStack(stackName: string, config: Record<string, unknown>): Promise<Stack> {
  const ws = await workspace();
  const existing = await ws.listStacks();
  if (existing.some((stack) => stack.name === stackName)) {
    await ws.removeStack(stackName, { force: true });
  }
  removeLeftovers(stackName);
  fs.rmSync(stackFile(stackName), { force: true });
  const stack = await LocalWorkspace.createStack(
    { stackName, workDir: REPO_ROOT },
    { pulumiCommand: ws.pulumiCommand },
  );
  writeConfig(stackName, config);
  return stack;
}

function stackFile(stackName: string): string {
  return path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`);
}

/**
 * Writes the stack's config file whole (lists stay YAML lists, as Pulumi's
 * typed config wants), keeping the secrets salt that `stack init` wrote.
 */
export function writeConfig(stackName: string, config: Record<string, unknown>): void {
  const file = stackFile(stackName);
  const current = fs.existsSync(file)
    ? ((yaml.load(fs.readFileSync(file, "utf8")) ?? {}) as Record<string, unknown>)
    : {};
  fs.writeFileSync(file, yaml.dump({ ...current, config }));
}

/** Resources in the stack's state, the stack itself and its providers excluded. */
export async function resourceCount(stack: Stack): Promise<number> {
  const state = await stack.exportStack();
  const resources: { type: string }[] = state.deployment.resources ?? [];
  return resources.filter(({ type }) => type !== "pulumi:pulumi:Stack" && !type.startsWith("pulumi:providers:")).length;
}

/** Counts what an operation did, e.g. { same: 20 } or { replace: 8, same: 12 }. */
export function changesOf(summary: { resourceChanges?: Record<string, number> }): Record<string, number> {
  return Object.fromEntries(Object.entries(summary.resourceChanges ?? {}).filter(([, count]) => count > 0));
}

export async function timed<T>(label: string, timings: Record<string, number>, work: () => Promise<T>): Promise<T> {
  const start = Date.now();
  try {
    return await work();
  } finally {
    timings[label] = (Date.now() - start) / 1000;
  }
}

/**
 * An up with `flask-bridge:registry` at a closed loopback port (127.0.0.1:1),
 * where the engine's push is refused at once; the stack's config is put back
 * whatever happens. Returns the failed up's message ("" if it did not fail).
 */
export async function upWithRefusingRegistry(
  stack: Stack,
  config: Record<string, unknown>,
  timings: Record<string, number>,
): Promise<string> {
  const stackName = stack.name;
  writeConfig(stackName, { ...config, "flask-bridge:registry": "127.0.0.1:1" });
  try {
    await timed("up (refusing registry)", timings, () => stack.up(RUN));
    return "";
  } catch (error) {
    return String((error as Error).message);
  } finally {
    writeConfig(stackName, config);
  }
}

export function printTimings(title: string, timings: Record<string, number>): void {
  const lines = Object.entries(timings).map(([label, seconds]) => `  ${label.padEnd(32)} ${seconds.toFixed(1)} s`);
  process.stdout.write(`\n${title}\n${lines.join("\n")}\n`);
}

/**
 * One GET on a connection of its own, 5 s at most. Not fetch: its pool keeps
 * connections alive, and one to a container that was since replaced (destroy,
 * then up again on the same port) is reused and answers "other side closed".
 */
export function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 5000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      response.on("error", reject);
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url} within 5 s`)));
    request.on("error", reject);
  });
}

/** Prints how many expect() calls really ran in a file, so a report can quote the figure. */
export function reportAssertions(file: string): void {
  let total = 0;
  afterEach(() => {
    total += expect.getState().assertionCalls;
  });
  afterAll(() => {
    process.stdout.write(`\n${file}: ${total} assertions ran\n`);
  });
}

/**
 * The swarm e2e stack: one service per group (ports 19000-19006 of its own
 * 19000-19099), the overlay on 10.213.61.0/24, and the settings that answer
 * on a kernel without IPVS: DNS round-robin and ports published per node.
 */
export function swarmStackConfig(replicas: number): Record<string, unknown> {
  return {
    "flask-bridge:orchestrator": "swarm",
    "flask-bridge:imageName": "flask-bridge-e2e-swarm",
    "flask-bridge:namePrefix": "e2e-swarm",
    "flask-bridge:bridgePorts": [19001],
    "flask-bridge:customPorts": [19004],
    "flask-bridge:hostMode": true,
    "flask-bridge:hostPort": 19000,
    "flask-bridge:noneMode": false,
    "flask-bridge:networkName": "e2e-swarm-overlay",
    "flask-bridge:networkSubnet": "10.213.61.0/24",
    "flask-bridge:replicas": replicas,
    "flask-bridge:swarmPublishMode": "host",
    "flask-bridge:swarmEndpointMode": "dnsrr",
    "flask-bridge:urlHost": "127.0.0.1",
  };
}

/** The local cluster's workers (scripts/cluster.sh), by their label. */
export function clusterWorkers(): string[] {
  return dockerLines("ps", "--filter", "label=flask-bridge.cluster=node", "--format", "{{.Names}}").sort();
}

/** Runs scripts/cluster.sh with its progress on this process's stderr; a failure throws. */
export function clusterScript(action: "up" | "down"): void {
  execFileSync("bash", [path.join(REPO_ROOT, "scripts", "cluster.sh"), action], {
    stdio: ["ignore", "inherit", "inherit"],
  });
}

/** Services that carry the stack's label; their tasks' containers go with them. */
export function labelledServices(stackName: string): string[] {
  return dockerLines(
    "service",
    "ls",
    "--filter",
    `label=flask-bridge.stack=${stackName}`,
    "--format",
    "{{.Name}}",
  ).sort();
}

/** Removes a crashed earlier run's services first, so removeLeftovers finds their networks free. */
export function removeSwarmLeftovers(stackName: string): void {
  const services = labelledServices(stackName);
  if (services.length > 0) docker("service", "rm", ...services);
}

/** `docker` against another engine: env holds DOCKER_HOST (and, for TLS, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY). */
export function dockerOn(env: Readonly<Record<string, string>>, ...args: string[]): string {
  return execFileSync("docker", args, {
    encoding: "utf8",
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();
}

/** Everything on that engine that carries the stack's label. */
export function labelledOn(env: Readonly<Record<string, string>>, stackName: string): Labelled {
  const filter = `label=flask-bridge.stack=${stackName}`;
  const lines = (...args: string[]) =>
    dockerOn(env, ...args)
      .split("\n")
      .filter((line) => line !== "")
      .sort();
  return {
    containers: lines("ps", "-a", "--filter", filter, "--format", "{{.Names}}"),
    networks: lines("network", "ls", "--filter", filter, "--format", "{{.Name}}"),
    images: lines("image", "ls", "--filter", filter, "--format", "{{.ID}}"),
  };
}

/** A fresh stack whose pulumi runs (and so the program and the providers) get env on top of this process's. */
export async function freshStackWithEnv(
  stackName: string,
  config: Record<string, unknown>,
  env: Readonly<Record<string, string>>,
): Promise<Stack> {
  const ws = await LocalWorkspace.create({ workDir: REPO_ROOT, pulumiCommand: await pulumiCommand() });
  if ((await ws.listStacks()).some((stack) => stack.name === stackName)) {
    await ws.removeStack(stackName, { force: true });
  }
  fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
  const stack = await LocalWorkspace.createStack(
    { stackName, workDir: REPO_ROOT },
    { pulumiCommand: ws.pulumiCommand, envVars: { ...env } },
  );
  writeConfig(stackName, config);
  return stack;
}
