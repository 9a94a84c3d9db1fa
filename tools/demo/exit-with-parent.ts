/**
 * Loaded (`--import`) into every process the demo starts. Their stdin is a pipe the demo holds
 * and never writes: when the demo is gone, however it went (SIGKILL included, which leaves it
 * no chance to stop them), the kernel closes the pipe and the child stops as on SIGTERM, so
 * nothing the demo started outlives it. The pipe does not keep the child alive by itself.
 *
 * Processes those children start inherit the flag but not the pipe (a sidecar's config reader
 * may use its stdin for its own input): only the demo's own children, named by WEFT_DEMO_PID,
 * watch.
 */
import type { Socket } from "node:net";

const stdin = process.stdin as unknown as Partial<Socket>;
if (process.env.WEFT_DEMO_PID === String(process.ppid) && typeof stdin.unref === "function") {
  const stop = () => process.kill(process.pid, "SIGTERM");
  stdin.once?.("end", stop);
  stdin.once?.("error", stop);
  stdin.resume?.();
  stdin.unref();
}
