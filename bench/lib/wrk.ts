import { run } from "./util";

export interface WrkResult {
  url: string;
  threads: number;
  connections: number;
  durationSeconds: number;
  requests: number;
  requestsPerSecond: number;
  latencyMs: { avg: number; p50: number; p75: number; p90: number; p99: number; max: number };
  errors: { connect: number; read: number; write: number; timeout: number; non2xx: number; total: number };
  raw: string;
}

/** wrk's "5.21ms", "812.00us", "1.02s" in milliseconds. */
function toMs(text: string | undefined): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "");
  if (!match) return Number.NaN;
  const value = Number(match[1]);
  const unit = match[2];
  return unit === "us" ? value / 1000 : unit === "ms" ? value : unit === "s" ? value * 1000 : value * 60_000;
}

export function parseWrk(raw: string): Omit<WrkResult, "url" | "threads" | "connections" | "durationSeconds"> {
  const latency = /Latency\s+(\S+)\s+(\S+)\s+(\S+)/.exec(raw);
  const percentile = (p: number) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(raw)?.[1]);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(raw)?.[1] ?? 0);
  const errors = {
    connect: Number(socket?.[1] ?? 0),
    read: Number(socket?.[2] ?? 0),
    write: Number(socket?.[3] ?? 0),
    timeout: Number(socket?.[4] ?? 0),
    non2xx,
    total: 0,
  };
  errors.total = errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx;
  return {
    requests: Number(/(\d+) requests in/.exec(raw)?.[1] ?? Number.NaN),
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(raw)?.[1] ?? Number.NaN),
    latencyMs: {
      avg: toMs(latency?.[1]),
      p50: percentile(50),
      p75: percentile(75),
      p90: percentile(90),
      p99: percentile(99),
      max: toMs(latency?.[3]),
    },
    errors,
    raw,
  };
}

/** One fixed-length wrk run against a loopback URL (never anything else). */
export async function runWrk(
  url: string,
  options: { threads: number; connections: number; durationSeconds: number },
): Promise<WrkResult> {
  if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) {
    throw new Error(`wrk only targets 127.0.0.1 here, not ${url}`);
  }
  const { threads, connections, durationSeconds } = options;
  const { stdout } = await run(
    "wrk",
    [`-t${threads}`, `-c${connections}`, `-d${durationSeconds}s`, "--timeout", "5s", "--latency", url],
    // wrk stops on its own after -d; the kill is a backstop.
    { timeoutMs: (durationSeconds + 30) * 1000 },
  );
  return { url, threads, connections, durationSeconds, ...parseWrk(stdout) };
}
