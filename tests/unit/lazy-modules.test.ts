import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/**
 * src/startup/lazyModules.cjs: modules Pulumi's runner loads at start and this
 * program never uses load on first use instead. Plain JavaScript (it runs
 * before TypeScript is registered), so its shape is written down here.
 */
interface LazyModules {
  DEFERRED: Readonly<Record<string, readonly string[]>>;
  V8_HOOKS: Readonly<Record<string, string>>;
  isDeferred(request: string, parentFile: string | undefined): boolean;
  isV8Hooks(request: string, parentFile: string | undefined): boolean;
  lazyModule(load: () => unknown): Record<string | symbol, unknown>;
  deferringLoad(
    load: (request: string, parent: unknown, isMain: boolean) => unknown,
  ): (request: string, parent: unknown, isMain: boolean) => unknown;
}

const ROOT = path.resolve(__dirname, "../..");
const lazy = require(path.join(ROOT, "src/startup/lazyModules.cjs")) as LazyModules;
const onDemand = require(path.join(ROOT, "src/startup/inspectorOnDemand.cjs")) as {
  v8HooksOnDemand(load: () => unknown): Record<string, unknown>;
};
/** What the real node below runs, project-relative. */
const CHILD = "tests/unit/fixtures/preloadedPulumi.cjs";
const PULUMI_DIR = path.join(ROOT, "node_modules/@pulumi/pulumi");
/** The child node below: under 1 s here; a cold cache on a busy machine takes several. */
const CHILD_LIMIT_MS = 60_000;

/** TypeScript's own helpers, as @pulumi/pulumi's compiled files carry them. */
function importStar(mod: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  if (mod?.__esModule) return mod;
  const result: Record<string | symbol, unknown> = {};
  for (const key of Object.keys(mod)) result[key] = mod[key];
  result.default = mod;
  return result;
}
function importDefault(mod: Record<string | symbol, unknown>): Record<string | symbol, unknown> {
  return mod?.__esModule ? mod : { default: mod };
}

describe("lazyModule", () => {
  test("loads nothing until a property other than __esModule is read, then loads once", () => {
    const load = jest.fn(() => ({ Arborist: "the class" }));
    const standIn = lazy.lazyModule(load);
    expect(standIn.__esModule).toBe(true);
    expect(importStar(standIn)).toBe(standIn);
    expect(load).not.toHaveBeenCalled();
    expect(importStar(standIn).Arborist).toBe("the class");
    expect(standIn.Arborist).toBe("the class");
    expect(load).toHaveBeenCalledTimes(1);
  });

  test("its default is what __importDefault and __importStar would have given for a CommonJS module", () => {
    const execa = Object.assign(() => "ran", { sync: () => "ran sync" });
    const standIn = lazy.lazyModule(() => execa);
    expect(importDefault(standIn).default).toBe(execa);
    expect(importStar(standIn).default).toBe(execa);
    expect(standIn.sync).toBe(execa.sync);
  });

  test("its default is the ES module's own default", () => {
    const esModule = { __esModule: true, default: "the default", other: 1 };
    const standIn = lazy.lazyModule(() => esModule);
    expect(importDefault(standIn).default).toBe("the default");
    expect(standIn.other).toBe(1);
  });

  test("answers `in`, keys and descriptors from the real module", () => {
    const standIn = lazy.lazyModule(() => ({ a: 1, b: 2 }));
    expect("a" in standIn).toBe(true);
    expect("c" in standIn).toBe(false);
    expect(Object.keys(standIn)).toEqual(["a", "b"]);
    expect({ ...standIn }).toEqual({ a: 1, b: 2 });
  });

  test("a module that fails to load fails where it is first used, with its own error", () => {
    const standIn = lazy.lazyModule(() => {
      throw new Error("Cannot find module '@npmcli/arborist'");
    });
    expect(() => standIn.Arborist).toThrow("Cannot find module '@npmcli/arborist'");
  });
});

