/**
 * The stack's outputs, as users, the diagram, the connectivity matrix and the
 * tests read them (`pulumi stack output --json`). Shared by components, views
 * and plan, so they live at the bottom.
 */

/** One container (engine mode). */
export interface ContainerOutput {
  network: string;
  ip: string | null;
  gateway: string | null;
  hostPort: number | null;
  url: string | null;
}

/** One task of a service as the swarm placed it. */
export interface TaskOutput {
  /** <service>.<slot> */
  name: string;
  node: string;
  nodeAddress: string;
  /** Its address on the overlay; null for services not on it. */
  ip: string | null;
  state: string;
}

/** One machine of the swarm, with or without a task of the service. */
export interface NodeOutput {
  name: string;
  address: string;
  role: "manager" | "worker";
  /** active, pause or drain. */
  availability: string;
}

/** One service (swarm mode). */
export interface ServiceOutput {
  network: string;
  /** Resolves on the overlay: to the VIP (vip) or to the tasks in turn (dnsrr). */
  dnsName: string;
  vip: string | null;
  /** Ingress: one URL per Ready node, each answering (the routing mesh). Host publishing and host mode: one per node running a task. */
  urls: string[];
  replicas: { desired: number; running: number };
  tasks: TaskOutput[];
  /** Every Ready node of the swarm. */
  nodes: NodeOutput[];
}

/** The user-defined network (a bridge, or the overlay in swarm mode). */
export interface NetworkOutput {
  name: string;
  id: string;
  subnet: string | null;
  gateway: string | null;
}

/** The swarm's own registry (swarm mode with `registry` empty). */
export interface RegistryServiceOutput {
  /** The service's name. */
  name: string;
  /** The node it runs on, with its storage (the engine's own). */
  node: string;
  volume: string;
  /** The image it runs: registry:2, or setup's stand-in (by ID). */
  image: string;
  /** Set when the stand-in runs instead of the official image. */
  note: string | null;
  publishMode: string;
}

/** Where the image went so that every node can pull it (swarm mode). */
export interface RegistryOutput {
  /** "127.0.0.1:5000" (the swarm's own) or the configured registry. */
  address: string;
  /** <address>/<imageName>@sha256:<digest>: what every service runs. */
  reference: string;
  /** null: the user's registry. */
  service: RegistryServiceOutput | null;
}

/** The image built from app/. */
export interface ImageOutput {
  /** Engine mode: its tag. Swarm mode: the repository it was pushed to. */
  name: string;
  /** Engine mode: the local image ID. Swarm mode: the pushed manifest's digest. */
  digest: string;
  baseImage: string;
  configuredBaseImage: string;
  standInNote: string | null;
  /** Swarm mode only. */
  registry?: RegistryOutput;
}

/** The parts of `pulumi stack output --json` the diagram and the matrix read (see README, Outputs). */
export interface StackOutputs {
  containers: Record<string, ContainerOutput>;
  network: NetworkOutput;
  image?: ImageOutput;
  probes?: Record<string, string>;
  /** Swarm mode: the services and where their tasks run (containers is then empty). */
  services?: Record<string, ServiceOutput>;
}
