import {
  PolicyPack,
  type ReportViolation,
  type ResourceValidationArgs,
  type StackValidationArgs,
  UnknownValueError,
} from "@pulumi/policy";
import {
  type ContainerProps,
  hostModeOnlyWhereMeant,
  type NamedContainer,
  RESOURCE_RULES,
  workloadOf,
} from "../src/policy/rules";

/** A rule for each container, and each Swarm service seen as one. */
function containerRule(rule: (props: ContainerProps) => string | undefined) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    const workload = workloadOf(args.type, args.props);
    const violation = workload && rule(workload);
    if (violation !== undefined) reportViolation(violation);
  };
}

/**
 * One value for a stack rule. In a preview a value that a provider computes is
 * unknown and reading it throws, which would keep the rule from running for
 * every resource: here it reads as unset, and `up`, where all are known, checks it.
 */
function known<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (error) {
    if (error instanceof UnknownValueError) return undefined;
    throw error;
  }
}

/** The containers and services, with what the stack rule reads copied out value by value. */
function containersOf(args: StackValidationArgs): NamedContainer[] {
  return args.resources.flatMap(({ type, name, props }) => {
    const workload = workloadOf(type, props);
    if (workload === undefined) return [];
    const copy: ContainerProps = {
      noun: workload.noun,
      name: known(() => workload.name),
      networkMode: known(() => workload.networkMode),
      labels: known(() => workload.labels?.map((label) => ({ ...label }))),
    };
    return [{ name, props: copy }];
  });
}

new PolicyPack("flask-bridge", {
  enforcementLevel: "mandatory",
  policies: [
    ...RESOURCE_RULES.map(({ name, description, check }) => ({
      name,
      description,
      validateResource: containerRule(check),
    })),
    {
      name: "host-mode-only-where-meant",
      description: "Only the stack's one host-mode container or service uses host networking.",
      validateStack: (args, reportViolation) => {
        for (const violation of hostModeOnlyWhereMeant(containersOf(args))) reportViolation(violation);
      },
    },
  ],
});
