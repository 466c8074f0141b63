import * as fs from "node:fs";
import * as path from "node:path";
import { blockErrors, cleanProviderText, OutputReader, readable } from "../../src/machine/providerErrors";

/**
 * Real output of `scripts/pulumi.sh up` (docker provider 5.0.0), captured:
 * wiped-up-refresh: the image, network and containers removed under a live stack, then `up --refresh`;
 * clash-up: an orphan network with the stack's name; clash-container: an orphan container;
 * pending-up: an up after a kill -9 of pulumi left 3 pending creates and their containers.
 */
const FIXTURES = path.join(__dirname, "fixtures", "provider-errors");
const sample = (name: string) => fs.readFileSync(path.join(FIXTURES, `${name}.txt`), "utf8").split("\n");

function read(lines: readonly string[]) {
  const build: string[] = [];
  const reader = new OutputReader({
    rawLog: "/logs/up-s.log",
    buildLog: "/logs/build-s.log",
    keepBuildLine: (line) => build.push(line),
    buildLines: () => build,
  });
  const out = lines.flatMap((line) => reader.push(line));
  return { out: [...out, ...reader.end()], build };
}

/** The causes the reader printed: each "  <type> (<resources>):" header with the lines under it. */
function causes(out: readonly string[]): { header: string; lines: string[] }[] {
  const start = out.indexOf("Diagnostics:");
  const found: { header: string; lines: string[] }[] = [];
  for (const line of out.slice(start + 1)) {
    if (/^\S/.test(line) || line.includes("The provider's own words")) break;
    if (/^ {2}\S.*\):$/.test(line)) found.push({ header: line.trim(), lines: [] });
    else if (line.trim() !== "" && found.length > 0) found[found.length - 1]?.lines.push(line.trim());
  }
  return found;
}

