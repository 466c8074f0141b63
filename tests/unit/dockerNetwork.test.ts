import type * as pulumiType from "@pulumi/pulumi";
import type { DockerNetwork as DockerNetworkType } from "../../src/components/DockerNetwork";
import { type Registered, recordRegistrations } from "./registrations";

/**
 * DockerNetwork under Pulumi's mocks: what it declares for each driver, the
 * outputs it derives, and the names and aliases that keep an existing stack's
 * network (declared before as BridgeNetwork or OverlayNetwork) where it is.
 * setMocks runs before the component is imported, on a fresh module registry.
 */

const LABELS = { "flask-bridge.project": "flask-bridge", "flask-bridge.stack": "dev" };
const LABEL_LIST = [
  { label: "flask-bridge.project", value: "flask-bridge" },
  { label: "flask-bridge.stack", value: "dev" },
];
/** What Docker reports when it picked the subnet itself. */
const PICKED = { subnet: "172.18.0.0/16", gateway: "172.18.0.1" };

let registered: Registered[];
let pulumi: typeof pulumiType;
let DockerNetwork: typeof DockerNetworkType;

beforeAll(async () => {
  jest.resetModules();
  registered = recordRegistrations();
  pulumi = require("@pulumi/pulumi");
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: { ...args.inputs, ipamConfigs: args.inputs.ipamConfigs ?? [PICKED] },
      }),
      call: (args) => args.inputs,
    },
    "flask-bridge",
    "dev",
  );
  ({ DockerNetwork } = require("../../src/components/DockerNetwork"));
});

afterAll(() => {
  jest.restoreAllMocks();
});

function resolved(network: DockerNetworkType) {
  return new Promise((done) => {
    pulumi
      .all([network.networkName, network.networkId, network.subnet, network.gateway])
      .apply(([networkName, networkId, subnet, gateway]) => done({ networkName, networkId, subnet, gateway }));
  });
}

/** The component's registration and its one docker.Network's, by the component's name. */
function declaredFor(name: string): Registered[] {
  const component = registered.find((r) => r.type === "flask-bridge:network:DockerNetwork" && r.name === name);
  const children = registered.filter((r) => r.parent.endsWith(`::flask-bridge:network:DockerNetwork::${name}`));
  return component ? [component, ...children] : children;
}

describe("DockerNetwork", () => {
  it("declares the tutorial's bridge as BridgeNetwork did: the same child name, its old type as an alias", async () => {
    const network = new DockerNetwork("network", {
      networkName: "my-bridge-network",
      driver: "bridge",
      subnet: null,
      gateway: null,
      labels: LABELS,
    });
    expect(await resolved(network)).toEqual({
      networkName: "my-bridge-network",
      networkId: "network-bridge-id",
      subnet: PICKED.subnet,
      gateway: PICKED.gateway,
    });
    expect(declaredFor("network")).toEqual([
      {
        type: "flask-bridge:network:DockerNetwork",
        name: "network",
        parent: expect.any(String),
        aliases: [{ name: "", type: "flask-bridge:network:BridgeNetwork", parent: "" }],
        inputs: {},
        deleteBeforeReplace: false,
      },
      {
        type: "docker:index/network:Network",
        name: "network-bridge",
        parent: "urn:pulumi:dev::flask-bridge::flask-bridge:network:DockerNetwork::network",
        // No alias of its own: the engine carries the parent's over to it.
        aliases: [],
        inputs: { name: "my-bridge-network", driver: "bridge", labels: LABEL_LIST },
        deleteBeforeReplace: false,
      },
    ]);
  });

  it("declares Swarm's attachable overlay as OverlayNetwork did, with the subnet and gateway it was given", async () => {
    const network = new DockerNetwork("overlay", {
      networkName: "my-bridge-network",
      driver: "overlay",
      attachable: true,
      subnet: "10.213.72.0/24",
      gateway: "10.213.72.1",
      labels: LABELS,
    });
    expect(await resolved(network)).toEqual({
      networkName: "my-bridge-network",
      networkId: "overlay-overlay-id",
      subnet: "10.213.72.0/24",
      gateway: "10.213.72.1",
    });
    expect(declaredFor("overlay")).toEqual([
      {
        type: "flask-bridge:network:DockerNetwork",
        name: "overlay",
        parent: expect.any(String),
        aliases: [{ name: "", type: "flask-bridge:network:OverlayNetwork", parent: "" }],
        inputs: {},
        deleteBeforeReplace: false,
      },
      {
        type: "docker:index/network:Network",
        name: "overlay-overlay",
        parent: "urn:pulumi:dev::flask-bridge::flask-bridge:network:DockerNetwork::overlay",
        aliases: [],
        inputs: {
          name: "my-bridge-network",
          driver: "overlay",
          attachable: true,
          ipamConfigs: [{ subnet: "10.213.72.0/24", gateway: "10.213.72.1" }],
          labels: LABEL_LIST,
        },
        deleteBeforeReplace: false,
      },
    ]);
  });

  it("keeps aliases the caller gives beside the former type", async () => {
    const network = new DockerNetwork(
      "renamed",
      { networkName: "n", driver: "bridge", subnet: null, gateway: null, labels: {} },
      { aliases: [{ name: "older" }] },
    );
    await resolved(network);
    expect(declaredFor("renamed")[0]?.aliases).toEqual([
      { name: "older", type: "", parent: "" },
      { name: "", type: "flask-bridge:network:BridgeNetwork", parent: "" },
    ]);
  });
});
