import * as fs from "node:fs";
import * as path from "node:path";
import {
  driftMessage,
  type EngineView,
  hasSwarmPart,
  IMAGE,
  judgeLock,
  NETWORK,
  planHeal,
  pulumiArgs,
  SERVICE,
  type StackLock,
  type StackState,
  stateIds,
  VOLUME,
} from "../../src/machine/heal";
import {
  fileBackendDir,
  parseContainers,
  parseNetworks,
  parsePresent,
  parseServices,
  parseState,
  parseVolumes,
} from "../../src/machine/healIo";
import { type HealDeps, heal } from "../../src/machine/healStep";

/** The checkpoint a `kill -9` of pulumi left mid-up (trimmed to what heal reads): 3 containers pending create. */
const KILLED = parseState(
  fs.readFileSync(path.join(__dirname, "fixtures", "heal", "killed-up-checkpoint.json"), "utf8"),
);
const IMAGE_ID = "sha256:94c9f3fa06a1bb26d106c95aba8afbf6b353b7a87bb2a9bce5c300b0593d9700";

function byName(state: StackState, name: string): string {
  const found = state.resources.find((r) => r.outputs?.name === name);
  if (!found?.id) throw new Error(`no ${name} in the fixture`);
  return found.id;
}

/** The engine as it was after the kill: everything of the state, plus the 3 containers created but not recorded. */
function engineAfterKill(): EngineView {
  const present = new Map<string, string>(stateIds(KILLED).map((id) => [id, ""]));
  for (const name of ["ehb-host", "ehb-bridge-1", "ehb-bridge-2", "ehb-bridge-3", "ehb-none"]) {
    present.set(byName(KILLED, name), "running");
  }
  const inState = [...present.entries()]
    .filter(([, state]) => state === "running")
    .map(([id]) => ({ id, name: "x", state: "running", swarmTask: false }));
  return {
    containers: [
      ...inState,
      ...["ehb-custom-1", "ehb-custom-2", "ehb-custom-3"].map((name, i) => ({
        id: `orphan${i}`,
        name,
        state: "running",
        swarmTask: false,
      })),
    ],
    networks: [{ id: byName(KILLED, "ehb-bridge-network"), name: "ehb-bridge-network" }],
    services: [],
    volumes: [],
    present,
  };
}

/** An engine with nothing of the stack. */
const EMPTY: EngineView = { containers: [], networks: [], services: [], volumes: [], present: new Map() };

/**
 * A converged swarm stack (trimmed to what heal reads): the registry's volume
 * and service, the pushed image, the overlay and 2 app services.
 */
const SWARM_URN = "urn:pulumi:s::flask-bridge::";
const PUSHED = "127.0.0.1:5000/flask-hello-world@sha256:4d2c8e1f00aa";
const SWARM: StackState = {
  resources: [
    { urn: `${SWARM_URN}vol`, type: VOLUME, id: "s-registry-data", outputs: { name: "s-registry-data" } },
    { urn: `${SWARM_URN}reg`, type: SERVICE, id: "svcregistry0000000000000", outputs: { name: "s-registry" } },
    { urn: `${SWARM_URN}img`, type: IMAGE, id: "sha256:4d2c8e1f00aa", outputs: { repoDigest: PUSHED } },
    { urn: `${SWARM_URN}net`, type: NETWORK, id: "overlay0", outputs: { name: "s-overlay" } },
    { urn: `${SWARM_URN}web`, type: SERVICE, id: "svcweb000000000000000000", outputs: { name: "s-custom-1" } },
    { urn: `${SWARM_URN}host`, type: SERVICE, id: "svchost00000000000000000", outputs: { name: "s-host" } },
  ],
  pending: [],
};

/** The engine holding all of SWARM, each task's container too (its service owns it). */
function swarmEngine(): EngineView {
  return {
    containers: [{ id: "task1", name: "s-host.1.abc", state: "running", swarmTask: true }],
    networks: [{ id: "overlay0", name: "s-overlay" }],
    services: [
      { id: "svcregistry0000000000000", name: "s-registry" },
      { id: "svcweb000000000000000000", name: "s-custom-1" },
      { id: "svchost00000000000000000", name: "s-host" },
    ],
    volumes: [{ name: "s-registry-data" }],
    present: new Map(stateIds(SWARM).map((id) => [id, ""])),
  };
}

