import * as fs from "node:fs";

const TICK = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

function selfAndWaited(pid: number | string): { self: number; waited: number } {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { self: (Number(f[11]) + Number(f[12])) / TICK, waited: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return { self: 0, waited: 0 };
  }
}

/**
 * CPU-seconds the host's Docker daemons have used so far: dockerd (its pid
 * file) and the containerd it started. Docker-in-docker daemons of others are
 * not these.
 */
export function daemonsCpu(): number {
  const dockerd = fs.readFileSync("/var/run/docker.pid", "utf8").trim();
  let total = selfAndWaited(dockerd).self;
  try {
    for (const child of fs.readFileSync(`/proc/${dockerd}/task/${dockerd}/children`, "utf8").trim().split(/\s+/)) {
      if (child !== "") total += selfAndWaited(child).self;
    }
  } catch {
    // no children
  }
  return total;
}

/**
 * CPU-seconds a set of running containers have used: their cgroups (the apps,
 * healthchecks, execs) and their containerd shims (with the runc calls they waited for).
 */
export function containersCpu(ids: string[]): number {
  let total = 0;
  const wanted = new Set(ids);
  for (const id of ids) {
    try {
      total += Number(fs.readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, "utf8")) / 1e9;
    } catch {
      // cgroup v2 or gone
    }
  }
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmdline.startsWith("/usr/bin/containerd-shim")) continue;
    const id = /\0-id\0([0-9a-f]{64})/.exec(cmdline)?.[1];
    if (id && wanted.has(id)) {
      const { self, waited } = selfAndWaited(pid);
      total += self + waited;
    }
  }
  return total;
}

/**
 * CPU-seconds of one operation that are ours to count: the tool's own process
 * tree (from /usr/bin/time), the host's Docker daemons over the operation, and
 * the containers it started (until they all answer). Others' load on the
 * machine stays out, except what they ask of the same dockerd meanwhile.
 */
export class AttributedCpu {
  private readonly daemons = daemonsCpu();
  stop(toolCpu: number, containerIds: string[] = []): number {
    return Math.round((toolCpu + daemonsCpu() - this.daemons + containersCpu(containerIds)) * 1000) / 1000;
  }
}

/** Busy and total jiffies of the whole machine (all CPUs), from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const values = (fs.readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** CPUs busy on average over a short window (the machine's load from everything). */
export async function busyRate(ms: number): Promise<number> {
  const before = machineTicks();
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = machineTicks();
  return (after.busy - before.busy) / TICK / ((Date.now() - t0) / 1000);
}

/** What a process of a Pulumi run is, from its command line. */
const PARTS = [
  "cli",
  "language host",
  "policy pack",
  "program",
  "docker provider",
  "command provider",
  "probes",
  "other",
] as const;
export type Part = (typeof PARTS)[number];

function zeroPerPart(): Record<Part, number> {
  return Object.fromEntries(PARTS.map((part) => [part, 0])) as Record<Part, number>;
}

function classify(cmdline: string): Part {
  if (cmdline.includes("run-policy-pack")) return "policy pack";
  if (cmdline.includes("cmd/run/index.js") || cmdline.includes("cmd/run ")) return "program";
  if (cmdline.includes("pulumi-language-nodejs")) return "language host";
  if (cmdline.includes("pulumi-resource-docker")) return "docker provider";
  if (cmdline.includes("pulumi-resource-command")) return "command provider";
  if (/(^|\/)pulumi\s/.test(cmdline) || cmdline.startsWith("pulumi")) return "cli";
  return "other";
}

interface Seen {
  part: Part;
  firstSeen: number;
  /** utime + stime, seconds */
  self: number;
  /** cutime + cstime: children it waited for (the command provider's are the probes) */
  children: number;
  /** Peak resident memory so far, MB (VmHWM), as of the last poll */
  peakMb: number;
}

/** A process's peak resident memory so far, MB, from /proc/<pid>/status; 0 once it is gone. */
function peakMb(pid: number): number {
  try {
    const line = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return line ? Number(line[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Follows a process tree every 40 ms through /proc/<pid>/task/<pid>/children:
 * when each part of a Pulumi run started (ms since the epoch) and the
 * CPU-seconds each part used. Processes shorter than a poll are counted in
 * their parent's waited-for children (the probes: the command provider's).
 */
export class ProcessTree {
  private readonly seen = new Map<number, Seen>();
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly root: number) {
    this.timer = setInterval(() => this.sample(), 40);
    this.sample();
  }

  private sample(): void {
    const now = Date.now();
    const stack = [this.root];
    while (stack.length > 0) {
      const pid = stack.pop() as number;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue;
      }
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      let entry = this.seen.get(pid);
      // Read again while "other": `bash scripts/pulumi.sh` becomes the CLI when it execs it.
      if (!entry || entry.part === "other") {
        let cmdline = "";
        try {
          cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
        } catch {
          // gone
        }
        let part = classify(cmdline);
        // A probe (a child of the command provider) is counted there, as waited-for CPU.
        if (part === "other") {
          const parent = this.seen.get(Number(fields[1]));
          if (parent?.part === "command provider" || parent?.part === "probes") part = "probes";
        }
        if (entry) entry.part = part;
        else {
          entry = { part, firstSeen: now, self: 0, children: 0, peakMb: 0 };
          this.seen.set(pid, entry);
        }
      }
      entry.self = (Number(fields[11]) + Number(fields[12])) / TICK;
      entry.children = (Number(fields[13]) + Number(fields[14])) / TICK;
      entry.peakMb = Math.max(entry.peakMb, peakMb(pid));
      // A Go program (the CLI, the plugins) forks from any of its threads.
      try {
        for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
          for (const child of fs.readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim().split(/\s+/)) {
            if (child !== "") stack.push(Number(child));
          }
        }
      } catch {
        // gone
      }
    }
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }

  /** First time a process of that part was seen (ms since the epoch). */
  started(part: Part): number | undefined {
    const times = [...this.seen.values()].filter((e) => e.part === part).map((e) => e.firstSeen);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /** Peak resident memory per part, MB: its largest process (a probe shorter than a poll is missed). */
  memory(): Record<Part, number> {
    const out = zeroPerPart();
    for (const entry of this.seen.values()) out[entry.part] = Math.max(out[entry.part], Math.round(entry.peakMb));
    return out;
  }

  /** CPU-seconds per part; probes include what the command provider waited for. */
  cpu(): Record<Part, number> {
    const out = zeroPerPart();
    for (const entry of this.seen.values()) {
      out[entry.part] += entry.self;
      if (entry.part === "command provider") out.probes += entry.children;
    }
    // A probe seen alive is also in its provider's children once it exits: count it once.
    const aliveProbes = [...this.seen.values()].filter((e) => e.part === "probes");
    if (aliveProbes.length > 0) {
      const provider = [...this.seen.values()].filter((e) => e.part === "command provider");
      const waited = provider.reduce((a, e) => a + e.children, 0);
      const seenSelf = aliveProbes.reduce((a, e) => a + e.self, 0);
      out.probes = Math.max(waited, seenSelf);
    }
    for (const key of Object.keys(out) as Part[]) out[key] = Math.round(out[key] * 100) / 100;
    return out;
  }
}
