import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "../measure/run-phase.ts";

/** The newest modification time of any file under `dir`, ms. */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile()) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs);
  return newest;
}

/**
 * The sidecar paths run the bundled program (dist/weft-sidecar.mjs), so it is rebuilt (tsup)
 * when the sidecar's or core's sources are newer; a failed build is noted and the old one runs.
 */
export function buildSidecarIfStale(root: string, log: Log): void {
  const pkg = join(root, "packages", "sidecar");
  const program = join(pkg, "dist", "weft-sidecar.mjs");
  const sources = ["sidecar", "core"].map((p) => join(root, "packages", p, "src"));
  if (existsSync(program) && statSync(program).mtimeMs > Math.max(...sources.map(newestMtime))) {
    log.progress("packages/sidecar/dist/weft-sidecar.mjs is newer than the sources; not rebuilt");
    return;
  }
  log.progress("building packages/sidecar/dist/weft-sidecar.mjs (tsup)");
  try {
    execFileSync("npx", ["tsup"], { cwd: pkg, stdio: "ignore" });
  } catch {
    log.note("the sidecar did not build; the sidecar paths ran the previously built dist/weft-sidecar.mjs");
  }
}
