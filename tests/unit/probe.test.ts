import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { parseReadiness, READINESS_PROBE, readyTimeoutSeconds } from "../../src/components/ReadinessProbe";
import { type Docker, DockerError, lastLine } from "../../src/probes/docker";
import { ask, describeError, type Waited, waitForPage, waitUntil } from "../../src/probes/http";
import {
  askInside,
  formatFailure,
  formatSeen,
  main,
  parseTargets,
  parseTimeoutSeconds,
} from "../../src/probes/readiness";

/**
 * The readiness probe is `up`'s gate, so it runs here for real, by the very
 * command line ReadinessProbe gives the command provider, against local servers
 * that behave like a container that is still starting. Its environment is
 * built here, never the user's: node from this test's own runtime, and a
 * stand-in `docker` first on PATH.
 */

interface ProbeRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

let bin: string;

beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), "readiness-probe-"));
  // A stand-in docker: inside.sh fails until its third call, then prints the interfaces.
  fs.writeFileSync(
    path.join(bin, "docker"),
    [
      "#!/bin/sh",
      `d=${bin}`,
      'echo "$DOCKER_HOST $*" >>"$d/calls"',
      'case "$*" in',
      '  "exec flask-none bash /app/inside.sh")',
      '    n=$(($(cat "$d/count" 2>/dev/null || echo 0) + 1)); echo "$n" >"$d/count"',
      '    [ "$n" -ge 3 ] || { echo "bash: connect: Connection refused" >&2; exit 1; }',
      '    printf "lo\\n" ;;',
      // Hangs, and its child holds the pipes: only the probe's own limit ends the wait for it.
      '  "exec flask-hung bash /app/inside.sh") sleep 6 ;;',
      '  *) echo "Error response from daemon: No such container: $2" >&2; exit 1 ;;',
      "esac",
    ].join("\n"),
    { mode: 0o755 },
  );
});

afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

