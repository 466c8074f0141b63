"use strict";
// @pulumi/pulumi's runner loads, before our program, modules that only a few
// of its functions use and this program never calls: npm's arborist (for
// serializing closures, ~150 ms), OpenTelemetry's SDK (only with --tracing),
// execa (Automation API). Each one listed here is given to its requirer as a
// stand-in that loads the real module on first use, so nothing changes but
// when it loads. The runner's inspector session (for the same closures) starts
// on first use too: inspectorOnDemand.cjs loads v8Hooks when asked for it. Plain
// JavaScript: it runs before TypeScript is registered. preload.cjs installs it
// (Pulumi.yaml's nodeargs); tests/unit/lazy-modules.

/**
 * Requiring file under @pulumi/pulumi → modules it may get late. Every pair is
 * checked against the installed @pulumi/pulumi by the unit tests, so an
 * upgrade that moves one is noticed (a stale pair only stops deferring).
 * @type {Readonly<Record<string, readonly string[]>>}
 */
const DEFERRED = Object.freeze({
  "runtime/closure/codePaths.js": ["@npmcli/arborist", "normalize-package-data"],
  "cmd/run/tracing.js": [
    "@opentelemetry/resources",
    "@opentelemetry/sdk-trace-base",
    "@opentelemetry/exporter-zipkin",
    "@opentelemetry/instrumentation-grpc",
    "@opentelemetry/sdk-trace-node",
    "@opentelemetry/instrumentation",
  ],
  "automation/cmd.js": ["execa"],
});

/**
 * Requiring file under @pulumi/pulumi → how it asks for runtime/closure/v8Hooks,
 * which inspectorOnDemand.cjs answers: the real module, and its inspector
 * session, start when closure serialization first asks, not before the program.
 */
const V8_HOOKS = Object.freeze({
  "cmd/run/index.js": "../../runtime/closure/v8Hooks",
  "runtime/closure/v8.js": "./v8Hooks",
});

const PULUMI_FILE = /[\\/]node_modules[\\/]@pulumi[\\/]pulumi[\\/](.+)$/;

/**
 * The requiring file's path under @pulumi/pulumi, "/"-separated; undefined for any other.
 * @param {string | undefined} parentFile
 */
function pulumiFile(parentFile) {
  const match = parentFile === undefined ? null : PULUMI_FILE.exec(parentFile);
  return match?.[1]?.split("\\").join("/");
}

/** Every require passes here: one set lookup settles all but the listed modules. */
const DEFERRED_MODULES = new Set(Object.values(DEFERRED).flat());

/**
 * Whether `request` from `parentFile` is one to defer.
 * @param {string} request
 * @param {string | undefined} parentFile
 */
function isDeferred(request, parentFile) {
  if (!DEFERRED_MODULES.has(request)) return false;
  const file = pulumiFile(parentFile);
  return file !== undefined && (DEFERRED[file] ?? []).includes(request);
}

/**
 * Whether `request` from `parentFile` is @pulumi/pulumi asking for its v8Hooks.
 * @param {string} request
 * @param {string | undefined} parentFile
 */
function isV8Hooks(request, parentFile) {
  if (!request.endsWith("/v8Hooks")) return false;
  const file = pulumiFile(parentFile);
  return file !== undefined && V8_HOOKS[file] === request;
}

/**
 * A stand-in for a module that `load` loads on first use of anything but
 * `__esModule`. It says `__esModule` so TypeScript's `__importStar` and
 * `__importDefault` hand it over as is, and its `default` is what theirs would
 * be: the module's own `default` for an ES module, the module itself otherwise.
 * @param {() => unknown} load
 */
function lazyModule(load) {
  /** @type {any} */
  let real;
  let loaded = false;
  const get = () => {
    if (!loaded) {
      real = load();
      loaded = true;
    }
    return real;
  };
  return new Proxy(
    {},
    {
      get(_target, key) {
        if (key === "__esModule") return true;
        const module = get();
        if (key === "default" && !module?.__esModule) return module;
        return module[key];
      },
      has: (_target, key) => key in get(),
      ownKeys: () => Reflect.ownKeys(get()),
      getOwnPropertyDescriptor(_target, key) {
        const descriptor = Reflect.getOwnPropertyDescriptor(get(), key);
        // A proxy may not report a property of its empty target as fixed.
        return descriptor === undefined ? undefined : { ...descriptor, configurable: true };
      },
    },
  );
}

/**
 * Node's `Module._load`, deferring the listed modules.
 * @param {(request: string, parent: any, isMain: boolean) => unknown} load the original
 */
function deferringLoad(load) {
  /** @this {unknown} @param {string} request @param {any} parent @param {boolean} isMain */
  return function loadDeferring(request, parent, isMain) {
    if (!isMain && isDeferred(request, parent?.filename)) {
      return lazyModule(() => load.call(this, request, parent, false));
    }
    if (!isMain && isV8Hooks(request, parent?.filename)) {
      return require("./inspectorOnDemand.cjs").v8HooksOnDemand(() => load.call(this, request, parent, false));
    }
    return load.call(this, request, parent, isMain);
  };
}

module.exports = { DEFERRED, V8_HOOKS, isDeferred, isV8Hooks, lazyModule, deferringLoad };
