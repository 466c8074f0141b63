import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "../projectDir";

/**
 * How a component runs a probe: `node --require tsx/cjs <file>` in the
 * project's directory, so tsx comes from the project's node_modules (a
 * devDependency `npm ci` installs) and works with plain `pulumi up`. tsx's
 * CommonJS hook, not `--import tsx`, which starts a loader thread: a whole
 * readiness run against a local server took 165 against 497 ms on Node 20,
 * 179 against 257 ms on Node 22 and 113 against 193 ms on Node 24 (2 shared
 * cores; `node -e 0` alone: 85, 31 and 30 ms).
 */
export interface ProbeCommand {
  /** What `create` runs: one short line, because the command provider repeats it in every error. */
  create: string;
  /** The directory it runs in (the project's). */
  dir: string;
  /** The probe's source, its own imports included: a trigger, so an edit to any of it probes again. */
  sha256: string;
}

/** The project-relative files an entry loads: itself and its relative imports, transitively, sorted. */
export function sourceFiles(entry: string, dir = PROJECT_DIR): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    for (const match of text.matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"/g)) {
      visit(path.posix.join(path.posix.dirname(file), `${match[1]}.ts`));
    }
  };
  visit(entry);
  return [...seen].sort();
}

export function sourceHash(entry: string, dir = PROJECT_DIR): string {
  const hash = createHash("sha256");
  for (const file of sourceFiles(entry, dir)) {
    hash
      .update(`${file}\0`)
      .update(fs.readFileSync(path.join(dir, file)))
      .update("\0");
  }
  return hash.digest("hex");
}

export function probeCommand(name: "readiness" | "swarm" | "removeImage"): ProbeCommand {
  const file = `src/probes/${name}.ts`;
  return { create: `node --require tsx/cjs ${file}`, dir: PROJECT_DIR, sha256: sourceHash(file) };
}
