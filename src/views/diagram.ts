import { cidrContains, parseCidr, parseIpv4 } from "../plan/ipv4";
import type { ContainerOutput, RegistryOutput, ServiceOutput, StackOutputs } from "../plan/outputs";
import { APP_PORT } from "../plan/plan";

/**
 * The stack's outputs drawn as a Graphviz DOT graph, in the shape of the
 * tutorial's network pictures: the host box with the ports that answer on it,
 * inside it docker0 and the user-defined bridge with their gateways and
 * containers, the host-mode container in the host box itself, and the none
 * container alone outside everything. Pure: no I/O, no Graphviz; the same
 * outputs always give the same text (scripts/diagram.ts renders it to SVG).
 */

/** Docker's default bridge: its device and the subnet Docker gives it unless the daemon says otherwise. */
export const DEFAULT_BRIDGE = { name: "bridge", device: "docker0", subnet: "172.17.0.0/16" } as const;

/**
 * Layout measures text with this font's metrics, which Graphviz knows; it is wider than
 * Helvetica or Arial, so a viewer that falls back to one of those still fits every label.
 */
export const FONT = "DejaVu Sans";

const COLORS = {
  line: "#4d4d4d",
  host: "#f4f4f4",
  port: "#ffe3b3",
  bridge: "#dcebfa",
  custom: "#dff3dc",
  other: "#efe6f7",
  gateway: "#ffffff",
  registry: "#fff7cc",
  container: "#ffffff",
  none: "#f9f9f9",
} as const;

interface Container extends ContainerOutput {
  name: string;
}

interface NetworkBox {
  /** Docker's network name. */
  name: string;
  /** The Linux bridge device on the host, when it is known. */
  device: string | null;
  subnet: string;
  gateway: string;
  fill: string;
  containers: Container[];
}

/** Builds the DOT text for a stack's outputs. */
export function topologyDot(outputs: StackOutputs): string {
  if (outputs.services !== undefined) {
    return swarmDot(outputs, outputs.services);
  }
  const all = Object.entries(outputs.containers)
    .map(([name, output]) => ({ ...output, name }))
    .sort(byPortThenName);
  const hostMode = all.filter((container) => container.network === "host");
  const noneMode = all.filter((container) => container.network === "none");
  const networks = networkBoxes(outputs, all);
  const machine = engineMachine(all);

  const lines: string[] = [];
  const add = (depth: number, line: string) => lines.push(`${"  ".repeat(depth)}${line}`);

  add(0, `digraph ${id("flask-bridge")} {`);
  add(
    1,
    `graph [${attrs({ fontname: FONT, fontsize: "12", labelloc: "t", newrank: "true", nodesep: "0.25", ranksep: "0.45", pad: "0.2" })}, label=<${title(outputs)}>];`,
  );
  add(
    1,
    `node [${attrs({ fontname: FONT, fontsize: "11", shape: "box", style: "rounded,filled", color: COLORS.line, fillcolor: COLORS.container, margin: "0.12,0.06" })}];`,
  );
  add(1, `edge [${attrs({ color: COLORS.line, arrowsize: "0.6" })}];`);

  add(1, `subgraph ${id("cluster_host")} {`);
  add(
    2,
    `graph [${attrs({ style: "rounded,filled", color: COLORS.line, fillcolor: COLORS.host })}, label=<${hostLabel(hostMode, machine)}>];`,
  );

  const ports = [...new Set(all.flatMap((container) => (container.hostPort === null ? [] : [container.hostPort])))];
  ports.sort((a, b) => a - b);
  for (const port of ports) {
    add(
      2,
      `${portId(port)} [${attrs({ shape: "box", style: "filled", fillcolor: COLORS.port, fontsize: "10", margin: "0.08,0.03", height: "0.3" })}, label=<${portLabel(port)}>];`,
    );
  }
  if (ports.length > 1) {
    add(2, `{ rank=same; ${ports.map(portId).join("; ")}; }`);
  }

  for (const container of hostMode) {
    add(2, `${containerId(container.name)} [label=<${hostModeLabel(container, machine)}>];`);
  }

  for (const network of networks) {
    add(2, `subgraph ${id(`cluster_net_${network.name}`)} {`);
    add(
      3,
      `graph [${attrs({ style: "rounded,filled", color: COLORS.line, fillcolor: network.fill, labelloc: "b" })}, label=<${networkLabel(network)}>];`,
    );
    for (const container of network.containers) {
      add(3, `${containerId(container.name)} [label=<${attachedLabel(container)}>];`);
    }
    add(
      3,
      `${gatewayId(network.name)} [${attrs({ shape: "box", style: "filled", fillcolor: COLORS.gateway, penwidth: "1.5", width: "2.2" })}, label=<${gatewayLabel(network)}>];`,
    );
    for (const container of network.containers) {
      add(
        3,
        `${containerId(container.name)} -> ${gatewayId(network.name)} [${attrs({ dir: "none", penwidth: "1.5" })}];`,
      );
    }
    add(2, "}");
  }
  add(1, "}");

  for (const container of noneMode) {
    add(
      1,
      `${containerId(container.name)} [${attrs({ style: "rounded,dashed,filled", fillcolor: COLORS.none })}, label=<${noneLabel(container)}>];`,
    );
  }

  // Containers share one row: the host-mode one, the attached ones, the none one.
  const row = [...hostMode, ...networks.flatMap((network) => network.containers), ...noneMode];
  if (row.length > 1) {
    add(1, `{ rank=same; ${row.map((container) => containerId(container.name)).join("; ")}; }`);
  }

  for (const container of all) {
    if (container.hostPort !== null && container.network !== "none") {
      add(1, `${portId(container.hostPort)} -> ${containerId(container.name)};`);
    }
  }
  // The tutorial's PC: it opens the ports at the engine's machine's address.
  if (machine !== null && ports.length > 0) {
    add(
      1,
      `${id("this-machine")} [${attrs({ shape: "box", style: "filled", fillcolor: COLORS.port })}, label=<${bold("this machine")}<br/>${small("runs pulumi; opens the URLs")}>];`,
    );
    ports.forEach((port, index) => {
      const label = index === 0 ? attrs({ label: ` http://${html(machine)}:port`, fontsize: "10" }) : "";
      add(1, `${id("this-machine")} -> ${portId(port)}${label === "" ? "" : ` [${label}]`};`);
    });
  }
  add(0, "}");
  return `${lines.join("\n")}\n`;
}