const HOST = "vm";
const dead = () => false;

describe("parseState", () => {
  it("reads the file backend's checkpoint: resources and the pending creates a killed up left", () => {
    expect(KILLED.pending.map((p) => [p.type, p.urn.split("::").pop()])).toEqual([
      ["creating", "custom-3-container"],
      ["creating", "custom-2-container"],
      ["creating", "custom-1-container"],
    ]);
    expect(stateIds(KILLED)).toHaveLength(7); // 5 containers, the network, the image
    expect(stateIds(KILLED)).toContain(IMAGE_ID);
  });

  it("reads `pulumi stack export` the same way", () => {
    const exported = JSON.stringify({
      version: 3,
      deployment: {
        resources: [{ urn: "u1", type: NETWORK, id: "n1", outputs: { name: "net" } }],
        pending_operations: [{ type: "deleting", resource: { urn: "u2" } }],
      },
    });
    expect(parseState(exported)).toEqual({
      resources: [{ urn: "u1", type: NETWORK, id: "n1", outputs: { name: "net" } }],
      pending: [{ type: "deleting", urn: "u2" }],
    });
  });

  it("reads a stack with no deployment yet as empty", () => {
    expect(parseState('{"version":3,"checkpoint":{"stack":"s","latest":null}}')).toEqual({
      resources: [],
      pending: [],
    });
  });
});

describe("docker listings", () => {
  it("marks a Swarm task's container, which its service owns", () => {
    expect(
      parseContainers(
        "c1\tehb-host\trunning\tflask-bridge.stack=s,flask-bridge.project=flask-bridge\n" +
          "c2\ts-web.1.x\trunning\tcom.docker.swarm.task.id=t1,flask-bridge.stack=s\n",
      ),
    ).toEqual([
      { id: "c1", name: "ehb-host", state: "running", swarmTask: false },
      { id: "c2", name: "s-web.1.x", state: "running", swarmTask: true },
    ]);
  });

  it("reads networks and inspect's IDs with a container's state", () => {
    expect(parseNetworks("n1\tnet\n\n")).toEqual([{ id: "n1", name: "net" }]);
    expect(parsePresent(`c1\texited\nn1\n${IMAGE_ID}\n`)).toEqual(
      new Map([
        ["c1", "exited"],
        ["n1", ""],
        [IMAGE_ID, ""],
      ]),
    );
  });

  it("reads services (by the listing's 12-character IDs) and volumes (by name)", () => {
    expect(parseServices("lx0cwuctt8mf\ts-host\n\n")).toEqual([{ id: "lx0cwuctt8mf", name: "s-host" }]);
    expect(parseVolumes("s-registry-data\n")).toEqual([{ name: "s-registry-data" }]);
  });

  it("finds the file backend's directory, and none for another backend", () => {
    expect(fileBackendDir("file:///root/.flask-bridge/state")).toBe("/root/.flask-bridge/state");
    expect(fileBackendDir("file:///srv/state?no_tmp_dir=true")).toBe("/srv/state");
    expect(fileBackendDir("s3://bucket")).toBeNull();
    expect(fileBackendDir(undefined)).toBeNull();
  });
});

/** Records, for each readEngine call, whether heal asked for the swarm part. */
function swarmAsks(deps: HealDeps): boolean[] {
  const asked: boolean[] = [];
  const read = deps.readEngine;
  deps.readEngine = (ids, swarm) => {
    asked.push(swarm);
    return read(ids, swarm);
  };
  return asked;
}

/** A plan with nothing to do: no lock, orphan, drift or refresh. */
const NOTHING_TO_HEAL = {
  staleLocks: [],
  heldBy: null,
  pendingOperations: 0,
  orphanContainers: [],
  orphanNetworks: [],
  orphanServices: [],
  orphanVolumes: [],
  drift: [],
  refresh: false,
  replace: [],
};

