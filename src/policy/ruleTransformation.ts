import * as pulumi from "@pulumi/pulumi";
import { type ContainerProps, hostModeOnlyWhereMeant, type NamedContainer, RESOURCE_RULES, workloadOf } from "./rules";

/**
 * The policy pack's rules, applied by the program itself as each resource is
 * declared (ruleTransformation): mandatory for a plain `pulumi up` as for `npm run up`, at no cost
 * (the engine starts a policy pack, and waits ~3 s for it, before the program).
 * The pack in policy/ applies the same functions for `--policy-pack policy`.
 */
export class RuleChecker {
  private readonly workloads: NamedContainer[] = [];

  /** What one declared resource breaks, the stack rule over all declared so far included. */
  violations(type: string, name: string, props: unknown): string[] {
    const workload = workloadOf(type, knownValues(props));
    if (workload === undefined) return [];
    const named: ContainerProps = { ...workload, name: workload.name ?? name };
    const before = hostModeOnlyWhereMeant(this.workloads);
    this.workloads.push({ name, props: named });
    const stackWide = hostModeOnlyWhereMeant(this.workloads).filter((violation) => !before.includes(violation));
    const own = RESOURCE_RULES.map(({ check }) => check(named));
    return [...own.filter((violation): violation is string => violation !== undefined), ...stackWide];
  }
}

/**
 * A copy of the inputs with every value not known yet (an Output, a Promise)
 * left out, as the pack reads unknowns in a preview: a rule sees only plain data.
 */
export function knownValues(value: unknown): unknown {
  if (pulumi.Output.isInstance(value) || value instanceof Promise) return undefined;
  if (Array.isArray(value)) return value.map(knownValues);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, knownValues(entry)]));
  }
  return value;
}

/**
 * A transformation, given to every component (and so to all its children),
 * that refuses any resource breaking a rule before it is registered. A
 * resource option rather than a stack transformation: Pulumi's mocks have no
 * stack resource, and the unit tests run the program under them.
 */
export function ruleTransformation(): pulumi.ResourceTransformation {
  const checker = new RuleChecker();
  return ({ type, name, props }) => {
    const violations = checker.violations(type, name, props);
    // RunError: Pulumi prints the message alone, without a stack trace.
    if (violations.length > 0) throw new pulumi.RunError(`the stack's rules refuse ${name}: ${violations.join("; ")}`);
    return undefined;
  };
}
