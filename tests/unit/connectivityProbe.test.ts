/**
 * src/machine/connectivity.py, run for real with the host's python3 against servers on
 * loopback: each kind of outcome, from a real socket. The host's resolver is
 * not Docker's embedded DNS, so names must never be sent to it.
 */
import { execFile } from "node:child_process";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";
import type { ProbeRequest, TryResult } from "../../src/plan/connectivity";

const PROBE = path.join(__dirname, "..", "..", "src", "machine", "connectivity.py");
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on("connection", (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

async function probe(request: ProbeRequest): Promise<TryResult[]> {
  const { stdout } = await promisify(execFile)("python3", [PROBE, JSON.stringify(request)], { timeout: 10_000 });
  return JSON.parse(stdout).results;
}

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

it("tells answered, refused, timeout and no such name apart, all at once", async () => {
  const answering = await listen(http.createServer((_, response) => response.end("Hello, World!")));
  // Accepts the connection and never answers: a read timeout, as a dropped packet would be.
  const silent = await listen(net.createServer(() => undefined));
  const closed = await listen(net.createServer());
  await new Promise((resolve) => servers.pop()?.close(resolve));

  const results = await probe({
    timeout: 1,
    registered: ["localhost", "no-such-container"],
    tries: [
      { target: "a", way: "ip", host: "127.0.0.1", port: answering },
      { target: "b", way: "ip", host: "127.0.0.1", port: closed },
      { target: "c", way: "ip", host: "127.0.0.1", port: silent },
      { target: "c", way: "port", host: "127.0.0.1", port: silent },
      { target: "c", way: "name", host: "localhost", port: silent },
      { target: "d", way: "dns", host: "localhost", port: answering },
      { target: "d", way: "name", host: "localhost", port: answering },
      { target: "e", way: "dns", host: "no-such-container", port: 5000 },
      { target: "e", way: "name", host: "no-such-container", port: 5000 },
    ],
  });

  expect(results.map(({ target, way, outcome }) => `${target} ${way} ${outcome}`)).toEqual([
    "a ip ok",
    "b ip refused",
    "c ip timeout",
    "c port timeout",
    "c name timeout",
    "d dns ok",
    "d name ok",
    "e dns nxdomain",
    "e name nxdomain",
  ]);
  expect(results[0]?.detail).toBe(`127.0.0.1:${answering} HTTP 200 'Hello, World!'`);
  expect(results[5]?.detail).toBe("127.0.0.1 (/etc/hosts)");
  // Registered or not, a name goes to no resolver but Docker's embedded DNS.
  expect(results[7]?.detail).toMatch(/^no embedded DNS \(resolver .*, not asked\); not in \/etc\/hosts$/);
});

it("runs a container's tries concurrently: a server that answers only once three requests are open at once", async () => {
  // One at a time, the first two would time out waiting for the third.
  const waiting: http.ServerResponse[] = [];
  const barrier = await listen(
    http.createServer((_, response) => {
      waiting.push(response);
      if (waiting.length === 3) for (const held of waiting) held.end("Hello, World!");
    }),
  );
  const results = await probe({
    timeout: 5,
    registered: [],
    tries: ["x", "y", "z"].map((target) => ({ target, way: "ip" as const, host: "127.0.0.1", port: barrier })),
  });
  expect(results.map(({ target, outcome }) => `${target} ${outcome}`)).toEqual(["x ok", "y ok", "z ok"]);
});
