import { create } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  AuthorizationEngine,
  ConfigError,
  DEFAULT_NAMESPACE,
  formatIssue,
  formatProblem,
  parseDuration,
  RouteTable,
} from "@weft/core";
import {
  HealthStatus,
  type MeshConfig,
  MeshConfigSchema,
  type ProxyStatus,
  type ServiceEndpoints,
} from "@weft/core/model";
import { serviceKey } from "../../config/keys.ts";
import { validateMeshConfig } from "../../config/validate.ts";
import { formatMs } from "../../explain/describe.ts";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError, EXIT_UNREACHABLE } from "../cli-error.ts";
import { outputFormat, structured } from "../format.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const checkUsage = `usage: weft check [--cert-within DURATION] [-o table|json|yaml] [--server URL]
  diagnoses a mesh: the control plane, its configuration, services, routes, authorization
  policies, endpoints, and every connected data plane (NACKs, lag, certificate expiry)
  --cert-within  fail for certificates expiring sooner than this (default 6h: leaves live
                 24h and renew at half-life, so one this close failed to renew)
  exit codes: 0 every check passed, 1 a check failed, 2 control plane unreachable`;

/** One diagnosis: a ✔ or ✖ line, what is wrong (one entry per thing), and what to do. */
export interface CheckResult {
  readonly group: string;
  readonly title: string;
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly hint: string;
}

export interface MeshState {
  readonly config: MeshConfig;
  /** The configuration version (store revision) GetConfig reported. */
  readonly version: string;
  readonly endpoints: readonly ServiceEndpoints[];
  readonly proxies: readonly ProxyStatus[];
  readonly nowMs: number;
  /** Certificates expiring within this many ms fail. */
  readonly certWithinMs: number;
}

/** Every check that needs only what the admin API returns; pure, so each is tested alone. */
export function diagnoseMesh(s: MeshState): CheckResult[] {
  const c = s.config;
  const key = (ns: string, name: string) => serviceKey(ns, name);
  const services = new Set(c.services.map((x) => key(x.namespace, x.name)));
  const results: CheckResult[] = [];
  const add = (group: string, title: string, problems: string[], hint: string) =>
    results.push({ group, title, ok: problems.length === 0, problems, hint });

  const invalid: string[] = [];
  try {
    validateMeshConfig(c);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    invalid.push(...e.problems.map(formatProblem));
  }
  invalid.push(...AuthorizationEngine.check(c.authorizationPolicies).map(formatIssue));
  try {
    new RouteTable(c);
  } catch (e) {
    invalid.push(`routes: ${(e as Error).message}`);
  }
  add(
    "configuration",
    "configuration is valid",
    invalid,
    "fix these in the files and `weft apply -f` them again; data planes NACK what they cannot load",
  );

  add(
    "configuration",
    "every Service declares ports or rpcServices",
    c.services
      .filter((x) => x.ports.length === 0 && x.rpcServices.length === 0)
      .map((x) => `${key(x.namespace, x.name)} has neither ports nor rpcServices`),
    "add spec.ports (and spec.rpcServices for RPC services) so data planes know how to reach and route to it",
  );

  const unknownRoutes: string[] = [];
  for (const r of c.routes) {
    const name = key(r.namespace, r.name);
    if (!services.has(key(r.namespace, r.service)))
      unknownRoutes.push(
        `${name} routes calls to ${r.service}, which is not a Service in ${r.namespace || DEFAULT_NAMESPACE}`,
      );
    for (const d of r.destinations)
      if (!services.has(key(r.namespace, d.service)))
        unknownRoutes.push(
          `${name} sends calls to ${d.service}, which is not a Service in ${r.namespace || DEFAULT_NAMESPACE}`,
        );
  }
  add(
    "configuration",
    "routes point at known services",
    unknownRoutes,
    "apply a Service of that name in the route's namespace, or fix spec.service / spec.destinations",
  );

  const selectsNothing: string[] = [];
  for (const p of c.authorizationPolicies) {
    const name = p.namespace ? `${p.namespace}/${p.name}` : p.name;
    const inScope = c.services.filter(
      (x) => !p.namespace || (x.namespace || DEFAULT_NAMESPACE) === p.namespace,
    );
    if (p.services.length === 0) {
      if (inScope.length === 0)
        selectsNothing.push(
          `${name} selects every service of ${p.namespace ? `namespace ${p.namespace}` : "the mesh"}, and there is none`,
        );
      continue;
    }
    const missing = p.services.filter((svc) => !inScope.some((x) => x.name === svc));
    if (missing.length === p.services.length)
      selectsNothing.push(
        `${name} selects ${missing.join(", ")}: no such Service${p.namespace ? ` in ${p.namespace}` : ""}`,
      );
    else if (missing.length > 0)
      selectsNothing.push(
        `${name} also names ${missing.join(", ")}: no such Service${p.namespace ? ` in ${p.namespace}` : ""}`,
      );
  }
  add(
    "authorization",
    "authorization policies select existing services",
    selectsNothing,
    "a policy that selects nothing protects nothing: fix spec.services or the policy's namespace",
  );

  const sets = new Map(s.endpoints.map((e) => [key(e.namespace, e.service), e.endpoints]));
  const noEndpoints: string[] = [];
  for (const x of c.services) {
    const k = key(x.namespace, x.name);
    const eps = sets.get(k) ?? [];
    const healthy = eps.filter(
      (e) => e.health !== HealthStatus.UNHEALTHY && e.health !== HealthStatus.DRAINING,
    ).length;
    if (eps.length === 0) noEndpoints.push(`${k} has no endpoints`);
    else if (healthy === 0) noEndpoints.push(`${k} has ${eps.length} endpoints, none healthy`);
  }
  add(
    "endpoints",
    "every Service has healthy endpoints",
    noEndpoints,
    "start its workloads (they register when they connect), or add an Endpoints document; calls to it fail until then",
  );

  const nacks = s.proxies
    .filter((p) => p.nackedVersion !== "")
    .map((p) => `${proxyName(p)} rejected version ${p.nackedVersion}: ${p.nackReason}`);
  add(
    "data planes",
    "no data plane rejected its configuration",
    nacks,
    "the data plane keeps its previous version; fix what the reason names and apply again (`weft status` shows the same)",
  );

  const current = Number(s.version);
  const lagging = s.proxies
    .filter((p) => {
      if (p.nackedVersion !== "") return false;
      if (p.ackedVersion === "") return true;
      return Number(p.ackedVersion.slice(0, p.ackedVersion.indexOf("-"))) < current;
    })
    .map((p) =>
      p.ackedVersion
        ? `${proxyName(p)} runs version ${p.ackedVersion}, older than configuration version ${s.version}`
        : `${proxyName(p)} has not acknowledged any configuration yet`,
    );
  add(
    "data planes",
    `data planes run the current configuration (version ${s.version})`,
    lagging,
    "a push may still be on its way: run `weft check` again; if it stays, the data plane is stuck (see its logs)",
  );

  const expiring: string[] = [];
  for (const p of s.proxies) {
    if (!p.certificateExpiry) continue;
    const left = timestampMs(p.certificateExpiry) - s.nowMs;
    if (left <= 0) expiring.push(`${proxyName(p)}'s certificate expired ${formatMs(-left)} ago`);
    else if (left < s.certWithinMs)
      expiring.push(`${proxyName(p)}'s certificate expires in ${formatMs(left)}`);
  }
  add(
    "data planes",
    `no certificate expires within ${formatMs(s.certWithinMs)}`,
    expiring,
    "data planes renew at half-life; one that has not is failing to reach the CA (check its logs and bootstrap token)",
  );
  return results;
}

