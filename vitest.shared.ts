import { defineConfig } from "vitest/config";

// Every package's tests resolve sibling @weft packages to their TypeScript source (the
// "@weft/source" export condition), so tests never depend on a previous build.
const conditions = ["@weft/source", "node", "import", "module", "default"];

export function weftVitestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ["@weft/source"] } },
    test: {
      include: ["test/**/*.test.ts", "src/**/*.test.ts"],
      // A package whose issue has not landed yet has no tests; its README says so.
      passWithNoTests: true,
      testTimeout: options.testTimeout ?? 20_000,
      hookTimeout: 20_000,
      reporters: ["default", "json"],
      outputFile: { json: ".reports/vitest.json" },
      // Two cores: keep workers to what the machine has so socket tests do not starve.
      maxWorkers: 2,
    },
  });
}
