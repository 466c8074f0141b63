import { engineApi } from "../../src/probes/engineApi";
import { type FakeEngine, fakeEngine } from "./fakeEngine";
import { fakeCommand, removeTmpDirs, tmpDir } from "./scriptsHarness";

/**
 * src/probes/engineApi.ts: the probes' way to the engine's API, one `docker
 * system dial-stdio` kept open for every call, against a fake engine behind a
 * stand-in `docker` (fakeEngine.ts). Over ssh:// each docker CLI run costs a
 * slow manager more than a second of CPU; this connection costs it once.
 */

let engine: FakeEngine;

beforeAll(async () => {
  engine = await fakeEngine((request) => {
    if (request.url === "/nodes") return { body: [{ ID: "n1" }] };
    if (request.url === "/services/svc") return { body: { ID: "s1" } };
    if (request.url === "/services/nosuch") return { status: 404, body: { message: "service nosuch not found" } };
    if (request.url === "/services/broken") return { status: 500, body: "not JSON with a message" };
    if (request.url?.startsWith("/slow")) return null;
    return undefined;
  });
});

afterAll(async () => {
  await engine.close();
  removeTmpDirs();
});

const api = () => engineApi({ command: engine.command, env: { ...engine.env, PATH: process.env.PATH ?? "" } });

describe("the engine's API over one dial-stdio", () => {
  it("asks every question over one connection, one docker CLI", async () => {
    const before = engine.connections().length;
    const client = api();
    try {
      expect(await client.get("/nodes", 5000)).toEqual([{ ID: "n1" }]);
      expect(await client.get("/services/svc", 5000)).toEqual({ ID: "s1" });
      expect(await client.get("/nodes", 5000)).toEqual([{ ID: "n1" }]);
    } finally {
      client.close();
    }
    expect(engine.connections().slice(before)).toEqual(["system dial-stdio"]);
  });

  it("says what the engine said of a refused call, naming the path, and keeps the connection", async () => {
    const before = engine.connections().length;
    const client = api();
    try {
      await expect(client.get("/services/nosuch", 5000)).rejects.toThrow(
        "docker engine GET /services/nosuch: service nosuch not found",
      );
      await expect(client.get("/services/broken", 5000)).rejects.toThrow(
        "docker engine GET /services/broken: status 500",
      );
      expect(await client.get("/services/svc", 5000)).toEqual({ ID: "s1" });
    } finally {
      client.close();
    }
    expect(engine.connections().slice(before)).toHaveLength(1);
  });

  it("ends a call the engine does not answer at its limit, and the next call opens a new connection", async () => {
    const before = engine.connections().length;
    const client = api();
    try {
      const started = Date.now();
      await expect(client.get("/slow?x=1", 300)).rejects.toThrow("docker engine GET /slow: no answer within 0.3 s");
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await client.get("/nodes", 5000)).toEqual([{ ID: "n1" }]);
    } finally {
      client.close();
    }
    expect(engine.connections().slice(before)).toHaveLength(2);
  });

  it("says in ssh's words why it could not reach the engine, in seconds", async () => {
    const bin = tmpDir("engine-api");
    // What the docker CLI prints when ssh:// cannot connect.
    fakeCommand(
      bin,
      "docker",
      `echo 'error during connect: command [ssh -o ConnectTimeout=30 -T -- 192.0.2.7 docker system dial-stdio] has exited with exit status 255, make sure the URL is valid, and Docker 18.09 or later is installed on the remote host: stderr=ssh: connect to host 192.0.2.7 port 22: Connection refused' >&2
exit 255`,
    );
    const client = engineApi({ command: [`${bin}/docker`, "system", "dial-stdio"], env: { PATH: "/usr/bin:/bin" } });
    const started = Date.now();
    try {
      await expect(client.get("/nodes", 30_000)).rejects.toThrow(
        "docker engine GET /nodes: ssh: connect to host 192.0.2.7 port 22: Connection refused",
      );
    } finally {
      client.close();
    }
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("waits for the CLI's stderr to be read to the end, even when its exit is seen first", async () => {
    const bin = tmpDir("engine-api");
    // It exits at once, the connection ends 0.2 s later and its words reach stderr 0.2 s after
    // that: the order a loaded machine can deliver them in. Only 'close' says stderr is all read.
    fakeCommand(
      bin,
      "docker",
      `(sleep 0.2; exec >&-; sleep 0.2; echo 'error during connect: stderr=ssh: Could not resolve hostname nowhere' >&2) &
exit 255`,
    );
    const client = engineApi({ command: [`${bin}/docker`, "system", "dial-stdio"], env: { PATH: "/usr/bin:/bin" } });
    try {
      await expect(client.get("/nodes", 30_000)).rejects.toThrow(
        "docker engine GET /nodes: ssh: Could not resolve hostname nowhere",
      );
    } finally {
      client.close();
    }
  });

  it("names a docker CLI it cannot start", async () => {
    const client = engineApi({ command: ["/nonexistent/docker", "system", "dial-stdio"], env: {} });
    try {
      await expect(client.get("/nodes", 5000)).rejects.toThrow(
        /^docker engine GET \/nodes: spawn \/nonexistent\/docker ENOENT$/,
      );
    } finally {
      client.close();
    }
  });
});
