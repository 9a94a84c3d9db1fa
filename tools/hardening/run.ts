// `npm run hardening`: runs the hardening tests of every package with vitest, each test writing
// one JSON line per attack case to WEFT_HARDENING_REPORT ({"class","case","refused","reachedApp"},
// optionally "passed" and "detail"), then prints one row per attack class. Exits non-zero when a
// test failed, an expected suite is missing, or any case reached the app.
//
//   node --conditions=@weft/source tools/hardening/run.ts [filter ...]
//
// A filter keeps the suites whose package or path contains it (e.g. `fuzz`, `sidecar`).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ClassRow, parseReport, summarize } from "./summary.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const VITEST = join(ROOT, "node_modules/vitest/vitest.mjs");

/** The hardening suites, by package (paths relative to the package). */
export const SUITES: Record<string, readonly string[]> = {
  core: [
    "test/transport/h2-abuse.test.ts",
    "test/transport/limits",
    "test/transport/tls-audit",
    "test/identity/svid-rules",
    "test/fuzz",
  ],
  sidecar: ["test/http1-strict.test.ts", "test/hardening", "test/interop", "test/fuzz"],
  "control-plane": ["test/identity/csr-rules"],
  inprocess: ["test/interop", "test/http1-refused.test.ts", "test/limits.test.ts"],
};

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  testResults: { name: string; assertionResults: { fullName: string; status: string }[] }[];
}

interface PackageRun {
  pkg: string;
  paths: string[];
  code: number | null;
  seconds: number;
  result: VitestJson | undefined;
}

function runVitest(
  pkg: string,
  paths: string[],
  env: NodeJS.ProcessEnv,
  jsonFile: string,
): Promise<PackageRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      // One file at a time: the suites measure timing (slowloris, floods) and start sidecars, so
      // on a shared two-core machine running them side by side makes them flaky, not faster.
      [
        VITEST,
        "run",
        ...paths,
        "--no-file-parallelism",
        "--reporter=dot",
        "--reporter=json",
        `--outputFile.json=${jsonFile}`,
      ],
      { cwd: join(ROOT, "packages", pkg), env, stdio: ["ignore", "inherit", "inherit"] },
    );
    child.on("exit", (code) => {
      let result: VitestJson | undefined;
      try {
        result = JSON.parse(readFileSync(jsonFile, "utf8")) as VitestJson;
      } catch {
        result = undefined;
      }
      resolve({ pkg, paths, code, seconds: (performance.now() - started) / 1000, result });
    });
  });
}

function table(rows: readonly ClassRow[]): string {
  const head = ["attack class", "cases", "refused", "passed", "reached the app"];
  const body = rows.map((r) => [
    r.class,
    String(r.cases),
    String(r.refused),
    r.passedKnown ? String(r.passed) : "-",
    String(r.reachedApp),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const work = mkdtempSync(join(tmpdir(), "weft-hardening-"));
  const report = join(work, "report.jsonl");
  writeFileSync(report, "");
  const env = { ...process.env, WEFT_HARDENING_REPORT: report };
  const runs: PackageRun[] = [];
  const missing: string[] = [];
  try {
    for (const [pkg, all] of Object.entries(SUITES)) {
      const wanted = all.filter(
        (p) => filters.length === 0 || filters.some((f) => `${pkg}/${p}`.includes(f)),
      );
      const paths = wanted.filter((p) => existsSync(join(ROOT, "packages", pkg, p)));
      for (const p of wanted) if (!paths.includes(p)) missing.push(`packages/${pkg}/${p}`);
      if (paths.length === 0) continue;
      console.log(`\n== packages/${pkg}: ${paths.join(" ")}`);
      runs.push(await runVitest(pkg, paths, env, join(work, `${pkg}.json`)));
    }
    const lines = parseReport(readFileSync(report, "utf8"));
    const rows = summarize(lines.entries);

    console.log("\n== hardening summary\n");
    console.log(table(rows));
    console.log();
    for (const r of runs) {
      const t = r.result;
      const counts = t
        ? `${t.numPassedTests}/${t.numTotalTests} tests passed`
        : "no result (vitest crashed?)";
      console.log(`packages/${r.pkg}: ${counts} in ${r.seconds.toFixed(1)} s (exit ${r.code})`);
      for (const f of t?.testResults ?? []) {
        for (const a of f.assertionResults) if (a.status === "failed") console.log(`  FAILED ${a.fullName}`);
      }
    }
    for (const m of missing) console.log(`missing suite: ${m}`);
    for (const bad of lines.malformed) console.log(`unreadable report line: ${bad}`);
    const reached = lines.entries.filter((e) => e.reachedApp);
    for (const e of reached) console.log(`REACHED THE APP: [${e.class}] ${e.case}`);
    const failedCases = lines.entries.filter((e) => e.passed === false);
    for (const e of failedCases)
      console.log(`FAILED CASE: [${e.class}] ${e.case}${e.detail ? ` (${e.detail})` : ""}`);

    const testsFailed = runs.some((r) => r.code !== 0 || !r.result || r.result.numFailedTests > 0);
    const ok =
      !testsFailed &&
      reached.length === 0 &&
      failedCases.length === 0 &&
      missing.length === 0 &&
      lines.malformed.length === 0 &&
      lines.entries.length > 0;
    console.log(
      ok
        ? `\nhardening: OK (${lines.entries.length} cases in ${rows.length} classes)`
        : "\nhardening: FAILED (see above)",
    );
    return ok ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main();
