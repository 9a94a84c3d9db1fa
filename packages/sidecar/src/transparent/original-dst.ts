import { existsSync } from "node:fs";
import type { Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Where a redirected connection was going before iptables sent it to the sidecar. */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

interface Addon {
  originalDst(fd: number): OriginalDestination;
}

const FILE = "weft_original_dst.node";
let addon: Addon | undefined;

/**
 * Where the addon may be: $WEFT_SIDECAR_ADDON; beside the executable (the single executable
 * and its image ship it there); native/build/Release of the package, seen from src/ or dist/.
 */
function candidates(): string[] {
  const out = [process.env.WEFT_SIDECAR_ADDON ?? "", join(dirname(process.execPath), FILE)];
  // import.meta.url is empty in the single executable's CommonJS bundle.
  const here = import.meta.url;
  if (here) {
    for (const up of ["../../native/build/Release/", "../native/build/Release/"])
      out.push(fileURLToPath(new URL(up + FILE, here)));
  }
  return out.filter((p) => p !== "");
}

/**
 * Loads the SO_ORIGINAL_DST addon on first use, so only transparent mode needs it built.
 * Throws saying where it was looked for and how to build it when it is missing.
 */
function load(): Addon {
  if (addon) return addon;
  const paths = candidates();
  const found = paths.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `transparent mode needs the SO_ORIGINAL_DST addon (looked at ${paths.join(", ")}); build it with \`npm run build:native\` in packages/sidecar`,
    );
  }
  const module = { exports: {} as Addon };
  process.dlopen(module, found);
  addon = module.exports;
  return addon;
}

/** The original destination of an accepted socket (Linux, after an iptables REDIRECT). */
export function originalDestination(socket: Socket): OriginalDestination {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0)
    throw new Error("socket has no file descriptor (closed, or not a TCP socket)");
  return load().originalDst(fd);
}
