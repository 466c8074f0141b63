import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { LOCAL_ENGINE } from "../../src/machine/dockerHost";
import { baseImageOverrideFromEnv, DEFAULTS, readConfig } from "../../src/plan/config";

const root = path.join(__dirname, "..", "..");

interface DeclaredKey {
  type: string;
  description?: string;
  default?: unknown;
}

function readYaml<T>(file: string): T {
  return yaml.load(fs.readFileSync(path.join(root, file), "utf8")) as T;
}

function configFrom(values: Record<string, string>): pulumi.Config {
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(values).map(([key, value]) => [`flask-bridge:${key}`, value])),
  );
  return new pulumi.Config("flask-bridge");
}

describe("Pulumi.yaml", () => {
  const declared = readYaml<{ config: Record<string, DeclaredKey> }>("Pulumi.yaml").config;

  it("declares every key the program reads, with the program's defaults", () => {
    expect(Object.keys(declared).sort()).toEqual(Object.keys(DEFAULTS).sort());
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect([key, declared[key]?.default]).toEqual([key, value]);
    }
  });

  it("gives every key a type and a description", () => {
    const expectedTypes: Record<string, string> = {
      string: "string",
      number: "integer",
      boolean: "boolean",
      object: "array",
    };
    for (const [key, value] of Object.entries(DEFAULTS)) {
      expect([key, declared[key]?.type]).toEqual([key, expectedTypes[typeof value]]);
      expect(declared[key]?.description?.length ?? 0).toBeGreaterThan(20);
    }
  });

  it("keeps the tutorial's values in Pulumi.dev.yaml", () => {
    // In Pulumi's own form (scalars quoted, with the salt), so `stack init` leaves the file as it is.
    const dev = readYaml<{ config: Record<string, unknown>; encryptionsalt: string }>("Pulumi.dev.yaml");
    expect(dev.encryptionsalt).toMatch(/^v1:/);
    expect(dev.config).toEqual({
      "flask-bridge:imageName": "flask-hello-world",
      "flask-bridge:baseImage": "python:3.11-slim",
      "flask-bridge:bridgePorts": [5001, 5002, 5003],
      "flask-bridge:networkName": "my-bridge-network",
      "flask-bridge:customPorts": [5004, 5005, 5006],
      "flask-bridge:hostMode": "true",
      "flask-bridge:hostPort": "5000",
      "flask-bridge:noneMode": "true",
      "flask-bridge:namePrefix": "flask",
      "flask-bridge:bindAddress": "0.0.0.0",
    });
  });
});

describe("readConfig", () => {
  afterEach(() => pulumi.runtime.setAllConfig({}));

  it("falls back to the defaults and freezes the result", () => {
    const config = readConfig(configFrom({}), LOCAL_ENGINE);
    expect(config).toEqual({ ...DEFAULTS, engine: LOCAL_ENGINE });
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
      configFrom({ orchestrator: "swarm", replicas: "3", swarmPublishMode: "host", swarmEndpointMode: "dnsrr" }),
    );
    expect([config.orchestrator, config.replicas, config.swarmPublishMode, config.swarmEndpointMode]).toEqual([
      "swarm",
      3,
      "host",
      "dnsrr",
    ]);
  });

  it("keeps empty strings, which mean 'let Docker choose'", () => {
    expect(readConfig(configFrom({ networkSubnet: "" })).networkSubnet).toBe("");
  });

  it.each([
    [
      { bridgePorts: "5001" },
      "Invalid config flask-bridge:bridgePorts = 5001: must be a list of port numbers, e.g. [5001, 5002]",
    ],
    [
      { customPorts: '["5004"]' },
      'Invalid config flask-bridge:customPorts = ["5004"]: must be a list of port numbers, e.g. [5001, 5002]',
    ],
    [
      { customPorts: "[5004," },
      'Invalid config flask-bridge:customPorts = "[5004,": must be a JSON list of port numbers, e.g. [5001, 5002]',
    ],
    [{ hostMode: "yes" }, 'Invalid config flask-bridge:hostMode = "yes": must be true or false'],
    [{ hostPort: "five" }, 'Invalid config flask-bridge:hostPort = "five": must be a number'],
    [{ replicas: "three" }, 'Invalid config flask-bridge:replicas = "three": must be a number'],
  ])("rejects %j", (values, message) => {
    expect(() => readConfig(configFrom(values))).toThrow(new Error(message));
  });
});

describe("baseImageOverrideFromEnv", () => {
  it("is absent unless setup recorded a stand-in", () => {
    expect(baseImageOverrideFromEnv({})).toBeUndefined();
  });

  it("reads what setup recorded", () => {
    expect(
      baseImageOverrideFromEnv({
        FLASK_BRIDGE_BASE_IMAGE: "flask-bridge/debian-python:bookworm",
        FLASK_BRIDGE_BASE_IMAGE_FOR: "python:3.11-slim",
        FLASK_BRIDGE_BASE_IMAGE_NOTE: "python:3.11-slim could not be pulled",
      }),
    ).toEqual({
      replaces: "python:3.11-slim",
      standIn: "flask-bridge/debian-python:bookworm",
      note: "python:3.11-slim could not be pulled",
    });
  });
});