/** Runs the probe's command line for "app-<i>" at each URL (null: none mode). */
function runProbe(targets: string, timeoutSeconds: string): Promise<ProbeRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      "/bin/sh",
      ["-c", READINESS_PROBE.create],
      {
        cwd: READINESS_PROBE.dir,
        env: {
          PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
          DOCKER_HOST: "ssh://probe@engine.invalid",
          PROBE_TARGETS: targets,
          PROBE_TIMEOUT_SECONDS: timeoutSeconds,
        },
      },
      (error, stdout, stderr) => {
        const code = error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

const targetsFor = (urls: readonly string[]) => urls.map((url, index) => `app-${index + 1} ${url}`).join("\n");

interface TestServer {
  url: string;
  close: () => Promise<void>;
  connections: () => number;
  requests: () => number;
}

/**
 * A server that closes its first `failures` connections before answering, the
 * way docker-proxy does while the app behind it is not listening yet: a plain
 * close, a destroy, then a reset, in turn. (Node's fetch dropped its promise on
 * the first two, and node exited 0 having printed nothing.)
 */
async function flakyServer(failures: number, status = 200): Promise<TestServer> {
  let connections = 0;
  let requests = 0;
  const server = http.createServer((_request, response) => {
    requests++;
    response.writeHead(status, { "Content-Type": "text/plain" });
    response.end(status === 200 ? "Hello, World!" : "starting");
  });
  server.on("connection", (socket) => {
    connections++;
    if (connections > failures) return;
    const way = connections % 3;
    if (way === 1) socket.end();
    else if (way === 2) socket.destroy();
    else socket.resetAndDestroy();
  });
  return listening(
    server,
    () => connections,
    () => requests,
  );
}

/** A server that accepts and never answers: a hung app, or a proxy that holds the connection. */
async function silentServer(): Promise<TestServer> {
  let connections = 0;
  const server = http.createServer(() => undefined);
  server.on("connection", () => {
    connections++;
  });
  return listening(
    server,
    () => connections,
    () => 0,
  );
}

async function listening(server: http.Server, connections: () => number, requests: () => number): Promise<TestServer> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("the readiness probe that gates up, run by its command line", () => {
  it("is one short line that names the probe file, not its text", () => {
    expect(READINESS_PROBE.create).toBe("node --require tsx/cjs src/probes/readiness.ts");
    expect(fs.existsSync(path.join(READINESS_PROBE.dir, "src/probes/readiness.ts"))).toBe(true);
  });

  it("rides out closed and reset connections and prints the body once the app answers", async () => {
    const server = await flakyServer(3);
    try {
      const run = await runProbe(targetsFor([server.url]), "20");
      expect(run).toEqual({ code: 0, stdout: "app-1\tHello, World!\n", stderr: "", ms: expect.any(Number) });
      // Three closed before an answer, the fourth answered.
      expect(server.connections()).toBe(4);
    } finally {
      await server.close();
    }
  });

  it("fails, naming the container, its URL, the wait and the last answer, when the app never answers 200", async () => {
    const server = await flakyServer(0, 503);
    try {
      const run = await runProbe(targetsFor([server.url]), "1");
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr: `1 of 1 containers did not answer within 1 s:\n  app-1: no answer from ${server.url} (last try: status 503)\n`,
        ms: expect.any(Number),
      });
      // It kept asking, every 100 ms, for the whole second, each time on a new connection.
      expect(server.requests()).toBeGreaterThanOrEqual(5);
      expect(server.requests()).toBeLessThanOrEqual(11);
      expect(server.connections()).toBe(server.requests());
    } finally {
      await server.close();
    }
  });

  it("waits for all apps at once, and fails naming only the one that never answered", async () => {
    const slow = await flakyServer(4);
    const fine = await flakyServer(0);
    const dead = await flakyServer(0);
    await dead.close();
    try {
      const run = await runProbe(targetsFor([slow.url, fine.url, dead.url]), "2");
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `1 of 3 containers did not answer within 2 s:\n  app-3: no answer from ${dead.url} (last try: connection refused)\n`,
      );
      expect(run.stdout).toBe("app-1\tHello, World!\napp-2\tHello, World!\n");
      expect(slow.connections()).toBe(5);
    } finally {
      await Promise.all([slow.close(), fine.close()]);
    }
  });

  it("ends a request that hangs, and the whole wait, by the timeout", async () => {
    const server = await silentServer();
    try {
      const run = await runProbe(targetsFor([server.url]), "1");
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        `1 of 1 containers did not answer within 1 s:\n  app-1: no answer from ${server.url} (last try: no answer within 1 s)\n`,
      );
      // Bounded (the in-process test below measures the wait itself without node's start-up).
      expect(run.ms).toBeLessThan(4000);
    } finally {
      await server.close();
    }
  });

  it("asks a none container from inside with docker exec on the engine it is given, and prints its interfaces", async () => {
    const run = await runProbe("flask-none -", "10");
    expect(run).toEqual({ code: 0, stdout: "flask-none\tlo\n", stderr: "", ms: expect.any(Number) });
    expect(fs.readFileSync(path.join(bin, "calls"), "utf8").split("\n")).toEqual([
      "ssh://probe@engine.invalid exec flask-none bash /app/inside.sh",
      "ssh://probe@engine.invalid exec flask-none bash /app/inside.sh",
      "ssh://probe@engine.invalid exec flask-none bash /app/inside.sh",
      "",
    ]);
  });

  it("fails naming a none container that never answers, with docker's own reason", async () => {
    const run = await runProbe("flask-gone -", "1");
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "1 of 1 containers did not answer within 1 s:\n  flask-gone: no answer inside the container (none mode; last try: docker exec flask-gone: No such container: flask-gone)\n",
    );
  });

  it("ends a docker exec that hangs at its limit, without waiting for what it left running", async () => {
    const run = await runProbe("flask-hung -", "1");
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      "1 of 1 containers did not answer within 1 s:\n  flask-hung: no answer inside the container (none mode; last try: docker exec flask-hung: no answer within 1 s)\n",
    );
    // Not the 6 s the stand-in sleeps.
    expect(run.ms).toBeLessThan(5000);
  });

  it("refuses input it cannot read, in one line", async () => {
    expect(await runProbe("", "5")).toMatchObject({
      code: 2,
      stdout: "",
      stderr: "readiness probe: PROBE_TARGETS names no container\n",
    });
    expect(await runProbe("app-1 http://127.0.0.1:1", "soon")).toMatchObject({
      code: 2,
      stderr: 'readiness probe: PROBE_TIMEOUT_SECONDS is "soon", not a whole number of seconds above 0\n',
    });
  });
});

