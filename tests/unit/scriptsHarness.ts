import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/**
 * Runs the project's bash scripts and functions from unit tests: in a
 * FLASK_BRIDGE_HOME of their own, with fake commands first on PATH, so they
 * touch no network beyond loopback and no real Docker engine.
 */

export const REPO_ROOT = path.resolve(__dirname, "..", "..");
export const SCRIPTS = path.join(REPO_ROOT, "scripts");

const made: string[] = [];

export function tmpDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `flask-bridge-${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeTmpDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** An executable `name` in `dir` running the bash `body`; every call appends its arguments to `dir`/`name`.calls. */
export function fakeCommand(dir: string, name: string, body: string): void {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/usr/bin/env bash\necho "$*" >>"${file}.calls"\n${body}\n`);
  fs.chmodSync(file, 0o755);
}

/**
 * A stand-in `ssh` that answers `ssh -G [-p PORT] [-l USER] [-o ProxyJump=J] HOST` as
 * ssh with an empty config would (hostname, port, proxyjump), so tests of the scripts never need an
 * ssh client or read the user's ~/.ssh/config; any other use fails as an
 * unreachable host would.
 */
export const FAKE_SSH = `
resolve=false port=22 host="" jump=""
while [ $# -gt 0 ]; do
  case "$1" in
    -G) resolve=true ;;
    -p) port="$2"; shift ;;
    -o) case "$2" in ProxyJump=*) jump="\${2#ProxyJump=}" ;; esac; shift ;;
    -l | -i | -F) shift ;;
    *) [ -z "$host" ] && host="$1" ;;
  esac
  shift
done
if $resolve; then
  printf 'hostname %s\\nport %s\\n' "$host" "$port"
  [ -n "$jump" ] && printf 'proxyjump %s\\n' "$jump"
  exit 0
fi
echo "ssh: connect to host $host port $port: Connection refused" >&2
exit 255`;

/** The argument lines a fake command was called with, in order. */
export function callsOf(dir: string, name: string): string[] {
  const file = path.join(dir, `${name}.calls`);
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

/**
 * The environment of a fresh shell: PATH (with `fakes` first), HOME and a
 * FLASK_BRIDGE_HOME of their own, and none of the caller's Docker or Pulumi settings.
 */
export function cleanEnv(fakes: string, extra: Record<string, string> = {}): Record<string, string> {
  const home = tmpDir("home");
  const dockerConfig = tmpDir("docker-config");
  return {
    PATH: `${fakes}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    HOME: home,
    FLASK_BRIDGE_HOME: path.join(home, ".flask-bridge"),
    DOCKER_CONFIG: dockerConfig,
    LANG: "C.UTF-8",
    ...extra,
  };
}

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stderr then stdout, line by line, without setup's "[setup HH:MM:SS] " stamp. */
  lines: string[];
  stdout: string;
  ms: number;
}

/**
 * bash ARGS to its end, asynchronously, so a server in this process keeps
 * answering; killed after timeoutMs.
 */
export function runBash(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
  cwd = REPO_ROOT,
): Promise<Ran> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn("bash", args, { cwd, env, timeout: timeoutMs, killSignal: "SIGKILL" });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout,
        ms: Date.now() - start,
        lines: `${stderr}${stdout}`
          .split("\n")
          .filter((line) => line !== "")
          .map((line) => line.replace(/^\[setup \d\d:\d\d:\d\d\] /, "")),
      }),
    );
  });
}

/** A bash snippet run after sourcing lib/common.sh and the given libraries of scripts/lib. */
export function runFunctions(
  snippet: string,
  env: Record<string, string>,
  libs: string[] = [],
  timeoutMs = 30_000,
): Promise<Ran> {
  const sources = ["common.sh", ...libs].map((lib) => `source "${path.join(SCRIPTS, "lib", lib)}"`).join("\n");
  return runBash(["-c", `${sources}\n${snippet}`], env, timeoutMs);
}
