import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { resolveEngine } from "../../src/machine/engine";
import { dockerEnv, LOCAL_ENGINE, parseEngine } from "../../src/plan/engine";

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected an error, but none was thrown");
}

describe("parseEngine", () => {
  it("reads the machine out of ssh:// and tcp:// hosts; sockets and loopback are this machine", () => {
    expect(
      [
        "ssh://root@172.17.0.5",
        "ssh://deploy@vm.example:2222",
        "tcp://192.168.0.4:2376",
        "tcp://[fd00::4]:2376",
        "tcp://127.0.0.1:2375",
        "ssh://me@localhost",
        "unix:///var/run/docker.sock",
      ].map((url) => parseEngine(url)),
    ).toEqual(
      [
        { url: "ssh://root@172.17.0.5", scheme: "ssh", host: "172.17.0.5", remote: true },
        { url: "ssh://deploy@vm.example:2222", scheme: "ssh", host: "vm.example", remote: true },
        { url: "tcp://192.168.0.4:2376", scheme: "tcp", host: "192.168.0.4", remote: true },
        { url: "tcp://[fd00::4]:2376", scheme: "tcp", host: "fd00::4", remote: true },
        { url: "tcp://127.0.0.1:2375", scheme: "tcp", host: "127.0.0.1", remote: false },
        { url: "ssh://me@localhost", scheme: "ssh", host: "localhost", remote: false },
        { url: "unix:///var/run/docker.sock", scheme: "unix", host: null, remote: false },
      ].map((engine) => ({ ...engine, certPath: null, source: "DOCKER_HOST or docker:host" })),
    );
  });

  it("refuses what Docker would not take, naming it and where it came from", () => {
    expect(errorOf(() => parseEngine("192.168.0.4:2376", "docker:host"))).toBe(
      'Docker host "192.168.0.4:2376" is not unix://PATH, ssh://[user@]host[:port] or tcp://host:port (from docker:host)',
    );
    expect(errorOf(() => parseEngine("ssh://", "DOCKER_HOST"))).toBe(
      'Docker host "ssh://" names no host (from DOCKER_HOST)',
    );
  });
});

describe("dockerEnv", () => {
  it("points a docker CLI at the engine and at no other, with TLS files only where the engine has them", () => {
    expect([
      dockerEnv(parseEngine("ssh://root@10.0.0.3")),
      dockerEnv(parseEngine("tcp://10.0.0.3:2376", "DOCKER_HOST", "/certs")),
    ]).toEqual([
      { DOCKER_HOST: "ssh://root@10.0.0.3", DOCKER_CONTEXT: "", DOCKER_CERT_PATH: "", DOCKER_TLS_VERIFY: "" },
      { DOCKER_HOST: "tcp://10.0.0.3:2376", DOCKER_CONTEXT: "", DOCKER_CERT_PATH: "/certs", DOCKER_TLS_VERIFY: "1" },
    ]);
  });
});

describe("resolveEngine", () => {
  // A Docker config folder of the test's own, laid out as the docker CLI writes it.
  let config: string;
  function addContext(name: string, host: string, tls = false): void {
    const digest = createHash("sha256").update(name).digest("hex");
    const meta = path.join(config, "contexts", "meta", digest);
    fs.mkdirSync(meta, { recursive: true });
    fs.writeFileSync(
      path.join(meta, "meta.json"),
      JSON.stringify({ Name: name, Endpoints: { docker: { Host: host } } }),
    );
    if (tls) {
      const dir = path.join(config, "contexts", "tls", digest, "docker");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "ca.pem"), "");
    }
  }
  beforeEach(() => {
    config = fs.mkdtempSync(path.join(os.tmpdir(), "fb-docker-config-"));
    addContext("vm", "ssh://root@192.168.0.4");
    addContext("tls", "tcp://192.168.0.5:2376", true);
  });
  afterEach(() => fs.rmSync(config, { recursive: true, force: true }));

  const resolve = (env: Record<string, string>, dockerConfigHost?: string) =>
    resolveEngine({ env: { DOCKER_CONFIG: config, ...env }, dockerConfigHost });

  it("takes DOCKER_HOST first, then docker:host, then DOCKER_CONTEXT, then the current context, as the docker CLI does", () => {
    fs.writeFileSync(path.join(config, "config.json"), JSON.stringify({ currentContext: "tls" }));
    expect(
      [
        resolve({ DOCKER_HOST: "tcp://10.0.0.2:2376", DOCKER_CONTEXT: "vm" }, "ssh://a@10.0.0.3"),
        resolve({ DOCKER_CONTEXT: "vm" }, "ssh://a@10.0.0.3"),
        resolve({ DOCKER_CONTEXT: "vm" }),
        resolve({}),
        resolve({ DOCKER_CONTEXT: "default" }),
      ].map(({ url, source, certPath }) => [url, source, certPath]),
    ).toEqual([
      ["tcp://10.0.0.2:2376", "DOCKER_HOST", null],
      ["ssh://a@10.0.0.3", "docker:host", null],
      ["ssh://root@192.168.0.4", "context vm", null],
      [
        "tcp://192.168.0.5:2376",
        "context tls",
        path.join(config, "contexts", "tls", createHash("sha256").update("tls").digest("hex"), "docker"),
      ],
      [LOCAL_ENGINE.url, "default", null],
    ]);
  });

  it("is this machine's socket when nothing names an engine", () => {
    expect(resolve({})).toEqual(LOCAL_ENGINE);
  });

  it("names a context that does not exist, and where it was named", () => {
    expect(errorOf(() => resolve({ DOCKER_CONTEXT: "nowhere" }))).toBe(
      `Docker context "nowhere" (from DOCKER_CONTEXT) does not exist in ${config}/contexts`,
    );
    fs.writeFileSync(path.join(config, "config.json"), JSON.stringify({ currentContext: "gone" }));
    expect(errorOf(() => resolve({}))).toBe(
      `Docker context "gone" (from docker context use) does not exist in ${config}/contexts`,
    );
  });

  it("takes TLS files from DOCKER_CERT_PATH for tcp://, and refuses them for ssh://, where the provider would try TLS instead", () => {
    expect(resolve({ DOCKER_HOST: "tcp://10.0.0.2:2376", DOCKER_CERT_PATH: "/certs" }).certPath).toBe("/certs");
    expect(errorOf(() => resolve({ DOCKER_HOST: "ssh://root@10.0.0.2", DOCKER_CERT_PATH: "/certs" }))).toBe(
      "DOCKER_HOST is ssh://root@10.0.0.2 but DOCKER_CERT_PATH is set, so the docker provider would use TLS and never ssh: unset DOCKER_CERT_PATH",
    );
  });
});
