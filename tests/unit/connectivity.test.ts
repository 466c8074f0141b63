import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { FlaskBridgeConfig } from "../../src/plan/config";
import {
  type Cell,
  category,
  type Expected,
  expectedConnectivity,
  type Matrix,
  type Measured,
  measuredMatrix,
  mismatches,
  probeRequests,
  WAYS,
} from "../../src/plan/connectivity";
import { planTopology } from "../../src/plan/plan";
import { parseStackOutputs } from "../../src/views/diagram";
import { DEFAULTS } from "./projectDefaults";

const OUTPUTS_FILE = path.join(__dirname, "fixtures", "outputs.json");

function plan(overrides: Partial<FlaskBridgeConfig> = {}) {
  return planTopology({ ...DEFAULTS, ...overrides }, "dev");
}

const LETTERS: Record<string, Expected> = { o: "ok", x: "nxdomain", b: "blocked", "-": "na" };

function letter(text: string | undefined): Expected {
  const expected = LETTERS[text ?? ""];
  if (expected === undefined) {
    throw new Error(`not a cell letter: ${text}`);
  }
  return expected;
}

/**
 * A matrix written the way `npm run matrix` prints it: a header of targets,
 * then one row per source; each cell is four letters in WAYS order
 * (o ok, x no such name, b blocked, - not applicable). Names get "flask-".
 */
function grid(text: string): Matrix<Expected> {
  const [header = [], ...rows] = text
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/));
  return Object.fromEntries(
    rows.map(([source, ...cells]) => [
      `flask-${source}`,
      Object.fromEntries(
        header.map((target, column) => [
          `flask-${target}`,
          Object.fromEntries(WAYS.map((way, index) => [way, letter(cells[column]?.[index])])) as Cell<Expected>,
        ]),
      ),
    ]),
  );
}

describe("expectedConnectivity", () => {
  it("predicts the tutorial's topology exactly as measured on Docker 20.10", () => {
    expect(expectedConnectivity(plan())).toEqual(
      grid(`
                  bridge-1 bridge-2 bridge-3 custom-1 custom-2 custom-3 host     none
        bridge-1  ----     xoxo     xoxo     xbxo     xbxo     xbxo     x-xo     x-x-
        bridge-2  xoxo     ----     xoxo     xbxo     xbxo     xbxo     x-xo     x-x-
        bridge-3  xoxo     xoxo     ----     xbxo     xbxo     xbxo     x-xo     x-x-
        custom-1  xbxo     xbxo     xbxo     ----     oooo     oooo     x-xo     x-x-
        custom-2  xbxo     xbxo     xbxo     oooo     ----     oooo     x-xo     x-x-
        custom-3  xbxo     xbxo     xbxo     oooo     oooo     ----     x-xo     x-x-
        host      xoxo     xoxo     xoxo     xoxo     xoxo     xoxo     ----     x-x-
        none      xbx-     xbx-     xbx-     xbx-     xbx-     xbx-     x-x-     ----
      `),
    );
  });

  it("closes published ports to containers when they bind loopback, but not to the host", () => {
    expect(expectedConnectivity(plan({ bindAddress: "127.0.0.1" }))).toEqual(
      grid(`
                  bridge-1 bridge-2 bridge-3 custom-1 custom-2 custom-3 host     none
        bridge-1  ----     xoxb     xoxb     xbxb     xbxb     xbxb     x-xb     x-x-
        bridge-2  xoxb     ----     xoxb     xbxb     xbxb     xbxb     x-xb     x-x-
        bridge-3  xoxb     xoxb     ----     xbxb     xbxb     xbxb     x-xb     x-x-
        custom-1  xbxb     xbxb     xbxb     ----     ooob     ooob     x-xb     x-x-
        custom-2  xbxb     xbxb     xbxb     ooob     ----     ooob     x-xb     x-x-
        custom-3  xbxb     xbxb     xbxb     ooob     ooob     ----     x-xb     x-x-
        host      xoxo     xoxo     xoxo     xoxo     xoxo     xoxo     ----     x-x-
        none      xbx-     xbx-     xbx-     xbx-     xbx-     xbx-     x-x-     ----
      `),
    );
  });

  it("follows the plan's containers: one of each kind, a bind address outside loopback", () => {
    const small = plan({ bridgePorts: [5001], customPorts: [5004], bindAddress: "192.0.2.10" });
    expect(expectedConnectivity(small)).toEqual(
      grid(`
                  bridge-1 custom-1 host     none
        bridge-1  ----     xbxb     x-xb     x-x-
        custom-1  xbxb     ----     x-xb     x-x-
        host      xoxb     xoxb     ----     x-x-
        none      xbx-     xbx-     x-x-     ----
      `),
    );
  });
});

