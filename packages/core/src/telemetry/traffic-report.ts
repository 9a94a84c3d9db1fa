import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Place } from "../call/call.ts";
import type { TrafficStatSchema } from "../gen/weft/v1/discovery_pb.js";
import type { MeshMetrics, ServiceSeries } from "./mesh-metrics.ts";

export type TrafficStatInit = MessageInitShape<typeof TrafficStatSchema>;

export interface TrafficReporterOptions {
  /** Places whose series are this member's outgoing calls. Default client and sidecar-outbound. */
  places?: readonly Place[];
}

interface Baseline {
  epoch: number;
  requests: number;
  failures: number;
  retries: number;
}

const OUTBOUND: readonly Place[] = ["client", "sidecar-outbound"];

/**
 * Returns a function for connectDataPlane's `traffic` option: each call gives, per
 * destination service of the outbound places, the requests, failures and retries since
 * the previous call (the first covers the time since this was created), and p50/p99 of
 * the rolling window's slots that span that interval.
 *
 * The deltas come from the rolling windows alone, so the hot path pays nothing for them.
 * A window's two newest slots (previous + current) only ever grow until the next slot
 * begins, and a finished slot never changes again; so "the last two slots at the previous
 * report" is a baseline that the slots from that one onwards, read now, exceed by exactly
 * the calls recorded in between. This holds while reports are less than the window's span
 * minus one slot apart (50 s by default); after a longer gap the report holds what the
 * window still has, an undercount rather than a double count.
 */
export function trafficReporter(
  metrics: MeshMetrics,
  options: TrafficReporterOptions = {},
): () => TrafficStatInit[] {
  const places = (options.places ?? OUTBOUND).map((p) => metrics.forPlace(p));
  const baselines = new Map<ServiceSeries, Baseline>();

  const take = (): TrafficStatInit[] => {
    const now = metrics.clock.now();
    const out: TrafficStatInit[] = [];
    for (const place of places) {
      for (const svc of place.all()) {
        const w = svc.window;
        const epoch = Math.floor(now / w.slotMs);
        const maxSlots = Math.round(w.spanMs / w.slotMs);
        const before = baselines.get(svc);
        // Slots from the one before the previous report's to the current one: `back` of
        // them behind the current. Half a slot less than that many slots, so rounding up
        // in stats() lands on exactly `back`.
        const back = before ? epoch - before.epoch + 1 : maxSlots;
        const usable = before !== undefined && back >= 1 && back <= maxSlots;
        const since = w.stats(now, ((usable ? back : maxSlots) - 0.5) * w.slotMs);
        const requests = Math.max(0, since.requests - (usable ? before.requests : 0));
        const failures = Math.min(requests, Math.max(0, since.failures - (usable ? before.failures : 0)));
        const retries = Math.max(0, since.retries - (usable ? before.retries : 0));
        const last2 = w.stats(now, w.slotMs / 2);
        baselines.set(svc, {
          epoch,
          requests: last2.requests,
          failures: last2.failures,
          retries: last2.retries,
        });
        if (requests === 0 && retries === 0) continue;
        out.push({
          destination: svc.namespace === "" ? svc.service : `${svc.namespace}/${svc.service}`,
          requests: BigInt(requests),
          failures: BigInt(failures),
          retries: BigInt(retries),
          p50Ms: requests === 0 ? 0 : since.p50Ms,
          p99Ms: requests === 0 ? 0 : since.p99Ms,
        });
      }
    }
    return out;
  };
  // The first report covers the time since now: calls made before are not news.
  take();
  return take;
}
