import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import type { Socket } from "node:net";

/** Where a redirected connection was going before iptables sent it to the sidecar. */
export interface OriginalDestination {
  readonly address: string;
  readonly port: number;
}

interface Addon {
  originalDst(fd: number): OriginalDestination;
}

const ADDON = new URL("../../native/build/Release/weft_original_dst.node", import.meta.url);
let addon: Addon | undefined;

/**
 * Loads the SO_ORIGINAL_DST addon on first use, so only transparent mode needs it built.
 * Throws saying how to build it when it is missing.
 */
function load(): Addon {
  if (addon) return addon;
  if (!existsSync(ADDON)) {
    throw new Error(
      `transparent mode needs the SO_ORIGINAL_DST addon at ${ADDON.pathname}; build it with \`npm run build:native\` in packages/sidecar`,
    );
  }
  addon = createRequire(import.meta.url)(ADDON.pathname) as Addon;
  return addon;
}

/** The original destination of an accepted socket (Linux, after an iptables REDIRECT). */
export function originalDestination(socket: Socket): OriginalDestination {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0)
    throw new Error("socket has no file descriptor (closed, or not a TCP socket)");
  return load().originalDst(fd);
}
