import { create } from "@bufbuild/protobuf";
import { MeshConfigSchema } from "@weft/core/model";
import { ExplainError, type ExplainedStep, type Explanation, explainCall } from "../../explain/explain.ts";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { outputFormat, structured, table } from "../format.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

/** Exit code when the call would be denied, so scripts can assert on a policy. */
export const EXIT_DENIED = 3;

export const explainUsage = `usage: weft explain --from SERVICE [--to SERVICE] METHOD|PATH [-X HTTP_METHOD] [--header K=V ...] [-o table|json|yaml] [--server URL]
  dry-runs a call against the live configuration with the data plane's own code: the route
  and destination chosen, the policies in chain order with their values, the plugins, and
  the authorization verdict with the policy and rule that decided it. Nothing is sent.
  --from     calling service: name or namespace/name
  --to       called service (a bare name is in the caller's namespace); may be left out for
             an RPC method whose service a Service lists in rpcServices
  METHOD     an RPC method package.Service/Method, or PATH an HTTP path /...
  -X         HTTP method (default POST for an RPC, GET for a path)
  --header   request header as name=value; repeatable
  exit codes: 0 allowed, 3 denied, 1 a mistake in the command, 2 control plane unreachable`;

export async function explain(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "explain",
    args,
    {
      from: { type: "string" },
      to: { type: "string" },
      request: { type: "string", short: "X" },
      header: { type: "string", short: "H", multiple: true },
      output: { type: "string", short: "o" },
      ...serverOption,
    },
    explainUsage,
  );
  const format = outputFormat(values.output);
  if (!values.from) throw new CliError(`weft explain needs --from SERVICE\n\n${explainUsage}`);
  if (positionals.length !== 1)
    throw new CliError(
      `weft explain needs one METHOD or PATH, got ${positionals.length === 0 ? "none" : positionals.map((p) => `"${p}"`).join(" ")}\n\n${explainUsage}`,
    );
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const eq = h.search(/[=:]/);
    if (eq <= 0) throw new CliError(`--header must be name=value, got "${h}"`);
    const name = h.slice(0, eq).trim();
    try {
      new Headers({ [name]: "" });
    } catch {
      throw new CliError(`--header "${h}": "${name}" is not a valid header name`);
    }
    headers[name.toLowerCase()] = h.slice(eq + 1).trim();
  }
  const target = await adminTarget(values, ctx.env);
  const [config, endpoints] = await withAdmin(target, (admin) =>
    Promise.all([admin.getConfig({}), admin.listEndpoints({})]),
  );
  let explanation: Explanation;
  try {
    explanation = explainCall(
      config.config ?? create(MeshConfigSchema),
      {
        from: values.from,
        to: values.to,
        target: positionals[0] as string,
        httpMethod: values.request,
        headers,
      },
      endpoints.services,
    );
  } catch (e) {
    if (e instanceof ExplainError) throw new CliError(`weft explain: ${e.message}`);
    throw e;
  }
  ctx.out(
    format === "table"
      ? renderExplanation(explanation, config.version)
      : structured(format, { configVersion: config.version, ...explanation }),
  );
  return explanation.allowed ? 0 : EXIT_DENIED;
}

/** The explanation as a person reads it: the call, the route, then per destination its chains. */
export function renderExplanation(x: Explanation, configVersion: string): string {
  const lines: string[] = [];
  const what = x.call.method
    ? `${x.call.method} (${x.call.httpMethod} ${x.call.path})`
    : `${x.call.httpMethod} ${x.call.path}`;
  lines.push(
    `${x.caller.namespace}/${x.caller.service} -> ${x.call.namespace}/${x.call.service}: ${what}, configuration version ${configVersion}`,
  );
  const headers = Object.entries(x.call.headers);
  if (headers.length > 0) lines.push(`headers   ${headers.map(([k, v]) => `${k}: ${v}`).join(", ")}`);
  lines.push(`caller    ${x.caller.identity} (${x.caller.place})`);
  lines.push(
    x.route.name === "default"
      ? "route     none matched: the service's default"
      : `route     ${x.route.name} (priority ${x.route.priority}) matching ${x.route.matches.length ? x.route.matches.map((m) => `[${m}]`).join(" or ") : "every call"}`,
  );
  for (const d of x.destinations) {
    const subset = Object.entries(d.subset)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    lines.push("");
    lines.push(
      `destination ${d.namespace}/${d.service}${subset ? ` subset ${subset}` : ""}${x.destinations.length > 1 ? `: ${Number((d.share * 100).toFixed(2))}% of calls` : ""}${d.defined ? "" : " (no Service defined)"}`,
    );
    lines.push(`  identity   ${d.identity}`);
    lines.push(
      `  endpoints  ${d.endpoints.total} (${d.endpoints.healthy} healthy)${d.endpoints.zones.length ? ` in zones ${d.endpoints.zones.join(", ")}` : ""}`,
    );
    lines.push(`  outbound chain at ${x.caller.namespace}/${x.caller.service}:`);
    lines.push(indent(steps(d.outbound), "    "));
    if (d.endpointHealth.length > 0) {
      lines.push("  endpoint health:");
      lines.push(indent(steps(d.endpointHealth, false), "    "));
    }
    lines.push(`  inbound chain at ${d.namespace}/${d.service}:`);
    lines.push(indent(steps(d.inbound), "    "));
    const a = d.authorization;
    lines.push(`  authorization: ${a.allowed ? "ALLOWED" : "DENIED"}: ${a.reason}`);
    if (a.rule !== undefined) lines.push(`    rule ${a.ruleIndex} of ${a.policy}: ${JSON.stringify(a.rule)}`);
  }
  lines.push("");
  const denied = x.destinations.filter((d) => !d.authorization.allowed);
  lines.push(
    denied.length === 0
      ? "verdict: ALLOWED"
      : `verdict: DENIED${x.destinations.length > 1 ? ` at ${denied.map((d) => `${d.namespace}/${d.service}`).join(", ")}` : ""}`,
  );
  for (const n of x.notes) lines.push(`note: ${n}`);
  return `${lines.join("\n")}\n`;
}

function steps(list: readonly ExplainedStep[], numbered = true): string {
  return table(
    numbered ? ["#", "STEP", "SET BY", "SETTINGS"] : ["POLICY", "SET BY", "SETTINGS"],
    list.map((s, i) =>
      numbered ? [String(i + 1), s.step, s.from, s.settings || "-"] : [s.step, s.from, s.settings],
    ),
    "(none)",
  ).trimEnd();
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}
