/**
 * Which engine a stack runs on, for the shell scripts: the program's own
 * resolver (src/machine/engine.ts), with docker:host read from the stack's
 * Pulumi.<stack>.yaml as Pulumi would give it to the program. Prints the
 * variables a docker CLI needs, one NAME=value a line; on a bad name, one
 * line naming it and exit 1.
 *   npx tsx scripts/engine.ts [stack]      (default: $FB_STACK, else dev)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { resolveEngine } from "../src/machine/engine";
import { dockerEnv } from "../src/plan/engine";
import { ConfigError } from "../src/plan/errors";

/** docker:host from a stack file's text; undefined when it sets none. */
export function stackDockerHost(text: string, file: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = yaml.load(text);
  } catch (error) {
    throw new ConfigError(`${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
  }
  const config = (parsed as { config?: Record<string, unknown> } | null)?.config ?? {};
  const host = config["docker:host"];
  return typeof host === "string" && host !== "" ? host : undefined;
}

function main(): void {
  const stack = process.argv[2] ?? (process.env.FB_STACK || "dev");
  const file = path.join(__dirname, "..", `Pulumi.${stack}.yaml`);
  try {
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const engine = resolveEngine({ env: process.env, dockerConfigHost: stackDockerHost(text, path.basename(file)) });
    for (const [name, value] of Object.entries(dockerEnv(engine))) process.stdout.write(`${name}=${value}\n`);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`ERROR: ${error.message}\n`);
    process.exit(1);
  }
}

if (require.main === module) main();
