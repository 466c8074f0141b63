import { spawn } from "node:child_process";
import { seconds } from "./http";

/**
 * The docker CLI as the probes call it: the engine is the one in the probe's
 * environment (DOCKER_HOST and the rest, set by the component from the
 * stack's Engine), and every call has a hard limit.
 */
export type Docker = (args: readonly string[], limitMs: number) => Promise<string>;

/** A failed docker call, as one line: "docker exec: Error response from daemon: ...". */
export class DockerError extends Error {}

/** What docker said last on stderr, the line that names the cause, without docker's own preamble. */
export function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "");
  return (lines[lines.length - 1] ?? "").replace(/^(Error response from daemon|Error): /, "");
}

export const docker: Docker = (args, limitMs) =>
  new Promise((resolve, reject) => {
    const what = `docker ${args.slice(0, 2).join(" ")}`;
    const child = spawn("docker", [...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    let settled = false;
    const settle = (error: DockerError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      if (error) reject(error);
      else resolve(stdout.trim());
    };
    // SIGKILL, and no wait for its pipes to close: a CLI stuck on an engine that
    // does not answer (or a child it left holding them) must not outlive the limit.
    const limit = setTimeout(() => {
      child.kill("SIGKILL");
      child.stdout.destroy();
      child.stderr.destroy();
      settle(new DockerError(`${what}: no answer within ${seconds(limitMs)} s`));
    }, limitMs);
    child.on("error", (error) => settle(new DockerError(`${what}: ${lastLine(error.message) || "failed"}`)));
    child.on("close", (code, signal) => {
      if (code === 0) settle(null);
      else settle(new DockerError(`${what}: ${lastLine(stderr) || `exit ${code ?? signal}`}`));
    });
  });
