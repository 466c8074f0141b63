import { type ChildProcess, spawn } from "node:child_process";
import * as http from "node:http";
import { Duplex } from "node:stream";
import { lastLine } from "./docker";
import { describeError, seconds } from "./http";

/**
 * The Engine API of the stack's engine over one `docker system dial-stdio`,
 * kept open while a probe waits: the docker CLI's own way in, so DOCKER_HOST,
 * contexts, TLS and ssh:// work as for any docker call. Over ssh:// each
 * docker call starts an ssh session and a docker CLI on the manager, 1.2 CPU-s
 * on the project's emulated VMs; two services' probes polling that way kept a
 * single-CPU manager busy through a rollout. Here that is paid once.
 */

/** One GET of the Engine API, its JSON body; a path without a version (the engine's own). */
export type EngineGet = <T>(path: string, limitMs: number) => Promise<T>;

export interface EngineApi {
  get: EngineGet;
  /** Ends the connection and its docker CLI; a probe calls it before it exits. */
  close(): void;
}

/** A failed call, as one line: "docker engine GET /tasks: service svc not found". */
export class EngineError extends Error {}

export interface EngineApiOptions {
  /** What bridges stdio to the engine; a test's stand-in replaces it. */
  command?: readonly string[];
  /** The CLI's environment: DOCKER_HOST and the rest. */
  env?: NodeJS.ProcessEnv;
}

/** How long a failed call waits for the CLI's last words on stderr (why the connection ended). */
const LAST_WORDS_MS = 1000;

/** One connection at a time, kept alive between calls; a new one (a new CLI) only after one ends. */
class DialStdioAgent extends http.Agent {
  private child: ChildProcess | null = null;
  private stderr = "";
  /** Settles once the current CLI has exited and its stderr is read to the end. */
  private closed: Promise<void> = Promise.resolve();

  constructor(
    private readonly command: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
  ) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(): Duplex {
    const [file = "docker", ...args] = this.command;
    const child = spawn(file, args, { env: this.env, stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    this.stderr = "";
    // 'close', not 'exit': only then is all the CLI wrote on stderr read.
    this.closed = new Promise((resolve) => child.once("close", () => resolve()));
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      if (this.child === child) this.stderr += chunk;
    });
    const socket = Duplex.from({ readable: child.stdout, writable: child.stdin });
    child.on("error", (error) => socket.destroy(error));
    socket.on("close", () => child.kill());
    // What the agent asks of a TCP socket between calls; a pipe has no keep-alive,
    // timer or handle to unref (close() ends it).
    return Object.assign(socket, {
      setKeepAlive: () => socket,
      setTimeout: () => socket,
      ref: () => socket,
      unref: () => socket,
    });
  }

  /** Why the current connection ended, as the CLI said it, once its stderr is read (or after a second). */
  async lastWords(): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, LAST_WORDS_MS)))]);
    clearTimeout(timer);
    // The CLI wraps what ssh said ("... has exited with exit status 255, ...: stderr=ssh: connect to host ...").
    const line = lastLine(this.stderr);
    return line.match(/ stderr=(.+)$/)?.[1]?.trim() || line;
  }

  override destroy(): void {
    super.destroy();
    this.child?.kill();
  }
}

export function engineApi(options: EngineApiOptions = {}): EngineApi {
  const agent = new DialStdioAgent(options.command ?? ["docker", "system", "dial-stdio"], options.env ?? process.env);
  const get = <T>(path: string, limitMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const what = `docker engine GET ${path.split("?")[0]}`;
      let settled = false;
      const settle = (error: Error | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(limit);
        if (error) reject(error);
        else resolve(value as T);
      };
      const request = http.request({ agent, host: "docker", path, method: "GET" }, (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          body += chunk;
        });
        response.on("end", () => {
          const status = response.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = JSON.parse(body);
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300 && parsed !== undefined) return settle(null, parsed as T);
          const said = (parsed as { message?: unknown } | undefined)?.message;
          settle(new EngineError(`${what}: ${typeof said === "string" ? said : `status ${status}`}`));
        });
        response.on("error", (error) => settle(new EngineError(`${what}: ${describeError(error)}`)));
      });
      // The connection ended: docker's own words say why (ssh refused, no such host), else Node's.
      request.on("error", (error) => {
        void agent.lastWords().then((words) => settle(new EngineError(`${what}: ${words || describeError(error)}`)));
      });
      // An engine that does not answer ends the connection; the next call opens another.
      const limit = setTimeout(() => {
        settle(new EngineError(`${what}: no answer within ${seconds(limitMs)} s`));
        request.destroy();
      }, limitMs);
      request.end();
    });
  return { get, close: () => agent.destroy() };
}
