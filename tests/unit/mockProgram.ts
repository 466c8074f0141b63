import type * as pulumiType from "@pulumi/pulumi";
import { type Engine, LOCAL_ENGINE } from "../../src/plan/engine";
import type { RegistryFacts } from "../../src/plan/plan";
import { defaultConfigStrings } from "./projectDefaults";

/** The stub engine's platform: not this machine's, so a test sees where the value came from. */
export const ENGINE_PLATFORM = "linux/arm64";

/** What the stub engine says of the swarm's own registry: node "vm", no official image, setup's stand-in. */
export const REGISTRY_FACTS: RegistryFacts = Object.freeze({
  nodeId: "NODE-ID",
  nodeName: "vm",
  image: `sha256:${"7".repeat(64)}`,
  note: "stand-in registry note",
});

// Loaded once: the tmp package (under @pulumi/pulumi) adds a process "exit"
// listener each time it loads, and every run below loads @pulumi/pulumi afresh.
const tmp: unknown = jest.requireActual("tmp");

/** A resource as the program declared it. */
export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  /** The provider reference it was given ("<urn>::<id>"); undefined for a default provider. */
  provider?: string;
}

/** What a resource's mock state adds to its inputs, e.g. the outputs Docker would report. */
export type MockOutputs = (resource: Declared) => Record<string, unknown>;

// biome-ignore lint/suspicious/noExplicitAny: stack outputs are whatever the program exports.
type Outputs = Record<string, any>;

/**
 * Runs index.ts under Pulumi's mocks, on a fresh module registry with setMocks
 * first, and returns what it declared and exported. Every read of the machine
 * (which engine, its facts, the host-port check) is a stub, and the program
 * sees an empty environment: the user's shell (DOCKER_HOST, DOCKER_CONTEXT,
 * no docker or ssh on PATH) never changes the result. `declared` fills as the
 * program runs, so a failed run can be inspected too.
 */
export async function runProgram(
  config: Record<string, string>,
  outputsOf: MockOutputs,
  options: {
    swarmNodes?: number | null;
    declared?: Declared[];
    engine?: Engine;
    registryFacts?: RegistryFacts;
    /** Runs on the fresh module registry just before the program, e.g. to spy on one of its modules. */
    beforeProgram?: () => void;
  } = {},
) {
  const declared = options.declared ?? [];
  jest.resetModules();
  jest.doMock("tmp", () => tmp);
  const portCheck = jest.fn((..._args: unknown[]) => declared.length);
  jest.doMock("../../src/machine/hostPorts", () => ({ checkHostPortsFree: portCheck }));
  const engine = options.engine ?? LOCAL_ENGINE;
  jest.doMock("../../src/machine/engine", () => ({ resolveEngine: () => engine }));
  const readEngineFacts = jest.fn((_engine: Engine, wantSwarm: boolean) => ({
    platform: ENGINE_PLATFORM,
    id: "ENGINE-ID",
    swarm: wantSwarm && options.swarmNodes != null ? { nodes: options.swarmNodes } : null,
  }));
  jest.doMock("../../src/machine/engineFacts", () => ({ readEngineFacts, baseImageOverride: () => undefined }));
  const readRegistryFacts = jest.fn((_engine: Engine) => options.registryFacts ?? REGISTRY_FACTS);
  jest.doMock("../../src/machine/registryFacts", () => ({ readRegistryFacts }));
  const pulumi: typeof pulumiType = require("@pulumi/pulumi");
  pulumi.runtime.setAllConfig({
    ...defaultConfigStrings(),
    ...Object.fromEntries(Object.entries(config).map(([key, value]) => [`flask-bridge:${key}`, value])),
  });
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const resource = { type: args.type, name: args.name, inputs: args.inputs, provider: args.provider };
        declared.push(resource);
        return { id: `${args.name}-id`, state: { ...args.inputs, ...outputsOf(resource) } };
      },
      call: (args) => args.inputs,
    },
    "flask-bridge",
    "dev",
  );
  options.beforeProgram?.();
  const shell = process.env;
  process.env = {};
  let program: Outputs;
  try {
    program = require("../../index");
  } finally {
    process.env = shell;
  }
  const resolve = (output: pulumiType.Output<unknown> | undefined) =>
    output === undefined ? Promise.resolve(undefined) : new Promise((done) => output.apply(done));
  const outputs: Outputs = {};
  for (const name of ["containers", "services", "network", "image", "probes"]) {
    outputs[name] = await resolve(program[name]);
  }
  return { declared, portCheck, readEngineFacts, readRegistryFacts, outputs };
}

export function ofType(declared: Declared[], type: string): Declared[] {
  return declared.filter((resource) => resource.type === type);
}

export const LABELS = [
  { label: "flask-bridge.project", value: "flask-bridge" },
  { label: "flask-bridge.stack", value: "dev" },
];