describe("the reader over real provider output", () => {
  it("the image that vanished: one cause naming the 3 containers, no Go prefix, nothing said twice", () => {
    const raw = sample("wiped-up-refresh");
    expect(raw.filter((line) => line.includes("unable to pull image")).length).toBe(9);
    const { out } = read(raw);
    const text = out.join("\n");
    expect(text).not.toMatch(/provider2\.go|sdk\.helper_schema|provider=docker@|1 error occurred/);
    const diagnostics = out.slice(out.indexOf("Diagnostics:"), out.indexOf("Outputs:"));
    expect(diagnostics.filter((line) => line.includes("94c9f3fa06a1"))).toEqual([
      "    error: image 94c9f3fa06a1 is not on the engine (removed, or this is another engine), and a local build cannot be pulled",
    ]);
    expect(causes(out)).toEqual([
      {
        header: "docker:index:Container (none-container, bridge-3-container, bridge-1-container):",
        lines: [
          "error: image 94c9f3fa06a1 is not on the engine (removed, or this is another engine), and a local build cannot be pulled",
          "npm run up rebuilds it: it refreshes first when the engine lacks what the state names",
        ],
      },
      {
        header: "docker:index:Container (host-container):",
        lines: ["error: cancelled: the run stopped on the error of another resource"],
      },
    ]);
    expect(text).toContain("The provider's own words: /logs/up-s.log");
    // The progress keeps each failure's status, without its text.
    expect(out.filter((line) => line.includes("**creating failed**"))).toEqual([
      " +  docker:index:Container bridge-3-container **creating failed**",
      " +  docker:index:Container bridge-1-container **creating failed**",
      " +  docker:index:Container none-container **creating failed**",
    ]);
    expect(out.length).toBeLessThan(raw.length - 10);
  });

  it("a name clash with an orphan network: the network's name and what to do, in at most 5 lines", () => {
    const { out } = read(sample("clash-up"));
    const found = causes(out);
    expect(found.map((cause) => cause.header)).toEqual([
      "pulumi:pulumi:Stack (flask-bridge-e2e-heal-bench):",
      "docker:index:Network (network-bridge):",
    ]);
    const network = found[1]?.lines ?? [];
    expect(network.length).toBeLessThanOrEqual(5);
    expect(network[0]).toBe(
      "error: a network named ehb-bridge-network already exists on the engine, and the stack's state does not know it",
    );
    expect(network[1]).toContain("docker network rm ehb-bridge-network");
  });

  it("a name clash with an orphan container names it and its short ID", () => {
    const { out } = read(sample("clash-container"));
    expect(causes(out)[1]).toEqual({
      header: "docker:index:Container (bridge-1-container):",
      lines: [
        "error: a container named ehb-bridge-1 (ed73a437a435) already exists on the engine, and the stack's state does not know it",
        "npm run up removes it when it carries this stack's label (left by an interrupted run); otherwise remove it (docker rm -f ehb-bridge-1) or set another flask-bridge:namePrefix",
      ],
    });
  });

  it("keeps Pulumi's own diagnostics (not the provider's) as they are", () => {
    const raw = sample("pending-up");
    const { out } = read(raw);
    expect(out).toContain(
      "    warning: Attempting to deploy or update resources with 3 pending operations from previous deployment.",
    );
    expect(out.filter((line) => line.includes("ehb-custom-3")).length).toBe(2); // the cause and its hint
  });

  it("keeps the build's lines in the build log, and prints them when the build failed", () => {
    const lines = [
      " +  docker:index:Image image-build creating (0s) Starting Docker build",
      " +  docker:index:Image image-build creating (1s) #5 [2/4] RUN pip install flask",
      " +  docker:index:Image image-build creating (2s) #5 ERROR: process did not complete",
      " +  docker:index:Image image-build **creating failed** error: build failed",
    ];
    const { out, build } = read(lines);
    expect(build).toEqual([lines[1], lines[2]]);
    expect(out).toEqual([
      lines[0],
      " +  docker:index:Image image-build **creating failed**",
      "",
      "The image build said (2 lines, also in /logs/build-s.log):",
      "#5 [2/4] RUN pip install flask",
      "#5 ERROR: process did not complete",
    ]);
  });
});

describe("readable", () => {
  it("cleans the provider's prefixes and suffix", () => {
    expect(
      cleanProviderText(
        "  sdk-v2/provider2.go:572: sdk.helper_schema: Unable to create network: boom: provider=docker@5.0.0",
      ),
    ).toBe("Unable to create network: boom");
  });

  it("keeps one copy of an error and its bullet", () => {
    expect(
      blockErrors([
        "    error:   sdk-v2/provider2.go:572: sdk.helper_schema: Unable to create network: boom: provider=docker@5.0.0",
        "    error: 1 error occurred:",
        "    \t* Unable to create network: boom",
        "",
      ]),
    ).toEqual(["Unable to create network: boom"]);
  });

  it("says a create that lost the engine may have left the object behind", () => {
    expect(
      readable(
        "expected non-nil error with nil state during Create of urn:pulumi:dev::flask-bridge::flask-bridge:network:BridgeNetwork$docker:index/network:Network::network-bridge",
      ).cause,
    ).toBe("the provider lost the engine while creating it: it may exist there without being in the state");
  });

  it("names a lost connection's cause, and the engine when it is known", () => {
    const lost = "Unable to inspect container: error during connect: Get http://docker/v1.41: EOF";
    expect([readable(lost).cause, readable(lost, "ssh://root@192.0.2.7").cause]).toEqual([
      "the engine stopped answering (error during connect)",
      "the engine at ssh://root@192.0.2.7 stopped answering (error during connect)",
    ]);
  });

  it("keeps an unknown error on one line, cut at 300 characters", () => {
    const said = readable(`something new\n${"x".repeat(400)}`);
    expect([said.cause.length, said.cause.includes("\n"), said.hint]).toEqual([300, false, null]);
  });
});
