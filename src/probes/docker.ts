import { execFile } from "node:child_process";
import { seconds } from "./http";

/**
 * The docker CLI as the probes call it: the engine is the one in the probe's
 * environment (DOCKER_HOST and the rest, set by the component from the
 * stack's Engine), and every call has a hard limit.
 */
export type Docker = (args: readonly string[], limitMs: number) => Promise<string>;

/** A failed docker call, as one line: "docker exec: Error response from daemon: ...". */
export class DockerError extends Error {}

/** What docker said last on stderr, the line that names the cause. */
export function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return lines[lines.length - 1] ?? "";
}

export const docker: Docker = (args, limitMs) =>
  new Promise((resolve, reject) => {
    execFile(
      "docker",
      [...args],
      // SIGKILL: a CLI stuck on an engine that does not answer must not outlive the limit.
      { encoding: "utf8", timeout: limitMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout.trim());
          return;
        }
        const what = `docker ${args.slice(0, 2).join(" ")}`;
        const killed = (error as { killed?: boolean }).killed === true;
        const cause = killed
          ? `no answer within ${seconds(limitMs)} s`
          : lastLine(stderr) || lastLine(error.message) || "failed";
        reject(new DockerError(`${what}: ${cause}`));
      },
    );
  });
