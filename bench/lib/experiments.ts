import { docker, dockerLines } from "../../tests/e2e/harness";
import { DockerEventLog } from "./project";
import { cpuTimes, log, median, sleep, waitForApps } from "./util";

/** CPU busy (both cores, percent) over a few idle seconds with a topology up. */
export async function idleCpu(secondsToWait: number): Promise<number> {
  const before = cpuTimes();
  await sleep(secondsToWait * 1000);
  const after = cpuTimes();
  return (100 * (after.busy - before.busy)) / (after.total - before.total);
}

/** How long after `docker run` an app answers, and Docker calls it healthy, per health interval. */
export async function healthIntervalExperiment(
  image: string,
  intervals: string[],
): Promise<{ interval: string; toAnswer: number; toHealthy: number }[]> {
  const label = "flask-bridge.bench=experiment";
  const rows: { interval: string; toAnswer: number; toHealthy: number }[] = [];
  for (const interval of intervals) {
    const events = new DockerEventLog(label);
    await sleep(200);
    const started: Record<string, number> = {};
    const answered: Record<string, number> = {};
    const names = Array.from({ length: 8 }, (_, i) => `bench-hc-${i + 1}`);
    try {
      for (const [i, name] of names.entries()) {
        // The stack's own container settings, with the health interval under test.
        docker(
          "run",
          "-d",
          "--name",
          name,
          "--label",
          label,
          "-p",
          `127.0.0.1:${27101 + i}:5000`,
          "-e",
          "PORT=5000",
          "-e",
          "HOST=0.0.0.0",
          "--user",
          "10001:10001",
          "--read-only",
          "--tmpfs",
          "/tmp:rw,noexec,nosuid,size=16m",
          "--cap-drop",
          "ALL",
          "--security-opt",
          "no-new-privileges:true",
          "--health-cmd",
          "python3 /app/healthcheck.py",
          "--health-interval",
          interval,
          "--health-timeout",
          "2s",
          "--health-start-period",
          "10s",
          "--health-retries",
          "3",
          image,
        );
        started[name] = Date.now();
      }
      await Promise.all(
        names.map(async (name, i) => {
          await waitForApps([`http://127.0.0.1:${27101 + i}/`], 30_000);
          answered[name] = Date.now();
        }),
      );
      const deadline = Date.now() + 30_000;
      while (names.some((name) => events.first("health_status: healthy", name) === undefined)) {
        if (Date.now() > deadline) throw new Error(`interval ${interval}: not all healthy within 30 s`);
        await sleep(100);
      }
    } finally {
      await events.stop();
      const left = dockerLines("ps", "-aq", "--filter", `label=${label}`);
      if (left.length > 0) docker("rm", "-f", ...left);
    }
    // From Docker's own start event, so the `docker run` client time is left out.
    const fromStart = (name: string, at: number | undefined) =>
      ((at ?? Number.NaN) - (events.first("start", name) ?? started[name] ?? Number.NaN)) / 1000;
    rows.push({
      interval,
      toAnswer: median(names.map((name) => fromStart(name, answered[name]))),
      toHealthy: median(names.map((name) => fromStart(name, events.first("health_status: healthy", name)))),
    });
    log(`  health interval ${interval}: ${JSON.stringify(rows[rows.length - 1])}`);
    await sleep(1000);
  }
  return rows;
}
