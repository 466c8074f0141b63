/**
 * Re-renders bench/results/results.md and chart.svg from results.json, e.g.
 * after a change to the report: npx tsx bench/render.ts [results-dir]
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { type Results, writeResults } from "./lib/report";

const dir = path.resolve(process.argv[2] ?? path.join(__dirname, "results"));
const results = JSON.parse(fs.readFileSync(path.join(dir, "results.json"), "utf8")) as Results;
writeResults(results, dir).then((markdown) => process.stdout.write(`${markdown}\n`));
