import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { OutputMap, Stack } from "@pulumi/pulumi/automation";
import type { ContainerOutput } from "../../src/plan/outputs";
import {
  dockerOn,
  freshStackWithEnv,
  httpGet,
  labelled,
  labelledOn,
  printTimings,
  REPO_ROOT,
  RUN,
  reportAssertions,
  requirePrerequisites,
  timed,
} from "./harness";

/**
 * The tutorial's own setting: Docker on another machine, opened from this one
 * at that machine's address. The machine is a container on this engine with
 * its own address, network stack and firewall, running sshd and dockerd
 * (scripts/remote.sh). The stack runs there over ssh://, then over tcp:// with
 * TLS from certificates made here; this machine's engine never gets any of it.
 */

const MACHINE = "e2e-remote";
const STACK = "e2e-remote";
const TRAP_STACK = "e2e-remote-trap";
const FAIL_STACK = "e2e-remote-fail";
const TLS_STACK = "e2e-remote-tls";
const SCRIPT = path.join(REPO_ROOT, "scripts", "remote.sh");

jest.setTimeout(20 * 60 * 1000);
reportAssertions("remote");

/** The tutorial's shape with this suite's names, ports (on the remote machine) and subnet. */
function remoteConfig(prefix: string, base: number, subnetOctet: number): Record<string, unknown> {
  return {
    "flask-bridge:imageName": `flask-bridge-${prefix}`,
    "flask-bridge:namePrefix": prefix,
    "flask-bridge:bridgePorts": [base + 1, base + 2, base + 3],
    "flask-bridge:customPorts": [base + 4, base + 5, base + 6],
    "flask-bridge:hostMode": true,
    "flask-bridge:hostPort": base,
    "flask-bridge:noneMode": true,
    "flask-bridge:networkName": `${prefix}-bridge-network`,
    "flask-bridge:networkSubnet": `10.213.${subnetOctet}.0/24`,
    "flask-bridge:networkGateway": `10.213.${subnetOctet}.1`,
    // bindAddress 0.0.0.0 and no urlHost: the URLs are the machine's address.
  };
}
const CONFIG = remoteConfig(STACK, 21200, 70);
const NAMES = [
  ...["bridge-1", "bridge-2", "bridge-3", "custom-1", "custom-2", "custom-3"].map((key) => `${STACK}-${key}`),
  `${STACK}-host`,
  `${STACK}-none`,
];

const timings: Record<string, number> = {};
let address: string;
/** The ssh:// engine, as `remote:up` printed it. */
let sshEnv: Record<string, string>;
let stack: Stack;
let outputs: OutputMap;
let containers: Record<string, ContainerOutput>;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fb-remote-"));