/** The engine's machine when it is not this one: the host of the URLs, unless that is loopback. */
export function engineMachine(containers: readonly ContainerOutput[]): string | null {
  for (const { url } of containers) {
    if (url === null) continue;
    const host = new URL(url).hostname;
    return /^(localhost|127(\.\d{1,3}){3})$/.test(host) ? null : host;
  }
  return null;
}

/** The default bridge first, then the stack's own network, then any other, each with its containers. */
function networkBoxes(outputs: StackOutputs, all: readonly Container[]): NetworkBox[] {
  const names = [...new Set(all.map((container) => container.network))].filter(
    (name) => name !== "host" && name !== "none",
  );
  const rank = (name: string) => (name === DEFAULT_BRIDGE.name ? 0 : name === outputs.network.name ? 1 : 2);
  names.sort((a, b) => rank(a) - rank(b) || compareText(a, b));

  return names.map((name) => {
    const containers = all.filter((container) => container.network === name);
    const seenGateways = unique(containers.map((container) => container.gateway));
    if (name === DEFAULT_BRIDGE.name) {
      return {
        name,
        device: DEFAULT_BRIDGE.device,
        subnet: defaultBridgeSubnet(containers),
        gateway: seenGateways.join(", ") || "unknown",
        fill: COLORS.bridge,
        containers,
      };
    }
    const own = name === outputs.network.name ? outputs.network : undefined;
    return {
      name,
      // Docker names a user-defined bridge's device br-<first 12 of the network id>.
      device: own && /^[0-9a-f]{12}/.test(own.id) ? `br-${own.id.slice(0, 12)}` : null,
      subnet: own?.subnet ?? "not in outputs",
      gateway: own?.gateway ?? (seenGateways.join(", ") || "unknown"),
      fill: own ? COLORS.custom : COLORS.other,
      containers,
    };
  });
}

/** 172.17.0.0/16, unless an address seen on the bridge lies outside it (a daemon with its own bip). */
function defaultBridgeSubnet(containers: readonly Container[]): string {
  const subnet = parseCidr(DEFAULT_BRIDGE.subnet);
  const seen = containers.flatMap((container) => [container.ip, container.gateway]);
  const inside = seen.every((address) => {
    const value = address === null ? undefined : parseIpv4(address);
    return value === undefined || subnet === undefined || cidrContains(subnet, value);
  });
  return inside ? DEFAULT_BRIDGE.subnet : "not in outputs";
}

/**
 * Swarm mode: one box per machine of the swarm with its address, tasks or not
 * (with ingress a node with no task still answers), holding the tasks that run
 * there, and the overlay drawn once, linked to every task that has an address on it.
 * The registry every node pulls the image from: the swarm's own inside the box
 * of the node it runs on, or the user's outside every node.
 */
