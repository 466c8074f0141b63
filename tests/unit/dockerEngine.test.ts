import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { cleanEnv, FAKE_SSH, fakeCommand, removeTmpDirs, tmpDir } from "./scriptsHarness";

/**
 * setup's one-line causes for a remote engine that does not answer
 * (scripts/lib/docker-engine.sh), from the docker CLI's own messages.
 */

const LIB = path.join(__dirname, "..", "..", "scripts", "lib", "docker-engine.sh");

function cause(out: string, code = 1, dockerHost = "ssh://root@192.168.0.4"): string {
  return execFileSync("bash", ["-c", `source "${LIB}" && fb_engine_cause "$OUT" "$CODE"`], {
    encoding: "utf8",
    env: cleanEnv(FAKES, { OUT: out, CODE: String(code), DOCKER_HOST: dockerHost }),
  }).trim();
}

// A stand-in ssh: no ssh client and none of the user's ssh_config is needed.
const FAKES = tmpDir("fakes");
fakeCommand(FAKES, "ssh", FAKE_SSH);
afterAll(removeTmpDirs);

const SSH =
  "error during connect: ... command [ssh -o ConnectTimeout=30 -T -l root -- 192.168.0.4 docker system dial-stdio] has exited with exit status 255, ...: stderr=";

describe("fb_engine_cause", () => {
  it("names ssh's failures", () => {
    expect(
      [
        `${SSH}ssh: connect to host 192.168.0.4 port 22: Connection refused`,
        `${SSH}root@192.168.0.4: Permission denied (publickey).`,
        `${SSH}Host key verification failed.`,
        `${SSH}ssh: Could not resolve hostname vm.home: Name or service not known`,
        `${SSH}bash: line 1: docker: command not found`,
      ].map((out) => cause(out)),
    ).toEqual([
      "connection refused: nothing listens there",
      "ssh authentication failed: no key here that it accepts",
      "ssh does not trust its host key (add it to ~/.ssh/known_hosts)",
      "its host name does not resolve",
      "ssh works, but that machine has no docker CLI (ssh:// runs one there)",
    ]);
  });

  it("names TLS failures and a silent engine", () => {
    expect([
      cause(
        'error during connect: Get "https://192.168.0.4:2376/v1.50/version": tls: failed to verify certificate: x509: certificate signed by unknown authority',
        1,
        "tcp://192.168.0.4:2376",
      ),
      cause(
        'Get "http://192.168.0.4:2376/v1.50/version": net/http: HTTP/1.x transport connection broken: malformed HTTP response "\\x15\\x03"',
        1,
        "tcp://192.168.0.4:2376",
      ),
      cause("", 124),
    ]).toEqual([
      "TLS failed: tls: failed to verify certificate: x509: certificate signed by unknown authority",
      "it wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH",
      "no answer within 30s",
    ]);
  });
});

describe("fb_engine_hostport", () => {
  function hostport(dockerHost: string): string {
    const script = `source "${LIB}" && fb_engine_hostport || echo none`;
    // The scripts ask ssh -G for ssh's own view (its config included); here a stand-in with no config answers.
    return execFileSync("bash", ["-c", script], {
      encoding: "utf8",
      env: cleanEnv(FAKES, { DOCKER_HOST: dockerHost }),
    }).trim();
  }

  it("finds the address a remote engine connects to, for a bounded connect before asking it", () => {
    expect(
      [
        "ssh://root@192.168.0.4",
        "ssh://root@192.168.0.4:2222",
        "ssh://192.168.0.4",
        "tcp://192.168.0.4:2376",
        "tcp://192.168.0.4",
        "tcp://[::1]:2375",
        "unix:///var/run/docker.sock",
      ].map(hostport),
    ).toEqual([
      "192.168.0.4:22",
      "192.168.0.4:2222",
      "192.168.0.4:22",
      "192.168.0.4:2376",
      "192.168.0.4:2375",
      "none",
      "none",
    ]);
  });
});
