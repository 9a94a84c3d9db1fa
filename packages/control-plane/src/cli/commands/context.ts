import { type ParseArgsConfig, parseArgs } from "node:util";
import { CliError } from "../cli-error.ts";

/** Where a command writes, and the environment it reads. */
export interface CliContext {
  out: (text: string) => void;
  err: (text: string) => void;
  env: Record<string, string | undefined>;
}

type Options = NonNullable<ParseArgsConfig["options"]>;

/** node:util parseArgs with its errors turned into usage errors that name the command. */
export function parse<O extends Options>(command: string, args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`weft ${command}: ${(e as Error).message}\n\n${usage}`);
  }
}

/** The options of every command that talks to a control plane's admin API. */
export const serverOption = { server: { type: "string" }, "admin-token-file": { type: "string" } } as const;
