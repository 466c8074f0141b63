import * as http from "node:http";

/**
 * What the probes share: one HTTP exchange with a hard limit, a bounded wait
 * built from those, and docker CLI calls with a hard limit. Node's own client;
 * nothing here imports the rest of the project, so a probe starts in ~0.1 s.
 */

/** More than the app's page ever is: a probe keeps what it saw, not a download. */
const MAX_BODY_BYTES = 64 * 1024;

export interface Answer {
  /** The HTTP status; null when no response came. */
  status: number | null;
  /** The page, newlines and all; "" without a 200. */
  body: string;
  /** Why it was no answer, for the error a person reads ("connection refused", "status 503"); "" for a 200. */
  cause: string;
}

/** An error's message (duck-typed: an error from another realm is no `instanceof Error` here). */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : String(error);
}

/** A Node error as a few words. */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ECONNRESET":
      return "connection reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to host";
    default:
      break;
  }
  const message = messageOf(error);
  // What Node says of a connection closed before any response.
  if (message === "socket hang up") return "connection closed without an answer";
  return (message.split("\n")[0] ?? "").trim() || "no answer";
}

/**
 * One GET on a connection of its own, whole within `limitMs`. No keep-alive
 * pool: a pooled socket to a container that went away stalled a probe, and
 * docker-proxy accepts and then closes or resets while the app behind it is not
 * listening yet, which must read as "not yet", never hang or throw.
 */
export function ask(url: string, limitMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false;
    let request: http.ClientRequest | undefined;
    const settle = (answer: Answer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      request?.destroy();
      resolve(answer);
    };
    // A connect to a firewall that drops packets hangs past any deadline: this ends it.
    const limit = setTimeout(
      () => settle({ status: null, body: "", cause: `no answer within ${seconds(limitMs)} s` }),
      limitMs,
    );
    try {
      request = http.get(url, { agent: false }, (response) => {
        const status = response.statusCode ?? null;
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          if (size < MAX_BODY_BYTES) chunks.push(chunk);
          size += chunk.length;
        });
        response.on("end", () => {
          if (status === 200) {
            settle({ status, body: Buffer.concat(chunks).toString("utf8").slice(0, MAX_BODY_BYTES), cause: "" });
          } else {
            settle({ status, body: "", cause: `status ${status}` });
          }
        });
        response.on("error", (error) => settle({ status, body: "", cause: describeError(error) }));
        response.on("aborted", () => settle({ status, body: "", cause: "connection closed mid-answer" }));
      });
      request.on("error", (error) => settle({ status: null, body: "", cause: describeError(error) }));
    } catch (error) {
      // A URL Node refuses (no such scheme, no host).
      settle({ status: null, body: "", cause: describeError(error) });
    }
  });
}

/** Milliseconds as seconds for a message: "2", "0.5". */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

export interface WaitOptions {
  /** Time between tries. */
  paceMs: number;
  /** Hard limit of one try. */
  tryLimitMs: number;
  /** The shortest limit a try gets, even right at the deadline (so a last try can still succeed). */
  tryFloorMs: number;
  now?: () => number;
}

export type Waited<T> = { ok: true; value: T } | { ok: false; cause: string };

/**
 * Tries until one succeeds or `deadline` (ms since the epoch) passes, at least
 * once. Each try gets min(tryLimitMs, time left) but at least tryFloorMs, so the
 * whole wait ends by deadline + tryFloorMs.
 */
export async function waitUntil<T>(
  attempt: (limitMs: number) => Promise<Waited<T>>,
  deadline: number,
  options: WaitOptions,
): Promise<Waited<T>> {
  const now = options.now ?? Date.now;
  for (;;) {
    const left = deadline - now();
    const result = await attempt(Math.min(options.tryLimitMs, Math.max(left, options.tryFloorMs)));
    if (result.ok) return result;
    const leftAfter = deadline - now();
    if (leftAfter <= 0) return result;
    await sleep(Math.min(options.paceMs, leftAfter));
  }
}

/** Until `url` answers 200 (its page) or the deadline passes (the last cause). */
export function waitForPage(url: string, deadline: number, options: WaitOptions): Promise<Waited<string>> {
  return waitUntil(
    async (limitMs) => {
      const answer = await ask(url, limitMs);
      return answer.status === 200 ? { ok: true, value: answer.body } : { ok: false, cause: answer.cause };
    },
    deadline,
    options,
  );
}
