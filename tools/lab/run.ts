/**
 * `npm run lab -- <scenario>|all`: the network-namespace lab. Builds pods as network
 * namespaces on a bridge of its own (10.213.0.0/24, which exists only inside them), runs a
 * fault scenario under load through weft-sidecar's transparent capture, prints a verdict with
 * its numbers, and removes every namespace it made, also on failure or Ctrl-C. Needs root,
 * iproute2, iptables and curl. Exit 0 when every scenario run passed.
 */
import { missingPrerequisite } from "./prerequisites.ts";
import { scenarioReport, summaryTable } from "./report.ts";
import { type Scenario, scenarios } from "./scenarios/index.ts";
import { removeLeftovers } from "./topology.ts";
import type { ScenarioResult } from "./verdict.ts";

const USAGE = `usage: npm run lab -- <scenario>... | all | cleanup
scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(22)}${s.title}`).join("\n")}
  cleanup               remove namespaces and links left by a lab that was killed`;

const args = process.argv.slice(2);
if (args.length === 0 || args.includes("--help") || args.includes("-h")) {
  console.log(USAGE);
  process.exit(args.length === 0 ? 2 : 0);
}
const missing = missingPrerequisite();
if (missing) {
  console.error(`lab: ${missing}`);
  process.exit(1);
}
if (args[0] === "cleanup") {
  const removed = await removeLeftovers();
  console.log(removed.length > 0 ? `removed ${removed.join(", ")}` : "nothing to remove");
  process.exit(0);
}
const chosen: Scenario[] = [];
for (const a of args) {
  if (a === "all") chosen.push(...scenarios);
  else {
    const s = scenarios.find((x) => x.name === a);
    if (!s) {
      console.error(`lab: no scenario "${a}"\n${USAGE}`);
      process.exit(2);
    }
    chosen.push(s);
  }
}

const stop = new AbortController();
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.once(sig, () => {
    console.log(`\n${sig}: stopping; the lab removes its namespaces before it exits`);
    stop.abort();
  });

const started = performance.now();
const results: ScenarioResult[] = [];
for (const s of chosen) {
  if (stop.signal.aborted) break;
  try {
    const r = await s.run({ log: (l) => console.log(l), signal: stop.signal });
    results.push(r);
    console.log(scenarioReport(r).join("\n"));
  } catch (e) {
    const message = (e as Error).message;
    console.log(`FAIL  ${s.name}: ${message}`);
    results.push({ name: s.name, title: s.title, passed: false, checks: [], numbers: {}, seconds: 0 });
  }
}
console.log(`\n${summaryTable(results).join("\n")}`);
const passed = results.filter((r) => r.passed).length;
console.log(
  `\n${passed}/${chosen.length} scenarios passed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(passed === chosen.length && results.length === chosen.length ? 0 : 1);
