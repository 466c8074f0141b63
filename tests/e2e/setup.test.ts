import { execFileSync, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
  expectBundleMatches,
  expectOfficialPlugins,
  type Installed,
  PLUGINS,
  pluginsServing,
  REPO_ROOT,
  reportAssertions,
  requirePrerequisites,
  sha256,
  stackConfig,
  type ToolchainRecord,
  toolchainRecord,
  writeConfig,
} from "./harness";

/**
 * scripts/setup.sh in a FLASK_BRIDGE_HOME of its own, as on a machine that
 * has never seen the project: from a bundle, from a mirror of Pulumi's
 * releases, from the user's own plugin cache, and from nowhere. Every bundle
 * and mirror here is built from what setup installed for this suite, so the
 * file holds on any machine. The engine and base image are shared with it.
 */

jest.setTimeout(5 * 60 * 1000);
reportAssertions("setup");

type Plugin = (typeof PLUGINS)[number];

const CLI: string = require(path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "package.json")).version;
const PLUGIN_VERSION = Object.fromEntries(
  PLUGINS.map((name) => [
    name,
    require(path.join(REPO_ROOT, "node_modules", "@pulumi", name, "package.json")).pulumi.version,
  ]),
) as Record<Plugin, string>;
const CLI_ARCHIVE = `pulumi-v${CLI}-linux-x64.tar.gz`;
const CHECKSUMS = `pulumi-${CLI}-checksums.txt`;
const pluginArchive = (name: Plugin) => `pulumi-resource-${name}-v${PLUGIN_VERSION[name]}-linux-amd64.tar.gz`;
const pluginDir = (name: Plugin) => `resource-${name}-v${PLUGIN_VERSION[name]}`;

const made: string[] = [];
function tmp(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** PATH without any `pulumi`, so only what setup installs is found. */
function barePath(): string {
  return (process.env.PATH ?? "")
    .split(":")
    .filter((dir) => dir !== "" && !fs.existsSync(path.join(dir, "pulumi")))
    .join(":");
}

/** A loopback URL that refuses at once: a port that was free a moment ago. */
async function refusingUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

/** Runs a command to its end without blocking the event loop (the mirror answers from this process). */
function run(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, timeout: timeoutMs, killSignal: "SIGKILL" });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      out += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

/** Previews only, so its ports (18500-18506, of no other suite) are never bound; their being free is checked. */
const PREVIEW_CONFIG = stackConfig("e2s", 18500, 62);
const PREVIEW_STACK = "e2e-setup";

let refusing: string;
let noBundle: string;

/**
 * setup.sh into `home`, with an empty user plugin cache, no bundle, and
 * Pulumi's downloads and plugin downloads sent to a port that refuses, unless
 * `extra` says otherwise. Returns what it said, without the time stamps.
 */
async function setup(home: string, extra: Record<string, string> = {}, timeoutMs = 4 * 60 * 1000) {
  const { code, out } = await run(
    "bash",
    ["scripts/setup.sh"],
    {
      HOME: os.homedir(),
      PATH: barePath(),
      FLASK_BRIDGE_HOME: home,
      PULUMI_HOME: tmp("flask-bridge-user-pulumi-"),
      FLASK_BRIDGE_OFFLINE_DIR: noBundle,
      FLASK_BRIDGE_PULUMI_RELEASES: refusing,
      PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `.*=${refusing}/plugins`,
      ...extra,
    },
    timeoutMs,
  );
  const said = out
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => line.replace(/^\[setup [\d:]+\] /, ""));
  return { code, said };
}

/** Pulumi's release files, as Pulumi names and lays them out, made from what setup installed for this suite. */
interface Release {
  dir: string;
  record: ToolchainRecord;
}

function tarGz(archive: string, dir: string, files: string[], transform?: string): void {
  execFileSync("tar", [
    "-I",
    "gzip -1",
    "-cf",
    archive,
    "-C",
    dir,
    ...(transform ? ["--transform", transform] : []),
    ...files,
  ]);
}

/** The CLI's archive holds pulumi/pulumi, pulumi/pulumi-language-nodejs, ...; a plugin's its files at the top. */
function buildRelease(): Release {
  const dir = tmp("flask-bridge-release-");
  const record = toolchainRecord();
  const cliDir = path.dirname(record.cli.path);
  const cliFiles = fs.readdirSync(cliDir).filter((file) => file === "pulumi" || file.startsWith("pulumi-"));
  tarGz(path.join(dir, CLI_ARCHIVE), cliDir, cliFiles, "s,^,pulumi/,");
  for (const name of PLUGINS) {
    const from = path.dirname(record.plugins[name].path);
    tarGz(path.join(dir, pluginArchive(name)), from, fs.readdirSync(from));
  }
  return { dir, record };
}