function proxyName(p: ProxyStatus): string {
  return `${p.namespace}/${p.service} ${p.instanceId}`;
}

/** `weft check`: linkerd-check-style ✔/✖ lines with hints; exit 1 when any check fails. */
export async function check(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "check",
    args,
    { output: { type: "string", short: "o" }, "cert-within": { type: "string" }, ...serverOption },
    checkUsage,
  );
  if (positionals.length > 0)
    throw new CliError(`weft check takes no arguments, got "${positionals[0]}"\n\n${checkUsage}`);
  const format = outputFormat(values.output);
  const within = values["cert-within"] === undefined ? 6 * 3600 : parseDuration(values["cert-within"]);
  if (within === undefined)
    throw new CliError(`--cert-within must be a duration like 24h or 30m, got "${values["cert-within"]}"`);
  const target = await adminTarget(values, ctx.env);

  const reach = { group: "control plane", title: `control plane is reachable at ${target.url}`, hint: "" };
  let state: MeshState;
  try {
    const [config, endpoints, proxies] = await withAdmin(target, (admin) =>
      Promise.all([admin.getConfig({}), admin.listEndpoints({}), admin.listProxies({})]),
    );
    state = {
      config: config.config ?? create(MeshConfigSchema),
      version: config.version,
      endpoints: endpoints.services,
      proxies: proxies.proxies,
      nowMs: Date.now(),
      certWithinMs: within * 1000,
    };
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    const failed: CheckResult = {
      ...reach,
      ok: false,
      problems: [e.message],
      hint: "start it with `weft control-plane`, or point --server / WEFT_SERVER at it",
    };
    ctx.out(render([failed], format));
    return e.exitCode === EXIT_UNREACHABLE ? EXIT_UNREACHABLE : 1;
  }
  const results = [
    {
      ...reach,
      ok: true,
      problems: [],
      title: `${reach.title} (configuration version ${state.version}, ${state.proxies.length} data planes)`,
    },
    ...diagnoseMesh(state),
  ];
  ctx.out(render(results, format));
  return results.every((r) => r.ok) ? 0 : 1;
}

function render(results: readonly CheckResult[], format: ReturnType<typeof outputFormat>): string {
  const ok = results.every((r) => r.ok);
  if (format !== "table") return structured(format, { ok, checks: results });
  const lines: string[] = [];
  let group = "";
  for (const r of results) {
    if (r.group !== group) {
      if (group) lines.push("");
      group = r.group;
      lines.push(group, "-".repeat(group.length));
    }
    lines.push(`${r.ok ? "✔" : "✖"} ${r.title}`);
    for (const p of r.problems) lines.push(`    ${p}`);
    if (!r.ok && r.hint) lines.push(`    hint: ${r.hint}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push("", ok ? "Status check results are ✔" : `Status check results are ✖ (${failed} failed)`);
  return `${lines.join("\n")}\n`;
}
