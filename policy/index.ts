import {
  PolicyPack,
  type ReportViolation,
  type ResourceValidationArgs,
  type StackValidationArgs,
} from "@pulumi/policy";
import {
  CONTAINER_TYPE,
  type ContainerProps,
  hasHealthcheck,
  hostModeOnlyWhereMeant,
  type NamedContainer,
  noPortsOnHostOrNone,
  notPrivileged,
  uniqueHostPorts,
} from "./rules";

function containerRule(rule: (props: ContainerProps) => string | undefined) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (args.type === CONTAINER_TYPE) {
      const violation = rule(args.props as ContainerProps);
      if (violation !== undefined) reportViolation(violation);
    }
  };
}

function containersOf(args: StackValidationArgs): NamedContainer[] {
  return args.resources
    .filter(({ type }) => type === CONTAINER_TYPE)
    .map(({ name, props }) => ({ name, props: props as ContainerProps }));
}

new PolicyPack("flask-bridge", {
  enforcementLevel: "mandatory",
  policies: [
    {
      name: "unique-host-ports",
      description: "Every container takes host ports no other container takes.",
      validateStack: (args, reportViolation) => {
        for (const violation of uniqueHostPorts(containersOf(args))) reportViolation(violation);
      },
    },
    {
      name: "no-ports-on-host-or-none",
      description: "Host- and none-mode containers declare no ports.",
      validateResource: containerRule(noPortsOnHostOrNone),
    },
    {
      name: "no-privileged-containers",
      description: "No container runs privileged.",
      validateResource: containerRule(notPrivileged),
    },
    {
      name: "healthcheck-required",
      description: "Every container has a healthcheck.",
      validateResource: containerRule(hasHealthcheck),
    },
    {
      name: "host-mode-only-where-meant",
      description: "Only the stack's one host-mode container uses host networking.",
      validateStack: (args, reportViolation) => {
        for (const violation of hostModeOnlyWhereMeant(containersOf(args))) reportViolation(violation);
      },
    },
  ],
});
