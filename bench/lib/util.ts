import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

/** Median and range of a set of samples (seconds, or any unit). */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  samples: number[];
}

export function summarize(samples: number[]): Summary {
  if (samples.length === 0) {
    return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [] };
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[middle] as number)
      : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
  return { n: samples.length, median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, samples };
}

export function median(samples: number[]): number {
  return summarize(samples).median;
}

export function seconds(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "–";
}

/** "4.51 (4.40–4.80)": median, then min–max. */
export function medianRange(summary: Summary | undefined, digits = 2): string {
  if (!summary || summary.n === 0) return "–";
  return `${seconds(summary.median, digits)} (${seconds(summary.min, digits)}–${seconds(summary.max, digits)})`;
}

let runs = 0;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export interface RunResult {
  stdout: string;
  stderr: string;
  seconds: number;
  /** CPU-seconds (user + system) of the command and every child it waited for, from /usr/bin/time */
  cpu: number;
  /** Peak resident memory, MB, of the largest single process among the command and the children it waited for (/usr/bin/time's %M) */
  maxRssMb: number;
}

/**
 * Runs a command to completion and times it (wall clock, from spawn to exit).
 * Rejects on a non-zero exit or when timeoutMs passes (the child is killed).
 */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 10 * 60 * 1000;
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const timeFile = path.join(os.tmpdir(), `flask-bridge-bench-time-${process.pid}-${++runs}`);
    const child = spawn("/usr/bin/time", ["-f", "%U %S %M", "-o", timeFile, command, ...args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      signal: options.signal,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const elapsed = (performance.now() - start) / 1000;
      let cpu = Number.NaN;
      let maxRssMb = Number.NaN;
      try {
        const [user, system, maxRssKb] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop()?.split(" ") ?? [];
        cpu = Number(user) + Number(system);
        maxRssMb = Number(maxRssKb) / 1024;
        fs.rmSync(timeFile, { force: true });
      } catch {
        // killed before time wrote it
      }
      if (code === 0) {
        resolve({ stdout, stderr, seconds: elapsed, cpu, maxRssMb });
      } else {
        const tail = `${stdout}\n${stderr}`.trim().split("\n").slice(-15).join("\n");
        reject(
          new Error(
            `${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}) after ${elapsed.toFixed(1)}s:\n${tail}`,
          ),
        );
      }
    });
  });
}

/**
 * Waits until every URL answers 200 with "Hello, World!", polling each every
 * 50 ms (1 s per request), and returns the seconds that took. Bounded: throws
 * after deadlineMs.
 */
export async function waitForApps(urls: string[], deadlineMs = 30_000): Promise<number> {
  const start = performance.now();
  // AbortSignal.timeout's timer does not hold the event loop open: with every
  // fetch pending, node could find nothing left to wait for and exit mid-run.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    await waitAll(urls, start, deadlineMs);
  } finally {
    clearInterval(keepAlive);
  }
  return (performance.now() - start) / 1000;
}

async function waitAll(urls: string[], start: number, deadlineMs: number): Promise<void> {
  await Promise.all(
    urls.map(async (url) => {
      for (;;) {
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
          const body = await response.text();
          if (response.ok && body.includes("Hello, World!")) return;
        } catch {
          // not answering yet
        }
        if (performance.now() - start > deadlineMs) {
          throw new Error(`${url} did not answer within ${deadlineMs / 1000}s`);
        }
        await sleep(50);
      }
    }),
  );
}
