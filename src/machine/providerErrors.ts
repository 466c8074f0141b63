/**
 * Reads Pulumi's output for a person (scripts/heal-output.ts runs it on the
 * output of `up` and `preview`). The docker provider repeats each error three
 * times (the progress line, the "1 error occurred" line, its bullet) with Go
 * file prefixes; here each cause is said once, naming the resources it hit, in
 * a few lines, with the raw text left in a log file. The image build's own
 * lines go to the build log and are printed only when the build fails.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes are what it strips.
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(line: string): string {
  return line.replace(ANSI, "");
}

/** "<op> docker:index:Image <name> <status> (<n>s) <message>": one of the build's own lines. */
const BUILD_LINE = /docker:index:Image \S+ [a-z ]+ \([0-9.]+s\) ./;
const BUILD_NOISE = /Starting Docker build|Image built successfully/;
const BUILD_FAILED = /docker:index:Image \S+ (\*\*)?[a-z ]+ failed/;
/** A progress line of a docker resource that carries an error: "<op> docker:index:T name status... error: text". */
const PROGRESS_ERROR = /^(\s*\S*\s+docker:index:\w+ \S+ .*?)\s+error: /;
const DIAGNOSTICS = /^Diagnostics:\s*$/;
/** "  docker:index:Container (bridge-1-container):" */
const BLOCK = /^ {2}(\S+) \((.+)\):\s*$/;

/** The provider's text without its Go prefixes and suffix. */
export function cleanProviderText(text: string): string {
  return text
    .trim()
    .replace(/^(?:\S+\.go:\d+: )+/, "")
    .replace(/^sdk\.helper_schema: /, "")
    .replace(/: provider=docker@[\w.-]+$/, "")
    .trim();
}

/** The distinct error texts of one resource's Diagnostics block. */
export function blockErrors(body: readonly string[]): string[] {
  const errors: string[] = [];
  for (const raw of body) {
    const line = raw.trim();
    const error = /^error: (.*)$/.exec(line);
    const bullet = /^\* (.*)$/.exec(line);
    const text = error?.[1] ?? bullet?.[1];
    if (text === undefined) continue;
    if (/^\d+ errors? occurred:?$/.test(text.trim())) continue;
    const cleaned = cleanProviderText(text);
    if (cleaned !== "" && !errors.includes(cleaned)) errors.push(cleaned);
  }
  return errors;
}

const short = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

export interface Readable {
  /** One line: what went wrong. */
  cause: string;
  /** One line: what to do, or null. */
  hint: string | null;
}

const MAX_CAUSE = 300;

/** A provider error as a person reads it; `engine` names the engine, e.g. its DOCKER_HOST. */
export function readable(text: string, engine?: string): Readable {
  let match = /unable to pull image (sha256:[0-9a-f]+)/.exec(text);
  if (match?.[1]) {
    return {
      cause: `image ${short(match[1])} is not on the engine (removed, or this is another engine), and a local build cannot be pulled`,
      hint: "npm run up rebuilds it: it refreshes first when the engine lacks what the state names",
    };
  }
  match = /network with name (\S+) already exists/.exec(text);
  if (match?.[1]) {
    return {
      cause: `a network named ${match[1]} already exists on the engine, and the stack's state does not know it`,
      hint: `npm run up removes it when it carries this stack's label (left by an interrupted run); otherwise remove it (docker network rm ${match[1]}) or set another flask-bridge:networkName`,
    };
  }
  match = /container name "\/([^"]+)" is already in use by container "([0-9a-f]+)"/.exec(text);
  if (match?.[1] && match[2]) {
    return {
      cause: `a container named ${match[1]} (${short(match[2])}) already exists on the engine, and the stack's state does not know it`,
      hint: `npm run up removes it when it carries this stack's label (left by an interrupted run); otherwise remove it (docker rm -f ${match[1]}) or set another flask-bridge:namePrefix`,
    };
  }
  if (/expected non-nil error with nil state during Create/.test(text)) {
    return {
      cause: "the provider lost the engine while creating it: it may exist there without being in the state",
      hint: "npm run up removes what carries the stack's label and is not in its state, then creates it again",
    };
  }
  if (/context canceled/.test(text)) {
    return { cause: "cancelled: the run stopped on the error of another resource", hint: null };
  }
  match =
    /(context deadline exceeded|connection reset by peer|broken pipe|connection refused|i\/o timeout|Cannot connect to the Docker daemon[^:]*|error during connect|unexpected EOF)/.exec(
      text,
    );
  if (match?.[1]) {
    return {
      cause: `the engine${engine ? ` at ${engine}` : ""} stopped answering (${match[1]})`,
      hint: "once it answers again, npm run up continues where this run stopped",
    };
  }
  const oneLine = text.replace(/\s+/g, " ");
  return { cause: oneLine.length > MAX_CAUSE ? `${oneLine.slice(0, MAX_CAUSE - 1)}…` : oneLine, hint: null };
}

