import { timestampMs } from "@bufbuild/protobuf/wkt";
import { parseDuration } from "@weft/core";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const tokenUsage = `usage: weft token create --sa NAME [--namespace NS] [--ttl DURATION] [--server URL]
  --sa         service account the token proves (the workload's identity)
  --namespace  its namespace (default "default")
  --ttl        lifetime (default 1h)`;

/** `weft token create`: prints the bootstrap token alone on stdout, so scripts can capture it. */
export async function token(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "token",
    args,
    { sa: { type: "string" }, namespace: { type: "string" }, ttl: { type: "string" }, ...serverOption },
    tokenUsage,
  );
  if (positionals[0] !== "create" || positionals.length !== 1)
    throw new CliError(
      `weft token: expected \`create\`, got ${positionals.length ? `"${positionals.join(" ")}"` : "nothing"}\n\n${tokenUsage}`,
    );
  if (!values.sa) throw new CliError(`weft token create needs --sa NAME\n\n${tokenUsage}`);
  let ttlSeconds = 0;
  if (values.ttl !== undefined) {
    const s = parseDuration(values.ttl);
    if (s === undefined || s < 1)
      throw new CliError(`--ttl must be a duration of at least 1s like 30m or 24h, got "${values.ttl}"`);
    ttlSeconds = Math.round(s);
  }
  const target = await adminTarget(values, ctx.env);
  const res = await withAdmin(target, (admin) =>
    admin.createToken({ serviceAccount: values.sa, namespace: values.namespace ?? "", ttlSeconds }),
  );
  ctx.out(`${res.token}\n`);
  if (res.expiresAt) ctx.err(`expires at ${new Date(timestampMs(res.expiresAt)).toISOString()}\n`);
  return 0;
}
