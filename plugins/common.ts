/**
 * Shared by the stand-in resource plugins (plugins/docker.ts, plugins/command.ts).
 *
 * Why they exist: the official pulumi-resource-docker and pulumi-resource-command
 * cannot be downloaded here, and the Go module proxy refuses their sources, so
 * setup cannot build them. These plugins serve the same type tokens and property
 * names, for exactly the subset this program uses, through the real engine.
 */

/** The engine's placeholder for a value not known until apply (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Where a resource's inputs are kept in its outputs, so diffs compare inputs with inputs. */
export const INPUTS = "__inputs";

/** "urn:pulumi:stack::project::parent$docker:index/container:Container::name" → the type token. */
export function typeOf(urn: string): string {
  const qualifiedType = urn.split("::")[2] ?? "";
  return qualifiedType.split("$").pop() ?? "";
}

/** JSON with sorted keys and no undefined values, so equal inputs always compare equal. */
export function stable(value: unknown): string {
  return JSON.stringify(value, (_key, item) =>
    item && typeof item === "object" && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

export function recordInputs<T extends Record<string, unknown>>(outs: T, inputs: Record<string, unknown>) {
  return { ...outs, [INPUTS]: stable(inputs) };
}

/** Input keys whose values differ from the ones recorded at create time. */
export function changedKeys(olds: Record<string, unknown>, news: Record<string, unknown>, ignore: string[] = []) {
  const before = JSON.parse(String(olds[INPUTS] ?? "{}")) as Record<string, unknown>;
  const keys = new Set([...Object.keys(before), ...Object.keys(news)]);
  return [...keys].filter((key) => !ignore.includes(key) && stable(before[key]) !== stable(news[key])).sort();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
