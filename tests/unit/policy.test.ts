import {
  type ContainerProps,
  hasHealthcheck,
  hostModeOnlyWhereMeant,
  hostPortsOf,
  noPortsOnHostOrNone,
  notPrivileged,
  uniqueHostPorts,
} from "../../policy/rules";

const healthy = { tests: ["CMD", "bash", "/app/healthcheck.sh"] };
const kind = (value: string) => [{ label: "flask-bridge.network-kind", value }];

const bridge1: ContainerProps = {
  name: "flask-bridge-1",
  networkMode: "bridge",
  ports: [{ internal: 5000, external: 5001, ip: "0.0.0.0" }],
  healthcheck: healthy,
  labels: kind("bridge"),
};
const host: ContainerProps = {
  name: "flask-host",
  networkMode: "host",
  envs: ["PORT=5000", "HOST=0.0.0.0"],
  healthcheck: healthy,
  labels: kind("host"),
};

describe("policy rules", () => {
  it("counts published ports, and the app's port in host mode", () => {
    expect([hostPortsOf(bridge1), hostPortsOf(host), hostPortsOf({ networkMode: "none" })]).toEqual([
      [5001],
      [5000],
      [],
    ]);
  });

  it("accepts the tutorial's containers", () => {
    const containers = [
      { name: "bridge-1", props: bridge1 },
      { name: "host", props: host },
    ];
    expect([uniqueHostPorts(containers), hostModeOnlyWhereMeant(containers)]).toEqual([[], []]);
    expect([noPortsOnHostOrNone(host), notPrivileged(host), hasHealthcheck(host)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it("reports a host port taken twice, the host-mode port included", () => {
    const clash = { ...bridge1, name: "flask-bridge-2", ports: [{ internal: 5000, external: 5000 }] };
    expect(
      uniqueHostPorts([
        { name: "host", props: host },
        { name: "bridge-2", props: clash },
      ]),
    ).toEqual(["host port 5000 is taken by both host and bridge-2"]);
  });

  it("reports ports on host and none containers", () => {
    expect(noPortsOnHostOrNone({ ...host, ports: [{ internal: 5000, external: 5000 }] })).toBe(
      "container flask-host in host mode declares ports; Docker discards them and the provider would replace the container on every run",
    );
  });

  it("reports privileged containers and missing healthchecks", () => {
    expect(notPrivileged({ ...bridge1, privileged: true })).toBe("container flask-bridge-1 is privileged");
    expect(hasHealthcheck({ ...bridge1, healthcheck: undefined })).toBe("container flask-bridge-1 has no healthcheck");
    expect(hasHealthcheck({ ...bridge1, healthcheck: { tests: ["NONE"] } })).toBe(
      "container flask-bridge-1 has no healthcheck",
    );
  });

  it("allows host networking only on the one host-mode container", () => {
    const sneaky = { ...bridge1, networkMode: "host" };
    expect(
      hostModeOnlyWhereMeant([
        { name: "host", props: host },
        { name: "bridge-1", props: sneaky },
      ]),
    ).toEqual([
      "container bridge-1 uses host networking but is not the stack's host-mode container",
      "2 containers use host networking; only one may",
    ]);
  });
});