const ARCHIVES = () => [CLI_ARCHIVE, ...PLUGINS.map(pluginArchive)];
const sumOf = (file: string) => sha256(fs.readFileSync(file));

/** An offline bundle: the archives and a SHA256SUMS that lists them. */
function bundleOf(release: Release): string {
  const dir = tmp("flask-bridge-bundle-");
  for (const file of ARCHIVES()) fs.symlinkSync(path.join(release.dir, file), path.join(dir, file));
  fs.writeFileSync(
    path.join(dir, "SHA256SUMS"),
    ARCHIVES()
      .map((file) => `${sumOf(path.join(release.dir, file))}  ${file}\n`)
      .join(""),
  );
  return dir;
}

/** A mirror of Pulumi's releases: sdk/<CLI archive> beside sdk/<checksums>, and plugins/<plugin archives>. */
function mirrorOf(release: Release, listedCliSha256 = sumOf(path.join(release.dir, CLI_ARCHIVE))): string {
  const root = tmp("flask-bridge-mirror-");
  fs.mkdirSync(path.join(root, "sdk"));
  fs.mkdirSync(path.join(root, "plugins"));
  fs.symlinkSync(path.join(release.dir, CLI_ARCHIVE), path.join(root, "sdk", CLI_ARCHIVE));
  fs.writeFileSync(path.join(root, "sdk", CHECKSUMS), `${listedCliSha256}  ${CLI_ARCHIVE}\n`);
  for (const name of PLUGINS) {
    fs.symlinkSync(path.join(release.dir, pluginArchive(name)), path.join(root, "plugins", pluginArchive(name)));
  }
  return root;
}

interface Served {
  url: string;
  requests: string[];
  close: () => Promise<void>;
}

/** Serves `root` on a free loopback port until closed, and at most 10 minutes. */
async function serve(root: string): Promise<Served> {
  const requests: string[] = [];
  const server = http.createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const file = path.join(root, path.normalize(new URL(request.url ?? "/", "http://mirror").pathname));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-length": fs.statSync(file).size });
    if (request.method === "HEAD") response.end();
    else fs.createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const close = () =>
    new Promise<void>((resolve) => {
      clearTimeout(limit);
      server.closeAllConnections();
      server.close(() => resolve());
    });
  const limit = setTimeout(close, 10 * 60 * 1000);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close };
}

/** The record a home should hold: each binary byte for byte the one this suite's setup installed. */
function expectedRecord(
  home: string,
  release: Release,
  source: Installed["source"],
  from: (archive: string, name?: Plugin) => string,
): ToolchainRecord {
  return {
    cli: {
      version: CLI,
      source,
      from: from(CLI_ARCHIVE),
      path: path.join(home, "toolchain", `pulumi-${CLI}`, "bin", "pulumi"),
      sha256: release.record.cli.sha256,
    },
    plugins: Object.fromEntries(
      PLUGINS.map((name) => [
        name,
        {
          version: PLUGIN_VERSION[name],
          source,
          from: from(pluginArchive(name), name),
          path: path.join(home, "pulumi", "plugins", pluginDir(name), `pulumi-resource-${name}`),
          sha256: release.record.plugins[name].sha256,
        },
      ]),
    ) as Record<Plugin, Installed>,
  };
}

let release: Release;

beforeAll(async () => {
  requirePrerequisites();
  refusing = await refusingUrl();
  noBundle = tmp("flask-bridge-no-bundle-");
  release = buildRelease();
});