function swarmDot(outputs: StackOutputs, services: Record<string, ServiceOutput>): string {
  const tasks = Object.entries(services).flatMap(([service, output]) =>
    output.tasks.map((task) => ({ ...task, service, network: output.network })),
  );
  const machines = swarmMachines(services);
  const registry = outputs.image?.registry;
  const lines = [
    `digraph ${id("flask-bridge")} {`,
    `  graph [${attrs({ fontname: FONT, fontsize: "12", labelloc: "t", nodesep: "0.25", ranksep: "0.6", pad: "0.2" })}, label=<${title(outputs).replace("Docker networks", "Swarm services")}>];`,
    `  node [${attrs({ fontname: FONT, fontsize: "11", shape: "box", style: "rounded,filled", color: COLORS.line, fillcolor: COLORS.container, margin: "0.12,0.06" })}];`,
    `  edge [${attrs({ color: COLORS.line, arrowhead: "none" })}];`,
    `  ${id("overlay")} [${attrs({ shape: "box", style: "filled", fillcolor: COLORS.custom })}, label=<${bold(`${outputs.network.name} (overlay)`)}<br/>subnet ${html(outputs.network.subnet ?? "chosen by Swarm")}>];`,
  ];
  for (const machine of machines) {
    const here = tasks.filter((task) => task.node === machine.name).sort((a, b) => compareText(a.name, b.name));
    const about = [machine.address, machine.role, machine.availability === "active" ? "" : machine.availability]
      .filter((part) => part !== "")
      .join(", ");
    lines.push(`  subgraph ${id(`cluster_node:${machine.name}`)} {`);
    lines.push(
      `    graph [${attrs({ style: "rounded,filled", color: COLORS.line, fillcolor: COLORS.host })}, label=<${bold(`node ${machine.name}`)}<br/>${small(about)}>];`,
    );
    for (const task of here) {
      const where = task.ip ?? `${task.network} network`;
      lines.push(
        `    ${id(`task:${task.name}`)} [label=<${[bold(task.name), html(where), small(task.state)].join("<br/>")}>];`,
      );
    }
    if (registry?.service?.node === machine.name) lines.push(`    ${registryNode(registry)}`);
    if (here.length === 0) {
      lines.push(
        `    ${id(`idle:${machine.name}`)} [${attrs({ shape: "plaintext", style: "" })}, label=<${small("no task")}>];`,
      );
    }
    lines.push("  }");
  }
  if (registry && !machines.some((machine) => machine.name === registry.service?.node)) {
    lines.push(`  ${registryNode(registry)}`);
  }
  for (const task of tasks.filter((task) => task.ip !== null)) {
    lines.push(`  ${id(`task:${task.name}`)} -> ${id("overlay")};`);
  }
  lines.push("}");
  return `${lines.join("\n")}\n`;
}

/** The registry's box: its address, what it holds, and (the swarm's own) its service and volume. */
function registryNode(registry: RegistryOutput): string {
  const about = registry.service
    ? `service ${registry.service.name}, volume ${registry.service.volume}; every node pulls from 127.0.0.1`
    : "every node pulls from it";
  const label = [bold(`registry ${registry.address}`), small(about), small(registry.reference)].join("<br/>");
  return `${id("registry")} [${attrs({ shape: "cylinder", style: "filled", fillcolor: COLORS.registry })}, label=<${label}>];`;
}

/** Every machine the services name, sorted: the swarm's Ready nodes, and any other node a task ran on. */
function swarmMachines(
  services: Record<string, ServiceOutput>,
): { name: string; address: string; role: string; availability: string }[] {
  const byName = new Map<string, { name: string; address: string; role: string; availability: string }>();
  for (const output of Object.values(services)) {
    for (const node of output.nodes ?? []) byName.set(node.name, node);
  }
  for (const output of Object.values(services)) {
    for (const task of output.tasks) {
      if (!byName.has(task.node)) {
        byName.set(task.node, { name: task.node, address: task.nodeAddress, role: "", availability: "active" });
      }
    }
  }
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}

function title(outputs: StackOutputs): string {
  const parts = [bold("flask-bridge: Docker networks")];
  const image = outputs.image;
  if (image) {
    const base =
      image.baseImage === image.configuredBaseImage
        ? image.baseImage
        : `${image.baseImage}, standing in for ${image.configuredBaseImage}`;
    parts.push(small(`image ${image.name} (${base})`));
  }
  return `${parts.join("<br/>")}<br/>`;
}

