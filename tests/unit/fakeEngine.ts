import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A fake Docker engine for the probes' tests: an HTTP server on a unix socket
 * of its own, answering the Engine API paths a test gives, and a fake `docker`
 * whose `system dial-stdio` (fixtures/dialStdio.ts) bridges to it. Nothing
 * here reads the user's environment or touches a real engine.
 */

/** An answer, undefined for a 404, or null for none at all (an engine that hangs). */
export type Route = (request: http.IncomingMessage) => { status?: number; body: unknown } | null | undefined;

export interface FakeEngine {
  /** A directory holding the fake `docker`, to put first on PATH. */
  bin: string;
  /** What the fake docker needs in its environment. */
  env: Record<string, string>;
  /** `docker` and the rest as a probe's engineApi runs it here. */
  command: string[];
  /** The arguments of every `docker` run so far: one per connection. */
  connections(): string[];
  close(): Promise<void>;
}

const FIXTURE = path.join(__dirname, "fixtures", "dialStdio.ts");

export async function fakeEngine(route: Route): Promise<FakeEngine> {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fake-engine-"));
  const socket = path.join(bin, "engine.sock");
  const calls = path.join(bin, "docker.calls");
  const server = http.createServer((request, response) => {
    const routed = route(request);
    if (routed === null) return;
    const answer = routed ?? { status: 404, body: { message: `page not found: ${request.url}` } };
    response.writeHead(answer.status ?? 200, { "Content-Type": "application/json" });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const node = process.execPath;
  fs.writeFileSync(path.join(bin, "docker"), `#!/bin/sh\nexec "${node}" --require tsx/cjs "${FIXTURE}" "$@"\n`, {
    mode: 0o755,
  });
  return {
    bin,
    env: { FAKE_ENGINE_SOCKET: socket, FAKE_DOCKER_CALLS: calls },
    command: [path.join(bin, "docker"), "system", "dial-stdio"],
    connections: () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").split("\n").filter(Boolean) : []),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      fs.rmSync(bin, { recursive: true, force: true });
    },
  };
}
