import * as pulumi from "@pulumi/pulumi";
import { commandProvider } from "./src/components/commandProvider";
import { DockerNetwork } from "./src/components/DockerNetwork";
import { dockerProvider } from "./src/components/dockerProvider";
import { FlaskContainers } from "./src/components/FlaskContainers";
import { FlaskImage } from "./src/components/FlaskImage";
import { ReadinessProbe, readyTimeoutSeconds } from "./src/components/ReadinessProbe";
import { SwarmImage } from "./src/components/SwarmImage";
import { SwarmRegistry } from "./src/components/SwarmRegistry";
import { SwarmService } from "./src/components/SwarmService";
import { resolveEngine } from "./src/machine/engine";
import { baseImageOverride, readEngineFacts } from "./src/machine/engineFacts";
import { checkHostPortsFree } from "./src/machine/hostPorts";
import { readRegistryFacts } from "./src/machine/registryFacts";
import { readConfig } from "./src/plan/config";
import { ConfigError } from "./src/plan/errors";
import type { ContainerOutput, ImageOutput, NetworkOutput, ServiceOutput } from "./src/plan/outputs";
import { planTopology, type SwarmPlan } from "./src/plan/plan";
import { ruleTransformation } from "./src/policy/ruleTransformation";

// Pulumi takes a whole stack trace for every resource it registers, and its
// runner maps each through source maps (source-map-support, ts-node's too):
// at 64 containers that was a third of a preview. Our errors are RunErrors,
// printed without a trace, so V8's own traces lose nothing.
(Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;

const stack = pulumi.getStack();

// Read config, ask the machine, plan: all before any resource is declared, so
// bad input or a silent engine fails in one line with nothing half-made.
// RunError: Pulumi prints its message alone, without a stack trace.
const { plan, engine, platform, registryPassword } = (() => {
  try {
    const config = readConfig();
    const engine = resolveEngine({ env: process.env, dockerConfigHost: new pulumi.Config("docker").get("host") });
    const facts = readEngineFacts(engine, config.orchestrator === "swarm");
    const plan = planTopology(config, stack, {
      engine,
      swarm: facts.swarm,
      baseImageOverride: baseImageOverride(engine, config.baseImage),
      // Only a manager has a node ID, and only the swarm's own registry needs it.
      registry: facts.swarm !== null && config.registry === "" ? readRegistryFacts(engine) : null,
    });
    checkHostPortsFree(plan.containers, config.bindAddress, stack, engine, plan.image.baseImage);
    return { plan, engine, platform: facts.platform, registryPassword: pulumi.secret(config.registryPassword) };
  } catch (error) {
    throw error instanceof ConfigError ? new pulumi.RunError(error.message) : error;
  }
})();

// Every component gets the one Docker provider and the one command provider,
// which its resources inherit, and the stack's rules, which refuse a resource
// that breaks one.
const opts: pulumi.ComponentResourceOptions = {
  providers: [dockerProvider("docker", engine), commandProvider("command")],
  transformations: [ruleTransformation()],
};

/** What the image output says in both modes. */
const baseImageOutput = {
  baseImage: plan.image.baseImage,
  configuredBaseImage: plan.image.configuredBaseImage,
  standInNote: plan.image.standInNote,
};

function networkOutput(network: DockerNetwork): pulumi.Output<NetworkOutput> {
  return pulumi
    .all([network.networkName, network.networkId, network.subnet, network.gateway])
    .apply(([name, id, subnet, gateway]) => ({ name, id, subnet, gateway }));
}

/** The tutorial's containers on this one engine. */
function engineStack(): {
  image: pulumi.Output<ImageOutput>;
  containers: pulumi.Output<Record<string, ContainerOutput>>;
  /** The user-defined bridge. */
  network: pulumi.Output<NetworkOutput>;
  /** What each container's probe saw: "Hello, World!" from the host, or "lo" for the none container. */
  probes: pulumi.Output<Record<string, string>>;
} {
  const flaskImage = new FlaskImage(
    "image",
    {
      imageName: plan.image.name,
      context: "./app",
      baseImage: plan.image.baseImage,
      platform,
      stack,
      keepOnDestroy: plan.image.keepOnDestroy,
      engine,
    },
    opts,
  );

  const bridgeNetwork = new DockerNetwork(
    "network",
    {
      networkName: plan.network.name,
      driver: "bridge",
      subnet: plan.network.subnet,
      gateway: plan.network.gateway,
      labels: plan.labels,
    },
    opts,
  );

  // No dependsOn the whole FlaskImage: the image ID input already orders
  // create and destroy, and waiting on the remover cost ~1 s of every up.
  const flaskContainers = new FlaskContainers(
    "containers",
    {
      containers: plan.containers,
      image: flaskImage.repoDigest,
      customNetwork: bridgeNetwork.networkName,
      healthcheck: plan.healthcheck,
      labels: plan.labels,
    },
    opts,
  );

  const readiness = new ReadinessProbe(
    "readiness",
    {
      targets: flaskContainers.probeTargets,
      engine,
      timeoutSeconds: readyTimeoutSeconds(process.env),
    },
    opts,
  );

  return {
    image: pulumi
      .all([flaskImage.imageName, flaskImage.repoDigest])
      .apply(([name, digest]) => ({ name, digest, ...baseImageOutput })),
    containers: flaskContainers.outputs,
    network: networkOutput(bridgeNetwork),
    probes: readiness.results,
  };
}

/**
 * The same containers as services of the swarm this engine manages. The image
 * reaches every node through a registry: the user's, or the swarm's own
 * registry service. Nothing here knows how the swarm was made.
 */
function swarmStack(swarm: SwarmPlan): {
  /** Built, pushed, and pinned by digest. */
  image: pulumi.Output<ImageOutput>;
  /** The overlay. */
  network: pulumi.Output<NetworkOutput>;
  /** Per service its DNS name, VIP, URLs, replicas and tasks. */
  services: pulumi.Output<Record<string, ServiceOutput>>;
} {
  const overlay = new DockerNetwork(
    "overlay",
    {
      networkName: swarm.network.name,
      driver: swarm.network.driver,
      attachable: swarm.network.attachable,
      subnet: swarm.network.subnet,
      gateway: swarm.network.gateway,
      labels: plan.labels,
    },
    opts,
  );
  const { registry } = swarm;
  const ownRegistry =
    registry.builtIn === null
      ? undefined
      : new SwarmRegistry("registry", { plan: registry.builtIn, labels: plan.labels, engine }, opts);
  const swarmImage = new SwarmImage(
    "image",
    {
      repository: registry.repository,
      server: registry.server,
      username: registry.username,
      password: registryPassword,
      context: "./app",
      baseImage: plan.image.baseImage,
      platform,
      stack,
      keepOnDestroy: plan.image.keepOnDestroy,
      engine,
      registry: ownRegistry,
    },
    opts,
  );
  const auth =
    registry.username === null
      ? undefined
      : { serverAddress: registry.server, username: registry.username, password: registryPassword };
  const services = swarm.services.map(
    (service) =>
      new SwarmService(
        service.key,
        {
          plan: service,
          publishMode: swarm.publishMode,
          endpointMode: swarm.endpointMode,
          image: swarmImage.reference,
          auth,
          overlay: { name: overlay.networkName, id: overlay.networkId },
          healthcheck: swarm.healthcheck,
          labels: plan.labels,
          engine,
          platform,
        },
        opts,
      ),
  );
  const builtIn = registry.builtIn;
  return {
    image: pulumi.all([swarmImage.reference, swarmImage.digest]).apply(([reference, digest]) => ({
      name: registry.repository,
      digest,
      ...baseImageOutput,
      registry: {
        address: registry.address,
        reference,
        service:
          builtIn === null
            ? null
            : {
                name: builtIn.serviceName,
                node: builtIn.nodeName,
                volume: builtIn.volumeName,
                image: builtIn.image,
                note: builtIn.imageNote,
                publishMode: builtIn.publishMode,
              },
      },
    })),
    network: networkOutput(overlay),
    services: pulumi
      .all(services.map((service) => service.output))
      .apply((outputs) =>
        Object.fromEntries(
          swarm.services.map((service, index) => [service.serviceName, outputs[index] as ServiceOutput]),
        ),
      ),
  };
}

// Pulumi also takes a stack trace for each output property of each resource it
// declares (a debugging aid for promises left unresolved, ~60 per container); its
// resources' own source positions set their own limit. None while declaring: at 64
// containers the program's CPU fell 2.41 -> 2.15 s in an up, 2.33 -> 2.01 s in a preview.
const outputs = (() => {
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return plan.swarm === null ? engineStack() : swarmStack(plan.swarm);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
})();

// Only the mode's own outputs: an undefined export would make Pulumi warn on every up.
export = outputs;
