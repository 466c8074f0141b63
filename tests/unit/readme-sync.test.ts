/**
 * README.ko.md is a translation of README.md; these tests keep the two in step.
 * Prose may differ, but the commands, section outline, pictures and code (apart
 * from comments) must not. Failures say which file lacks what, so whoever
 * changes README.md sees what to carry over to README.ko.md.
 *
 * The config table of each is checked against Pulumi.yaml instead, where every
 * key, its type and its default are written once.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

const ROOT = path.join(__dirname, "..", "..");
const EN = "README.md";
const KO = "README.ko.md";

/** What differs per language: the other file to link to, and the config table's first header cell. */
const SIDES = [
  { file: EN, other: KO, configHeader: "key" },
  { file: KO, other: EN, configHeader: "키" },
] as const;

interface CodeBlock {
  info: string;
  lines: string[];
}

interface Readme {
  file: string;
  /** The whole file: commands count wherever they are written, code blocks included. */
  text: string;
  /** Lines outside fenced code blocks; a `#` comment in a shell block is no heading. */
  prose: string[];
  code: CodeBlock[];
}

interface ConfigRow {
  key: string;
  type: string;
  default: string;
}

/** A key as Pulumi.yaml declares it. */
interface DeclaredKey {
  type: string;
  items?: { type: string };
  default: unknown;
}

function declaredConfig(): Record<string, DeclaredKey> {
  const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    config: Record<string, DeclaredKey>;
  };
  return project.config;
}

/** The words the tables use for Pulumi.yaml's types. */
function typeWords({ type, items }: DeclaredKey): string {
  if (type === "array" && items) return `${typeWords({ ...items, default: undefined })} list`;
  if (["string", "integer", "boolean"].includes(type)) return type;
  throw new Error(`Pulumi.yaml: config type "${type}" has no words in the README tables yet; add them here`);
}

/** A default as the tables write it in code: `""`, `[5001, 5002, 5003]`, `true`, `5000`, `flask`. */
function defaultCode(value: unknown): string {
  if (value === "") return '""';
  if (Array.isArray(value)) return `[${value.map(defaultCode).join(", ")}]`;
  return String(value);
}

/** One line per key, so a failure shows the key whose type or default drifted. */
function configLine({ key, type, default: value }: ConfigRow): string {
  return `${key}: ${type}, default ${value}`;
}

function readReadme(file: string): Readme {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const prose: string[] = [];
  const code: CodeBlock[] = [];
  let open: (CodeBlock & { fence: string }) | undefined;
  for (const line of text.split(/\r?\n/)) {
    const fence = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line);
    if (open === undefined) {
      if (fence) {
        open = { fence: fence[1] ?? "", info: (fence[2] ?? "").trim(), lines: [] };
      } else {
        prose.push(line);
      }
    } else if (fence && (fence[1] ?? "").startsWith(open.fence) && (fence[2] ?? "").trim() === "") {
      code.push({ info: open.info, lines: open.lines });
      open = undefined;
    } else {
      open.lines.push(line);
    }
  }
  return { file, text, prose, code };
}

function uniqueSorted(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}

/** Both directions of a difference, named after the file that lacks the item. */
function drift(inEn: readonly string[], inKo: readonly string[]): Record<string, string[]> {
  return {
    [`in ${EN}, missing from ${KO}`]: inEn.filter((item) => !inKo.includes(item)),
    [`in ${KO}, missing from ${EN}`]: inKo.filter((item) => !inEn.includes(item)),
  };
}

const NO_DRIFT = drift([], []);

/** `npm run <script>` (arguments dropped) and `npm test`, the one script README.md runs without `run`. */
function npmCommands(readme: Readme): string[] {
  const found = [...readme.text.matchAll(/\bnpm (?:run (\w[\w-]*(?::[\w-]+)*)|test\b)/g)];
  return uniqueSorted(found.map((match) => (match[1] ? `npm run ${match[1]}` : "npm test")));
}

function headings(readme: Readme): { level: string; title: string }[] {
  return readme.prose.flatMap((line) => {
    const match = /^(#{1,6})\s+(.*)$/.exec(line);
    return match ? [{ level: match[1] ?? "", title: (match[2] ?? "").trim() }] : [];
  });
}

function imagePaths(readme: Readme): string[] {
  const found = [...readme.prose.join("\n").matchAll(/!\[[^\]]*\]\(\s*([^)\s]+)[^)]*\)/g)];
  return found.map((match) => match[1] ?? "").sort();
}

function tableCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, "")
    .replace(/(?<!\\)\|$/, "")
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

