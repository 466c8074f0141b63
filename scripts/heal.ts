/**
 * scripts/pulumi.sh runs this before `up` and `preview`:
 *   node --require tsx/cjs scripts/heal.ts up|preview STACK [PULUMI ARGS...]
 * It heals what an interrupted run or a forgetful machine left
 * (src/machine/heal.ts says what), says each thing it does in one line on
 * stderr, and prints the extra pulumi arguments on stdout, one per line.
 * Quiet when there is nothing to heal. Exit 1 with one line when the engine
 * or the state cannot be read.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  command,
  HealError,
  PULUMI_TIMEOUT_MS,
  pulumiAlive,
  REMOVE_TIMEOUT_MS,
  readEngine,
  readLocks,
  readState,
  removeLock,
  removeServices,
} from "../src/machine/healIo";
import { heal } from "../src/machine/healStep";
import { dockerEnv, type Engine } from "../src/plan/engine";
import { ConfigError } from "../src/plan/errors";
import { PROJECT_DIR } from "../src/projectDir";
import { StackConfigError, stackEngine, stackSwarm } from "./stack-config";

const PROJECT = "flask-bridge";

/** The stack's engine, once resolved: its docker commands go there, and errors name it. */
let engine: Engine | undefined;

function say(line: string): void {
  const time = new Date().toTimeString().slice(0, 8);
  process.stderr.write(`[heal ${time}] ${line}\n`);
}

async function main(): Promise<void> {
  const [mode, stack, ...userArgs] = process.argv.slice(2);
  if ((mode !== "up" && mode !== "preview") || !stack) {
    throw new HealError("usage: scripts/heal.ts up|preview STACK [PULUMI ARGS...]");
  }
  // The program's own resolver, with the stack's docker:host: the engine its run will use.
  let swarmConfigured: boolean;
  try {
    engine = stackEngine(PROJECT_DIR, stack, process.env);
    swarmConfigured = stackSwarm(PROJECT_DIR, stack);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof StackConfigError) throw new HealError(error.message);
    throw error;
  }
  const env = { ...process.env, ...dockerEnv(engine) };
  const logDir = env.FB_LOG_DIR ?? path.join(os.homedir(), ".flask-bridge", "logs");
  const start = Date.now();
  const result = await heal(mode, userArgs, {
    readState: async () => (await readState(stack, PROJECT, env)).state,
    readLocks: () => readLocks(stack, PROJECT, env),
    // Services and volumes are listed only where the stack has a swarm part: in its
    // state, or, after a killed first swarm up that left the state empty, in its config
    // (a file read, where asking the engine whether it is a swarm manager costs a docker run).
    readEngine: (ids, swarmInState) => readEngine(stack, ids, env, swarmInState || swarmConfigured),
    alive: pulumiAlive,
    hostname: os.hostname(),
    removeLock,
    clearPending: async () => {
      const log = path.join(logDir, `heal-${stack}.log`);
      try {
        const out = await command(
          "pulumi",
          ["refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates", "--stack", stack],
          PULUMI_TIMEOUT_MS,
          env,
        );
        fs.writeFileSync(log, out);
      } catch (error) {
        throw new HealError(`${(error as Error).message} (its output: ${log})`);
      }
    },
    removeContainers: async (ids) => {
      await command("docker", ["rm", "-f", ...ids], REMOVE_TIMEOUT_MS, env);
    },
    removeNetworks: async (ids) => {
      await command("docker", ["network", "rm", ...ids], REMOVE_TIMEOUT_MS, env);
    },
    removeServices: (services) => removeServices(services, env),
    removeVolumes: async (names) => {
      await command("docker", ["volume", "rm", ...names], REMOVE_TIMEOUT_MS, env);
    },
    say,
  });
  for (const arg of result.args) process.stdout.write(`${arg}\n`);
  if (env.FB_HEAL_TIMING === "1") say(`heal step took ${Date.now() - start} ms`);
}

main().catch((error: Error) => {
  const where = engine ? ` (engine ${engine.url})` : "";
  const message = error instanceof HealError ? error.message : `${error.name}: ${error.message}`;
  process.stderr.write(`[heal] ERROR: could not check the stack before running pulumi${where}: ${message}\n`);
  process.exit(1);
});
