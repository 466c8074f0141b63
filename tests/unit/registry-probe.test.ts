import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { main } from "../../src/probes/registry";

/** The registry probe against a real server on loopback: a registry's API root, and a closed port. */

function collect() {
  const text = { out: "", err: "" };
  return {
    text,
    out: (chunk: string) => {
      text.out += chunk;
    },
    err: (chunk: string) => {
      text.err += chunk;
    },
  };
}

describe("the registry probe", () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((request, response) => {
      response.writeHead(request.url === "/v2/" ? 200 : 404, { "Content-Type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("prints the URL once the registry's API root answers", async () => {
    const io = collect();
    const url = `http://127.0.0.1:${port}/v2/`;
    const code = await main({ REGISTRY_URL: url, SERVICE: "e2e-registry", PROBE_TIMEOUT_SECONDS: "5" }, io.out, io.err);
    expect([code, io.text.out, io.text.err]).toEqual([0, `${url}\n`, ""]);
  });

  it("fails in one line naming the service, the URL and the cause when nothing answers", async () => {
    // A port just closed: nothing listens there.
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const io = collect();
    const url = `http://127.0.0.1:${closedPort}/v2/`;
    const started = Date.now();
    const code = await main({ REGISTRY_URL: url, SERVICE: "e2e-registry", PROBE_TIMEOUT_SECONDS: "1" }, io.out, io.err);
    expect([code, io.text.out, io.text.err]).toEqual([
      1,
      "",
      `the swarm's registry e2e-registry did not answer at ${url} within 1 s (last try: connection refused)\n`,
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("refuses a URL that is no registry's API root", async () => {
    const io = collect();
    const code = await main({ REGISTRY_URL: "http://127.0.0.1:5000/", PROBE_TIMEOUT_SECONDS: "5" }, io.out, io.err);
    expect(code).toBe(2);
    expect(io.text.err).toMatch(/^registry probe: needs REGISTRY_URL/);
  });
});
