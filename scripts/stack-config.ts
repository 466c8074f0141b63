/**
 * What the shell scripts need of a stack's config, read as Pulumi reads it,
 * NAME=value a line (scripts/env.sh exports them), in one node start:
 *   node --require tsx/cjs scripts/stack-config.ts env STACK [ROOT]
 * - the engine, by the program's own resolver (src/machine/engine.ts) with the
 *   stack's docker:host: the variables a docker CLI needs;
 * - FB_CONFIGURED_BASE_IMAGE, the base image setup prepares:
 *   `flask-bridge:baseImage` in ROOT/Pulumi.<STACK>.yaml, else the default in
 *   ROOT/Pulumi.yaml (the one place it is written);
 * - FB_PINNED_CLI, FB_PINNED_DOCKER and FB_PINNED_COMMAND, the versions of
 *   @pulumi/pulumi and of the two plugins that node_modules pins (setup
 *   installs that CLI and those plugins); empty while a package is missing.
 * ROOT defaults to the working directory. setup reads these before Pulumi runs,
 * so a file Pulumi would refuse, or an engine named wrong, stops setup here:
 * one line on stderr naming the file or name and the cause, and exit status 1.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { resolveEngine } from "../src/machine/engine";
import { dockerEnv, type Engine } from "../src/plan/engine";
import { ConfigError } from "../src/plan/errors";

const KEY = "flask-bridge:baseImage";
const ORCHESTRATOR = "flask-bridge:orchestrator";

/** A config file setup cannot use; its message names the file and the cause, in one line. */
export class StackConfigError extends Error {}

function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : file;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The YAML document in `file`, or null when there is no such file. */
function load(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new StackConfigError(`${shown(file)} cannot be read: ${oneLine((error as Error).message ?? String(error))}`);
  }
  try {
    return yaml.load(text, { filename: file });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const where = error.mark ? ` (line ${error.mark.line + 1}, column ${error.mark.column + 1})` : "";
      throw new StackConfigError(`${shown(file)} is not valid YAML: ${oneLine(error.reason)}${where}`);
    }
    throw error;
  }
}

/** `config:` of a project or stack file: a mapping, or absent. */
function configOf(file: string, document: unknown): Record<string, unknown> {
  if (document === null || document === undefined) return {};
  if (!isMapping(document)) throw new StackConfigError(`${shown(file)} is not a YAML mapping`);
  const config = document.config;
  if (config === undefined || config === null) return {};
  if (!isMapping(config)) throw new StackConfigError(`${shown(file)}: config is not a mapping`);
  return config;
}

function imageName(file: string, where: string, value: unknown): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw new StackConfigError(`${shown(file)}: ${where} is ${JSON.stringify(value) ?? "missing"}, not an image name`);
  }
  return value;
}

function checkStackName(stack: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stack)) {
    throw new StackConfigError(`"${stack}" is not a stack name (letters, digits, ".", "_", "-")`);
  }
}

export function configuredBaseImage(root: string, stack: string): string {
  checkStackName(stack);
  const projectFile = path.join(root, "Pulumi.yaml");
  const project = load(projectFile);
  if (project === null) throw new StackConfigError(`${shown(projectFile)} does not exist`);
  const declared = configOf(projectFile, project).baseImage;
  const fallback = imageName(
    projectFile,
    "config.baseImage.default",
    isMapping(declared) ? declared.default : undefined,
  );

  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  const config = configOf(stackFile, load(stackFile));
  return KEY in config ? imageName(stackFile, KEY, config[KEY]) : fallback;
}

/** The stack's `docker:host`, when its file sets one. */
export function stackDockerHost(root: string, stack: string): string | undefined {
  checkStackName(stack);
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  const host = configOf(stackFile, load(stackFile))["docker:host"];
  if (host === undefined || host === null || host === "") return undefined;
  if (typeof host !== "string") throw new StackConfigError(`${shown(stackFile)}: docker:host is not a string`);
  return host;
}

/**
 * Whether the stack runs in swarm mode: its `flask-bridge:orchestrator`, else
 * Pulumi.yaml's default. Only "swarm" says yes; the program itself refuses a
 * value that is neither mode.
 */
export function stackSwarm(root: string, stack: string): boolean {
  checkStackName(stack);
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  const config = configOf(stackFile, load(stackFile));
  if (ORCHESTRATOR in config) return config[ORCHESTRATOR] === "swarm";
  const projectFile = path.join(root, "Pulumi.yaml");
  const declared = configOf(projectFile, load(projectFile)).orchestrator;
  return isMapping(declared) && declared.default === "swarm";
}

/** The stack's engine, as the program resolves it. */
export function stackEngine(root: string, stack: string, env: NodeJS.ProcessEnv): Engine {
  return resolveEngine({ env, dockerConfigHost: stackDockerHost(root, stack) });
}

/** A package's package.json in ROOT/node_modules, or undefined before `npm ci` installed it. */
function installed(root: string, name: string): { version?: unknown; pulumi?: { version?: unknown } } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, "node_modules", name, "package.json"), "utf8"));
  } catch {
    return undefined;
  }
}

/** The CLI and plugin versions node_modules pins; "" for a package not installed. */
export function pinnedVersions(root: string): Record<string, string> {
  const text = (value: unknown): string => (typeof value === "string" ? value : "");
  return {
    FB_PINNED_CLI: text(installed(root, "@pulumi/pulumi")?.version),
    FB_PINNED_DOCKER: text(installed(root, "@pulumi/docker")?.pulumi?.version),
    FB_PINNED_COMMAND: text(installed(root, "@pulumi/command")?.pulumi?.version),
  };
}

/** What scripts/env.sh exports, NAME=value a line. */
export function envLines(root: string, stack: string, env: NodeJS.ProcessEnv): string {
  const variables = {
    ...dockerEnv(stackEngine(root, stack, env)),
    FB_CONFIGURED_BASE_IMAGE: configuredBaseImage(root, stack),
    ...pinnedVersions(root),
  };
  return Object.entries(variables)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("");
}

const USAGE = "usage: node --require tsx/cjs scripts/stack-config.ts env STACK [ROOT]";

export function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): number {
  const [what, stack, root = process.cwd(), ...rest] = argv;
  if (what !== "env" || stack === undefined || rest.length > 0) {
    process.stderr.write(`ERROR: ${USAGE}\n`);
    return 2;
  }
  try {
    process.stdout.write(envLines(path.resolve(root), stack, env));
    return 0;
  } catch (error) {
    const message =
      error instanceof StackConfigError || error instanceof ConfigError ? error.message : oneLine(String(error));
    process.stderr.write(`ERROR: ${message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
