import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  HealthStatus,
  Mode,
  Protocol,
  ProxyStatusSchema,
  ServiceEndpointsSchema,
  ServiceSchema,
} from "@weft/core/model";
import { adminTarget, withAdmin } from "../admin-call.ts";
import { CliError } from "../cli-error.ts";
import { outputFormat, structured, table, when } from "../format.ts";
import { type CliContext, parse, serverOption } from "./context.ts";

export const getUsage = `usage: weft get services|endpoints|proxies [SERVICE] [-o table|json|yaml] [--server URL]
  services   the applied services, with how many endpoints each has
  endpoints  endpoints by service (static and registered); SERVICE is name or namespace/name
  proxies    connected data planes and the versions they ACKed or NACKed`;

export async function get(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parse(
    "get",
    args,
    { output: { type: "string", short: "o" }, ...serverOption },
    getUsage,
  );
  const format = outputFormat(values.output);
  const target = await adminTarget(values, ctx.env);
  const [what, filter] = positionals;
  switch (what) {
    case "services":
    case "service":
    case "svc": {
      const [config, endpoints] = await withAdmin(target, (admin) =>
        Promise.all([admin.getConfig({}), admin.listEndpoints({})]),
      );
      const services = config.config?.services ?? [];
      if (format !== "table") {
        ctx.out(
          structured(
            format,
            services.map((s) => toJson(ServiceSchema, s)),
          ),
        );
        return 0;
      }
      const counts = new Map(
        endpoints.services.map((s) => [`${s.namespace}/${s.service}`, s.endpoints.length]),
      );
      const rows = services.map((s) => [
        s.namespace,
        s.name,
        enumName(Mode, s.mode, "MODE_"),
        s.ports.map((p) => `${p.port}/${enumName(Protocol, p.protocol, "PROTOCOL_")}`).join(",") || "-",
        String(counts.get(`${s.namespace}/${s.name}`) ?? 0),
      ]);
      const known = new Set(services.map((s) => `${s.namespace}/${s.name}`));
      for (const e of endpoints.services)
        if (!known.has(`${e.namespace}/${e.service}`))
          rows.push([e.namespace, e.service, "(no Service applied)", "-", String(e.endpoints.length)]);
      ctx.out(
        `configuration version ${config.version}\n${table(["NAMESPACE", "NAME", "MODE", "PORTS", "ENDPOINTS"], rows, "no services")}`,
      );
      return 0;
    }
    case "endpoints":
    case "endpoint":
    case "ep": {
      const res = await withAdmin(target, (admin) => admin.listEndpoints({ service: filter ?? "" }));
      if (format !== "table") {
        ctx.out(
          structured(
            format,
            res.services.map((s) => toJson(ServiceEndpointsSchema, s)),
          ),
        );
        return 0;
      }
      const rows = res.services.flatMap((s) =>
        s.endpoints.map((e) => [
          s.namespace,
          s.service,
          e.address,
          String(e.port),
          e.zone || "-",
          e.instance || "(static)",
          enumName(HealthStatus, e.health, "HEALTH_STATUS_"),
        ]),
      );
      ctx.out(
        table(
          ["NAMESPACE", "SERVICE", "ADDRESS", "PORT", "ZONE", "INSTANCE", "HEALTH"],
          rows,
          filter ? `no endpoints for ${filter}` : "no endpoints",
        ),
      );
      return 0;
    }
    case "proxies":
    case "proxy": {
      const res = await withAdmin(target, (admin) => admin.listProxies({}));
      if (format !== "table") {
        ctx.out(
          structured(
            format,
            res.proxies.map((p) => toJson(ProxyStatusSchema, p)),
          ),
        );
        return 0;
      }
      const now = Date.now();
      const rows = res.proxies.map((p) => [
        p.namespace,
        p.service,
        p.instanceId,
        enumName(Mode, p.mode, "MODE_"),
        p.ackedVersion || "-",
        p.nackedVersion ? `${p.nackedVersion}: ${p.nackReason}` : "-",
        when(p.connectedAt ? timestampMs(p.connectedAt) : undefined, now),
      ]);
      ctx.out(
        table(
          ["NAMESPACE", "SERVICE", "INSTANCE", "MODE", "ACKED", "NACKED", "CONNECTED"],
          rows,
          "no data planes connected",
        ),
      );
      return 0;
    }
    default:
      throw new CliError(
        `weft get: expected services, endpoints or proxies, got ${what === undefined ? "nothing" : `"${what}"`}\n\n${getUsage}`,
      );
  }
}

/** `MODE_SIDECAR` -> `SIDECAR`; `-` for the unspecified value. */
export function enumName(e: Record<string, string | number>, value: number, prefix: string): string {
  if (value === 0) return "-";
  const name = e[value];
  return typeof name === "string" ? name.replace(prefix, "") : String(value);
}
