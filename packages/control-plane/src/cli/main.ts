#!/usr/bin/env node
// The `weft` command. Everything but process wiring lives in run.ts so tests can drive it.
import { runCli } from "./run.ts";

process.exitCode = await runCli(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
});
