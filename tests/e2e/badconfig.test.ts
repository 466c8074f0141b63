import type { Stack } from "@pulumi/pulumi/automation";
import {
  freshStack,
  labelled,
  RUN,
  reportAssertions,
  requirePrerequisites,
  resourceCount,
  stackConfig,
  writeConfig,
} from "./harness";

/**
 * Bad config through the real engine: each value goes through `pulumi up`,
 * must fail with its exact message, and must leave nothing behind, neither in
 * the stack's state nor in Docker.
 */

jest.setTimeout(15 * 60 * 1000);
reportAssertions("badconfig");

const STACK = "e2e-badconfig";
const CONFIG = stackConfig("e2b", 17000, 59);

const CASES: [string, Record<string, unknown>, string][] = [
  [
    "a port in both lists",
    { "flask-bridge:customPorts": [17001, 17005, 17006] },
    'Invalid config: host port 17001 is used twice, by e2b-bridge-1 (flask-bridge:bridgePorts[0]) and by e2b-custom-1 (flask-bridge:customPorts[0]); Docker would fail with "port is already allocated". Give each container its own host port.',
  ],
  [
    "the host-mode port on a published port",
    { "flask-bridge:hostPort": 17002 },
    'Invalid config: host port 17002 is used twice, by e2b-bridge-2 (flask-bridge:bridgePorts[1]) and by e2b-host (flask-bridge:hostPort); Docker would fail with "port is already allocated". Give each container its own host port.',
  ],
  [
    "a port out of range",
    { "flask-bridge:bridgePorts": [17001, 70000] },
    "Invalid config flask-bridge:bridgePorts = [17001,70000]: port 70000 must be a whole number from 1 to 65535",
  ],
  [
    "port 0",
    { "flask-bridge:customPorts": [0] },
    "Invalid config flask-bridge:customPorts = [0]: port 0 must be a whole number from 1 to 65535",
  ],
  [
    "a fractional port",
    { "flask-bridge:customPorts": [17004.5] },
    // Pulumi's own check of the type Pulumi.yaml declares runs before the program.
    "error: validating stack config: Stack 'e2e-badconfig' with configuration key 'customPorts' must be of type 'array<integer>'",
  ],
  [
    "a reserved network name",
    { "flask-bridge:networkName": "bridge" },
    'Invalid config flask-bridge:networkName = "bridge": "bridge" is one of Docker\'s predefined networks (bridge, host, none, default); choose a name of your own, e.g. "my-bridge-network"',
  ],
  [
    "an invalid network name",
    { "flask-bridge:networkName": "my net!" },
    "Invalid config flask-bridge:networkName = \"my net!\": must start with a letter or digit and contain only letters, digits, '_', '.' and '-' (Docker's naming rule)",
  ],
  [
    "a CIDR that is not one",
    { "flask-bridge:networkSubnet": "10.213.59.0/33" },
    'Invalid config flask-bridge:networkSubnet = "10.213.59.0/33": must be an IPv4 CIDR such as "172.30.0.0/24"',
  ],
  [
    "a subnet overlapping the default bridge",
    { "flask-bridge:networkSubnet": "172.17.0.0/24", "flask-bridge:networkGateway": "172.17.0.1" },
    'Invalid config flask-bridge:networkSubnet = "172.17.0.0/24": overlaps the default bridge network 172.17.0.0/16, which the containers on "bridge" use',
  ],
  [
    "a gateway outside the subnet",
    { "flask-bridge:networkGateway": "10.213.60.1" },
    'Invalid config flask-bridge:networkGateway = "10.213.60.1": is not a usable address in flask-bridge:networkSubnet 10.213.59.0/24 (usable: 10.213.59.1-10.213.59.254)',
  ],
  [
    "a bad bind address",
    { "flask-bridge:bindAddress": "localhost" },
    'Invalid config flask-bridge:bindAddress = "localhost": must be an IPv4 address: "0.0.0.0" for every interface (the tutorial\'s default) or e.g. "127.0.0.1" for this machine only',
  ],
  [
    "a bad base image name",
    { "flask-bridge:baseImage": "Python 3" },
    'Invalid config flask-bridge:baseImage = "Python 3": is not a valid Docker image reference such as "python:3.11-slim" (lowercase name, optional registry, tag and digest)',
  ],
  [
    "zero containers",
    {
      "flask-bridge:bridgePorts": [],
      "flask-bridge:customPorts": [],
      "flask-bridge:hostMode": false,
      "flask-bridge:noneMode": false,
    },
    'Invalid config: flask-bridge:bridgePorts and flask-bridge:customPorts are empty and flask-bridge:hostMode and flask-bridge:noneMode are false, so the stack would run no containers. To remove everything, run "npm run destroy" instead.',
  ],
  [
    "a port list that is not a list",
    { "flask-bridge:bridgePorts": "17001" },
    "error: validating stack config: Stack 'e2e-badconfig' with configuration key 'bridgePorts' must be of type 'array<integer>'",
  ],
];

let stack: Stack;

beforeAll(async () => {
  requirePrerequisites();
  stack = await freshStack(STACK, { ...CONFIG });
});

afterAll(async () => {
  await stack?.workspace.removeStack(STACK, { force: true });
});

it.each(CASES)("refuses %s with its exact message and creates nothing", async (_name, overrides, message) => {
  writeConfig(STACK, { ...CONFIG, ...overrides });
  const failure = await stack.up(RUN).then(
    () => new Error("up succeeded"),
    (error: Error) => error,
  );
  // Pulumi prints a RunError as "error: <message>" on a line of its own, with no stack trace.
  const expected = message.startsWith("error: ") ? message : `error: ${message}`;
  expect(failure.message.split("\n").map((line) => line.trim())).toContain(expected);
  expect(failure.message).not.toMatch(/unhandled exception|\n\s+at \S+ \(/);
  expect(await resourceCount(stack)).toBe(0);
  expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
});
