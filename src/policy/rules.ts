/**
 * The stack's rules as pure functions over the container properties as
 * declared, so plain jest tests them without the policy runtime. The program
 * applies them to every resource it declares (enforceRules.ts), and the policy
 * pack in policy/ applies the same functions for `--policy-pack policy`. Swarm
 * services are checked by the same rules, seen as containers (serviceAsContainer).
 *
 * Only what src/plan/plan.ts cannot see is checked here: the resources as the
 * components declared them. Config checks (host ports used twice, among them)
 * belong to the plan, which refuses them before any resource exists, so a rule
 * repeating one could never fire for this program.
 */

export const CONTAINER_TYPE = "docker:index/container:Container";
export const SERVICE_TYPE = "docker:index/service:Service";

export interface ContainerProps {
  /** What the messages call it; a container unless said otherwise. */
  noun?: "container" | "service";
  name?: string;
  networkMode?: string;
  ports?: { external?: number; internal?: number; ip?: string }[];
  privileged?: boolean;
  healthcheck?: { tests?: string[] };
  labels?: { label: string; value: string }[];
}

export interface NamedContainer {
  name: string;
  props: ContainerProps;
}

/** The properties of a docker.Service that the rules read. */
export interface ServiceProps {
  name?: string;
  taskSpec?: {
    containerSpec?: {
      healthcheck?: { tests?: string[] };
      labels?: { label: string; value: string }[];
    };
    networksAdvanceds?: { id?: string; name?: string }[];
  };
  endpointSpec?: { ports?: { publishedPort?: number; targetPort?: number }[] };
}

/**
 * A service as the rules see a container: its task's network, healthcheck and labels;
 * its published ports. Getters, so a rule reads only what it needs: in a
 * preview a property the provider computes is unknown, and reading it would
 * keep a stack rule from running at all.
 */
export function serviceAsContainer(props: ServiceProps): ContainerProps {
  const task = () => props.taskSpec ?? {};
  return {
    noun: "service",
    name: props.name,
    get networkMode() {
      return (task().networksAdvanceds ?? []).some((network) => (network.id ?? network.name) === "host")
        ? "host"
        : undefined;
    },
    get ports() {
      return (props.endpointSpec?.ports ?? []).map(({ publishedPort, targetPort }) => ({
        external: publishedPort,
        internal: targetPort,
      }));
    },
    get healthcheck() {
      return task().containerSpec?.healthcheck;
    },
    get labels() {
      return task().containerSpec?.labels;
    },
  };
}

/** The rules' view of a resource: a container as it is, a service as a container, else nothing to check. */
export function workloadOf(type: string, props: unknown): ContainerProps | undefined {
  if (type === CONTAINER_TYPE) return props as ContainerProps;
  if (type === SERVICE_TYPE) return serviceAsContainer(props as ServiceProps);
  return undefined;
}

function noun(props: ContainerProps): string {
  return props.noun ?? "container";
}

function kindLabel(props: ContainerProps): string | undefined {
  return props.labels?.find(({ label }) => label === "flask-bridge.network-kind")?.value;
}

export function noPortsOnHostOrNone(props: ContainerProps): string | undefined {
  const mode = props.networkMode;
  if ((mode === "host" || mode === "none") && (props.ports?.length ?? 0) > 0) {
    return `${noun(props)} ${props.name} in ${mode} mode declares ports; Docker discards them and the provider would replace the container on every run`;
  }
  return undefined;
}

export function notPrivileged(props: ContainerProps): string | undefined {
  return props.privileged ? `${noun(props)} ${props.name} is privileged` : undefined;
}

export function hasHealthcheck(props: ContainerProps): string | undefined {
  const tests = props.healthcheck?.tests ?? [];
  return tests.length === 0 || tests[0] === "NONE" ? `${noun(props)} ${props.name} has no healthcheck` : undefined;
}

export function hostModeOnlyWhereMeant(containers: NamedContainer[]): string[] {
  const hostMode = containers.filter(({ props }) => props.networkMode === "host");
  const violations = hostMode
    .filter(({ props }) => kindLabel(props) !== "host")
    .map(({ name, props }) => `${noun(props)} ${name} uses host networking but is not the stack's host-mode one`);
  if (hostMode.length > 1) {
    violations.push(`${hostMode.length} containers or services use host networking; only one may`);
  }
  return violations;
}

/** The rules for each container or service, named as the policy pack reports them; the program applies the same list. */
export const RESOURCE_RULES: readonly {
  name: string;
  description: string;
  check: (props: ContainerProps) => string | undefined;
}[] = [
  {
    name: "no-ports-on-host-or-none",
    description: "Host- and none-mode containers and services declare no ports.",
    check: noPortsOnHostOrNone,
  },
  { name: "no-privileged-containers", description: "No container runs privileged.", check: notPrivileged },
  {
    name: "healthcheck-required",
    description: "Every container and service has a healthcheck.",
    check: hasHealthcheck,
  },
];
