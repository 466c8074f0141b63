import { execFile } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { HTTP_PROBE } from "../../src/FlaskContainer";

/**
 * The host probe is `up`'s readiness gate, so it runs here for real against
 * local servers that behave like a container that is still starting.
 */

interface ProbeRun {
  code: number;
  stdout: string;
  stderr: string;
}

function runProbe(url: string, timeoutSeconds: number): Promise<ProbeRun> {
  return new Promise((resolve) => {
    execFile(
      "bash",
      ["-c", HTTP_PROBE],
      { env: { ...process.env, PROBE_URL: url, PROBE_TIMEOUT_SECONDS: String(timeoutSeconds) } },
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

describe("the HTTP probe that gates up", () => {
  it("rides out closed and reset connections and prints the body once the app answers", async () => {
    const server = await flakyServer(3);
    try {
      const run = await runProbe(server.url, 20);
      expect(run).toEqual({ code: 0, stdout: "Hello, World!", stderr: "" });
      // Three closed before an answer, the fourth answered.
      expect(server.connections()).toBe(4);
    } finally {
      await server.close();
    }
  });

  it("fails, naming the URL, when the app never answers 200", async () => {
    const server = await flakyServer(0, 503);
    try {
      const run = await runProbe(server.url, 1);
      expect(run).toEqual({ code: 1, stdout: "", stderr: `no answer from ${server.url}\n` });
      // It kept asking (every 100 ms) until its deadline.
      expect(server.requests()).toBeGreaterThan(3);
    } finally {
      await server.close();
    }
  });

  it("fails when nothing listens at all", async () => {
    const server = await flakyServer(0);
    const { url } = server;
    await server.close();
    const run = await runProbe(url, 1);
    expect(run).toEqual({ code: 1, stdout: "", stderr: `no answer from ${url}\n` });
  });
});
