import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Mode, type ProxyStatus } from "@weft/core/model";
import { serviceKey } from "../config/keys.ts";
import type { DiscoveryHub } from "../discovery/hub.ts";
import type { EdgeTraffic, TrafficLedger } from "./traffic-ledger.ts";

/** Everything the dashboard page shows, as `/api/overview` serves it. */
export interface Overview {
  /** Wall-clock ms when this was computed; certificate expiries are relative to it. */
  readonly generatedAtMs: number;
  /** The span rates and percentiles cover. */
  readonly windowMs: number;
  readonly configRevision: number;
  readonly replica: string;
  readonly services: ServiceRow[];
  readonly edges: EdgeTraffic[];
  readonly dataPlanes: DataPlaneRow[];
}

export interface ServiceRow {
  /** `namespace/name`. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  /** "in-process", "sidecar", "mixed" (its data planes differ) or "" (unknown). */
  readonly mode: string;
  readonly endpoints: number;
  readonly dataPlanes: number;
  /** Inbound traffic, summed over its callers; null figures when nobody reported calling it. */
  readonly requestsPerSecond: number;
  readonly successRate: number | null;
  readonly p99Ms: number | null;
}

export interface DataPlaneRow {
  readonly service: string;
  readonly instanceId: string;
  readonly mode: string;
  readonly ackedVersion: string;
  /** "ACK", "NACK" (the last push was refused) or "PENDING" (nothing ACKed yet). */
  readonly state: "ACK" | "NACK" | "PENDING";
  readonly nackedVersion: string;
  readonly nackReason: string;
  readonly certificateExpiryMs: number | null;
  readonly connectedAtMs: number | null;
  readonly replica: string;
}

/** Computes the dashboard's view of the hub and the traffic ledger. */
export function buildOverview(hub: DiscoveryHub, ledger: TrafficLedger, wallNow: number): Overview {
  const config = hub.view.meshConfig;
  const edges = ledger.edges();
  const proxies = hub.proxies().sort((a, b) => compare(rowKey(a), rowKey(b)));

  const configured = new Map<string, Mode>();
  for (const s of config.services) configured.set(serviceKey(s.namespace, s.name), s.mode);
  const ids = new Set<string>(configured.keys());
  for (const id of hub.view.servicesWithEndpoints()) ids.add(id);
  for (const p of proxies) ids.add(serviceKey(p.namespace, p.service));
  for (const e of edges) {
    ids.add(e.from);
    ids.add(e.to);
  }

  const planes = new Map<string, ProxyStatus[]>();
  for (const p of proxies) {
    const id = serviceKey(p.namespace, p.service);
    const list = planes.get(id);
    if (list) list.push(p);
    else planes.set(id, [p]);
  }

  const services = [...ids].sort(compare).map((id): ServiceRow => {
    const inbound = edges.filter((e) => e.to === id);
    const requests = sum(inbound, (e) => e.requests);
    const failures = sum(inbound, (e) => e.failures);
    const mine = planes.get(id) ?? [];
    const slash = id.indexOf("/");
    return {
      id,
      namespace: id.slice(0, slash),
      name: id.slice(slash + 1),
      mode: modeOf(configured.get(id), mine),
      endpoints: hub.view.endpointSet(id)?.endpoints.length ?? 0,
      dataPlanes: mine.length,
      requestsPerSecond: sum(inbound, (e) => e.requestsPerSecond),
      successRate: requests === 0 ? null : (requests - failures) / requests,
      p99Ms: requests === 0 ? null : Math.max(...inbound.map((e) => e.p99Ms)),
    };
  });

  const dataPlanes = proxies.map(
    (p): DataPlaneRow => ({
      service: serviceKey(p.namespace, p.service),
      instanceId: p.instanceId,
      mode: modeName(p.mode),
      ackedVersion: p.ackedVersion,
      state: p.nackedVersion !== "" ? "NACK" : p.ackedVersion !== "" ? "ACK" : "PENDING",
      nackedVersion: p.nackedVersion,
      nackReason: p.nackReason,
      certificateExpiryMs: p.certificateExpiry ? timestampMs(p.certificateExpiry) : null,
      connectedAtMs: p.connectedAt ? timestampMs(p.connectedAt) : null,
      replica: p.controlPlaneReplica,
    }),
  );

  return {
    generatedAtMs: wallNow,
    windowMs: ledger.windowMs,
    configRevision: hub.view.configRevision,
    replica: hub.replica,
    services,
    edges,
    dataPlanes,
  };
}

function modeOf(configured: Mode | undefined, planes: readonly ProxyStatus[]): string {
  if (configured !== undefined && configured !== Mode.UNSPECIFIED) return modeName(configured);
  const seen = new Set(planes.map((p) => p.mode).filter((m) => m !== Mode.UNSPECIFIED));
  if (seen.size > 1) return "mixed";
  const [only] = seen;
  return only === undefined ? "" : modeName(only);
}

function modeName(mode: Mode): string {
  return mode === Mode.INPROCESS ? "in-process" : mode === Mode.SIDECAR ? "sidecar" : "";
}

function rowKey(p: ProxyStatus): string {
  return `${serviceKey(p.namespace, p.service)}#${p.instanceId}`;
}

function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let n = 0;
  for (const t of items) n += f(t);
  return n;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
