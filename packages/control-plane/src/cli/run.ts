import { CliError, EXIT_USER_ERROR } from "./cli-error.ts";
import { apply, applyUsage } from "./commands/apply.ts";
import { check, checkUsage } from "./commands/check.ts";
import type { CliContext } from "./commands/context.ts";
import { explain, explainUsage } from "./commands/explain.ts";
import { gen, genUsage } from "./commands/gen.ts";
import { get, getUsage } from "./commands/get.ts";
import { identity, identityUsage } from "./commands/identity.ts";
import { serve, serveUsage } from "./commands/serve.ts";
import { status, statusUsage } from "./commands/status.ts";
import { token, tokenUsage } from "./commands/token.ts";

export const usage = `weft: the Weft service mesh command

${serveUsage}

${applyUsage}

${getUsage}

${statusUsage}

${tokenUsage}

${identityUsage}

${checkUsage}

${explainUsage}

${genUsage}

Commands that talk to a control plane take --server URL (or WEFT_SERVER; default
http://127.0.0.1:15010) and present its admin token: --admin-token-file FILE, else
WEFT_ADMIN_TOKEN, else weft-data/admin-token (where a control plane started in this
directory keeps it). Exit codes: 0 ok, 1 a problem to fix in the command or the
configuration, 2 the control plane cannot be reached.`;

const commands: Record<string, (args: string[], ctx: CliContext) => Promise<number>> = {
  "control-plane": serve,
  apply,
  get,
  status,
  token,
  identity,
  check,
  explain,
  gen,
};

/** Runs one `weft` command; returns the exit code. Never throws for a user's mistake. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    ctx.out(`${usage}\n`);
    return name === undefined ? EXIT_USER_ERROR : 0;
  }
  const command = commands[name];
  if (!command) {
    ctx.err(`weft: unknown command "${name}"; commands: ${Object.keys(commands).join(", ")} (weft help)\n`);
    return EXIT_USER_ERROR;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    ctx.out(`${usage}\n`);
    return 0;
  }
  try {
    return await command(rest, ctx);
  } catch (e) {
    if (e instanceof CliError) {
      ctx.err(`${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}
