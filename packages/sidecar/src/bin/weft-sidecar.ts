// The `weft-sidecar` program as a bundle entry: dist/weft-sidecar.mjs and the single executable
// run this file (src/cli/main.ts runs itself only from source, by `import.meta.main`).
import type { Io } from "../cli/commands.ts";
import { main } from "../cli/main.ts";

const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
// A single executable is run again as itself; the bundle as node with its flags and this file.
// node:sea is a scheme-only built-in that bundlers mangle; ask the runtime for it.
const self = process.getBuiltinModule("node:sea").isSea()
  ? [process.execPath]
  : [process.execPath, ...process.execArgv, process.argv[1] as string];
main(process.argv.slice(2), io, { self }).then((code) => {
  process.exitCode = code;
  // Handles left by a failed start must not keep the process alive after the verdict.
  setImmediate(() => process.exit(code));
});
