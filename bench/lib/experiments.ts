import { removeLabelled, runHardened } from "./containers";
import { DockerEventLog } from "./project";
import { cpuTimes, log, median, run, sleep, waitForApps } from "./util";
import type { WrkResult } from "./wrk";

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
      const polls: Promise<void>[] = [];
      for (const [i, name] of names.entries()) {
        // The stack's own container settings, with the health interval under test.
        runHardened({
          name,
          label,
          port: 27101 + i,
          image,
          env: ["PORT=5000", "HOST=0.0.0.0"],
          locked: true,
          health: { cmd: "bash /app/healthcheck.sh", interval, timeout: "2s", startPeriod: "10s", retries: "3" },
        });
        started[name] = Date.now();
        // Polled from its own start on, while the next ones are started.
        polls.push(
          waitForApps([`http://127.0.0.1:${27101 + i}/`], 30_000).then(() => {
            answered[name] = Date.now();
          }),
        );
      }
      await Promise.all(polls);
      const deadline = Date.now() + 30_000;
      while (names.some((name) => events.first("health_status: healthy", name) === undefined)) {
        if (Date.now() > deadline) throw new Error(`interval ${interval}: not all healthy within 30 s`);
        await sleep(100);
      }
    } finally {
      await events.stop();
      removeLabelled(label);
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

/**
 * How long removing one of our containers takes: `docker stop` (SIGTERM,
 * gunicorn's graceful shutdown, up to 10 s) then `docker rm`, as the stand-in
 * provider's delete does, vs `docker rm -f` (SIGKILL), as the tutorial does.
 * 4 containers each, one after the other.
 */
export async function stopVersusKill(image: string): Promise<{ stopThenRemove: number; forceRemove: number }> {
  const label = "flask-bridge.bench=experiment";
  const names = Array.from({ length: 8 }, (_, i) => `bench-stop-${i + 1}`);
  const stopTimes: number[] = [];
  const killTimes: number[] = [];
  try {
    for (const [i, name] of names.entries()) {
      runHardened({ name, label, port: 27101 + i, image });
    }
    await waitForApps(
      names.map((_, i) => `http://127.0.0.1:${27101 + i}/`),
      30_000,
    );
    for (const [i, name] of names.entries()) {
      if (i % 2 === 0) {
        stopTimes.push(
          (await run("sh", ["-c", `docker stop -t 10 ${name} >/dev/null && docker rm ${name} >/dev/null`])).seconds,
        );
      } else {
        killTimes.push((await run("docker", ["rm", "-f", name])).seconds);
      }
    }
  } finally {
    removeLabelled(label);
  }
  return { stopThenRemove: median(stopTimes), forceRemove: median(killTimes) };
}

/**
 * One container of this project's image alone on the bridge, under wrk:
 * gunicorn's sync workers (which close the connection after every response)
 * vs gthread workers (keep-alive), set through GUNICORN_CMD_ARGS, which
 * gunicorn applies on top of app/gunicorn.conf.py.
 */
export async function workerClassExperiment(
  image: string,
  wrk: (url: string) => Promise<WrkResult>,
): Promise<{ workers: string; result: WrkResult }[]> {
  const label = "flask-bridge.bench=experiment";
  // GUNICORN_CMD_ARGS overrides app/gunicorn.conf.py, whatever that file sets.
  const variants: [string, string][] = [
    ["sync, 2 workers", "--worker-class sync --workers 2"],
    ["gthread, 2 workers × 4 threads", "--worker-class gthread --workers 2 --threads 4"],
  ];
  const rows: { workers: string; result: WrkResult }[] = [];
  for (const [workers, args] of variants) {
    const name = "bench-workers";
    try {
      runHardened({ name, label, port: 27101, image, env: [`GUNICORN_CMD_ARGS=${args}`] });
      await waitForApps(["http://127.0.0.1:27101/"], 30_000);
      const result = await wrk("http://127.0.0.1:27101/");
      rows.push({ workers, result });
      log(
        `  ${workers}: ${result.requestsPerSecond} req/s, p99 ${result.latencyMs.p99} ms, errors ${result.errors.total}`,
      );
    } finally {
      removeLabelled(label);
    }
    await sleep(1000);
  }
  return rows;
}
