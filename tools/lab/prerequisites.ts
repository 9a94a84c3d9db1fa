import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SIDECAR_PROGRAM } from "./pod.ts";

/** The SO_ORIGINAL_DST addon transparent capture needs, where the bundled sidecar looks for it. */
const ADDON = join(SIDECAR_PROGRAM, "..", "..", "native", "build", "Release", "weft_original_dst.node");

/** Why the lab cannot run here, or undefined when it can. */
export function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return "the lab needs root (network namespaces, veth pairs, iptables)";
  for (const tool of ["ip", "iptables", "curl", "setpriv"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `the lab needs ${tool} on the PATH`;
    }
  }
  if (!existsSync(SIDECAR_PROGRAM))
    return `${SIDECAR_PROGRAM} is missing: build it with \`npx nx run @weft/sidecar:build\``;
  if (!existsSync(ADDON))
    return `${ADDON} is missing (transparent capture needs it): build it with \`npm run build:native -w @weft/sidecar\``;
  return undefined;
}
