"use strict";
// Pulumi.yaml runs the program with `node --require ./src/startup/preload.cjs`:
// the modules lazyModules.cjs lists load when first used, not at start, and
// the runner's inspector session starts when first asked for.
const Module = require("node:module");
const { deferringLoad } = require("./lazyModules.cjs");

const loader = /** @type {any} */ (Module);
loader._load = deferringLoad(loader._load);
