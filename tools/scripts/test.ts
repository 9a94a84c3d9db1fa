/**
 * `npm test`: type-check, lint and test every project through nx, then print one plain
 * summary line ("N passed, M failed") read from each project's vitest JSON report, so
 * the result reads at a glance in CI.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const projectDirs = [
  ...readdirSync(join(root, "packages")).map((d) => join(root, "packages", d)),
  join(root, "tools"),
  ...(existsSync(join(root, "examples"))
    ? readdirSync(join(root, "examples"), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => join(root, "examples", d.name))
    : []),
].filter((d) => existsSync(join(d, "package.json")));

const env = {
  ...process.env,
  NX_DAEMON: "false",
  NX_NO_CLOUD: "true",
  NX_TUI: "false",
  ...(process.env.CI ? { NO_COLOR: "1", FORCE_COLOR: "0" } : {}),
};

// Tests run against real peers (etcd, HAProxy, h2load, Chromium): install what is missing.
const deps = spawnSync("bash", [join(root, "tools/scripts/ensure-system-deps.sh")], { stdio: "inherit" });
if (deps.status !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// A report left from an earlier run must not be counted as this run's.
for (const dir of projectDirs) rmSync(join(dir, ".reports"), { recursive: true, force: true });

const extra = process.argv.slice(2);
// Some tests run what users run: the bundled weft-sidecar, the built CLIs. Build first.
const build = spawnSync(
  "npx",
  ["nx", "run-many", "-t", "build", "--parallel=2", "--outputStyle=stream", ...extra],
  {
    cwd: root,
    env,
    stdio: "inherit",
  },
);
if (build.status !== 0) {
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const run = spawnSync(
  "npx",
  ["nx", "run-many", "-t", "typecheck", "lint", "test", "--parallel=2", "--outputStyle=stream", ...extra],
  { cwd: root, env, stdio: "inherit" },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const missing: string[] = [];
for (const dir of projectDirs) {
  const report = join(dir, ".reports", "vitest.json");
  if (!existsSync(report)) {
    missing.push(dir.slice(root.length + 1));
    continue;
  }
  const r = JSON.parse(readFileSync(report, "utf8")) as {
    numPassedTests: number;
    numFailedTests: number;
    numPendingTests: number;
    numTodoTests: number;
  };
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
}
if (missing.length > 0)
  console.log(`no test report from: ${missing.join(", ")} (a step before the tests failed)`);
const ok = run.status === 0 && failed === 0 && missing.length === 0;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(ok ? 0 : 1);
