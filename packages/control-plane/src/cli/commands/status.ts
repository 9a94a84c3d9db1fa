import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { ProxyStatusSchema } from "@weft/core/model";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { outputFormat, structured, table, when } from "../format.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const statusUsage = `usage: weft status [-o table|json|yaml] [--server URL]
  each connected data plane: the version it runs, whether it ACKed the latest push or
  NACKed it (and why), and when its certificate expires`;

export async function status(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "status",
    args,
    { output: { type: "string", short: "o" }, ...serverOption },
    statusUsage,
  );
  if (positionals.length > 0)
    throw new CliError(`weft status takes no arguments, got "${positionals[0]}"\n\n${statusUsage}`);
  const format = outputFormat(values.output);
  const target = await adminTarget(values, ctx.env);
  const [config, proxies] = await withAdmin(target, (admin) =>
    Promise.all([admin.getConfig({}), admin.listProxies({})]),
  );
  if (format !== "table") {
    ctx.out(
      structured(format, {
        server: target.url,
        configVersion: config.version,
        proxies: proxies.proxies.map((p) => toJson(ProxyStatusSchema, p)),
      }),
    );
    return 0;
  }
  const now = Date.now();
  const nacked = proxies.proxies.filter((p) => p.nackedVersion !== "").length;
  const rows = proxies.proxies.map((p) => [
    p.namespace,
    p.service,
    p.instanceId,
    p.ackedVersion || "-",
    p.nackedVersion
      ? `NACK ${p.nackedVersion}: ${p.nackReason}`
      : p.ackedVersion
        ? "ACK"
        : "waiting for first ACK",
    when(p.certificateExpiry ? timestampMs(p.certificateExpiry) : undefined, now),
  ]);
  ctx.out(
    `control plane ${target.url}: configuration version ${config.version}, ${proxies.proxies.length} data plane${proxies.proxies.length === 1 ? "" : "s"} connected${nacked ? `, ${nacked} rejecting their latest push` : ""}\n`,
  );
  ctx.out(
    table(
      ["NAMESPACE", "SERVICE", "INSTANCE", "VERSION", "STATUS", "CERT EXPIRES"],
      rows,
      "no data planes connected",
    ),
  );
  return 0;
}
