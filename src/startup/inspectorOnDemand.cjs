"use strict";
// @pulumi/pulumi's runtime/closure/v8Hooks, with its inspector session started
// on first use instead of before the program. The runner awaits that session
// (Debugger.enable) before it loads the program, and while it is on V8 hashes
// and reports every script compiled after it: the program's start took
// ~0.15 s longer and ~0.2 CPU-seconds more. Only closure serialization
// (pulumi.runtime.serializeFunction) asks for the session; this program never
// does. The listener is attached before Debugger.enable, so the scripts that
// loaded earlier, which V8 reports on enable, still get their file names.
// preload.cjs hands this module to every requirer of v8Hooks; the unit tests
// check it against the installed @pulumi/pulumi (tests/unit/lazy-modules).

/** @type {Map<string, string>} scriptId → file URL */
const scriptUrls = new Map();
/** @type {Promise<import("node:inspector").Session> | undefined} */
let session;

/** @returns {Promise<import("node:inspector").Session>} */
function getSessionAsync() {
  if (session === undefined) {
    session = new Promise((resolve, reject) => {
      const inspector = require("node:inspector");
      const created = new inspector.Session();
      created.connect();
      created.on("Debugger.scriptParsed", (event) => {
        scriptUrls.set(event.params.scriptId, event.params.url);
      });
      created.post("Debugger.enable", (error) => (error ? reject(error) : resolve(created)));
    });
  }
  return session;
}

/** The runner's wait before the program: nothing to wait for, the session starts when asked for. */
async function isInitializedAsync() {}

/** @param {string} id */
function getScriptUrl(id) {
  return scriptUrls.get(id);
}

module.exports = { getSessionAsync, isInitializedAsync, getScriptUrl };
