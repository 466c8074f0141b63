import { runAsEntry } from "./entry";
import { messageOf, waitForPage } from "./http";

/**
 * Waits until the swarm's own registry answers its API root (GET /v2/ is 200
 * on a registry with no login), so the push that follows does not race the
 * task's start. Bounded; the failure is one line naming the service, the URL
 * and the last cause. Reads REGISTRY_URL, SERVICE and PROBE_TIMEOUT_SECONDS.
 */

/** Pace between tries: a registry starts in well under a second once its task runs. */
const PACE_MS = 500;
const TRY_LIMIT_MS = 5_000;

export async function main(
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  err: (text: string) => void,
  now: () => number = Date.now,
): Promise<number> {
  const url = env.REGISTRY_URL ?? "";
  const service = env.SERVICE ?? "the registry";
  const timeoutSeconds = Number(env.PROBE_TIMEOUT_SECONDS);
  if (!/^http:\/\/[^/]+\/v2\/$/.test(url) || !Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
    err(
      `registry probe: needs REGISTRY_URL (http://host:port/v2/) and PROBE_TIMEOUT_SECONDS, not "${url}" and "${env.PROBE_TIMEOUT_SECONDS ?? ""}"\n`,
    );
    return 2;
  }
  const start = now();
  try {
    const result = await waitForPage(url, start + timeoutSeconds * 1000, {
      paceMs: PACE_MS,
      tryLimitMs: TRY_LIMIT_MS,
      tryFloorMs: 1_000,
      now,
    });
    if (result.ok) {
      out(`${url}\n`);
      return 0;
    }
    err(
      `the swarm's registry ${service} did not answer at ${url} within ${timeoutSeconds} s (last try: ${result.cause})\n`,
    );
  } catch (error) {
    err(`registry probe: ${messageOf(error)}\n`);
  }
  return 1;
}

runAsEntry(module, main);
