import * as pulumi from "@pulumi/pulumi";
import { BridgeNetwork } from "./src/components/BridgeNetwork";
import { ClusterImage } from "./src/components/ClusterImage";
import { type ContainerOutput, FlaskContainer } from "./src/components/FlaskContainer";
import { FlaskImage } from "./src/components/FlaskImage";
import { OverlayNetwork } from "./src/components/OverlayNetwork";
import { ReadinessProbe } from "./src/components/ReadinessProbe";
import { type ServiceOutput, SwarmService } from "./src/components/SwarmService";
import { enginePlatform } from "./src/machine/enginePlatform";
import { checkHostPortsFree } from "./src/machine/hostPorts";
import { readSwarmCluster } from "./src/machine/swarmCluster";
import { baseImageOverrideFromEnv, readConfig } from "./src/plan/config";
import { ConfigError } from "./src/plan/errors";
import { planTopology, type SwarmPlan } from "./src/plan/plan";

// Validation happens here, before any resource is declared. RunError: Pulumi
// prints a config error as its message alone, without a stack trace.
const plan = (() => {
  try {
    const config = readConfig();
    const cluster = config.orchestrator === "swarm" ? readSwarmCluster() : null;
    const planned = planTopology(config, pulumi.getStack(), baseImageOverrideFromEnv(process.env), cluster);
    checkHostPortsFree(planned.containers, config.bindAddress, pulumi.getStack());
    return planned;
  } catch (error) {
    throw error instanceof ConfigError ? new pulumi.RunError(error.message) : error;
  }
})();

const flaskImage = new FlaskImage("image", {
  imageName: plan.image.name,
  context: "./app",
  baseImage: plan.image.baseImage,
  platform: enginePlatform(),
  stack: pulumi.getStack(),
  keepOnDestroy: plan.image.keepOnDestroy,
});

type NetworkOutput = { name: string; id: string; subnet: string | null; gateway: string | null };

function networkOutput(network: BridgeNetwork | OverlayNetwork): pulumi.Output<NetworkOutput> {
  return pulumi
    .all([network.networkName, network.networkId, network.subnet, network.gateway])
    .apply(([name, id, subnet, gateway]) => ({ name, id, subnet, gateway }));
}

/** The tutorial's containers on this one engine. */
function engineStack(): {
  containers: pulumi.Output<Record<string, ContainerOutput>>;
  /** The user-defined bridge. */
  network: pulumi.Output<NetworkOutput>;
  /** What each container's probe saw: "Hello, World!" from the host, or "lo" for the none container. */
  probes: pulumi.Output<Record<string, string>>;
} {
  const bridgeNetwork = new BridgeNetwork("network", {
    networkName: plan.network.name,
    subnet: plan.network.subnet,
    gateway: plan.network.gateway,
    labels: plan.labels,
  });

  const flaskContainers = plan.containers.map(
    (container) =>
      new FlaskContainer(
        container.key,
        {
          plan: container,
          image: flaskImage.repoDigest,
          customNetwork: container.kind === "custom" ? bridgeNetwork.networkName : undefined,
          healthcheck: plan.healthcheck,
          labels: plan.labels,
        },
        // No dependsOn the whole FlaskImage: the image ID input already orders
        // create and destroy, and waiting on the remover cost ~1 s of every up.
      ),
  );

  function byDockerName<T>(values: pulumi.Output<T>[]): pulumi.Output<Record<string, T>> {
    return pulumi
      .all(values)
      .apply((resolved) =>
        Object.fromEntries(plan.containers.map((container, index) => [container.dockerName, resolved[index] as T])),
      );
  }

  const readiness = new ReadinessProbe("readiness", {
    targets: flaskContainers.map((container) => container.probeTarget),
  });

  return {
    containers: byDockerName(flaskContainers.map((container) => container.output)),
    network: networkOutput(bridgeNetwork),
    probes: readiness.results,
  };
}

/** The same containers as services of the swarm this engine manages. */
function swarmStack(swarm: SwarmPlan): {
  /** The overlay. */
  network: pulumi.Output<NetworkOutput>;
  /** Per service its DNS name, VIP, URLs, replicas and tasks. */
  services: pulumi.Output<Record<string, ServiceOutput>>;
} {
  const overlay = new OverlayNetwork("overlay", {
    networkName: swarm.network.name,
    subnet: swarm.network.subnet,
    gateway: swarm.network.gateway,
    labels: plan.labels,
  });
  const clusterImage = new ClusterImage("cluster-image", {
    imageName: plan.image.name,
    imageId: flaskImage.repoDigest,
  });
  const services = swarm.services.map(
    (service) =>
      new SwarmService(service.key, {
        plan: service,
        publishMode: swarm.publishMode,
        endpointMode: swarm.endpointMode,
        image: clusterImage.imageId,
        overlay: { name: overlay.networkName, id: overlay.networkId },
        healthcheck: swarm.healthcheck,
        labels: plan.labels,
      }),
  );
  return {
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

const image: pulumi.Output<{
  name: string;
  digest: string;
  baseImage: string;
  configuredBaseImage: string;
  standInNote: string | null;
}> = pulumi.all([flaskImage.imageName, flaskImage.repoDigest]).apply(([name, digest]) => ({
  name,
  digest,
  baseImage: plan.image.baseImage,
  configuredBaseImage: plan.image.configuredBaseImage,
  standInNote: plan.image.standInNote,
}));

// Only the mode's own outputs: an undefined export would make Pulumi warn on every up.
export = plan.swarm === null ? { ...engineStack(), image } : { ...swarmStack(plan.swarm), image };