describe("planHeal", () => {
  it("after a killed up: the 3 containers created but not recorded are orphans, and the pending creates ask for a refresh", () => {
    const plan = planHeal(KILLED, engineAfterKill(), [], HOST, dead);
    expect(plan.orphanContainers.map((c) => c.name)).toEqual(["ehb-custom-1", "ehb-custom-2", "ehb-custom-3"]);
    expect(plan.orphanNetworks).toEqual([]);
    expect([plan.pendingOperations, plan.drift, plan.refresh, plan.replace]).toEqual([3, [], true, []]);
  });

  it("a converged stack on the same engine: nothing to heal, no refresh", () => {
    const converged = { ...KILLED, pending: [] };
    const plan = planHeal(converged, { ...engineAfterKill(), containers: [] }, [], HOST, dead);
    expect(plan).toEqual(NOTHING_TO_HEAL);
    expect(pulumiArgs(plan, false, [])).toEqual([]);
    expect(driftMessage(plan)).toBeNull();
  });

  it("a machine that forgot the stack: refresh, and the image (whose refresh keeps it) replaced", () => {
    const converged = { ...KILLED, pending: [] };
    const plan = planHeal(converged, EMPTY, [], HOST, dead);
    expect(plan.drift).toEqual([
      "image 94c9f3fa06a1",
      "container ehb-host",
      "container ehb-bridge-1",
      "container ehb-none",
      "network ehb-bridge-network",
      "container ehb-bridge-2",
      "container ehb-bridge-3",
    ]);
    const imageUrn = converged.resources.find((r) => r.type === IMAGE)?.urn as string;
    expect(pulumiArgs(plan, false, [])).toEqual(["--refresh", "--replace", imageUrn]);
    expect(driftMessage(plan)).toBe(
      "the engine lacks what the state names (image 94c9f3fa06a1, container ehb-host, container ehb-bridge-1, container ehb-none and 3 more): Pulumi refreshes first, and rebuilds the image",
    );
  });

  it("a stopped container is drift too (mustRun: the refresh drops it, up creates it again)", () => {
    const engine = engineAfterKill();
    const id = byName(KILLED, "ehb-bridge-2");
    const present = new Map(engine.present);
    present.set(id, "exited");
    const plan = planHeal({ ...KILLED, pending: [] }, { ...engine, present, containers: [] }, [], HOST, dead);
    expect([plan.drift, plan.refresh, plan.replace]).toEqual([["container ehb-bridge-2 (exited)"], true, []]);
  });

  it("an orphan network is one whose ID the state does not hold, even under the same name", () => {
    const engine = engineAfterKill();
    const plan = planHeal(
      { ...KILLED, pending: [] },
      { ...engine, containers: [], networks: [{ id: "new", name: "ehb-bridge-network" }] },
      [],
      HOST,
      dead,
    );
    expect(plan.orphanNetworks).toEqual([{ id: "new", name: "ehb-bridge-network" }]);
  });

  it("leaves a Swarm task's container alone", () => {
    const engine: EngineView = {
      ...EMPTY,
      containers: [{ id: "t", name: "svc.1.abc", state: "running", swarmTask: true }],
    };
    expect(planHeal({ resources: [], pending: [] }, engine, [], HOST, dead).orphanContainers).toEqual([]);
  });

  it("heals nothing while another run holds the stack, here or on another machine", () => {
    const lock = (hostname: string): StackLock => ({ file: "/l.json", pid: 7, hostname, timestamp: "t" });
    for (const [held, alive] of [
      [lock(HOST), () => true],
      [lock("other"), () => false],
    ] as const) {
      const plan = planHeal(KILLED, engineAfterKill(), [held], HOST, alive);
      expect([plan.heldBy, plan.orphanContainers, plan.refresh]).toEqual([held, [], false]);
    }
  });

  it("judges a lock: stale when its pulumi process on this machine is gone", () => {
    const lock: StackLock = { file: "f", pid: 1234, hostname: HOST, timestamp: "t" };
    expect(judgeLock(lock, HOST, () => false)).toBe("stale");
    expect(judgeLock(lock, HOST, () => true)).toBe("live");
    expect(judgeLock(lock, "elsewhere", () => false)).toBe("foreign");
  });

  it("adds no second --refresh when the user asked for one or a refresh just ran", () => {
    const plan = planHeal({ ...KILLED, pending: [] }, EMPTY, [], HOST, dead);
    expect(pulumiArgs(plan, false, ["--refresh"])[0]).toBe("--replace");
    expect(pulumiArgs(plan, true, [])[0]).toBe("--replace");
  });
});

