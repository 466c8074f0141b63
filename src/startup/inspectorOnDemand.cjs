"use strict";
// @pulumi/pulumi's own runtime/closure/v8Hooks, loaded on first use. The runner
// awaits its inspector session (Debugger.enable) before it loads the program,
// and while it is on V8 hashes and reports every script compiled after it: the
// program's start took ~0.15 s longer and ~0.2 CPU-seconds more. Only closure
// serialization (pulumi.runtime.serializeFunction) asks for the session; this
// program never does. So the runner's wait returns at once, and the real module
// loads, and starts its session, when a closure first asks for it.
// preload.cjs (through lazyModules.cjs) hands this to every requirer of
// v8Hooks; the unit tests check it against the installed @pulumi/pulumi
// (tests/unit/lazy-modules).

/**
 * @typedef {import("node:inspector").Session} Session
 * @typedef {{
 *   getSessionAsync(): Promise<Session>,
 *   isInitializedAsync(): Promise<void>,
 *   getScriptUrl(id: string): string | undefined,
 * }} V8Hooks
 */

/** @type {(() => V8Hooks) | undefined} */
let loadReal;
/** @type {V8Hooks | undefined} */
let real;
/** @type {Promise<Session> | undefined} */
let session;

/**
 * @param {Session} inspector
 * @param {string} method
 * @returns {Promise<void>}
 */
function post(inspector, method) {
  return new Promise((resolve, reject) => inspector.post(method, (error) => (error ? reject(error) : resolve())));
}

/** @type {V8Hooks} */
const hooks = Object.freeze({
  /** The runner's wait before the program: nothing to wait for, the session starts when asked for. */
  async isInitializedAsync() {},
  getSessionAsync() {
    if (session === undefined) {
      real = /** @type {() => V8Hooks} */ (loadReal)();
      // The real module listens for Debugger.scriptParsed only after it has
      // enabled, so a late session would not know the files loaded before it.
      // Enabled once more, V8 reports every script again, to that listener.
      session = real.getSessionAsync().then(async (started) => {
        await post(started, "Debugger.disable");
        await post(started, "Debugger.enable");
        return started;
      });
    }
    return session;
  },
  /** A script ID comes from the session, so before it nothing has one to ask about. */
  getScriptUrl: (id) => real?.getScriptUrl(id),
});

/**
 * What every requirer of v8Hooks gets: `load` loads the real module (the first
 * requirer's; Node caches it, so all would load the same one).
 * @param {() => V8Hooks} load
 * @returns {V8Hooks}
 */
function v8HooksOnDemand(load) {
  loadReal ??= load;
  return hooks;
}

module.exports = { v8HooksOnDemand };