/** Runs a project script as a user would; returns its exit code, stdout and stderr. */
function run(command: string, args: string[], env: Record<string, string>, timeoutMs = 600_000) {
  const result = spawnSync(command, args, {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: timeoutMs,
  });
  return { code: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** This machine's engine holds nothing of any of this suite's stacks. */
function expectLocalEngineUntouched(): void {
  for (const name of [STACK, TRAP_STACK, FAIL_STACK, TLS_STACK]) {
    expect([name, labelled(name)]).toEqual([name, { containers: [], networks: [], images: [] }]);
  }
}

/** The Diagnostics block of one resource in pulumi's output. */
function diagnosticsOf(text: string, resource: string): string[] {
  const lines = text.split("\n");
  const start = lines.findIndex((line) => line.includes(resource) && line.trimEnd().endsWith("):"));
  if (start < 0) return [];
  const end = lines.findIndex((line, index) => index > start && /^\S|^ {2}\S/.test(line));
  return lines.slice(start, end < 0 ? undefined : end).filter((line) => line.trim() !== "");
}

beforeAll(async () => {
  requirePrerequisites();
  const up = await timed("remote:up", timings, async () => run("bash", [SCRIPT, "up", MACHINE], {}));
  if (up.code !== 0) throw new Error(`scripts/remote.sh up failed:\n${up.stderr}`);
  const last = up.stdout.trim().split("\n").pop() ?? "";
  const match = /^DOCKER_HOST=(ssh:\/\/root@([\d.]+))$/.exec(last);
  if (!match) throw new Error(`remote:up's last line is not DOCKER_HOST=ssh://root@<address>: ${last}`);
  address = match[2] as string;
  sshEnv = { DOCKER_HOST: match[1] as string };
  // A run that crashed earlier may have left its stacks on a reused machine.
  for (const name of [STACK, TRAP_STACK, FAIL_STACK]) {
    const left = labelledOn(sshEnv, name);
    if (left.containers.length > 0) dockerOn(sshEnv, "rm", "-f", ...left.containers);
    if (left.networks.length > 0) dockerOn(sshEnv, "network", "rm", ...left.networks);
    if (left.images.length > 0) dockerOn(sshEnv, "image", "rm", "-f", ...left.images);
  }
  const setup = await timed("setup (ssh://)", timings, async () =>
    run("bash", ["scripts/setup.sh"], { ...sshEnv, FB_STACK: STACK }),
  );
  if (setup.code !== 0) throw new Error(`setup against ${sshEnv.DOCKER_HOST} failed:\n${setup.stderr}`);
  stack = await freshStackWithEnv(STACK, CONFIG, sshEnv);
  outputs = (await timed("up (ssh://)", timings, () => stack.up(RUN))).outputs;
  containers = outputs.containers?.value;
});

afterAll(async () => {
  for (const name of [STACK, TRAP_STACK, FAIL_STACK, TLS_STACK]) {
    fs.rmSync(path.join(REPO_ROOT, `Pulumi.${name}.yaml`), { force: true });
  }
  run("bash", [SCRIPT, "down", MACHINE], {});
  fs.rmSync(tmp, { recursive: true, force: true });
  printTimings("remote e2e timings (printed, not asserted)", timings);
});

describe("over ssh:// (the machine remote:up started)", () => {
  it("placed the base image on that engine in setup, and nothing on this one", () => {
    const base = process.env.FLASK_BRIDGE_BASE_IMAGE ?? "python:3.11-slim";
    expect(dockerOn(sshEnv, "image", "inspect", "-f", "{{.RepoTags}}", base)).toContain(base);
    expectLocalEngineUntouched();
  });

  it("up runs every container there, and every URL answers from this machine at the machine's address", async () => {
    expect(Object.keys(containers).sort()).toEqual([...NAMES].sort());
    const urls = Object.entries(containers)
      .filter(([, c]) => c.url !== null)
      .map(([name, c]) => [name, c.url]);
    expect(urls).toEqual(
      NAMES.slice(0, 7).map((name, index) => [name, `http://${address}:${index < 6 ? 21201 + index : 21200}`]),
    );
    const answers = await Promise.all(urls.map(([, url]) => httpGet(url as string)));
    expect(answers).toEqual(urls.map(() => ({ status: 200, body: "Hello, World!" })));
    // The probe asked the same URLs from here; the none container from inside.
    expect(outputs.probes?.value).toEqual(
      Object.fromEntries(NAMES.map((name) => [name, name.endsWith("-none") ? "lo" : "Hello, World!"])),
    );
    expect(labelledOn(sshEnv, STACK).containers).toEqual([...NAMES].sort());
  });

  it("reports IPs and gateways that match docker inspect on that engine", () => {
    for (const [name, container] of Object.entries(containers)) {
      const networks = JSON.parse(dockerOn(sshEnv, "inspect", "-f", "{{json .NetworkSettings.Networks}}", name));
      const attached = networks[container.network];
      const expected =
        container.network === "host" || container.network === "none"
          ? { ip: null, gateway: null }
          : { ip: attached.IPAddress, gateway: attached.Gateway };
      expect([name, { ip: container.ip, gateway: container.gateway }]).toEqual([name, expected]);
    }
    expect(containers[`${STACK}-custom-1`]?.gateway).toBe("10.213.70.1");
  });

  it("measures the matrix there as Docker's rules predict", async () => {
    const matrix = await timed("matrix (ssh://)", timings, async () =>
      run("npx", ["tsx", "scripts/matrix.ts", "--out", path.join(tmp, "matrix.svg")], {
        ...sshEnv,
        FB_STACK: STACK,
      }),
    );
    // Exit 0: no cell differs from the prediction.
    expect([matrix.code, matrix.stderr]).toEqual([0, ""]);
    expect(matrix.stdout).toContain(`Connectivity of stack ${STACK}, measured`);
  });

  it("refuses a port a process on that machine holds, before any container exists", async () => {
    // A process of the machine itself, not a container: python's http.server on 21307.
    execFileSync("docker", ["exec", "-d", MACHINE, "python3", "-m", "http.server", "21307"]);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const trap = await freshStackWithEnv(
      TRAP_STACK,
      {
        ...remoteConfig(TRAP_STACK, 21300, 73),
        "flask-bridge:bridgePorts": [21307],
        "flask-bridge:customPorts": [],
        "flask-bridge:hostMode": false,
        "flask-bridge:noneMode": false,
      },
      sshEnv,
    );
    const message = await trap.up(RUN).then(
      () => "up succeeded",
      (error: Error) => error.message,
    );
    expect(message).toMatch(
      new RegExp(
        `Invalid config flask-bridge:bridgePorts\\[0\\] = 21307: host port 21307 is already taken on the engine's machine ${address.replaceAll(".", "\\.")} by python3 \\(pid \\d+\\), so ${TRAP_STACK}-bridge-1 cannot bind it\\. Stop that process or choose another port; nothing was created\\.`,
      ),
    );
    expect(labelledOn(sshEnv, TRAP_STACK)).toEqual({ containers: [], networks: [], images: [] });
    expect(dockerOn(sshEnv, "ps", "-a", "--filter", "status=created", "--format", "{{.Names}}")).toBe("");
    execFileSync("docker", ["exec", MACHINE, "pkill", "-f", "http.server 21307"]);
    await trap.workspace.removeStack(TRAP_STACK, { force: true });
  });

  it("previews no change", async () => {
    const preview = await timed("preview (ssh://)", timings, () => stack.preview({ ...RUN, expectNoChanges: true }));
    expect(preview.changeSummary).toEqual({ same: 19 });
  });

  /** Inserts (-I) or deletes (-D) the machine's firewall rule that turns connections to a port away. */
  function rejectOnMachine(action: "-I" | "-D", port: number): void {
    execFileSync("docker", [
      "exec",
      MACHINE,
      "iptables",
      action,
      "INPUT",
      "-p",
      "tcp",
      "--dport",
      String(port),
      "-j",
      "REJECT",
      "--reject-with",
      "tcp-reset",
    ]);
  }

  it("a failing probe says which container did not answer, in a few lines", async () => {
    // The machine's firewall turns connections to 21400 away: the host-mode app runs, but nobody here reaches it.
    rejectOnMachine("-I", 21400);
    const config = {
      ...remoteConfig(FAIL_STACK, 21400, 72),
      "flask-bridge:bridgePorts": [],
      "flask-bridge:customPorts": [],
      "flask-bridge:noneMode": false,
    };
    const fail = await freshStackWithEnv(FAIL_STACK, config, { ...sshEnv, FB_READY_TIMEOUT: "3" });
    const message = await fail.up(RUN).then(
      () => "up succeeded",
      (error: Error) => error.message,
    );
    const block = diagnosticsOf(message, "command:local:Command (readiness-command)");
    process.stdout.write(`\nthe failing probe's error:\n${block.join("\n")}\n`);
    expect(block.length).toBeGreaterThan(1);
    expect(block.length).toBeLessThan(15);
    expect(block.join("\n")).toContain(`1 of 1 containers did not answer within 3 s:`);
    expect(block.join("\n")).toContain(`${FAIL_STACK}-host: no answer from http://${address}:21400`);
    expect(block.join("\n")).not.toContain("probe_http");
    rejectOnMachine("-D", 21400);
    await fail.destroy({ color: "never" });
    await fail.workspace.removeStack(FAIL_STACK, { force: true });
    expect(labelledOn(sshEnv, FAIL_STACK)).toEqual({ containers: [], networks: [], images: [] });
  });

  it("destroy leaves nothing of the stack on that engine", async () => {
    await timed("destroy (ssh://)", timings, () => stack.destroy({ color: "never" }));
    expect(labelledOn(sshEnv, STACK)).toEqual({ containers: [], networks: [], images: [] });
  });

  it("never touched this machine's engine", () => {
    expectLocalEngineUntouched();
  });
});

describe("an engine that does not answer", () => {
  it.each([
    ["preview", "ssh://root@ADDRESS:2299"],
    ["up", "ssh://root@ADDRESS:2299"],
    ["preview", "tcp://ADDRESS:2399"],
    ["up", "tcp://ADDRESS:2399"],
  ])("fails npm run %s with %s within 10 s, in one line naming it and the cause", (command, host) => {
    const dockerHost = host.replace("ADDRESS", address);
    const result = run("npm", ["run", "--silent", command], { DOCKER_HOST: dockerHost, FB_STACK: STACK }, 10_000);
    const errors = result.stderr.split("\n").filter((line) => line.includes("ERROR"));
    const refused = host.startsWith("ssh")
      ? "connection refused: nothing listens there"
      : `connection refused: nothing listens at ${address}:2399`;
    expect([result.signal, result.code, errors.map((line) => line.replace(/^\[setup [\d:]+\] /, ""))]).toEqual([
      null,
      1,
      [`ERROR: the Docker engine at ${dockerHost} does not answer: ${refused}`],
    ]);
  });
});

describe("over tcp:// with TLS (certificates made here with openssl)", () => {
  let tlsEnv: Record<string, string>;

  function openssl(...args: string[]): void {
    execFileSync("openssl", args, { cwd: tmp, stdio: ["ignore", "ignore", "pipe"] });
  }

  /** A self-signed certificate, good for a day: a CA. */
  function selfSigned(subject: string, key: string, cert: string): void {
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      subject,
      "-keyout",
      key,
      "-out",
      cert,
    );
  }

  /** A key and a certificate signed by ca.pem, with the given extensions. */
  function signed(subject: string, extensions: string, key: string, cert: string): void {
    const base = path.basename(cert, ".pem").replace(/\W/g, "-");
    fs.writeFileSync(path.join(tmp, `${base}.ext`), extensions);
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", key, "-out", `${base}.csr`);
    openssl(
      ...["x509", "-req", "-in", `${base}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial"],
      ...["-days", "1", "-extfile", `${base}.ext`, "-out", cert],
    );
  }

  beforeAll(() => {
    // A CA, a server certificate for the machine's address, and a client certificate.
    fs.mkdirSync(path.join(tmp, "client"));
    selfSigned("/CN=flask-bridge e2e CA", "ca-key.pem", "ca.pem");
    signed(
      `/CN=${address}`,
      `subjectAltName=IP:${address}\nextendedKeyUsage=serverAuth\n`,
      "server-key.pem",
      "server-cert.pem",
    );
    signed("/CN=client", "extendedKeyUsage=clientAuth\n", "client/key.pem", "client/cert.pem");
    fs.copyFileSync(path.join(tmp, "ca.pem"), path.join(tmp, "client", "ca.pem"));
    const tls = run("bash", [SCRIPT, "tls", tmp, MACHINE], {});
    if (tls.code !== 0) throw new Error(`scripts/remote.sh tls failed:\n${tls.stderr}`);
    expect(tls.stdout.trim().split("\n").pop()).toBe(`DOCKER_HOST=tcp://${address}:2376`);
    tlsEnv = {
      DOCKER_HOST: `tcp://${address}:2376`,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: path.join(tmp, "client"),
    };
  });

  it("refuses a certificate from another CA, in one line", () => {
    const other = path.join(tmp, "other");
    fs.mkdirSync(other);
    selfSigned("/CN=other", path.join(other, "key.pem"), path.join(other, "cert.pem"));
    fs.copyFileSync(path.join(other, "cert.pem"), path.join(other, "ca.pem"));
    const result = run("bash", ["scripts/setup.sh"], { ...tlsEnv, DOCKER_CERT_PATH: other }, 10_000);
    const errors = result.stderr.split("\n").filter((line) => line.includes("ERROR"));
    expect([result.code, errors.length]).toEqual([1, 1]);
    expect(errors[0]).toContain(`ERROR: the Docker engine at tcp://${address}:2376 does not answer: TLS failed: `);
  });

  it("runs the stack there: setup, up, every URL from here, preview empty, destroy leaves nothing", async () => {
    const setup = await timed("setup (tcp:// TLS)", timings, async () => run("bash", ["scripts/setup.sh"], tlsEnv));
    expect([setup.code, setup.stderr.includes(`Docker engine at tcp://${address}:2376`)]).toEqual([0, true]);
    const tlsStack = await freshStackWithEnv(TLS_STACK, remoteConfig("e2e-remote-t", 21500, 71), tlsEnv);
    const result = await timed("up (tcp:// TLS)", timings, () => tlsStack.up(RUN));
    const tlsContainers: Record<string, ContainerOutput> = result.outputs.containers?.value;
    const urls = Object.values(tlsContainers).flatMap((c) => (c.url === null ? [] : [c.url]));
    expect(urls.length).toBe(7);
    const answers = await Promise.all(urls.map((url) => httpGet(url)));
    expect(answers).toEqual(urls.map(() => ({ status: 200, body: "Hello, World!" })));
    expect(urls.every((url) => url.startsWith(`http://${address}:215`))).toBe(true);
    const preview = await timed("preview (tcp:// TLS)", timings, () =>
      tlsStack.preview({ ...RUN, expectNoChanges: true }),
    );
    expect(preview.changeSummary).toEqual({ same: 19 });
    await timed("destroy (tcp:// TLS)", timings, () => tlsStack.destroy({ color: "never" }));
    expect(labelledOn(tlsEnv, TLS_STACK)).toEqual({ containers: [], networks: [], images: [] });
    await tlsStack.workspace.removeStack(TLS_STACK, { force: true });
    expectLocalEngineUntouched();
  });
});