function hostLabel(hostMode: readonly Container[], machine: string | null): string {
  const note =
    hostMode.length > 0
      ? "ports that answer here; the host-mode container shares its network"
      : "ports that answer here";
  const name = machine === null ? "host" : `the engine's machine ${html(machine)}`;
  return `${bold(name)}<br/>${small(note)}`;
}

function portLabel(port: number): string {
  return `:${port}`;
}

function networkLabel(network: NetworkBox): string {
  const device = network.device === null ? "" : ` (${network.device})`;
  return `${bold(`${network.name}${device}`)}<br/>subnet ${html(network.subnet)}`;
}

function gatewayLabel(network: NetworkBox): string {
  const device = network.device ?? "bridge device";
  return `${html(device)}<br/>gateway ${html(network.gateway)}`;
}

function attachedLabel(container: Container): string {
  const port = container.hostPort === null ? "not published" : `${container.hostPort}&#8594;${APP_PORT}`;
  return [bold(container.name), html(container.ip ?? "ip unknown"), port].join("<br/>");
}

function hostModeLabel(container: Container, machine: string | null): string {
  const where = machine === null ? "on the host" : `on ${html(machine)} itself`;
  const port = container.hostPort === null ? "no port" : `:${container.hostPort} ${where}`;
  return [bold(container.name), "host network", port].join("<br/>");
}

function noneLabel(container: Container): string {
  return [bold(container.name), "no network", small("loopback only")].join("<br/>");
}

function portId(port: number): string {
  return id(`port:${port}`);
}

function containerId(name: string): string {
  return id(`container:${name}`);
}

function gatewayId(network: string): string {
  return id(`gateway:${network}`);
}

/** A DOT double-quoted ID: backslashes and quotes escaped, line breaks flattened. */
export function id(text: string): string {
  return `"${text
    .replace(/[\r\n]+/g, " ")
    .replace(/\\/g, "\\\\")
    .replace(/"/g, '\\"')}"`;
}

/** Text for inside an HTML-like label. */
export function html(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")
    .replace(/[\r\n]+/g, " ");
}

function bold(text: string): string {
  return `<b>${html(text)}</b>`;
}

function small(text: string): string {
  return `<font point-size="9">${html(text)}</font>`;
}

function attrs(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([key, value]) => `${key}=${id(value)}`)
    .join(", ");
}

function unique(values: readonly (string | null)[]): string[] {
  return [...new Set(values.filter((value): value is string => value !== null))].sort(compareText);
}

/** Published containers by port, then the rest by name; code-point order, never the locale's. */
function byPortThenName(a: Container, b: Container): number {
  const portA = a.hostPort ?? Number.POSITIVE_INFINITY;
  const portB = b.hostPort ?? Number.POSITIVE_INFINITY;
  return portA === portB ? compareText(a.name, b.name) : portA < portB ? -1 : 1;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Checks that parsed JSON has the shape `topologyDot` reads; says what is missing otherwise. */
export function parseStackOutputs(value: unknown, source: string): StackOutputs {
  const fail = (why: string): never => {
    throw new Error(`${source}: ${why}`);
  };
  if (!isRecord(value)) {
    return fail("expected a JSON object of stack outputs");
  }
  const { network, services } = value;
  // Swarm mode exports services instead of containers.
  const containers = isRecord(services) && value.containers === undefined ? {} : value.containers;
  if (!isRecord(containers) || !isRecord(network)) {
    return fail(
      Object.keys(value).length === 0
        ? "the stack has no outputs; deploy it first (npm run up)"
        : 'expected the outputs "containers" and "network"',
    );
  }
  if (typeof network.name !== "string" || typeof network.id !== "string") {
    return fail('"network" needs a string name and id');
  }
  for (const key of ["subnet", "gateway"]) {
    if (network[key] !== null && typeof network[key] !== "string") {
      return fail(`"network.${key}" must be a string or null`);
    }
  }
  for (const [name, container] of Object.entries(containers)) {
    const ok =
      isRecord(container) &&
      typeof container.network === "string" &&
      (container.ip === null || typeof container.ip === "string") &&
      (container.gateway === null || typeof container.gateway === "string") &&
      (container.hostPort === null || Number.isInteger(container.hostPort)) &&
      (container.url === null || typeof container.url === "string");
    if (!ok) {
      return fail(`"containers.${name}" must be {network, ip, gateway, hostPort, url}`);
    }
  }
  for (const [name, service] of Object.entries(isRecord(services) ? services : {})) {
    if (!isRecord(service) || typeof service.network !== "string" || !Array.isArray(service.tasks)) {
      return fail(`"services.${name}" must be {network, tasks, ...}`);
    }
  }
  return { ...value, containers } as unknown as StackOutputs;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