describe("planHeal in swarm mode", () => {
  it("a converged swarm stack: nothing to heal, and its task containers are no orphans", () => {
    const plan = planHeal(SWARM, swarmEngine(), [], HOST, dead);
    expect(plan).toEqual(NOTHING_TO_HEAL);
    expect([hasSwarmPart(SWARM), hasSwarmPart(KILLED)]).toEqual([true, false]);
  });

  it("after a killed first up whose checkpoints were skipped: every labelled service, the overlay and the volume are orphans", () => {
    const plan = planHeal({ resources: [], pending: [] }, swarmEngine(), [], HOST, dead);
    expect([plan.orphanContainers, plan.orphanServices, plan.orphanNetworks, plan.orphanVolumes]).toEqual([
      [],
      [
        { id: "svcregistry0000000000000", name: "s-registry" },
        { id: "svcweb000000000000000000", name: "s-custom-1" },
        { id: "svchost00000000000000000", name: "s-host" },
      ],
      [{ id: "overlay0", name: "s-overlay" }],
      [{ name: "s-registry-data" }],
    ]);
    expect([plan.drift, plan.refresh, plan.replace]).toEqual([[], false, []]);
  });

  it("an orphan service is one whose ID the state does not hold, even under a name it knows", () => {
    const engine = swarmEngine();
    const services = [...engine.services, { id: "svcnew", name: "s-host" }];
    expect(planHeal(SWARM, { ...engine, services }, [], HOST, dead).orphanServices).toEqual([
      { id: "svcnew", name: "s-host" },
    ]);
  });

  it("services the state names and the engine lacks are drift: refresh first, no image to rebuild", () => {
    const engine = swarmEngine();
    const present = new Map(engine.present);
    present.delete("svcweb000000000000000000");
    present.delete("svchost00000000000000000");
    const plan = planHeal(SWARM, { ...engine, present }, [], HOST, dead);
    expect([plan.drift, plan.refresh, plan.replace]).toEqual([["service s-custom-1", "service s-host"], true, []]);
    expect(pulumiArgs(plan, false, [])).toEqual(["--refresh"]);
    expect(driftMessage(plan)).toBe(
      "the engine lacks what the state names (service s-custom-1, service s-host): Pulumi refreshes first",
    );
  });

  it("a swarm that forgot everything: the registry's volume went with the pushed image, so the image is pushed again", () => {
    const plan = planHeal(SWARM, EMPTY, [], HOST, dead);
    expect(plan.drift).toEqual([
      "volume s-registry-data",
      "service s-registry",
      "network s-overlay",
      "service s-custom-1",
      "service s-host",
    ]);
    expect(pulumiArgs(plan, false, [])).toEqual(["--refresh", "--replace", `${SWARM_URN}img`]);
    expect(driftMessage(plan)).toBe(
      "the engine lacks what the state names (volume s-registry-data, service s-registry, network s-overlay, service s-custom-1 and 1 more): Pulumi refreshes first, and rebuilds the image",
    );
  });
});

