import { PolicyPack, type ReportViolation, type ResourceValidationArgs } from "@pulumi/policy";
import {
  CONTAINER_TYPE,
  type ContainerProps,
  hasHealthcheck,
  hostModeOnlyWhereMeant,
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

new PolicyPack("flask-bridge", {
  enforcementLevel: "mandatory",
  policies: [
    {
      name: "unique-host-ports",
      description: "Every container takes host ports no other container takes.",
      validateStack: (args, reportViolation) => {
        const containers = args.resources
          .filter(({ type }) => type === CONTAINER_TYPE)
          .map(({ name, props }) => ({ name, props: props as ContainerProps }));
        for (const violation of uniqueHostPorts(containers)) reportViolation(violation);
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
        const containers = args.resources
          .filter(({ type }) => type === CONTAINER_TYPE)
          .map(({ name, props }) => ({ name, props: props as ContainerProps }));
        for (const violation of hostModeOnlyWhereMeant(containers)) reportViolation(violation);
      },
    },
  ],
});
