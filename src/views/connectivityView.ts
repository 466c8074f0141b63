import {
  type Expected,
  type Matrix,
  type Measured,
  type Mismatch,
  mismatches,
  type Outcome,
  WAYS,
} from "../plan/connectivity";
import { FONT, html, id } from "./diagram";

/**
 * The measured matrix for people: a terminal table and Graphviz DOT for an
 * SVG grid coloured by outcome (scripts/matrix.ts renders it). Rows try
 * columns; each cell holds the four ways in WAYS order. A cell that is not
 * what Docker's rules predict carries a "*". Pure: same input, same text.
 */

export const GLYPHS: Readonly<Record<Outcome, string>> = {
  ok: "✓",
  nxdomain: "✗",
  timeout: "⏱",
  refused: "⊘",
  na: "-",
  error: "?",
};

const MEANINGS: Readonly<Record<Outcome, string>> = {
  ok: "answered (dns: resolves)",
  nxdomain: "no such name",
  timeout: "timeout",
  refused: "refused / unreachable",
  na: "not applicable (self, no IP, no port, no way out)",
  error: "error",
};

const COLORS: Readonly<Record<Outcome, string>> = {
  ok: "#b8e0b0",
  nxdomain: "#e2d3f3",
  timeout: "#ffd9a0",
  refused: "#f6b8b8",
  na: "#f2f2f2",
  error: "#c8c8c8",
};

const MISMATCH_COLOR = "#c00000";
const OUTCOMES = Object.keys(GLYPHS) as Outcome[];

export function legend(): string {
  const item = (outcome: Outcome) => `${GLYPHS[outcome]} ${MEANINGS[outcome]}`;
  return [
    (["ok", "nxdomain", "timeout", "refused"] as const).map(item).join("   "),
    `${item("na")}   ${item("error")}   * differs from what Docker's rules predict`,
  ].join("\n");
}

/** Targets shown without the name prefix they all share, e.g. "flask-". */
export function shortNames(names: readonly string[]): Record<string, string> {
  const first = names[0] ?? "";
  let prefix = names.length < 2 ? "" : first.slice(0, first.lastIndexOf("-") + 1);
  while (prefix !== "" && !names.every((name) => name.startsWith(prefix) && name.length > prefix.length)) {
    prefix = prefix.slice(0, prefix.slice(0, -1).lastIndexOf("-") + 1);
  }
  return Object.fromEntries(names.map((name) => [name, name.slice(prefix.length)]));
}

/** Keys of the mismatched tries ("source target way") and cells ("source target"). */
function mismatchKeys(found: readonly Mismatch[]): Set<string> {
  return new Set(found.flatMap(({ source, target, way }) => [`${source} ${target} ${way}`, `${source} ${target}`]));
}

/** The matrix as fixed-width text, with the legend and every mismatch spelled out. */
export function matrixTable(title: string, measured: Matrix<Measured>, expected: Matrix<Expected>): string {
  const names = Object.keys(measured);
  const short = shortNames(names);
  const found = mismatches(expected, measured);
  const wrong = mismatchKeys(found);
  const rowWidth = Math.max(...names.map((name) => name.length), "from \\ to".length) + 2;
  const cellWidth = Math.max(...names.map((name) => (short[name] ?? name).length), WAYS.length * 2) + 2;

  const lines = [
    title,
    `each cell: ${WAYS.join(" ")}`,
    "",
    "from \\ to".padEnd(rowWidth) + names.map((name) => (short[name] ?? name).padEnd(cellWidth)).join(""),
  ];
  for (const source of names) {
    const cells = names.map((target) => {
      const cell = measured[source]?.[target];
      const glyphs = WAYS.map((way) => GLYPHS[cell?.[way].outcome ?? "error"]).join(" ");
      return `${glyphs}${wrong.has(`${source} ${target}`) ? "*" : ""}`.padEnd(cellWidth);
    });
    lines.push(source.padEnd(rowWidth) + cells.join(""));
  }
  lines.push("", legend());
  if (found.length > 0) {
    const { total } = agreement(measured, expected);
    lines.push("", `${found.length} of ${total} differ from Docker's rules:`, ...found.map(describeMismatch));
  }
  return `${lines.map((line) => line.trimEnd()).join("\n")}\n`;
}

