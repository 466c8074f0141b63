import * as pulumi from "@pulumi/pulumi";
import { CONTAINER_TYPE, SERVICE_TYPE } from "../../src/policy/rules";
import type * as rulesInProgram from "../../src/policy/ruleTransformation";
import { knownValues, RuleChecker } from "../../src/policy/ruleTransformation";
import { type Declared, runProgram } from "./mockProgram";

/**
 * The policy pack's rules inside the program: every container and service is
 * checked as it is declared, and one that breaks a rule is refused by name.
 */

const healthcheck = { tests: ["CMD", "bash", "/app/healthcheck.sh"] };
const kind = (value: string) => [{ label: "flask-bridge.network-kind", value }];

describe("RuleChecker", () => {
  it("accepts the tutorial's kinds of container", () => {
    const checker = new RuleChecker();
    expect([
      checker.violations(CONTAINER_TYPE, "bridge-1-container", {
        name: "flask-bridge-1",
        networkMode: "bridge",
        ports: [{ internal: 5000, external: 5001 }],
        healthcheck,
        labels: kind("bridge"),
      }),
      checker.violations(CONTAINER_TYPE, "host-container", {
        name: "flask-host",
        networkMode: "host",
        healthcheck,
        labels: kind("host"),
      }),
      checker.violations(CONTAINER_TYPE, "none-container", {
        name: "flask-none",
        networkMode: "none",
        healthcheck,
        labels: kind("none"),
      }),
      checker.violations("docker:index/network:Network", "network", { name: "my-bridge-network" }),
    ]).toEqual([[], [], [], []]);
  });

  it("names every rule a container breaks", () => {
    expect(
      new RuleChecker().violations(CONTAINER_TYPE, "rogue-container", {
        name: "rogue",
        networkMode: "none",
        ports: [{ internal: 5000, external: 5009 }],
        privileged: true,
      }),
    ).toEqual([
      "container rogue in none mode declares ports; Docker discards them and the provider would replace the container on every run",
      "container rogue is privileged",
      "container rogue has no healthcheck",
    ]);
  });

  it("refuses a second host-mode container, and one not meant for host mode, when it is declared", () => {
    const checker = new RuleChecker();
    const host = { networkMode: "host", healthcheck, labels: kind("host") };
    expect(checker.violations(CONTAINER_TYPE, "host-container", { ...host, name: "flask-host" })).toEqual([]);
    expect(checker.violations(CONTAINER_TYPE, "host-2-container", { ...host, name: "flask-host-2" })).toEqual([
      "2 containers or services use host networking; only one may",
    ]);
    expect(
      checker.violations(CONTAINER_TYPE, "sneaky-container", {
        name: "sneaky",
        networkMode: "host",
        healthcheck,
        labels: kind("bridge"),
      }),
    ).toEqual([
      "container sneaky-container uses host networking but is not the stack's host-mode one",
      "3 containers or services use host networking; only one may",
    ]);
  });

  it("checks a Swarm service as a container", () => {
    expect(
      new RuleChecker().violations(SERVICE_TYPE, "custom-1-service", {
        name: "flask-custom-1",
        taskSpec: { containerSpec: { labels: kind("custom") } },
      }),
    ).toEqual(["service flask-custom-1 has no healthcheck"]);
  });

  it("reads a value not known yet as unset, as the pack does in a preview", () => {
    const unknown = pulumi.output("host");
    expect(knownValues({ networkMode: unknown, ports: [{ external: 5001, ip: Promise.resolve("x") }] })).toEqual({
      networkMode: undefined,
      ports: [{ external: 5001, ip: undefined }],
    });
    expect(
      new RuleChecker().violations(CONTAINER_TYPE, "custom-1-container", {
        name: "flask-custom-1",
        networkMode: unknown,
        healthcheck,
      }),
    ).toEqual([]);
  });
});

describe("the rules in the program", () => {
  it("refuse a resource that breaks one before it is registered, in one line without a stack trace", async () => {
    await pulumi.runtime.setMocks({
      newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
      call: (args) => args.inputs,
    });
    const docker: typeof import("@pulumi/docker") = require("@pulumi/docker");
    const { ruleTransformation }: typeof rulesInProgram = require("../../src/policy/ruleTransformation");
    const declare = () =>
      new docker.Container(
        "rogue-container",
        { name: "rogue", image: "flask-hello-world", privileged: true, healthcheck },
        { transformations: [ruleTransformation()] },
      );
    expect(declare).toThrow(pulumi.RunError);
    expect(declare).toThrow("the stack's rules refuse rogue-container: container rogue is privileged");
  });

  it("check every container the program declares", async () => {
    let checked: jest.SpyInstance | undefined;
    const declared: Declared[] = [];
    await runProgram({}, ({ type }) => (type === "command:local:Command" ? { stdout: "" } : {}), {
      declared,
      beforeProgram: () => {
        const fresh: typeof rulesInProgram = require("../../src/policy/ruleTransformation");
        checked = jest.spyOn(fresh.RuleChecker.prototype, "violations");
      },
    });
    const containers = declared.filter(({ type }) => type === CONTAINER_TYPE).map(({ name }) => name);
    expect(containers).toHaveLength(8);
    const checkedContainers = (checked?.mock.calls ?? []).filter(([type]) => type === CONTAINER_TYPE);
    expect(checkedContainers.map(([, name]) => name).sort()).toEqual([...containers].sort());
    expect(checked?.mock.results.every(({ value }) => Array.isArray(value) && value.length === 0)).toBe(true);
  });
});