describe("which requires are deferred", () => {
  const codePaths = path.join(PULUMI_DIR, "runtime/closure/codePaths.js");

  test("a listed module, from the file that lists it (either path separator)", () => {
    expect(lazy.isDeferred("@npmcli/arborist", codePaths)).toBe(true);
    expect(lazy.isDeferred("execa", "C:\\p\\node_modules\\@pulumi\\pulumi\\automation\\cmd.js")).toBe(true);
  });

  test("not the same module from another file, nor another module, nor without a requirer", () => {
    expect(lazy.isDeferred("@npmcli/arborist", path.join(ROOT, "index.ts"))).toBe(false);
    expect(lazy.isDeferred("execa", codePaths)).toBe(false);
    expect(lazy.isDeferred("fs", codePaths)).toBe(false);
    expect(lazy.isDeferred("@npmcli/arborist", undefined)).toBe(false);
  });

  test("deferringLoad gives a stand-in for a listed one and the real module otherwise", () => {
    const calls: string[] = [];
    const load = lazy.deferringLoad((request) => {
      calls.push(request);
      return { name: request };
    });
    const standIn = load("@npmcli/arborist", { filename: codePaths }, false) as { name: string };
    expect(calls).toEqual([]);
    expect(load("fs", { filename: codePaths }, false)).toEqual({ name: "fs" });
    expect(standIn.name).toBe("@npmcli/arborist");
    expect(calls).toEqual(["fs", "@npmcli/arborist"]);
  });

  test.each(Object.entries(lazy.DEFERRED).flatMap(([file, modules]) => modules.map((module) => [file, module])))(
    "the installed @pulumi/pulumi's %s still requires %s at its top",
    (file, module) => {
      const source = fs.readFileSync(path.join(PULUMI_DIR, file), "utf8");
      expect(source).toContain(`require("${module}")`);
    },
  );
});

describe("the runner's inspector session, started on first use", () => {
  const runner = path.join(PULUMI_DIR, "cmd/run/index.js");
  const closureV8 = path.join(PULUMI_DIR, "runtime/closure/v8.js");

  test("@pulumi/pulumi's requires of v8Hooks, and only those, get inspectorOnDemand.cjs's hooks", () => {
    expect(lazy.isV8Hooks("../../runtime/closure/v8Hooks", runner)).toBe(true);
    expect(lazy.isV8Hooks("./v8Hooks", closureV8)).toBe(true);
    expect(lazy.isV8Hooks("./v8Hooks", "C:\\p\\node_modules\\@pulumi\\pulumi\\runtime\\closure\\v8.js")).toBe(true);
    expect(lazy.isV8Hooks("./v8Hooks", runner)).toBe(false);
    expect(lazy.isV8Hooks("./v8Hooks", path.join(ROOT, "src/v8.js"))).toBe(false);
    expect(lazy.isV8Hooks("./v8Hooks", undefined)).toBe(false);
    expect(lazy.isV8Hooks("./v8", closureV8)).toBe(false);

    const calls: string[] = [];
    const load = lazy.deferringLoad((request) => {
      calls.push(request);
      return { name: request };
    });
    const hooks = onDemand.v8HooksOnDemand(() => {
      throw new Error("not loaded here");
    });
    expect(load("../../runtime/closure/v8Hooks", { filename: runner }, false)).toBe(hooks);
    expect(load("./v8Hooks", { filename: closureV8 }, false)).toBe(hooks);
    expect(calls).toEqual([]);
  });

  test.each(Object.entries(lazy.V8_HOOKS))("the installed @pulumi/pulumi's %s still requires %s", (file, request) => {
    const source = fs.readFileSync(path.join(PULUMI_DIR, file), "utf8");
    expect(source).toContain(`require("${request}")`);
  });

  test("its hooks are what the installed v8Hooks exports, and the runner still only waits for it", () => {
    const real = require(path.join(PULUMI_DIR, "runtime/closure/v8Hooks.js")) as Record<string, unknown>;
    expect(Object.keys(onDemand.v8HooksOnDemand(() => real)).sort()).toEqual(Object.keys(real).sort());
    expect(fs.readFileSync(runner, "utf8")).toContain("return v8Hooks.isInitializedAsync();");
  });
});

describe("in a real node, as Pulumi.yaml runs the program", () => {
  test("Pulumi.yaml's nodeargs require the preload, which exists, and cap the young generation", () => {
    const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
      runtime: { options: { nodeargs: string } };
    };
    expect(project.runtime.options.nodeargs).toBe("--require ./src/startup/preload.cjs --max-semi-space-size=16");
    expect(fs.existsSync(path.join(ROOT, "src/startup/preload.cjs"))).toBe(true);
  });

  test(
    "@pulumi/pulumi loads without them, and what needs them still works (tracing, closures and their inspector session)",
    () => {
      const out = execFileSync(
        process.execPath,
        ["--require", "./src/startup/preload.cjs", CHILD, JSON.stringify(Object.values(lazy.DEFERRED).flat())],
        { cwd: ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, timeout: CHILD_LIMIT_MS },
      );
      expect(JSON.parse(out)).toEqual({
        atStart: [],
        tracer: true,
        arborist: true,
        paths: 3,
        closure: true,
        location: CHILD,
        hooks: ["inspectorOnDemand.cjs", "v8Hooks.js"],
      });
    },
    CHILD_LIMIT_MS + 5_000,
  );
});
