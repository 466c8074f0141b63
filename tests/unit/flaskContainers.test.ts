import type * as pulumiType from "@pulumi/pulumi";
import type { FlaskContainers as FlaskContainersType } from "../../src/components/FlaskContainers";
import { type ContainerPlan, planTopology } from "../../src/plan/plan";
import { DEFAULTS } from "./projectDefaults";
import { type Registered, recordRegistrations } from "./registrations";

/**
 * FlaskContainers under Pulumi's mocks: one component, one docker.Container per
 * planned container, each with the alias that keeps an existing stack's
 * container (whose parent was its own FlaskContainer component) where it is.
 * setMocks runs before the component is imported, on a fresh module registry.
 */

const HEALTHCHECK = { tests: ["CMD", "true"], interval: "10s", timeout: "3s", startPeriod: "5s", retries: 3 };

// The tutorial's plan, as the program gets it: one container of each kind that matters here.
const TUTORIAL = planTopology(DEFAULTS, "dev").containers;
function planned(key: string): ContainerPlan {
  const plan = TUTORIAL.find((container) => container.key === key);
  if (!plan) throw new Error(`the tutorial's plan has no container ${key}`);
  return plan;
}
const [BRIDGE, CUSTOM, NONE] = ["bridge-1", "custom-1", "none"].map(planned) as [
  ContainerPlan,
  ContainerPlan,
  ContainerPlan,
];

let registered: Registered[];
let inputsByName: Map<string, Record<string, unknown>>;
let pulumi: typeof pulumiType;
let FlaskContainers: typeof FlaskContainersType;

beforeAll(async () => {
  inputsByName = new Map();
  jest.resetModules();
  registered = recordRegistrations();
  pulumi = require("@pulumi/pulumi");
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        inputsByName.set(args.name, args.inputs);
        // What Docker reports: an address on each network the container joined.
        const network = args.inputs.networksAdvanced?.[0]?.name ?? args.inputs.networkMode;
        return {
          id: `${args.name}-id`,
          state: {
            ...args.inputs,
            networkDatas: [{ networkName: network, ipAddress: `ip-of-${args.name}`, gateway: "gw" }],
          },
        };
      },
      call: (args) => args.inputs,
    },
    "flask-bridge",
    "dev",
  );
  ({ FlaskContainers } = require("../../src/components/FlaskContainers"));
});

afterAll(() => {
  jest.restoreAllMocks();
});

describe("FlaskContainers", () => {
  let outputs: unknown;
  beforeAll(async () => {
    const containers = new FlaskContainers("containers", {
      containers: [BRIDGE, CUSTOM, NONE],
      image: "sha256:abc",
      customNetwork: pulumi.output("my-bridge-network"),
      healthcheck: HEALTHCHECK,
      labels: { "flask-bridge.stack": "dev" },
    });
    outputs = await new Promise((done) => containers.outputs.apply(done));
  });

  it("declares one component and, under it, one container per plan, each aliased to its former parent", () => {
    const component = "urn:pulumi:dev::flask-bridge::flask-bridge:container:FlaskContainers::containers";
    const former = (key: string) => `urn:pulumi:dev::flask-bridge::flask-bridge:container:FlaskContainer::${key}`;
    // Registered as their inputs resolve (the custom one waits for the network): compared by name.
    const byName = [...registered]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map(({ type, name, parent, aliases, deleteBeforeReplace }) => ({
        type,
        name,
        parent,
        aliasParents: aliases.map((alias) => alias.parent),
        deleteBeforeReplace,
      }));
    expect(byName).toEqual([
      {
        type: "docker:index/container:Container",
        name: "bridge-1-container",
        parent: component,
        aliasParents: [former("bridge-1")],
        deleteBeforeReplace: true,
      },
      {
        type: "flask-bridge:container:FlaskContainers",
        name: "containers",
        parent: "",
        aliasParents: [],
        deleteBeforeReplace: false,
      },
      {
        type: "docker:index/container:Container",
        name: "custom-1-container",
        parent: component,
        aliasParents: [former("custom-1")],
        deleteBeforeReplace: true,
      },
      {
        type: "docker:index/container:Container",
        name: "none-container",
        parent: component,
        aliasParents: [former("none")],
        deleteBeforeReplace: true,
      },
    ]);
  });

  it("joins the custom container through networksAdvanced and publishes no port for none", () => {
    expect(inputsByName.get("custom-1-container")).toEqual(
      expect.objectContaining({ networksAdvanced: [{ name: "my-bridge-network" }] }),
    );
    expect(inputsByName.get("custom-1-container")?.networkMode).toBeUndefined();
    expect(inputsByName.get("bridge-1-container")).toEqual(
      expect.objectContaining({
        networkMode: "bridge",
        ports: [{ internal: 5000, external: 5001, ip: "0.0.0.0", protocol: "tcp" }],
      }),
    );
    expect(inputsByName.get("none-container")).toEqual(expect.objectContaining({ networkMode: "none" }));
    expect(inputsByName.get("none-container")?.ports).toBeUndefined();
  });

  it("exports each container by its Docker name, with an address on its own network only", () => {
    expect(outputs).toEqual({
      "flask-bridge-1": {
        network: "bridge",
        ip: "ip-of-bridge-1-container",
        gateway: "gw",
        hostPort: 5001,
        url: "http://localhost:5001",
      },
      "flask-custom-1": {
        network: "my-bridge-network",
        ip: "ip-of-custom-1-container",
        gateway: "gw",
        hostPort: 5004,
        url: "http://localhost:5004",
      },
      "flask-none": { network: "none", ip: null, gateway: null, hostPort: null, url: null },
    });
  });
});
