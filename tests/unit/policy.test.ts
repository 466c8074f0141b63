import {
  type ContainerProps,
  hasHealthcheck,
  hostModeOnlyWhereMeant,
  noPortsOnHostOrNone,
  notPrivileged,
  SERVICE_TYPE,
  type ServiceProps,
  workloadOf,
} from "../../src/policy/rules";

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
  healthcheck: healthy,
  labels: kind("host"),
};

describe("policy rules", () => {
  it("accepts the tutorial's containers", () => {
    const containers = [
      { name: "bridge-1", props: bridge1 },
      { name: "host", props: host },
    ];
    expect(hostModeOnlyWhereMeant(containers)).toEqual([]);
    expect(
      [bridge1, host].map((props) => [noPortsOnHostOrNone(props), notPrivileged(props), hasHealthcheck(props)]),
    ).toEqual([
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
    ]);
  });

  it("reports ports on host and none containers", () => {
    expect(noPortsOnHostOrNone({ ...host, ports: [{ internal: 5000, external: 5000 }] })).toBe(
      "container flask-host in host mode declares ports; Docker discards them and the provider would replace the container on every run",
    );
    expect(noPortsOnHostOrNone({ ...bridge1, name: "flask-none", networkMode: "none" })).toBe(
      "container flask-none in none mode declares ports; Docker discards them and the provider would replace the container on every run",
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
      "container bridge-1 uses host networking but is not the stack's host-mode one",
      "2 containers or services use host networking; only one may",
    ]);
  });
});

describe("policy rules for Swarm services", () => {
  const service = (overrides: ServiceProps["taskSpec"], ports: number[] = []): ServiceProps => ({
    name: "flask-bridge-1",
    taskSpec: {
      containerSpec: { healthcheck: healthy, labels: kind("bridge") },
      networksAdvanceds: [{ id: "bridge" }],
      ...overrides,
    },
    endpointSpec: { ports: ports.map((publishedPort) => ({ publishedPort, targetPort: 5000 })) },
  });

  it("sees a service as a container: its published ports, its task's network, healthcheck and labels", () => {
    expect(workloadOf(SERVICE_TYPE, service({}, [5001]))).toEqual({
      noun: "service",
      name: "flask-bridge-1",
      networkMode: undefined,
      ports: [{ external: 5001, internal: 5000 }],
      healthcheck: healthy,
      labels: kind("bridge"),
    });
    expect(workloadOf("docker:index/network:Network", {})).toBeUndefined();
  });

  it("accepts the tutorial's services, host mode included", () => {
    const onHost = service({
      containerSpec: { healthcheck: healthy, labels: kind("host") },
      networksAdvanceds: [{ id: "host" }],
    });
    const services = [
      { name: "bridge-1-service", props: workloadOf(SERVICE_TYPE, service({}, [5001])) as ContainerProps },
      { name: "host-service", props: workloadOf(SERVICE_TYPE, onHost) as ContainerProps },
    ];
    expect(hostModeOnlyWhereMeant(services)).toEqual([]);
    expect(services.map(({ props }) => [noPortsOnHostOrNone(props), hasHealthcheck(props)])).toEqual([
      [undefined, undefined],
      [undefined, undefined],
    ]);
  });

  it("reports a service without healthcheck, or on the host network unasked", () => {
    const as = (props: ServiceProps) => workloadOf(SERVICE_TYPE, props) as ContainerProps;
    const bare = as(service({ containerSpec: {} }, [5001]));
    const sneaky = as(service({ networksAdvanceds: [{ id: "host" }] }, [5002]));
    // The provider's deprecated way of naming the network, still taken.
    const sneakyByName = as(service({ networksAdvanceds: [{ name: "host" }] }, [5002]));
    expect(hasHealthcheck(bare)).toBe("service flask-bridge-1 has no healthcheck");
    for (const props of [sneaky, sneakyByName]) {
      expect(noPortsOnHostOrNone(props)).toBe(
        "service flask-bridge-1 in host mode declares ports; Docker discards them and the provider would replace the container on every run",
      );
    }
    const all = [
      { name: "a-service", props: bare },
      { name: "c-service", props: sneaky },
    ];
    expect(hostModeOnlyWhereMeant(all)).toEqual([
      "service c-service uses host networking but is not the stack's host-mode one",
    ]);
  });
});
