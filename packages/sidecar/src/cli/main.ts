#!/usr/bin/env -S node --conditions=@weft/source
import { ConfigError } from "@weft/core";
import { LOAD_CONFIG_COMMAND, loadConfigCommand } from "../config/config-files.ts";
import { USAGE, UsageError } from "./args.ts";
import { type Io, iptablesCommand, runCommand, waitReadyCommand } from "./commands.ts";

export interface MainOptions {
  /**
   * How to run this program again (executable and leading arguments): the built program
   * passes it so `run` reads configuration files in a short-lived child process.
   */
  readonly self?: readonly string[];
}

/** Runs one `weft-sidecar` command; resolves with the exit code. */
export async function main(argv: string[], io: Io, options: MainOptions = {}): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "run":
        return await runCommand(rest, io, options.self);
      case LOAD_CONFIG_COMMAND:
        return await loadConfigCommand(rest);
      case "wait-ready":
        return await waitReadyCommand(rest, io);
      case "iptables":
        return iptablesCommand(rest, io);
      case "help":
      case "--help":
      case "-h":
        io.out(USAGE);
        return 0;
      default:
        io.err(`weft-sidecar: ${command ? `unknown command "${command}"` : "no command"}\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`weft-sidecar: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`weft-sidecar: configuration rejected:\n${err.message}\n`);
      return 3;
    }
    io.err(`weft-sidecar: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  const io: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
    // Handles left by a failed start must not keep the process alive after the verdict.
    setImmediate(() => process.exit(code));
  });
}
