import { fileURLToPath } from "node:url";
import { defineConfig, type Options } from "tsup";
import { coreWithoutSideEffects, lazyModules } from "./build/lazy-modules.ts";
import { PROGRAM_V8_FLAGS } from "./build/v8-flags.ts";

const coreSrc = fileURLToPath(new URL("../core/src/", import.meta.url));

/** What both builds of the program share: everything bundled, CEL loaded on first use. */
const program: Options = {
  entry: { "weft-sidecar": "src/bin/weft-sidecar.ts" },
  target: "node24",
  platform: "node",
  noExternal: [/.*/],
  splitting: false,
  sourcemap: false,
  esbuildPlugins: [
    lazyModules([
      { file: `${coreSrc}authz/condition.ts`, functions: ["compileCondition", "conditionBindings"] },
    ]),
    coreWithoutSideEffects(coreSrc),
  ],
  esbuildOptions(o) {
    o.conditions = ["@weft/source", "node", "import", "default"];
    // src/cli/main.ts runs itself when it is the entry; in the bundle, bin/weft-sidecar.ts does.
    o.define = { ...o.define, "import.meta.main": "false" };
  },
};

export default defineConfig([
  {
    // The library (@weft/sidecar): @weft/core stays a dependency.
    entry: ["src/index.ts"],
    format: ["esm"],
    target: "node22",
    dts: true,
    sourcemap: true,
  },
  {
    // The program: one file with @weft/core and every dependency bundled in (README, "Build").
    ...program,
    format: ["esm"],
    outExtension: () => ({ js: ".mjs" }),
    // Bundled CommonJS dependencies call require(); ESM output needs one.
    banner: {
      js: `#!/usr/bin/env -S node ${PROGRAM_V8_FLAGS.join(" ")}\nimport { createRequire as __weftCreateRequire } from 'node:module'; const require = __weftCreateRequire(import.meta.url);`,
    },
  },
  {
    // The same as one CommonJS script: the main of the single executable (build/sea.ts).
    ...program,
    format: ["cjs"],
    outDir: "dist/sea",
    outExtension: () => ({ js: ".cjs" }),
  },
]);
