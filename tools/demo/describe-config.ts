import type { Duration } from "@bufbuild/protobuf/wkt";
import {
  AuthorizationPolicy_Action,
  LoadBalancer_Algorithm,
  type MeshConfig,
  Mode,
  MtlsMode,
  Protocol,
  RetryOn,
  type RetryPolicy,
  type ServicePolicies,
} from "@weft/core/model";

function duration(d: Duration | undefined): string {
  if (!d) return "-";
  const ms = Number(d.seconds) * 1000 + d.nanos / 1e6;
  return ms < 1000 ? `${ms}ms` : `${ms / 1000}s`;
}

function enumName(e: Record<number, string>, v: number, prefix: string): string {
  return (e[v] ?? String(v)).replace(prefix, "");
}

function retry(r: RetryPolicy | undefined): string {
  if (!r) return "-";
  const on = r.retryOn.map((x) => enumName(RetryOn, x, "RETRY_ON_")).join("|");
  const budget = r.budget ? `, budget ${r.budget.ratio * 100}% + ${r.budget.minRetriesPerSecond}/s` : "";
  return `${r.attempts} attempts, per try ${duration(r.perTryTimeout)}, on ${on || "-"}${budget}`;
}

function policies(p: ServicePolicies | undefined): string[] {
  if (!p) return [];
  const out: string[] = [];
  if (p.timeout) out.push(`timeout ${duration(p.timeout.request)}`);
  if (p.retry) out.push(`retry ${retry(p.retry)}`);
  if (p.hedging) out.push(`hedging ${p.hedging.maxAttempts} after ${duration(p.hedging.delay)}`);
  if (p.loadBalancer)
    out.push(`balancer ${enumName(LoadBalancer_Algorithm, p.loadBalancer.algorithm, "ALGORITHM_")}`);
  if (p.rateLimit) out.push(`rate limit ${p.rateLimit.requestsPerSecond}/s burst ${p.rateLimit.burst}`);
  if (p.healthCheck) out.push(`health check every ${duration(p.healthCheck.interval)}`);
  if (p.circuitBreaker) out.push(`circuit breaker ${p.circuitBreaker.maxConcurrentRequests} concurrent`);
  if (p.outlierDetection)
    out.push(`outlier ejection after ${p.outlierDetection.consecutiveFailures} failures`);
  return out;
}

/** A person-readable summary of a mesh configuration. */
export function describeMeshConfig(config: MeshConfig): string {
  const lines: string[] = [];
  const mesh = config.mesh;
  lines.push(
    `Mesh: trust domain ${mesh?.trustDomain || "weft.local"}, mTLS ${enumName(MtlsMode, mesh?.defaults?.mtlsMode ?? 0, "MTLS_MODE_")}`,
  );
  const d = mesh?.defaults;
  if (d) {
    lines.push(`  defaults: timeout ${duration(d.timeout?.request)}; retry ${retry(d.retry)}`);
    if (d.loadBalancer)
      lines.push(`  balancer ${enumName(LoadBalancer_Algorithm, d.loadBalancer.algorithm, "ALGORITHM_")}`);
  }
  lines.push("", `Services (${config.services.length}):`);
  for (const s of config.services) {
    const ports = s.ports.map((p) => `${p.port}/${enumName(Protocol, p.protocol, "PROTOCOL_")}`).join(", ");
    lines.push(`  ${s.namespace}/${s.name}  mode ${enumName(Mode, s.mode, "MODE_")}  ports ${ports || "-"}`);
    for (const p of policies(s.policies)) lines.push(`    ${p}`);
  }
  lines.push("", `Routes (${config.routes.length}):`);
  for (const r of config.routes) {
    const match = r.matches.map((m) => m.method || m.path?.kind.value || "*").join(", ") || "*";
    const to = r.destinations.map((x) => `${x.service}${x.weight ? ` (${x.weight})` : ""}`).join(", ");
    lines.push(`  ${r.namespace}/${r.name}: ${r.service} ${match} -> ${to}`);
    if (r.timeout) lines.push(`    timeout ${duration(r.timeout.request)}`);
    if (r.retry) lines.push(`    retry ${retry(r.retry)}`);
  }
  lines.push("", `Authorization policies (${config.authorizationPolicies.length}):`);
  for (const a of config.authorizationPolicies) {
    const action = enumName(AuthorizationPolicy_Action, a.action, "ACTION_");
    lines.push(`  ${a.namespace}/${a.name}: ${action} on ${a.services.join(", ") || "every service"}`);
    for (const rule of a.rules) {
      const who = rule.principals.join(", ") || "anyone";
      const what = [...rule.methods, ...rule.paths].join(", ") || "anything";
      lines.push(`    ${who} -> ${what}${rule.when ? ` when ${rule.when}` : ""}`);
    }
  }
  return lines.join("\n");
}
