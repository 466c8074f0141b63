import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { parseReadiness, READINESS_SCRIPT_FILE, readyTimeoutSeconds } from "../../src/components/ReadinessProbe";

/**
 * The readiness probe is `up`'s gate, so it runs here for real against local
 * servers that behave like a container that is still starting.
 */

interface ProbeRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the probe for "app-<i>" at each URL. */
function runProbe(urls: readonly string[], timeoutSeconds: number): Promise<ProbeRun> {
  const targets = urls.map((url, index) => `app-${index + 1} ${url}`).join("\n");
  return new Promise((resolve) => {
    execFile(
      "bash",
      [READINESS_SCRIPT_FILE],
      { env: { ...process.env, PROBE_TARGETS: targets, PROBE_TIMEOUT_SECONDS: String(timeoutSeconds) } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as NodeJS.ErrnoException & { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * A server that closes its first `failures` connections before answering, the
 * way docker-proxy does while the app behind it is not listening yet: a plain
 * close, a destroy, then a reset, in turn. (Node's fetch dropped its promise on
 * the first two, and node exited 0 having printed nothing.)
 */
async function flakyServer(
  failures: number,
  status = 200,
): Promise<{ url: string; close: () => Promise<void>; connections: () => number; requests: () => number }> {
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("the readiness probe that gates up", () => {
  it("rides out closed and reset connections and prints the body once the app answers", async () => {
    const server = await flakyServer(3);
    try {
      const run = await runProbe([server.url], 20);
      expect(run).toEqual({ code: 0, stdout: "app-1\tHello, World!\n", stderr: "" });
      // Three closed before an answer, the fourth answered.
      expect(server.connections()).toBe(4);
    } finally {
      await server.close();
    }
  });

  it("fails, naming the URL, when the app never answers 200", async () => {
    const server = await flakyServer(0, 503);
    try {
      // bash counts whole seconds: a 2 s deadline leaves at least 1 s of tries.
      const run = await runProbe([server.url], 2);
      expect(run).toEqual({
        code: 1,
        stdout: "",
        stderr: `1 of 1 containers did not answer within 2 s:\n  app-1: no answer from ${server.url}\n`,
      });
      // It kept asking (every 100 ms) until its deadline, not once.
      expect(server.requests()).toBeGreaterThan(1);
    } finally {
      await server.close();
    }
  });

  it("fails when nothing listens at all", async () => {
    const server = await flakyServer(0);
    const { url } = server;
    await server.close();
    const run = await runProbe([url], 1);
    expect(run).toEqual({
      code: 1,
      stdout: "",
      stderr: `1 of 1 containers did not answer within 1 s:\n  app-1: no answer from ${url}\n`,
    });
  });

  it("waits for all apps at once, and fails naming only the one that never answered", async () => {
    const slow = await flakyServer(4);
    const fine = await flakyServer(0);
    const dead = await flakyServer(0);
    await dead.close();
    try {
      const run = await runProbe([slow.url, fine.url, dead.url], 2);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`1 of 3 containers did not answer within 2 s:\n  app-3: no answer from ${dead.url}\n`);
      expect(run.stdout.split("\n").sort()).toEqual(["", "app-1\tHello, World!", "app-2\tHello, World!"]);
      expect(slow.connections()).toBe(5);
    } finally {
      await Promise.all([slow.close(), fine.close()]);
    }
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
