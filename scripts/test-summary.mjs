// Prints vitest's JSON reports (one per Node.js version run) as one plain closing line:
// "vitest: N passed, N failed, N skipped", the sums over every report given.
import { readFileSync } from "node:fs";

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