describe("the readiness probe's parts", () => {
  it("reads one target per line, '-' meaning none mode", () => {
    expect(parseTargets("a http://127.0.0.1:5001\n\nb -\n")).toEqual([
      { name: "a", url: "http://127.0.0.1:5001" },
      { name: "b", url: null },
    ]);
    expect(() => parseTargets("a")).toThrow('PROBE_TARGETS line "a" is not "<docker name> <url or ->"');
    expect(parseTimeoutSeconds("180")).toBe(180);
    expect(() => parseTimeoutSeconds("0")).toThrow("not a whole number of seconds above 0");
  });

  it("prints what it saw on one line per container, and one line per container that did not answer", () => {
    const targets = [
      { name: "a", url: "http://127.0.0.1:5001" },
      { name: "b", url: null },
      { name: "c", url: "http://127.0.0.1:5003" },
    ];
    const results = [
      { ok: true as const, value: "Hello,\nWorld!\n" },
      { ok: false as const, cause: "docker exec b: not running" },
      { ok: false as const, cause: "connection refused" },
    ];
    expect(formatSeen(targets, results)).toBe("a\tHello, World!\n");
    expect(formatFailure(targets, results, 180)).toBe(
      [
        "2 of 3 containers did not answer within 180 s:",
        "  b: no answer inside the container (none mode; last try: docker exec b: not running)",
        "  c: no answer from http://127.0.0.1:5003 (last try: connection refused)",
        "",
      ].join("\n"),
    );
    expect(formatFailure(targets.slice(0, 1), results.slice(0, 1), 180)).toBe("");
  });

  it("asks a none container every 100 ms, in one exec each, until its healthcheck passes", async () => {
    const calls: string[] = [];
    const fake: Docker = async (args) => {
      calls.push(args.join(" "));
      if (calls.length < 4) throw new DockerError("docker exec n: unhealthy");
      return "eth9\nlo\n";
    };
    const started = Date.now();
    expect(await askInside("n", Date.now() + 5000, fake)).toEqual({ ok: true, value: "eth9 lo" });
    expect(calls).toEqual(Array(4).fill("exec n bash /app/inside.sh"));
    // Three pauses of 100 ms between four tries.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it("runs the whole probe in-process, writing what it saw and the error", async () => {
    const server = await flakyServer(0);
    const out: string[] = [];
    const err: string[] = [];
    const fake: Docker = async () => {
      throw new DockerError("docker exec none: is not running");
    };
    try {
      const code = await main(
        { PROBE_TARGETS: `up ${server.url}\nnone -`, PROBE_TIMEOUT_SECONDS: "1" },
        (text) => out.push(text),
        (text) => err.push(text),
        fake,
      );
      expect([code, out.join(""), err.join("")]).toEqual([
        1,
        "up\tHello, World!\n",
        "1 of 2 containers did not answer within 1 s:\n  none: no answer inside the container (none mode; last try: docker exec none: is not running)\n",
      ]);
    } finally {
      await server.close();
    }
  });
});

