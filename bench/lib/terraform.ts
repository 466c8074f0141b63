import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT, removeLeftovers } from "../../tests/e2e/harness";
import type { Tool } from "./tools";
import { type RunResult, run } from "./util";

/** The peer a user would pick instead of this project: Terraform with the kreuzwerker/docker provider. */
export const TERRAFORM_PORT = 28000;
/** The flask-bridge.stack label of its containers and network (its image is the Pulumi stack's own). */
export const TERRAFORM_STACK = "bench-terraform";
export const TERRAFORM_PROVIDER = "kreuzwerker/docker 4.2.0";
const CONFIG = path.join(REPO_ROOT, "bench", "terraform", "main.tf");

/** A tool the bench needs is not installed: its message is the whole story (no stack trace). */
export class MissingPrerequisite extends Error {}

/** Without prompts, colour or the version check (no traffic but to the engine). */
const TF_ENV = { CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1", TF_INPUT: "0" };

export interface TerraformPeer extends Tool {
  /** `terraform plan` on the applied configuration; fails unless it finds no changes. */
  preview(containers: number): Promise<RunResult>;
  /** "Terraform v1.11.4, kreuzwerker/docker 4.2.0" */
  version: string;
  /** Destroys what it holds and removes its working directory. */
  remove(): Promise<void>;
}

/** Terraform's own summary line ("Error: Failed to query available provider packages") from a failed run(). */
function firstError(error: unknown): string {
  // run()'s first line is the command line; Terraform's output follows.
  const lines = String(error instanceof Error ? error.message : error)
    .split("\n")
    .slice(1)
    .map((line) => line.replace(/^[│╷╵\s]+/, "").trim())
    .filter((line) => line !== "");
  return lines.find((line) => line.startsWith("Error:")) ?? lines.slice(-1)[0] ?? "no output";
}

/**
 * The Terraform peer: bench/terraform/main.tf copied into a working directory
 * of its own (state, .terraform and the lock file stay out of the repo) and
 * `terraform init` there, which only finds a provider the user's CLI config
 * already points at (a filesystem mirror or a plugin directory). Throws one
 * line naming what is missing when Terraform or the provider is not there.
 */
export async function terraformPeer(logFile: string, signal: AbortSignal): Promise<TerraformPeer> {
  let version: string;
  try {
    version = JSON.parse(execFileSync("terraform", ["version", "-json"], { encoding: "utf8", env: envFor() }))
      .terraform_version as string;
  } catch {
    throw new MissingPrerequisite(
      "Terraform is missing: `terraform` is not on PATH (the bench's Terraform peer needs it)",
    );
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "flask-bridge-bench-terraform-"));
  fs.copyFileSync(CONFIG, path.join(workDir, "main.tf"));
  const terraform = async (args: string[], timeoutMs = 10 * 60 * 1000): Promise<RunResult> => {
    fs.appendFileSync(logFile, `\n=== terraform ${args.join(" ")} ${new Date().toISOString()}\n`);
    try {
      const result = await run("terraform", [`-chdir=${workDir}`, ...args, "-no-color"], {
        env: envFor(),
        signal,
        timeoutMs,
      });
      fs.appendFileSync(logFile, `${result.stdout}${result.stderr}`);
      return result;
    } catch (error) {
      fs.appendFileSync(logFile, `${String(error)}\n`);
      throw error;
    }
  };
  const vars = (containers: number) => {
    fs.writeFileSync(
      path.join(workDir, "terraform.tfvars.json"),
      JSON.stringify({
        containers,
        port_base: TERRAFORM_PORT,
        app_dir: path.join(REPO_ROOT, "app"),
        base_image: process.env.FLASK_BRIDGE_BASE_IMAGE || "python:3.11-slim",
        stack: TERRAFORM_STACK,
      }),
    );
  };
  try {
    await terraform(["init", "-input=false"], 120_000);
  } catch (error) {
    fs.rmSync(workDir, { recursive: true, force: true });
    throw new MissingPrerequisite(
      `Terraform cannot find the provider ${TERRAFORM_PROVIDER} (\`terraform init\`: ${firstError(error)}); ` +
        "the bench downloads nothing: install it where your Terraform CLI config (TF_CLI_CONFIG_FILE or ~/.terraformrc) looks, e.g. a filesystem_mirror",
    );
  }
  const selections = JSON.parse(
    execFileSync("terraform", [`-chdir=${workDir}`, "version", "-json"], { encoding: "utf8", env: envFor() }),
  ).provider_selections as Record<string, string>;
  const provider = Object.entries(selections)
    .map(([source, v]) => `${source.split("/").slice(-2).join("/")} ${v}`)
    .join(", ");
  let applied = false;
  const peer: TerraformPeer = {
    name: "Terraform",
    kind: "terraform",
    image: "ours",
    port: TERRAFORM_PORT,
    version: `Terraform ${version}, ${provider}`,
    up: async (containers) => {
      vars(containers);
      applied = true;
      return terraform(["apply", "-auto-approve", "-input=false"]);
    },
    preview: async (containers) => {
      vars(containers);
      try {
        // -detailed-exitcode: 0 no changes, 2 changes (a diff that never converges), 1 an error.
        return await terraform(["plan", "-input=false", "-detailed-exitcode"]);
      } catch (error) {
        throw new Error(`terraform plan on the applied configuration did not come back empty: ${firstError(error)}`);
      }
    },
    down: async (containers) => {
      vars(containers);
      const result = await terraform(["destroy", "-auto-approve", "-input=false"]);
      applied = false;
      return result;
    },
    remove: async () => {
      try {
        if (applied && fs.existsSync(path.join(workDir, "terraform.tfvars.json"))) {
          await run("terraform", [`-chdir=${workDir}`, "destroy", "-auto-approve", "-input=false", "-no-color"], {
            env: envFor(),
          });
        }
      } finally {
        removeLeftovers(TERRAFORM_STACK);
        fs.rmSync(workDir, { recursive: true, force: true });
      }
    },
  };
  return peer;
}

/** Terraform as a user runs it: without the Go GC setting scripts/env.sh gives Pulumi. */
function envFor(): NodeJS.ProcessEnv {
  const { GOGC: _pulumiOnly, ...env } = process.env;
  return { ...env, ...TF_ENV };
}
