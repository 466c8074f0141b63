import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as provider from "@pulumi/pulumi/provider";
import { changedKeys, recordInputs, typeOf } from "./common";

/**
 * Stand-in for pulumi-resource-command 1.2.1: local:Command with create,
 * update, delete, environment, interpreter, dir and triggers.
 */

const VERSION = "1.2.1";
const LOCAL_COMMAND = "command:local:Command";
/** Changing these never re-runs anything, as in the official provider. */
const UPDATABLE = ["delete", "update", "logging", "addPreviousOutputInEnv"];

// biome-ignore lint/suspicious/noExplicitAny: engine property bags are untyped.
type Json = any;

function run(script: string, inputs: Json): Promise<{ stdout: string; stderr: string }> {
  const [program = "/bin/sh", ...args] = inputs.interpreter ?? ["/bin/sh", "-c"];
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...args, script], {
      cwd: inputs.dir || process.cwd(),
      env: { ...process.env, ...(inputs.environment ?? {}) },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.stdin.end(inputs.stdin ?? "");
    child.on("error", reject);
    child.on("close", (code) => {
      // The official provider trims one trailing newline from both streams.
      const trimmed = { stdout: stdout.replace(/\n$/, ""), stderr: stderr.replace(/\n$/, "") };
      if (code === 0) resolve(trimmed);
      else reject(new Error(`command exited with code ${code}: ${trimmed.stderr || trimmed.stdout}`));
    });
  });
}

const commandProvider: provider.Provider = {
  version: VERSION,
  async diff(_id, urn, olds, news) {
    if (typeOf(urn) !== LOCAL_COMMAND) throw new Error(`unsupported type ${typeOf(urn)}`);
    const changed = changedKeys(olds, news);
    const replaces = changed.filter((key) => !UPDATABLE.includes(key));
    return { changes: changed.length > 0, replaces };
  },
  async create(_urn, inputs) {
    const output = inputs.create ? await run(inputs.create, inputs) : { stdout: "", stderr: "" };
    return { id: randomBytes(8).toString("hex"), outs: recordInputs({ ...inputs, ...output }, inputs) };
  },
  async update(_id, _urn, olds, news) {
    const output = news.update ? await run(news.update, news) : { stdout: olds.stdout, stderr: olds.stderr };
    return { outs: recordInputs({ ...news, ...output }, news) };
  },
  async read(id, _urn, props) {
    return { id, props };
  },
  async delete(_id, _urn, props) {
    if (props.delete) await run(props.delete, props);
  },
};

provider.main(commandProvider, process.argv.slice(2));
