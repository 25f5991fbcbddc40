// Makes dist's V8 code cache: compiles the bundle in <staging> (src/launch.ts's own way, under
// the name it will have in dist/), runs
// `tsp11 --help` so the code every start runs (commander's parsing) is compiled too, and
// writes the cache with the runtime it is good for.
//
//   node scripts/code-cache.mjs <staging>
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const staging = process.argv[2];
const { compileBundle, currentRuntime } = await import(
  pathToFileURL(join(staging, "launch.js")).href
);
const dist = staging.replace(/\.\d+$/, "");
const { script, exports } = compileBundle(
  undefined,
  join(staging, "tsp11.cjs"),
  join(dist, "tsp11.cjs"),
);
await exports.main(["--help"], "compiled");
writeFileSync(join(staging, "tsp11.cjs.cache"), script.createCachedData());
writeFileSync(join(staging, "tsp11.cjs.cache.json"), `${JSON.stringify(currentRuntime())}\n`);
