#!/usr/bin/env node
// `weft-gen <proto dir> --out <dir>`: the same as `weft gen`, for projects without the control plane.
import { runGen } from "./gen-command.ts";

runGen(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Not a proto error (those are handled): a bug or an environment problem; one line, no stack.
    process.stderr.write(`weft gen: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