interface Cause {
  type: string;
  resources: string[];
  readable: Readable;
}

export interface OutputReaderOptions {
  /** The engine's address (DOCKER_HOST), named when it stops answering. */
  engine?: string;
  /** Where the raw text is kept, for the summary's last line. */
  rawLog: string;
  buildLog: string;
  /** Appends a line to the build log. */
  keepBuildLine(line: string): void;
  /** The build log's lines, read back when the build failed. */
  buildLines(): string[];
}

/** The stream's state: feed it every line; it returns the lines to print. */
export class OutputReader {
  private inDiagnostics = false;
  /** The docker block being read: its type, resource and body. */
  private block: { type: string; resource: string; body: string[] } | null = null;
  private readonly causes: Cause[] = [];
  private buildFailed = false;
  private buildKept = 0;

  constructor(private readonly options: OutputReaderOptions) {}

  push(line: string): string[] {
    const plain = stripAnsi(line);
    if (BUILD_FAILED.test(plain)) this.buildFailed = true;
    if (BUILD_LINE.test(plain) && !BUILD_NOISE.test(plain)) {
      this.options.keepBuildLine(plain);
      this.buildKept++;
      return [];
    }
    if (this.inDiagnostics) return this.diagnosticsLine(line, plain);
    if (DIAGNOSTICS.test(plain)) {
      this.inDiagnostics = true;
      return [line];
    }
    const progress = PROGRESS_ERROR.exec(plain);
    if (progress?.[1]) {
      // The status ("**creating failed**") is news; the text comes once, in Diagnostics.
      return /\*\*[^*]*failed[^*]*\*\*/.test(progress[1]) ? [progress[1]] : [];
    }
    return [line];
  }

  end(): string[] {
    const out = this.inDiagnostics ? this.closeDiagnostics() : [];
    if (this.buildFailed && this.buildKept > 0) {
      out.push("", `The image build said (${this.buildKept} lines, also in ${this.options.buildLog}):`);
      for (const kept of this.options.buildLines()) {
        out.push(kept.replace(/^.*docker:index:Image \S+ [a-z ]+ \([0-9.]+s\) (\[diff: [^\]]*\];? ?)?/, ""));
      }
    }
    return out;
  }

  private diagnosticsLine(line: string, plain: string): string[] {
    const header = BLOCK.exec(plain);
    if (header?.[1] && header[2]) {
      this.closeBlock();
      if (header[1].startsWith("docker:")) {
        this.block = { type: header[1], resource: header[2], body: [] };
        return [];
      }
      return [line];
    }
    if (/^\S/.test(plain)) {
      // The next section (Outputs:, Resources:): the causes come before it.
      return [...this.closeDiagnostics(), line];
    }
    if (this.block !== null) {
      this.block.body.push(plain);
      return [];
    }
    return [line];
  }

  private closeBlock(): void {
    if (this.block === null) return;
    const { type, resource, body } = this.block;
    this.block = null;
    for (const text of blockErrors(body)) {
      const said = readable(text, this.options.engine);
      const same = this.causes.find(
        (cause) => cause.type === type && cause.readable.cause === said.cause && cause.readable.hint === said.hint,
      );
      if (same) same.resources.push(resource);
      else this.causes.push({ type, resources: [resource], readable: said });
    }
  }

  private closeDiagnostics(): string[] {
    this.closeBlock();
    this.inDiagnostics = false;
    if (this.causes.length === 0) return [];
    const out: string[] = [];
    // Cancellations last: they follow from the other causes.
    const ordered = [...this.causes].sort(
      (a, b) => Number(a.readable.cause.startsWith("cancelled")) - Number(b.readable.cause.startsWith("cancelled")),
    );
    for (const cause of ordered) {
      out.push(`  ${cause.type} (${cause.resources.join(", ")}):`);
      out.push(`    error: ${cause.readable.cause}`);
      if (cause.readable.hint !== null) out.push(`    ${cause.readable.hint}`);
      out.push("");
    }
    out.push(`  The provider's own words: ${this.options.rawLog}`, "");
    this.causes.length = 0;
    return out;
  }
}
