import * as path from "node:path";
import { docker } from "../../src/machine/docker";
import { type Engine, LOCAL_ENGINE } from "../../src/plan/engine";
import { callsOf, fakeCommand, removeTmpDirs, tmpDir } from "./scriptsHarness";

/**
 * src/machine/docker.ts, every question the program asks the engine: bounded,
 * one line naming the engine and cause, and one more try for an ssh:// call
 * that ended without a word. A fake `docker` first on PATH stands in.
 */

const SSH_ENGINE: Engine = Object.freeze({
  url: "ssh://root@192.0.2.7",
  scheme: "ssh",
  host: "192.0.2.7",
  remote: true,
  certPath: null,
  source: "DOCKER_HOST",
});

let savedPath: string | undefined;

/** A fake docker whose nth call (1-based) runs the nth body, the last one ever after. */
function fakeDocker(...bodies: string[]): string {
  const bin = tmpDir("docker-cli");
  const cases = bodies.map((body, index) => `${index + 1}) ${body} ;;`).join("\n");
  fakeCommand(
    bin,
    "docker",
    `n=$(wc -l <"${path.join(bin, "docker.calls")}")
case "$n" in
${cases}
*) ${bodies[bodies.length - 1]} ;;
esac`,
  );
  process.env.PATH = `${bin}:${savedPath}`;
  return bin;
}

beforeEach(() => {
  savedPath = process.env.PATH;
});

afterEach(() => {
  process.env.PATH = savedPath;
  removeTmpDirs();
});

describe("docker()", () => {
  it("returns the CLI's answer, trimmed", () => {
    fakeDocker("echo ' 20.10.24 '");
    expect(docker(SSH_ENGINE, ["version", "--format", "{{.Server.Version}}"])).toBe("20.10.24");
  });

  it("asks an ssh:// engine once more after a call that ended without a word", () => {
    const bin = fakeDocker("exit 1", "echo answered");
    expect(docker(SSH_ENGINE, ["info"])).toBe("answered");
    expect(callsOf(bin, "docker")).toEqual(["info", "info"]);
  });

  it("names the command and its status when the second try is silent too", () => {
    const bin = fakeDocker("exit 1");
    expect(() => docker(SSH_ENGINE, ["info", "--format", "{{json .}}"])).toThrow(
      "the Docker engine at ssh://root@192.0.2.7 (from DOCKER_HOST) did not answer: docker info exited with status 1 and said nothing",
    );
    expect(callsOf(bin, "docker")).toHaveLength(2);
  });

  it("does not repeat a refusal that says why, and gives its last line", () => {
    const bin = fakeDocker(
      "echo 'error during connect: ssh: connect to host 192.0.2.7 port 22: Connection refused' >&2; exit 1",
    );
    expect(() => docker(SSH_ENGINE, ["info"])).toThrow(
      "the Docker engine at ssh://root@192.0.2.7 (from DOCKER_HOST) did not answer: error during connect: ssh: connect to host 192.0.2.7 port 22: Connection refused",
    );
    expect(callsOf(bin, "docker")).toEqual(["info"]);
  });

  it("asks the local socket once: a silent failure there is not a dropped connection", () => {
    const bin = fakeDocker("exit 3");
    expect(() => docker(LOCAL_ENGINE, ["ps"])).toThrow(
      "the Docker engine at unix:///var/run/docker.sock (from default) did not answer: docker ps exited with status 3 and said nothing",
    );
    expect(callsOf(bin, "docker")).toEqual(["ps"]);
  });

  it("gives up at the bound, once, and says so", () => {
    const bin = fakeDocker("sleep 5");
    expect(() => docker(SSH_ENGINE, ["info"], 300)).toThrow(
      "the Docker engine at ssh://root@192.0.2.7 (from DOCKER_HOST) did not answer within 0.3 s",
    );
    expect(callsOf(bin, "docker")).toEqual(["info"]);
  });

  it("says when there is no docker CLI at all", () => {
    process.env.PATH = tmpDir("empty");
    expect(() => docker(SSH_ENGINE, ["info"])).toThrow(
      "the Docker engine at ssh://root@192.0.2.7 (from DOCKER_HOST) cannot be asked: there is no docker CLI on this machine's PATH",
    );
  });
});
