import type * as pulumiType from "@pulumi/pulumi";

/** The stub engine's platform: not this machine's, so a test sees where the value came from. */
export const ENGINE_PLATFORM = "linux/arm64";

/** A resource as the program declared it. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

/** What a resource's mock state adds to its inputs, e.g. the outputs Docker would report. */
export type MockOutputs = (resource: Declared) => Record<string, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: stack outputs are whatever the program exports.
type Outputs = Record<string, any>;

/**
 * Runs index.ts under Pulumi's mocks, on a fresh module registry with setMocks
 * first, and returns what it declared and exported. The three reads of this
 * machine (the host-port check, the swarm query, the engine's platform) become stubs; their own
 * tests cover them. `declared` fills as the program runs, so a failed run
 * can be inspected too.
 */
export async function runProgram(
  config: Record<string, string>,
  outputsOf: MockOutputs,
  options: { swarmNodes?: number | null; declared?: Declared[] } = {},
) {
  const declared = options.declared ?? [];
  jest.resetModules();
  const portCheck = jest.fn((..._args: unknown[]) => declared.length);
  jest.doMock("../../src/machine/hostPorts", () => ({ checkHostPortsFree: portCheck }));
  const readSwarmCluster = jest.fn(() => (options.swarmNodes == null ? null : { nodes: options.swarmNodes }));
  jest.doMock("../../src/machine/swarmCluster", () => ({ readSwarmCluster }));
  jest.doMock("../../src/machine/enginePlatform", () => ({ enginePlatform: () => ENGINE_PLATFORM }));
  // A shell that sourced scripts/env.sh names setup's stand-in base image; these tests plan without one.
  for (const key of ["FLASK_BRIDGE_BASE_IMAGE", "FLASK_BRIDGE_BASE_IMAGE_FOR", "FLASK_BRIDGE_BASE_IMAGE_NOTE"]) {
    delete process.env[key];
  }
  const pulumi: typeof pulumiType = require("@pulumi/pulumi");
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([key, value]) => [`flask-bridge:${key}`, value])),
  );
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const resource = { type: args.type, name: args.name, inputs: args.inputs };
        declared.push(resource);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsOf(resource) } };
      },
      call: (args) => args.inputs,
    },
    "flask-bridge",
    "dev",
  );
  const program = require("../../index");
  const resolve = (output: pulumiType.Output<unknown> | undefined) =>
    output === undefined ? Promise.resolve(undefined) : new Promise((done) => output.apply(done));
  const outputs: Outputs = {};
  for (const name of ["containers", "services", "network", "image", "probes"]) {
    outputs[name] = await resolve(program[name]);
  }
  return { declared, portCheck, readSwarmCluster, outputs };
}

export function ofType(declared: Declared[], type: string): Declared[] {
  return declared.filter((resource) => resource.type === type);
}

export const LABELS = [
  { label: "flask-bridge.project", value: "flask-bridge" },
  { label: "flask-bridge.stack", value: "dev" },
];