describe("comparing", () => {
  const measured = (outcome: Measured["outcome"]): Measured => ({ outcome, detail: "" });

  it("counts a timeout and a refusal alike as blocked", () => {
    expect(["ok", "nxdomain", "timeout", "refused", "na", "error"].map((o) => category(o as never))).toEqual([
      "ok",
      "nxdomain",
      "blocked",
      "blocked",
      "na",
      "error",
    ]);
  });

  it("lists every try that differs, and cells that exist on one side only", () => {
    const expected: Matrix<Expected> = {
      a: { b: { dns: "nxdomain", ip: "blocked", name: "nxdomain", port: "ok" } },
      c: { b: { dns: "na", ip: "na", name: "na", port: "na" } },
    };
    const got: Matrix<Measured> = {
      a: { b: { dns: measured("nxdomain"), ip: measured("refused"), name: measured("ok"), port: measured("error") } },
    };
    expect(mismatches(expected, got)).toEqual([
      { source: "a", target: "b", way: "name", expected: "nxdomain", measured: measured("ok") },
      { source: "a", target: "b", way: "port", expected: "ok", measured: measured("error") },
      ...WAYS.map((way) => ({ source: "c", target: "b", way, expected: "na", measured: null })),
    ]);
    const na = measured("na");
    const complete = { ...got, c: { b: { dns: na, ip: na, name: na, port: na } } };
    expect(mismatches(expected, complete).map(({ way }) => way)).toEqual(["name", "port"]);
  });
});

describe("probeRequests", () => {
  const outputs = parseStackOutputs(JSON.parse(readFileSync(OUTPUTS_FILE, "utf8")), OUTPUTS_FILE);
  const requests = probeRequests(outputs, {
    bridge: ["flask-bridge-1", "flask-bridge-2", "flask-bridge-3"],
    "my-bridge-network": ["flask-custom-1", "flask-custom-2", "flask-custom-3"],
  });

  it("opens published ports at the source's gateway, and the host-mode app by its own port", () => {
    expect(requests["flask-custom-1"]?.tries.filter((t) => t.target === "flask-host")).toEqual([
      { target: "flask-host", way: "dns", host: "flask-host", port: 5000 },
      { target: "flask-host", way: "name", host: "flask-host", port: 5000 },
      { target: "flask-host", way: "port", host: "172.18.0.1", port: 5000 },
    ]);
    expect(requests["flask-custom-1"]?.registered).toEqual(["flask-custom-1", "flask-custom-2", "flask-custom-3"]);
    expect(requests["flask-bridge-1"]?.tries.filter((t) => t.target === "flask-custom-2")).toEqual([
      { target: "flask-custom-2", way: "dns", host: "flask-custom-2", port: 5000 },
      { target: "flask-custom-2", way: "ip", host: "172.18.0.3", port: 5000 },
      { target: "flask-custom-2", way: "name", host: "flask-custom-2", port: 5000 },
      { target: "flask-custom-2", way: "port", host: "172.17.0.1", port: 5005 },
    ]);
  });

  it("uses the host's loopback from host mode, and leaves none no way to the host", () => {
    expect(requests["flask-host"]?.tries.filter((t) => t.way === "port").map((t) => `${t.host}:${t.port}`)).toEqual(
      ["5001", "5002", "5003", "5004", "5005", "5006"].map((port) => `127.0.0.1:${port}`),
    );
    expect(requests["flask-host"]?.registered).toEqual([]);
    expect(requests["flask-none"]?.tries.map((t) => t.way)).not.toContain("port");
  });

  it("tries every other container, never itself, by ip where it has one, by port where one is published", () => {
    const counts = Object.fromEntries(
      Object.entries(requests).map(([source, { tries, timeout }]) => [
        source,
        [timeout, ...WAYS.map((way) => tries.filter((t) => t.way === way).length)],
      ]),
    );
    const selfTries = Object.entries(requests).filter(([source, { tries }]) => tries.some((t) => t.target === source));
    expect(selfTries).toEqual([]);
    expect(counts).toEqual({
      "flask-bridge-1": [1.5, 7, 5, 7, 6],
      "flask-bridge-2": [1.5, 7, 5, 7, 6],
      "flask-bridge-3": [1.5, 7, 5, 7, 6],
      "flask-custom-1": [1.5, 7, 5, 7, 6],
      "flask-custom-2": [1.5, 7, 5, 7, 6],
      "flask-custom-3": [1.5, 7, 5, 7, 6],
      "flask-host": [1.5, 7, 6, 7, 6],
      "flask-none": [1.5, 7, 6, 7, 0],
    });
  });
});

describe("measuredMatrix", () => {
  it("places each answer and marks tries never made as not applicable", () => {
    const notTried = { outcome: "na", detail: "not tried" };
    expect(
      measuredMatrix(["a", "b"], {
        a: [{ target: "b", way: "ip", outcome: "timeout", detail: "no answer" }],
      }),
    ).toEqual({
      a: {
        a: { dns: notTried, ip: notTried, name: notTried, port: notTried },
        b: { dns: notTried, ip: { outcome: "timeout", detail: "no answer" }, name: notTried, port: notTried },
      },
      b: {
        a: { dns: notTried, ip: notTried, name: notTried, port: notTried },
        b: { dns: notTried, ip: notTried, name: notTried, port: notTried },
      },
    });
  });
});
