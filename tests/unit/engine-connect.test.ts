import * as net from "node:net";
import { callsOf, cleanEnv, FAKE_SSH, fakeCommand, removeTmpDirs, runFunctions, tmpDir } from "./scriptsHarness";

/**
 * setup's connect check for a remote engine (fb_check_remote_engine in
 * scripts/lib/docker-engine.sh): one connection, and its verdict is final, so
 * docker is never asked after it fails. Every address here is on loopback;
 * docker is a fake that records being asked.
 */

// Each run is bounded by its own timeout; a loaded machine may need more than jest's 5 s.
jest.setTimeout(60_000);
afterAll(removeTmpDirs);

interface Listener {
  port: number;
  close: () => Promise<void>;
}

/** A TCP server on 127.0.0.1 that, on each connection, does `onConnect`. */
async function listen(onConnect: (socket: net.Socket) => void): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined); // the check hangs up without reading
    socket.on("close", () => sockets.delete(socket));
    onConnect(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A loopback port that refuses: one that was free a moment ago. */
async function closedPort(): Promise<number> {
  const listener = await listen(() => undefined);
  await listener.close();
  return listener.port;
}

/** fb_check_remote_engine against DOCKER_HOST, docker a fake answering "20.10.24"; `before` runs first. */
async function check(dockerHost: string, extra: Record<string, string> = {}, before = "") {
  const bin = tmpDir("fakes");
  fakeCommand(bin, "docker", 'echo "20.10.24"');
  fakeCommand(bin, "ssh", FAKE_SSH);
  const ran = await runFunctions(
    `${before}\nfb_check_remote_engine && echo "checked: server $FB_REMOTE_VERSION"`,
    cleanEnv(bin, { DOCKER_HOST: dockerHost, ...extra }),
    ["docker-engine.sh"],
  );
  return { ...ran, docker: callsOf(bin, "docker") };
}

describe("fb_check_remote_engine's connect check", () => {
  it("fails a refused port in one line, the same every time, without asking docker", async () => {
    const port = await closedPort();
    const runs = await Promise.all([1, 2, 3, 4, 5].map(() => check(`ssh://root@127.0.0.1:${port}`)));
    for (const { code, lines, docker } of runs) {
      expect([code, lines, docker]).toEqual([
        1,
        [
          `ERROR: the Docker engine at ssh://root@127.0.0.1:${port} does not answer: connection refused: nothing listens there`,
        ],
        [],
      ]);
    }
    const tcp = await check(`tcp://127.0.0.1:${port}`);
    expect([tcp.code, tcp.lines, tcp.docker]).toEqual([
      1,
      [
        `ERROR: the Docker engine at tcp://127.0.0.1:${port} does not answer: connection refused: nothing listens at 127.0.0.1:${port}`,
      ],
      [],
    ]);
  });

  it("fails a listener that is not sshd, quoting what it said first", async () => {
    const http = await listen((socket) => socket.end("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    try {
      const { code, lines, docker } = await check(`ssh://root@127.0.0.1:${http.port}`);
      expect([code, lines, docker]).toEqual([
        1,
        [
          `ERROR: the Docker engine at ssh://root@127.0.0.1:${http.port} does not answer: 127.0.0.1:${http.port} answers, but not as an ssh server: it said "HTTP/1.0 400 Bad Request"`,
        ],
        [],
      ]);
    } finally {
      await http.close();
    }
  });

  it("fails a listener that accepts and never says a word, within FB_GREET_TIMEOUT", async () => {
    const silent = await listen(() => undefined);
    try {
      const { code, lines, docker, ms } = await check(`ssh://root@127.0.0.1:${silent.port}`, { FB_GREET_TIMEOUT: "1" });
      expect([code, lines, docker]).toEqual([
        1,
        [
          `ERROR: the Docker engine at ssh://root@127.0.0.1:${silent.port} does not answer: 127.0.0.1:${silent.port} accepts connections but no ssh server greeted within 1s`,
        ],
        [],
      ]);
      expect(ms).toBeGreaterThanOrEqual(1000);
      expect(ms).toBeLessThan(4000);
    } finally {
      await silent.close();
    }
  });

  it("fails a listener that hangs up without a greeting", async () => {
    const rude = await listen((socket) => socket.end());
    try {
      const { code, lines, docker } = await check(`ssh://root@127.0.0.1:${rude.port}`);
      expect([code, lines, docker]).toEqual([
        1,
        [
          `ERROR: the Docker engine at ssh://root@127.0.0.1:${rude.port} does not answer: 127.0.0.1:${rude.port} accepts connections, then closes them without an ssh greeting`,
        ],
        [],
      ]);
    } finally {
      await rude.close();
    }
  });

  it("leaves an ssh that goes through a ProxyJump to docker: ssh never connects to that address itself", async () => {
    const port = await closedPort();
    // ssh_config as this ssh sees it (ssh -G), without touching the user's files.
    const proxied = 'ssh() { command ssh -o ProxyJump=bastion.invalid "$@"; }';
    const { code, lines, docker } = await check(`ssh://root@127.0.0.1:${port}`, {}, proxied);
    expect([code, lines, docker]).toEqual([0, ["checked: server 20.10.24"], ["version --format {{.Server.Version}}"]]);
  });

  it("asks docker once an ssh server greets", async () => {
    const sshd = await listen((socket) => socket.write("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"));
    try {
      const { code, lines, docker } = await check(`ssh://root@127.0.0.1:${sshd.port}`);
      expect([code, lines, docker]).toEqual([
        0,
        ["checked: server 20.10.24"],
        ["version --format {{.Server.Version}}"],
      ]);
    } finally {
      await sshd.close();
    }
  });
});
