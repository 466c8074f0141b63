import * as pulumi from "@pulumi/pulumi";
import { BridgeNetwork } from "./src/BridgeNetwork";
import { baseImageOverrideFromEnv, readConfig } from "./src/config";
import { ConfigError } from "./src/errors";
import { type ContainerOutput, FlaskContainer } from "./src/FlaskContainer";
import { FlaskImage } from "./src/FlaskImage";
import { checkHostPortsFree } from "./src/hostPorts";
import { planTopology } from "./src/plan";

// Validation happens here, before any resource is declared. RunError: Pulumi
// prints a config error as its message alone, without a stack trace.
const plan = (() => {
  try {
    const config = readConfig();
    const planned = planTopology(config, pulumi.getStack(), baseImageOverrideFromEnv(process.env));
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
  stack: pulumi.getStack(),
  keepOnDestroy: plan.image.keepOnDestroy,
});

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

export const containers: pulumi.Output<Record<string, ContainerOutput>> = byDockerName(
  flaskContainers.map((container) => container.output),
);

export const network: pulumi.Output<{
  name: string;
  id: string;
  subnet: string | null;
  gateway: string | null;
}> = pulumi
  .all([bridgeNetwork.networkName, bridgeNetwork.networkId, bridgeNetwork.subnet, bridgeNetwork.gateway])
  .apply(([name, id, subnet, gateway]) => ({ name, id, subnet, gateway }));

export const image: pulumi.Output<{
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

/** What each container's probe saw: "Hello, World!" from the host, or "lo" for the none container. */
export const probes: pulumi.Output<Record<string, string>> = byDockerName(
  flaskContainers.map((container) => container.probe),
);
