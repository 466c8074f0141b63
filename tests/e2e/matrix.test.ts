import type { Stack } from "@pulumi/pulumi/automation";
import { measureConnectivity, planFor } from "../../scripts/matrix";
import {
  category,
  type Expected,
  expectedConnectivity,
  type Matrix,
  type Measured,
  WAYS,
} from "../../src/plan/connectivity";
import type { StackOutputs } from "../../src/plan/outputs";
import { parseStackOutputs } from "../../src/views/diagram";
import {
  expectOfficialPlugins,
  freshStack,
  labelled,
  pluginsServing,
  printTimings,
  RUN,
  reportAssertions,
  requirePrerequisites,
  stackConfig,
  timed,
} from "./harness";

/**
 * `npm run matrix`'s code on a stack of its own (ports 18000-18006, subnet
 * 10.213.60.0/24): every measured try against Docker's rules for the stack's
 * plan, then the tutorial's lessons checked by hand. The stack binds its
 * published ports to 127.0.0.1, so from inside containers they are refused.
 */

const STACK = "e2e-matrix";
const BRIDGE = ["e2m-bridge-1", "e2m-bridge-2", "e2m-bridge-3"];
const CUSTOM = ["e2m-custom-1", "e2m-custom-2", "e2m-custom-3"];

jest.setTimeout(10 * 60 * 1000);
reportAssertions("matrix");

let stack: Stack | undefined;
let outputs: StackOutputs;
let expected: Matrix<Expected>;
let measured: Matrix<Measured>;
const timings: Record<string, number> = {};
let servedBy: string[];

beforeAll(async () => {
  requirePrerequisites();
  const created = await freshStack(STACK, stackConfig("e2m", 18000, 60));
  stack = created;
  const { result, plugins } = await pluginsServing(() => timed("up (empty stack)", timings, () => created.up(RUN)));
  servedBy = plugins;
  outputs = parseStackOutputs(
    Object.fromEntries(Object.entries(result.outputs).map(([key, { value }]) => [key, value])),
    `outputs of ${STACK}`,
  );
  expected = expectedConnectivity(planFor(STACK, await created.getAllConfig()));
  ({ measured } = await timed("matrix (8 x 8, 4 ways)", timings, () => measureConnectivity(outputs)));
});

afterAll(async () => {
  // Also after a failed beforeAll: whatever was created goes, and the label proves it.
  await stack?.destroy({ color: "never" });
  expect(labelled(STACK)).toEqual({ containers: [], networks: [], images: [] });
  printTimings("e2e matrix timings (printed, not asserted)", timings);
});

function outcome(source: string, target: string, way: (typeof WAYS)[number]): string {
  return measured[source]?.[target]?.[way].outcome ?? "missing";
}

describe("the measured matrix", () => {
  it("comes from a stack served by the official docker and command plugins", () => {
    expectOfficialPlugins(servedBy);
  });

  it("covers the 8 containers of the plan, both ways", () => {
    expect(Object.keys(measured).sort()).toEqual(Object.keys(expected).sort());
    expect(Object.keys(measured)).toHaveLength(8);
  });

  it("matches Docker's rules in every cell (timeout and refused both count as blocked)", () => {
    const asRules = Object.fromEntries(
      Object.entries(measured).map(([source, row]) => [
        source,
        Object.fromEntries(
          Object.entries(row).map(([target, cell]) => [
            target,
            Object.fromEntries(WAYS.map((way) => [way, category(cell[way].outcome)])),
          ]),
        ),
      ]),
    );
    expect(asRules).toEqual(expected);
  });
});

describe("the tutorial's lessons, by hand", () => {
  it("default bridge: bridge-1 cannot resolve bridge-2's name, yet reaches its IP", () => {
    expect(outcome("e2m-bridge-1", "e2m-bridge-2", "dns")).toBe("nxdomain");
    expect(outcome("e2m-bridge-1", "e2m-bridge-2", "name")).toBe("nxdomain");
    expect(measured["e2m-bridge-1"]?.["e2m-bridge-2"]?.ip.detail).toMatch(/HTTP 200 'Hello, World!'$/);
  });

  it("user-defined bridge: custom-1 reaches custom-2 by name through the embedded DNS", () => {
    const cell = measured["e2m-custom-1"]?.["e2m-custom-2"];
    const ip = outputs.containers["e2m-custom-2"]?.ip;
    expect(cell?.dns).toEqual({ outcome: "ok", detail: `${ip} (embedded DNS)` });
    expect(cell?.name).toEqual({ outcome: "ok", detail: `${ip}:5000 HTTP 200 'Hello, World!'` });
  });

  it("the two bridges are isolated: by IP, every try between them times out or is refused", () => {
    for (const [from, to] of BRIDGE.flatMap((bridge) =>
      CUSTOM.flatMap((custom) => [
        [bridge, custom],
        [custom, bridge],
      ]),
    )) {
      expect([from, to, outcome(from as string, to as string, "ip")]).toEqual([
        from,
        to,
        expect.stringMatching(/^(timeout|refused)$/),
      ]);
    }
  });

  it("none reaches nothing, and nothing reaches none", () => {
    const names = Object.keys(measured);
    const fromNone = names.flatMap((target) => WAYS.map((way) => outcome("e2m-none", target, way)));
    const toNone = names.flatMap((source) => WAYS.map((way) => outcome(source, "e2m-none", way)));
    expect(fromNone.filter((seen) => seen === "ok")).toEqual([]);
    expect(toNone.filter((seen) => seen === "ok")).toEqual([]);
    expect(outcome("e2m-none", "e2m-bridge-1", "ip")).toBe("refused");
  });

  it("host mode reaches every bridge IP and every published port on loopback", () => {
    for (const target of [...BRIDGE, ...CUSTOM]) {
      expect([target, outcome("e2m-host", target, "ip"), outcome("e2m-host", target, "port")]).toEqual([
        target,
        "ok",
        "ok",
      ]);
    }
  });

  it("published ports bound to 127.0.0.1 are refused at the gateway, even the container's own bridge", () => {
    expect(outcome("e2m-bridge-1", "e2m-bridge-2", "port")).toBe("refused");
    expect(outcome("e2m-custom-1", "e2m-host", "port")).toBe("refused");
  });
});
