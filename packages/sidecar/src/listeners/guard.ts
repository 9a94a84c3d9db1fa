import type { Server } from "node:net";
import { defaultServerLimits } from "@weft/core/transport";
import type { Stats } from "../admin/stats.ts";
import { type Admission, resolveSidecarLimits } from "../http/limits.ts";
import type { ListenerOptions } from "./listener.ts";

/**
 * Puts a listener's server under the connection caps (its own, and the process-wide one shared
 * with the mesh inbound port): over either, or while the process is overloaded, new
 * connections are closed at accept and counted as weft_sidecar_refused_total{reason}.
 */
export function guardListener(server: Server, o: ListenerOptions): void {
  const admission = o.admission ?? defaultServerLimits.admission;
  const guard = admission.guard({
    name: o.name,
    maxConnections: resolveSidecarLimits(o.limits).maxConnections,
    onRefused: (why) => o.stats.inc("weft_sidecar_refused_total", { place: o.place, reason: why }),
  });
  guard.add(server);
  exposeAdmission(o.stats, admission);
}

/**
 * The admission's state as gauges (read when /stats or /metrics is shown). Registering again
 * replaces them, so every listener may call it. Refusals here include the mesh inbound port's.
 */
export function exposeAdmission(stats: Stats, admission: Admission): void {
  stats.gauge("weft_sidecar_connections_open", () => admission.connections);
  stats.gauge("weft_sidecar_overloaded", () => (admission.shedding ? 1 : 0));
  stats.gauge("weft_sidecar_heap_used_ratio", () => {
    const r = admission.overload?.lastReading;
    return r && r.limit > 0 ? r.used / r.limit : 0;
  });
  stats.gauge("weft_sidecar_overload_shed_requests", () => admission.shedRequests);
  stats.gauge(
    "weft_sidecar_admission_refused_connections",
    () =>
      admission.refused.listener_connections +
      admission.refused.global_connections +
      admission.refused.overload,
  );
}
