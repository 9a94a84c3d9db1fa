// `npm run build:sea`: the single executable dist/weft-sidecar (no Node needed on the target):
// Node's SEA blob of the CommonJS bundle dist/sea/weft-sidecar.cjs (built by tsup), injected
// into a copy of this node binary by inject-sea.ts. Linux only, like the binary it copies.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { injectSea } from "./inject-sea.ts";
import { PROGRAM_V8_FLAGS } from "./v8-flags.ts";

const pkg = fileURLToPath(new URL("..", import.meta.url));

/** Builds the executable `out` from the bundle `main`; the blob and its config go beside `main`. */
export function buildSea(main: string, out: string): void {
  if (!existsSync(main)) throw new Error(`${main} is missing: run tsup (npm run build) first`);
  const config = join(dirname(main), "sea-config.json");
  const blob = join(dirname(main), "weft-sidecar.blob");
  writeFileSync(
    config,
    JSON.stringify({
      main,
      output: blob,
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
      execArgv: PROGRAM_V8_FLAGS,
    }),
  );
  execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "ignore" });
  injectSea(process.execPath, blob, out);
  // The transparent-mode addon, when built, goes beside the executable (where it looks first).
  const addon = join(pkg, "native", "build", "Release", "weft_original_dst.node");
  if (existsSync(addon)) copyFileSync(addon, join(dirname(out), "weft_original_dst.node"));
}

if (import.meta.main) {
  const out = join(pkg, "dist", "weft-sidecar");
  buildSea(join(pkg, "dist", "sea", "weft-sidecar.cjs"), out);
  process.stdout.write(`built ${out}\n`);
}