function describeMismatch({ source, target, way, expected, measured }: Mismatch): string {
  const want = expected ?? "nothing (not in the plan)";
  const got = measured ? `${measured.outcome} (${measured.detail})` : "nothing (not measured)";
  return `  ${source} -> ${target} ${way}: expected ${want}, measured ${got}`;
}

/** How many tries came out as predicted, of all. */
export function agreement(measured: Matrix<Measured>, expected: Matrix<Expected>): { agree: number; total: number } {
  const total = Object.values(measured).reduce((sum, row) => sum + Object.keys(row).length * WAYS.length, 0);
  return { agree: total - mismatches(expected, measured).length, total };
}

/** The matrix as one HTML-like table in DOT: a coloured grid with a legend. */
export function matrixDot(title: string, measured: Matrix<Measured>, expected: Matrix<Expected>): string {
  const names = Object.keys(measured);
  const short = shortNames(names);
  const wrong = mismatchKeys(mismatches(expected, measured));
  const { agree, total } = agreement(measured, expected);
  const columns = names.length * WAYS.length + 1;

  const rows = [
    `<tr><td rowspan="2" align="left" valign="bottom"><i>from \\ to</i></td>${names
      .map((name) => `<td colspan="${WAYS.length}"><b>${html(short[name] ?? name)}</b></td>`)
      .join("")}</tr>`,
    `<tr>${names.map(() => WAYS.map((way) => `<td><font point-size="8">${way}</font></td>`).join("")).join("")}</tr>`,
    ...names.map(
      (source) =>
        `<tr><td align="left"><b>${html(source)}</b></td>${names
          .flatMap((target) =>
            WAYS.map((way) => gridCell(measured[source]?.[target]?.[way], wrong.has(`${source} ${target} ${way}`))),
          )
          .join("")}</tr>`,
    ),
    `<tr><td colspan="${columns}" border="0" align="left">${legendTable()}</td></tr>`,
  ];
  const label = [
    `<b>${html(title)}</b>`,
    html("rows try columns: dns resolution, then HTTP by ip, by name, and through the host's published port"),
    html(`${agree} of ${total} as Docker's rules predict`),
  ].join("<br/>");
  return [
    `digraph ${id("connectivity")} {`,
    `  graph [fontname=${id(FONT)}, fontsize="12", labelloc="t", pad="0.2", label=<${label}<br/>>];`,
    `  node [shape="plaintext", fontname=${id(FONT)}, fontsize="10"];`,
    `  ${id("matrix")} [label=<<table border="0" cellborder="1" cellspacing="0" cellpadding="3">${rows.join("")}</table>>];`,
    "}",
    "",
  ].join("\n");
}

function gridCell(cell: Measured | undefined, wrong: boolean): string {
  const outcome = cell?.outcome ?? "error";
  const glyph = html(GLYPHS[outcome]);
  return wrong
    ? `<td bgcolor="${COLORS[outcome]}" color="${MISMATCH_COLOR}" border="2"><font color="${MISMATCH_COLOR}"><b>${glyph}*</b></font></td>`
    : `<td bgcolor="${COLORS[outcome]}">${glyph}</td>`;
}

function legendTable(): string {
  const items = OUTCOMES.map(
    (outcome) =>
      `<td bgcolor="${COLORS[outcome]}" border="1">${html(GLYPHS[outcome])}</td><td align="left">${html(MEANINGS[outcome])}</td>`,
  );
  const mismatch = `<td color="${MISMATCH_COLOR}" border="2"><font color="${MISMATCH_COLOR}"><b>*</b></font></td><td align="left">differs from Docker&#39;s rules</td>`;
  return `<table border="0" cellspacing="4" cellpadding="2"><tr>${items.join("")}${mismatch}</tr></table>`;
}