describe("heal (the step, with fakes)", () => {
  function fakes(states: StackState[], engines: EngineView[], locks: StackLock[] = []) {
    const done: string[] = [];
    const said: string[] = [];
    const deps: HealDeps = {
      readState: async () => states.shift() as StackState,
      readLocks: () => locks,
      readEngine: async () => engines.shift() as EngineView,
      alive: () => false,
      hostname: HOST,
      removeLock: (lock) => done.push(`rm lock ${lock.pid}`),
      clearPending: async () => {
        done.push("refresh --clear-pending-creates");
      },
      removeContainers: async (ids) => {
        done.push(`docker rm -f ${ids.join(" ")}`);
      },
      removeNetworks: async (ids) => {
        done.push(`docker network rm ${ids.join(" ")}`);
      },
      removeServices: async (services) => {
        done.push(`docker service rm ${services.map((s) => s.id).join(" ")}, tasks gone`);
      },
      removeVolumes: async (names) => {
        done.push(`docker volume rm ${names.join(" ")}`);
      },
      say: (line) => said.push(line),
    };
    return { deps, done, said };
  }

  const cleared: StackState = { ...KILLED, pending: [] };
  const lock: StackLock = { file: "/l.json", pid: 10002, hostname: HOST, timestamp: "2026-12-02T10:50:50Z" };

  it("up after a kill -9: the lock, the pending creates, then the orphans go, in that order, one line each", async () => {
    const { deps, done, said } = fakes([KILLED, cleared], [engineAfterKill(), engineAfterKill()], [lock]);
    const result = await heal("up", [], deps);
    expect(done).toEqual(["rm lock 10002", "refresh --clear-pending-creates", "docker rm -f orphan0 orphan1 orphan2"]);
    expect(said).toEqual([
      "removed the lock of pulumi pid 10002 (2026-12-02T10:50:50Z), which is gone: a killed run left it",
      "clearing 3 pending operations an interrupted run left (pulumi refresh --clear-pending-creates)",
      "removed 3 containers the state does not know: ehb-custom-1, ehb-custom-2, ehb-custom-3",
    ]);
    expect(result.args).toEqual([]);
  });

  it("removes orphan containers before orphan networks (a network in use cannot go)", async () => {
    const engine: EngineView = {
      ...EMPTY,
      containers: [{ id: "c9", name: "ehb-custom-1", state: "created", swarmTask: false }],
      networks: [{ id: "n9", name: "ehb-bridge-network" }],
    };
    const { deps, done } = fakes([{ resources: [], pending: [] }], [engine]);
    await heal("up", [], deps);
    expect(done).toEqual(["docker rm -f c9", "docker network rm n9"]);
  });

  it("swarm: removes orphan containers, then services (their tasks gone), then networks and volumes, one line each", async () => {
    const engine: EngineView = {
      ...swarmEngine(),
      containers: [{ id: "c9", name: "s-stray", state: "exited", swarmTask: false }],
    };
    const { deps, done, said } = fakes([{ resources: [], pending: [] }], [engine]);
    const asked = swarmAsks(deps);
    expect((await heal("up", [], deps)).args).toEqual([]);
    expect(done).toEqual([
      "docker rm -f c9",
      "docker service rm svcregistry0000000000000 svcweb000000000000000000 svchost00000000000000000, tasks gone",
      "docker network rm overlay0",
      "docker volume rm s-registry-data",
    ]);
    expect(said).toEqual([
      "removed 1 container the state does not know: s-stray",
      "removed 3 services the state does not know: s-registry, s-custom-1, s-host",
      "removed 1 network the state does not know: s-overlay",
      "removed 1 volume the state does not know: s-registry-data",
    ]);
    // An empty state has no swarm part: the script's config check decides (scripts/heal.ts).
    expect(asked).toEqual([false]);
  });

  it("swarm: asks for services when the state holds one, and preview names the orphans without removing them", async () => {
    const engine: EngineView = { ...swarmEngine(), services: [...swarmEngine().services, { id: "x1", name: "s-x" }] };
    const { deps, done, said } = fakes([SWARM], [engine]);
    const asked = swarmAsks(deps);
    expect((await heal("preview", [], deps)).args).toEqual([]);
    expect([asked, done, said]).toEqual([
      [true],
      [],
      ["the state does not know service s-x; npm run up removes them first"],
    ]);
  });

  it("preview changes nothing on the engine: it says what up would do, and previews with the refresh", async () => {
    const { deps, done, said } = fakes([KILLED], [engineAfterKill()]);
    const result = await heal("preview", [], deps);
    expect(done).toEqual([]);
    expect(said).toEqual([
      "the state does not know container ehb-custom-1, container ehb-custom-2, container ehb-custom-3; npm run up removes them first",
      "3 pending operations left by an interrupted run; npm run up clears them",
    ]);
    expect(result.args).toEqual(["--refresh"]);
  });

  it("is quiet and adds nothing when there is nothing to heal", async () => {
    const engine = { ...engineAfterKill(), containers: [] };
    const { deps, done, said } = fakes([cleared], [engine]);
    expect((await heal("up", [], deps)).args).toEqual([]);
    expect([done, said]).toEqual([[], []]);
  });

  it("touches nothing while a live run holds the stack", async () => {
    const { deps, done, said } = fakes([KILLED], [engineAfterKill()], [lock]);
    deps.alive = () => true;
    expect((await heal("up", [], deps)).args).toEqual([]);
    expect([done, said]).toEqual([[], []]);
  });

  it("a failing docker call stops the step with its error", async () => {
    const { deps } = fakes([{ resources: [], pending: [] }], []);
    deps.readEngine = async () => {
      throw new Error("docker ps -a --no-trunc did not finish within 20 s");
    };
    await expect(heal("up", [], deps)).rejects.toThrow("did not finish within 20 s");
  });
});
