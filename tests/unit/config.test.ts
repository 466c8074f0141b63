import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { readConfig } from "../../src/plan/config";
import { DECLARED, DEFAULTS, defaultConfigStrings } from "./projectDefaults";

const root = path.join(__dirname, "..", "..");

/** Config as the Pulumi CLI hands it to the program: Pulumi.yaml's defaults, then the stack's values, all strings. */
function configFrom(values: Record<string, string>): pulumi.Config {
  pulumi.runtime.setAllConfig({
    ...defaultConfigStrings(),
    ...Object.fromEntries(Object.entries(values).map(([key, value]) => [`flask-bridge:${key}`, value])),
  });
  return new pulumi.Config("flask-bridge");
}

describe("Pulumi.yaml", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it("gives every key a type, a description and a default", () => {
    for (const [key, declared] of Object.entries(DECLARED)) {
      expect([key, ["string", "integer", "boolean", "array"].includes(declared.type)]).toEqual([key, true]);
      expect([key, (declared.description ?? "").length > 20]).toEqual([key, true]);
      expect([key, declared.default !== undefined]).toEqual([key, true]);
      if (declared.type === "array") expect([key, declared.items]).toEqual([key, { type: "integer" }]);
    }
  });

  it("declares exactly the keys the program reads", () => {
    expect(Object.keys(readConfig(configFrom({}))).sort()).toEqual(Object.keys(DECLARED).sort());
  });

  it("is the only place a default is written: Pulumi.dev.yaml holds the passphrase salt alone", () => {
    // In Pulumi's own form, so `stack init dev` leaves the file as it is.
    const dev = yaml.load(fs.readFileSync(path.join(root, "Pulumi.dev.yaml"), "utf8")) as Record<string, unknown>;
    expect(Object.keys(dev)).toEqual(["encryptionsalt"]);
    expect(dev.encryptionsalt).toMatch(/^v1:/);
  });
});

describe("readConfig", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it("reads Pulumi.yaml's defaults, typed, into a frozen object", () => {
    const config = readConfig(configFrom({}));
    expect(config).toEqual(DEFAULTS);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.bridgePorts)).toBe(true);
  });

  it("parses lists, numbers and booleans as Pulumi stores them", () => {
    const config = readConfig(
      configFrom({ bridgePorts: "[15001,15002]", customPorts: "[]", hostMode: "false", hostPort: "15000" }),
    );
    expect([config.bridgePorts, config.customPorts, config.hostMode, config.hostPort]).toEqual([
      [15001, 15002],
      [],
      false,
      15000,
    ]);
  });

  it("reads the swarm keys as typed, leaving their meaning to planTopology", () => {
    const config = readConfig(
      configFrom({
        orchestrator: "swarm",
        replicas: "3",
        swarmPublishMode: "host",
        swarmEndpointMode: "dnsrr",
        swarmDrainSeconds: "40",
      }),
    );
    expect([
      config.orchestrator,
      config.replicas,
      config.swarmPublishMode,
      config.swarmEndpointMode,
      config.swarmDrainSeconds,
    ]).toEqual(["swarm", 3, "host", "dnsrr", 40]);
  });

  it("keeps empty strings, which mean 'let Docker choose'", () => {
    expect(readConfig(configFrom({ networkSubnet: "" })).networkSubnet).toBe("");
  });
});
