/**
 * The matrix's terminal table and DOT. The DOT is laid out for real by the
 * WebAssembly Graphviz in a child Node process: the package is ESM only,
 * which Jest's CommonJS runtime cannot load on Node 20.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { Expected, Matrix, Measured } from "../../src/plan/connectivity";
import { GLYPHS, legend, matrixDot, matrixTable, shortNames } from "../../src/views/connectivityView";

const ROOT = path.resolve(__dirname, "../..");
const na: Measured = { outcome: "na", detail: "" };
const self = { dns: na, ip: na, name: na, port: na };
const naExpected = { dns: "na", ip: "na", name: "na", port: "na" } as const;

/** Two containers: b answers a by ip only; a's port times out on b where the rules expected an answer. */
const MEASURED: Matrix<Measured> = {
  "x-bridge-1": {
    "x-bridge-1": self,
    "x-none": self,
  },
  "x-none": {
    "x-bridge-1": {
      dns: { outcome: "nxdomain", detail: "no embedded DNS" },
      ip: { outcome: "refused", detail: "Network is unreachable" },
      name: { outcome: "nxdomain", detail: "no embedded DNS" },
      port: { outcome: "timeout", detail: "no answer in 1.5 s" },
    },
    "x-none": self,
  },
};
const EXPECTED: Matrix<Expected> = {
  "x-bridge-1": { "x-bridge-1": naExpected, "x-none": naExpected },
  "x-none": { "x-bridge-1": { dns: "nxdomain", ip: "blocked", name: "nxdomain", port: "ok" }, "x-none": naExpected },
};

describe("shortNames", () => {
  it("drops the prefix every name shares, up to a dash", () => {
    expect(shortNames(["flask-bridge-1", "flask-custom-1", "flask-none"])).toEqual({
      "flask-bridge-1": "bridge-1",
      "flask-custom-1": "custom-1",
      "flask-none": "none",
    });
    expect(shortNames(["e2m-bridge-1", "e2m-bridge-2"])).toEqual({ "e2m-bridge-1": "1", "e2m-bridge-2": "2" });
    expect(shortNames(["a-b", "ab-c"])).toEqual({ "a-b": "a-b", "ab-c": "ab-c" });
    expect(shortNames(["flask-host"])).toEqual({ "flask-host": "flask-host" });
  });
});

describe("matrixTable", () => {
  it("prints one row per source, four glyphs a cell, a * where the rules disagree, and why", () => {
    expect(matrixTable("Connectivity of stack t", MEASURED, EXPECTED)).toEqual(
      [
        "Connectivity of stack t",
        "each cell: dns ip name port",
        "",
        "from \\ to   bridge-1  none",
        "x-bridge-1  - - - -   - - - -",
        "x-none      ✗ ⊘ ✗ ⏱*  - - - -",
        "",
        legend(),
        "",
        "1 of 16 differ from Docker's rules:",
        "  x-none -> x-bridge-1 port: expected ok, measured timeout (no answer in 1.5 s)",
        "",
      ].join("\n"),
    );
  });

  it("has nothing to list when every try is as predicted", () => {
    const table = matrixTable("t", MEASURED, {
      ...EXPECTED,
      "x-none": {
        ...EXPECTED["x-none"],
        "x-bridge-1": { dns: "nxdomain", ip: "blocked", name: "nxdomain", port: "blocked" },
      },
    } as Matrix<Expected>);
    expect(table).not.toContain("*  ");
    expect(table).not.toContain("differ from");
  });
});

describe("matrixDot", () => {
  const dot = matrixDot("Connectivity of stack t", MEASURED, EXPECTED);

  it("colours each try by outcome and frames the mismatch", () => {
    expect(dot).toContain('<td bgcolor="#e2d3f3">✗</td><td bgcolor="#f6b8b8">⊘</td><td bgcolor="#e2d3f3">✗</td>');
    expect(dot).toContain(
      '<td bgcolor="#ffd9a0" color="#c00000" border="2"><font color="#c00000"><b>⏱*</b></font></td>',
    );
    expect(dot).toContain("15 of 16 as Docker&#39;s rules predict");
    expect(dot.match(/<b>⏱\*<\/b>/g)).toHaveLength(1);
  });

  it("lays out in Graphviz with every name, way and glyph visible", () => {
    const render = `import { Graphviz } from "@hpcc-js/wasm-graphviz";
      let dot = ""; for await (const chunk of process.stdin) dot += chunk;
      process.stdout.write((await Graphviz.load()).dot(dot, "svg"));`;
    const svg = execFileSync(process.execPath, ["--input-type=module", "-e", render], {
      cwd: ROOT,
      input: dot,
      encoding: "utf8",
    });
    const texts = [...svg.matchAll(/<text\b[^>]*>([^<]*)<\/text>/g)].map((match) =>
      (match[1] ?? "").replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code))),
    );
    expect(texts).toEqual(
      expect.arrayContaining(["bridge-1", "none", "x-bridge-1", "x-none", "dns", "ip", "name", "port", "⏱*"]),
    );
    for (const glyph of Object.values(GLYPHS)) {
      expect([glyph, texts.includes(glyph)]).toEqual([glyph, true]);
    }
    expect(svg.match(/fill="#ffd9a0"/g)?.length).toBe(2);
  });
});
