/**
 * The policy pack's rules as pure functions over the container properties the
 * engine reports, so plain jest tests them without the policy runtime.
 */

export const CONTAINER_TYPE = "docker:index/container:Container";

export interface ContainerProps {
  name?: string;
  networkMode?: string;
  ports?: { external?: number; internal?: number; ip?: string }[];
  privileged?: boolean;
  healthcheck?: { tests?: string[] };
  labels?: { label: string; value: string }[];
  envs?: string[];
}

export interface NamedContainer {
  name: string;
  props: ContainerProps;
}

function kindLabel(props: ContainerProps): string | undefined {
  return props.labels?.find(({ label }) => label === "flask-bridge.network-kind")?.value;
}

/** The host ports a container takes: its published ports, or its app's port in host mode. */
export function hostPortsOf(props: ContainerProps): number[] {
  if (props.networkMode === "host") {
    const port = props.envs?.find((env) => env.startsWith("PORT="))?.slice("PORT=".length);
    return port === undefined ? [] : [Number(port)];
  }
  return (props.ports ?? []).flatMap(({ external }) => (external === undefined ? [] : [external]));
}

export function noPortsOnHostOrNone(props: ContainerProps): string | undefined {
  const mode = props.networkMode;
  if ((mode === "host" || mode === "none") && (props.ports?.length ?? 0) > 0) {
    return `container ${props.name} in ${mode} mode declares ports; Docker discards them and the provider would replace the container on every run`;
  }
  return undefined;
}

export function notPrivileged(props: ContainerProps): string | undefined {
  return props.privileged ? `container ${props.name} is privileged` : undefined;
}

export function hasHealthcheck(props: ContainerProps): string | undefined {
  const tests = props.healthcheck?.tests ?? [];
  return tests.length === 0 || tests[0] === "NONE" ? `container ${props.name} has no healthcheck` : undefined;
}

export function uniqueHostPorts(containers: NamedContainer[]): string[] {
  const owners = new Map<number, string>();
  const violations: string[] = [];
  for (const { name, props } of containers) {
    for (const port of hostPortsOf(props)) {
      const owner = owners.get(port);
      if (owner !== undefined) {
        violations.push(`host port ${port} is taken by both ${owner} and ${name}`);
      }
      owners.set(port, name);
    }
  }
  return violations;
}

export function hostModeOnlyWhereMeant(containers: NamedContainer[]): string[] {
  const hostMode = containers.filter(({ props }) => props.networkMode === "host");
  const violations = hostMode
    .filter(({ props }) => kindLabel(props) !== "host")
    .map(({ name }) => `container ${name} uses host networking but is not the stack's host-mode container`);
  if (hostMode.length > 1) {
    violations.push(`${hostMode.length} containers use host networking; only one may`);
  }
  return violations;
}
