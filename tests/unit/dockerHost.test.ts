import { LOCAL_ENGINE, parseEngine, resolveEngine } from "../../src/machine/dockerHost";

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
      ].map(parseEngine),
    ).toEqual([
      { url: "ssh://root@172.17.0.5", scheme: "ssh", host: "172.17.0.5", remote: true },
      { url: "ssh://deploy@vm.example:2222", scheme: "ssh", host: "vm.example", remote: true },
      { url: "tcp://192.168.0.4:2376", scheme: "tcp", host: "192.168.0.4", remote: true },
      { url: "tcp://[fd00::4]:2376", scheme: "tcp", host: "fd00::4", remote: true },
      { url: "tcp://127.0.0.1:2375", scheme: "tcp", host: "127.0.0.1", remote: false },
      { url: "ssh://me@localhost", scheme: "ssh", host: "localhost", remote: false },
      { url: "unix:///var/run/docker.sock", scheme: "unix", host: null, remote: false },
    ]);
  });

  it("refuses what Docker would not take, naming it", () => {
    expect(errorOf(() => parseEngine("192.168.0.4:2376"))).toBe(
      'Docker host "192.168.0.4:2376" is not unix://PATH, ssh://[user@]host[:port] or tcp://host:port (from DOCKER_HOST or docker:host)',
    );
    expect(errorOf(() => parseEngine("ssh://"))).toBe(
      'Docker host "ssh://" names no host (from DOCKER_HOST or docker:host)',
    );
  });
});

describe("resolveEngine", () => {
  const contexts = (name: string) => {
    if (name === "vm") return "ssh://root@192.168.0.4";
    throw new Error(`no context ${name}`);
  };

  it("takes DOCKER_HOST first, then docker:host, then DOCKER_CONTEXT, as the docker CLI does", () => {
    expect(
      [
        resolveEngine({ DOCKER_HOST: "tcp://10.0.0.2:2376", DOCKER_CONTEXT: "vm" }, "ssh://a@10.0.0.3", contexts),
        resolveEngine({ DOCKER_CONTEXT: "vm" }, "ssh://a@10.0.0.3", contexts),
        resolveEngine({ DOCKER_CONTEXT: "vm" }, undefined, contexts),
        resolveEngine({ DOCKER_CONTEXT: "default" }, undefined, contexts),
        resolveEngine({}, undefined, contexts),
      ].map((engine) => engine.url),
    ).toEqual([
      "tcp://10.0.0.2:2376",
      "ssh://a@10.0.0.3",
      "ssh://root@192.168.0.4",
      LOCAL_ENGINE.url,
      LOCAL_ENGINE.url,
    ]);
  });
});