afterAll(() => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

describe("setup on a machine with an empty FLASK_BRIDGE_HOME", () => {
  it("fails at the first refused request, naming the three ways, when it finds no Pulumi CLI anywhere", async () => {
    const { code, said } = await setup(tmp("flask-bridge-home-"), {}, 60 * 1000);
    expect(code).toBe(1);
    expect(said.slice(-9)).toEqual([
      "==> Pulumi CLI and plugins",
      `    the mirror ${refusing} does not answer`,
      `ERROR: no Pulumi CLI v${CLI} or newer. Any one of these works:`,
      "  1. install it yourself and put it on PATH (https://www.pulumi.com/docs/install/);",
      "  2. give this machine access to Pulumi's downloads (https://get.pulumi.com/releases), or set",
      `     FLASK_BRIDGE_PULUMI_RELEASES to a mirror of them (now: ${refusing});`,
      "  3. set FLASK_BRIDGE_OFFLINE_DIR to an offline bundle (README: 'The offline bundle').",
      `  Looked for the bundle in ${noBundle}.`,
      expect.stringMatching(/^ERROR: Pulumi CLI and plugins failed \(after \d+s\)$/),
    ]);
  });

  it("refuses a bundle whose archive does not match its SHA256SUMS", async () => {
    const bundle = bundleOf(release);
    fs.rmSync(path.join(bundle, CLI_ARCHIVE));
    fs.writeFileSync(path.join(bundle, CLI_ARCHIVE), "not the release");
    const home = tmp("flask-bridge-home-");
    const { code, said } = await setup(home, { FLASK_BRIDGE_OFFLINE_DIR: bundle });
    expect(code).toBe(1);
    expect(said).toContain(`ERROR: ${bundle}/${CLI_ARCHIVE} does not match its SHA256SUMS`);
    expect(fs.existsSync(path.join(home, "toolchain", `pulumi-${CLI}`))).toBe(false);
  });

  it("installs from a bundle built from what setup installed, records it, serves a preview with it, then says one line", async () => {
    const bundle = bundleOf(release);
    const home = tmp("flask-bridge-home-");
    const cold = await setup(home, { FLASK_BRIDGE_OFFLINE_DIR: bundle });
    expect([cold.code, cold.said]).toEqual([0, expect.any(Array)]);
    const record = toolchainRecord(home);
    expect(record).toEqual(expectedRecord(home, release, "bundle", (archive) => path.join(bundle, archive)));
    expectBundleMatches("cli", record.cli, "pulumi/pulumi");

    // The plugins that serve a preview in that home are the recorded ones, and the bundle's SHA256SUMS vouches for them.
    const env = { HOME: os.homedir(), PATH: barePath(), FLASK_BRIDGE_HOME: home };
    const inHome = (command: string) => run("bash", ["-c", `source scripts/env.sh && ${command}`], env, 4 * 60 * 1000);
    try {
      expect(await inHome(`pulumi stack init ${PREVIEW_STACK} --non-interactive`)).toEqual({
        code: 0,
        out: expect.any(String),
      });
      writeConfig(PREVIEW_STACK, PREVIEW_CONFIG);
      const { result, plugins } = await pluginsServing(() =>
        inHome(`pulumi preview --stack ${PREVIEW_STACK} --non-interactive`),
      );
      expect([result.code, result.out]).toEqual([0, expect.stringMatching(/\+ 19 to create/)]);
      expectOfficialPlugins(plugins, record);
      // And the proof can fail: another binary than the recorded one, or a bundle whose SHA256SUMS disagrees.
      const other = { ...record.plugins.docker, sha256: "0".repeat(64) };
      expect(() =>
        expectOfficialPlugins(plugins, { ...record, plugins: { ...record.plugins, docker: other } }),
      ).toThrow(/sha256/);
      const disowning = tmp("flask-bridge-bundle-");
      fs.symlinkSync(record.plugins.docker.from, path.join(disowning, pluginArchive("docker")));
      fs.writeFileSync(path.join(disowning, "SHA256SUMS"), `${"0".repeat(64)}  ${pluginArchive("docker")}\n`);
      const disowned = { ...record.plugins.docker, from: path.join(disowning, pluginArchive("docker")) };
      expect(() => expectBundleMatches("docker", disowned, "pulumi-resource-docker")).toThrow(/0{64}/);
    } finally {
      fs.rmSync(path.join(REPO_ROOT, `Pulumi.${PREVIEW_STACK}.yaml`), { force: true });
    }

    const warm = await setup(home, { FLASK_BRIDGE_OFFLINE_DIR: bundle });
    const ready = new RegExp(`^ready in \\d+s: pulumi v${CLI.replaceAll(".", "\\.")} `);
    expect([warm.code, warm.said]).toEqual([0, [expect.stringMatching(ready)]]);
  });

  describe("with a mirror of Pulumi's releases on loopback", () => {
    it("installs the CLI and the plugins from the mirror into an empty home, and records the mirror", async () => {
      const mirror = await serve(mirrorOf(release));
      try {
        const home = tmp("flask-bridge-home-");
        const { code, said } = await setup(home, {
          FLASK_BRIDGE_PULUMI_RELEASES: mirror.url,
          PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `.*=${mirror.url}/plugins`,
        });
        expect([code, said]).toEqual([0, expect.any(Array)]);
        expect(toolchainRecord(home)).toEqual(
          expectedRecord(home, release, "mirror", (archive, name) =>
            name ? `${mirror.url}/plugins/${archive}` : `${mirror.url}/sdk/${archive}`,
          ),
        );
        expect(mirror.requests.filter((request) => request.startsWith("GET")).sort()).toEqual(
          [
            `GET /sdk/${CLI_ARCHIVE}`,
            `GET /sdk/${CHECKSUMS}`,
            ...PLUGINS.map((name) => `GET /plugins/${pluginArchive(name)}`),
          ].sort(),
        );
      } finally {
        await mirror.close();
      }
    });

    it("refuses a CLI archive whose sha256 is not the one the mirror's checksums file lists", async () => {
      const listed = "0".repeat(64);
      const mirror = await serve(mirrorOf(release, listed));
      try {
        const home = tmp("flask-bridge-home-");
        const { code, said } = await setup(home, { FLASK_BRIDGE_PULUMI_RELEASES: mirror.url });
        expect(code).toBe(1);
        expect(said).toContain(
          `ERROR: ${mirror.url}/sdk/${CLI_ARCHIVE} has sha256 ${sumOf(path.join(release.dir, CLI_ARCHIVE))}, but ${CHECKSUMS} lists ${listed}; not installed`,
        );
        expect(fs.existsSync(path.join(home, "toolchain", `pulumi-${CLI}`))).toBe(false);
      } finally {
        await mirror.close();
      }
    });

    it("refuses a CLI archive the mirror publishes no checksums file for", async () => {
      const root = mirrorOf(release);
      fs.rmSync(path.join(root, "sdk", CHECKSUMS));
      const mirror = await serve(root);
      try {
        const home = tmp("flask-bridge-home-");
        const { code, said } = await setup(home, { FLASK_BRIDGE_PULUMI_RELEASES: mirror.url });
        expect(code).toBe(1);
        expect(said).toContain(
          `ERROR: ${mirror.url}/sdk/${CHECKSUMS} could not be had, so ${CLI_ARCHIVE} cannot be checked; not installed`,
        );
        expect(fs.existsSync(path.join(home, "toolchain", `pulumi-${CLI}`))).toBe(false);
      } finally {
        await mirror.close();
      }
    });

    it("takes the pinned plugins from the user's own plugin cache when it holds them", async () => {
      const userPulumi = tmp("flask-bridge-user-pulumi-");
      for (const name of PLUGINS) {
        fs.cpSync(path.dirname(release.record.plugins[name].path), path.join(userPulumi, "plugins", pluginDir(name)), {
          recursive: true,
        });
      }
      const mirror = await serve(mirrorOf(release));
      try {
        const home = tmp("flask-bridge-home-");
        const { code } = await setup(home, {
          FLASK_BRIDGE_PULUMI_RELEASES: mirror.url,
          PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `.*=${mirror.url}/plugins`,
          PULUMI_HOME: userPulumi,
        });
        expect(code).toBe(0);
        const { plugins } = toolchainRecord(home);
        expect(plugins).toEqual(
          expectedRecord(home, release, "plugin cache", (_archive, name) =>
            path.join(userPulumi, "plugins", pluginDir(name as Plugin), `pulumi-resource-${name}`),
          ).plugins,
        );
        expect(mirror.requests.filter((request) => request.includes("/plugins/"))).toEqual([]);
      } finally {
        await mirror.close();
      }
    });
  });
});

describe("a user with a Pulumi of their own", () => {
  it("previews with plain `pulumi`: their CLI, backend and plugin cache, no wrapper, no project plugin path", () => {
    const own = tmp("flask-bridge-own-pulumi-");
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
    for (const name of PLUGINS) {
      const file = path.join(release.dir, pluginArchive(name));
      expect([
        name,
        pulumi("plugin", "install", "resource", name, PLUGIN_VERSION[name], "--file", file).status,
      ]).toEqual([name, 0]);
    }
    try {
      expect(pulumi("stack", "init", stackName).status).toBe(0);
      writeConfig(stackName, PREVIEW_CONFIG);
      const preview = pulumi("preview", "--stack", stackName);
      expect([preview.status, preview.stderr]).toEqual([0, expect.any(String)]);
      expect(preview.stdout).toMatch(/\+ 19 to create/);
    } finally {
      fs.rmSync(path.join(REPO_ROOT, `Pulumi.${stackName}.yaml`), { force: true });
    }
  });
});