describe("the probes' HTTP and docker helpers", () => {
  it("ask: one exchange on its own connection, whole within its limit", async () => {
    const hung = await silentServer();
    const fine = await flakyServer(0);
    try {
      const started = Date.now();
      expect(await ask(hung.url, 300)).toEqual({ status: null, body: "", cause: "no answer within 0.3 s" });
      expect(Date.now() - started).toBeLessThan(1000);
      expect(await ask(fine.url, 2000)).toEqual({ status: 200, body: "Hello, World!", cause: "" });
      expect(await ask(fine.url, 2000)).toEqual({ status: 200, body: "Hello, World!", cause: "" });
      expect([fine.connections(), fine.requests()]).toEqual([2, 2]);
      expect(await ask("http://", 2000)).toMatchObject({ status: null, cause: "Invalid URL" });
    } finally {
      await Promise.all([hung.close(), fine.close()]);
    }
  });

  it("waitForPage: the whole wait ends by the deadline, a hung request included", async () => {
    const hung = await silentServer();
    try {
      const started = Date.now();
      const result = await waitForPage(hung.url, started + 1000, { paceMs: 100, tryLimitMs: 2000, tryFloorMs: 100 });
      // The first request gets the 1 s that is left, not its 2 s.
      expect(result).toEqual({ ok: false, cause: "no answer within 1 s" });
      expect(Date.now() - started).toBeGreaterThanOrEqual(990);
      expect(Date.now() - started).toBeLessThan(1300);
    } finally {
      await hung.close();
    }
  });

  it("describes the causes a person reads in a few words", () => {
    expect(describeError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).toBe(
      "connection refused",
    );
    expect(describeError(new Error("socket hang up"))).toBe("connection closed without an answer");
    expect(describeError(new Error("first\nsecond"))).toBe("first");
  });

  it("waitUntil tries at least once and stops at the deadline, each try limited to what is left", async () => {
    const limits: number[] = [];
    const started = Date.now();
    const result = await waitUntil(
      async (limitMs) => {
        limits.push(limitMs);
        return { ok: false, cause: `try ${limits.length}` };
      },
      started + 500,
      { paceMs: 100, tryLimitMs: 2000, tryFloorMs: 50 },
    );
    const elapsed = Date.now() - started;
    expect(result).toEqual({ ok: false, cause: `try ${limits.length}` });
    expect(limits.length).toBeGreaterThanOrEqual(3);
    expect(limits.length).toBeLessThanOrEqual(6);
    expect(limits.every((limit) => limit >= 50 && limit <= 500)).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(490);
    expect(elapsed).toBeLessThan(1000);
    // Past the deadline it still tries once, with the floor as its limit.
    const late: number[] = [];
    await waitUntil(
      async (limitMs): Promise<Waited<never>> => ({ ok: false, cause: `limit ${late.push(limitMs)}` }),
      0,
      {
        paceMs: 100,
        tryLimitMs: 2000,
        tryFloorMs: 50,
      },
    );
    expect(late).toEqual([50]);
  });

  it("docker: the last line of what it said names the cause", () => {
    expect(lastLine("Error: first\n  the cause  \n\n")).toBe("the cause");
    expect(lastLine("Error response from daemon: No such container: x\n")).toBe("No such container: x");
    expect(lastLine("")).toBe("");
  });
});

describe("readyTimeoutSeconds", () => {
  it("is 180 s unless FB_READY_TIMEOUT gives a whole number of seconds", () => {
    expect(readyTimeoutSeconds({})).toBe(180);
    expect(readyTimeoutSeconds({ FB_READY_TIMEOUT: "5" })).toBe(5);
    expect(readyTimeoutSeconds({ FB_READY_TIMEOUT: "soon" })).toBe(180);
  });
});

describe("parseReadiness", () => {
  it("keys what each container's probe saw by its name, in the targets' order", () => {
    const stdout = "flask-none\tlo\nflask-bridge-1\tHello, World!\n";
    expect(parseReadiness(stdout, ["flask-bridge-1", "flask-none"])).toEqual({
      "flask-bridge-1": "Hello, World!",
      "flask-none": "lo",
    });
    expect(Object.keys(parseReadiness(stdout, ["flask-bridge-1", "flask-none"]))).toEqual([
      "flask-bridge-1",
      "flask-none",
    ]);
  });
});
