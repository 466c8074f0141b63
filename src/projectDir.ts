import * as fs from "node:fs";
import * as path from "node:path";

/**
 * The project's root (package.json, node_modules, app/): the nearest folder
 * above this module with a package.json. Found, not fixed, so a module that
 * moves (or a test's copy of one) still finds it.
 */
export const PROJECT_DIR = ((): string => {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json in ${__dirname} or above it`);
  }
})();
