/**
 * V8 flags of the built program (the bundle's shebang, the single executable's execArgv). A
 * proxy's garbage is short-lived but outlives a small young generation under load, so by
 * default V8 promotes it and lets the old space grow to ~190 MB before a full collection (the
 * live set is ~15 MB): a bounded old space keeps a loaded sidecar near 130 MB of RSS instead of
 * ~280, for about the same throughput (bench/README).
 */
export const PROGRAM_V8_FLAGS = ["--max-semi-space-size=4", "--max-old-space-size=96"];
