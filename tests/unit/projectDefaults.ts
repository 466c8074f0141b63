import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { FlaskBridgeConfig } from "../../src/plan/config";

/** A key as Pulumi.yaml declares it. */
export interface DeclaredKey {
  type: string;
  description?: string;
  default?: unknown;
  items?: { type: string };
}

/** Pulumi.yaml's config section: the one place the keys, types and defaults are written. */
export const DECLARED: Readonly<Record<string, DeclaredKey>> = (
  yaml.load(fs.readFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), "utf8")) as {
    config: Record<string, DeclaredKey>;
  }
).config;

/** The config a stack gets when it sets nothing: Pulumi.yaml's defaults. */
export const DEFAULTS: FlaskBridgeConfig = Object.freeze(
  Object.fromEntries(Object.entries(DECLARED).map(([key, declared]) => [key, declared.default])),
) as unknown as FlaskBridgeConfig;

/** The same defaults as Pulumi hands them to a program (every value a string), for setAllConfig. */
export function defaultConfigStrings(namespace = "flask-bridge"): Record<string, string> {
  return Object.fromEntries(
    Object.entries(DECLARED).map(([key, declared]) => [
      `${namespace}:${key}`,
      typeof declared.default === "string" ? declared.default : JSON.stringify(declared.default),
    ]),
  );
}