/** The rows of the table whose first header cell is `header` (the headers are translated, the rows are not). */
function configTable(readme: Readme, header: string): ConfigRow[] {
  const { prose } = readme;
  const start = prose.findIndex(
    (line, i) =>
      line.trim().startsWith("|") && tableCells(line)[0] === header && /^\s*\|[\s:|-]+\|\s*$/.test(prose[i + 1] ?? ""),
  );
  if (start === -1) {
    throw new Error(`${readme.file}: no config table (a table whose first header cell is "${header}")`);
  }
  const rows: ConfigRow[] = [];
  for (const line of prose.slice(start + 2)) {
    if (!line.trim().startsWith("|")) break;
    const [key = "", type = "", defaultCell = ""] = tableCells(line);
    // Only the code in the default cell must match: "(Docker picks)" is translated.
    const defaultCode = [...defaultCell.matchAll(/`([^`]*)`/g)].map((match) => match[1] ?? "");
    rows.push({
      key: /^`([^`]+)`$/.exec(key)?.[1] ?? key,
      type,
      default: defaultCode.length > 0 ? defaultCode.join(" ") : defaultCell,
    });
  }
  return rows;
}

/** Comments may be translated; the code around them may not. */
function codeWithoutComments(block: CodeBlock): string {
  const lines = block.lines.map((line) => line.replace(/(^|\s)(#|\/\/).*$/, "").trimEnd()).filter((line) => line);
  return [`\`\`\`${block.info}`, ...lines].join("\n");
}

const en = readReadme(EN);
const ko = readReadme(KO);

describe(`${KO} says what ${EN} says`, () => {
  // An extractor that finds nothing in either file would make the checks below pass vacuously.
  it(`finds commands, headings, images and code blocks in ${EN}`, () => {
    expect(npmCommands(en)).toContain("npm run up");
    expect(headings(en).length).toBeGreaterThan(1);
    expect(imagePaths(en).length).toBeGreaterThan(0);
    expect(en.code.length).toBeGreaterThan(0);
  });

  it("mentions the same npm commands", () => {
    expect(drift(npmCommands(en), npmCommands(ko))).toEqual(NO_DRIFT);
    expect(npmCommands(ko)).toEqual(npmCommands(en));
  });

  it.each(["#", "##", "###"])(`has as many %s headings as ${EN} (expected: ${EN}, received: ${KO})`, (level) => {
    const count = (readme: Readme) => headings(readme).filter((heading) => heading.level === level).length;
    expect(count(ko)).toBe(count(en));
  });

  it("has its headings at the same levels in the same order", () => {
    const enHeadings = headings(en);
    const koHeadings = headings(ko);
    let firstDifference: string | null = null;
    for (let i = 0; i < Math.max(enHeadings.length, koHeadings.length) && firstDifference === null; i++) {
      const [a, b] = [enHeadings[i], koHeadings[i]];
      if (a?.level !== b?.level) {
        const show = (heading: typeof a) => (heading ? `"${heading.level} ${heading.title}"` : "nothing");
        firstDifference = `heading ${i + 1}: ${EN} has ${show(a)}, ${KO} has ${show(b)}`;
      }
    }
    expect(firstDifference).toBeNull();
  });

  it("shows the same images", () => {
    expect(drift(imagePaths(en), imagePaths(ko))).toEqual(NO_DRIFT);
    expect(imagePaths(ko)).toEqual(imagePaths(en));
  });

  it("has the same code blocks, apart from comments", () => {
    const enCode = en.code.map(codeWithoutComments);
    const koCode = ko.code.map(codeWithoutComments);
    expect(drift(enCode, koCode)).toEqual(NO_DRIFT);
    expect(koCode).toEqual(enCode);
  });
});

describe.each(SIDES)("$file", ({ file, other, configHeader }) => {
  const readme = file === EN ? en : ko;

  it(`links to ${other} on the line under its title`, () => {
    const [title, next] = readme.text.split(/\r?\n/).filter((line) => line.trim() !== "");
    expect(title).toMatch(/^# \S/);
    // Any link text ("한국어", "English"); the target must be the other README.
    expect(next?.trim()).toMatch(new RegExp(`^\\[[^\\]]+\\]\\(${other.replace(/\./g, "\\.")}\\)$`));
  });

  it("documents exactly the config keys Pulumi.yaml declares", () => {
    const declaredKeys = Object.keys(declaredConfig()).sort();
    const documented = uniqueSorted(configTable(readme, configHeader).map((row) => row.key));
    expect({
      [`declared in Pulumi.yaml, missing from ${file}`]: declaredKeys.filter((key) => !documented.includes(key)),
      [`in ${file}, not declared in Pulumi.yaml`]: documented.filter((key) => !declaredKeys.includes(key)),
    }).toEqual({
      [`declared in Pulumi.yaml, missing from ${file}`]: [],
      [`in ${file}, not declared in Pulumi.yaml`]: [],
    });
    expect(documented).toEqual(declaredKeys);
  });

  it("gives every config key Pulumi.yaml's type and default, in Pulumi.yaml's order", () => {
    const declared = Object.entries(declaredConfig()).map(([key, declaration]) =>
      configLine({ key, type: typeWords(declaration), default: defaultCode(declaration.default) }),
    );
    expect(configTable(readme, configHeader).map(configLine)).toEqual(declared);
  });
});
