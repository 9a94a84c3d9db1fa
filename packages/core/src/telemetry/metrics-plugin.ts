import type { Code } from "@connectrpc/connect";
import type { MeshResponse } from "../call/call.ts";
import { rejectsWithMeshErrors } from "../chain/chain.ts";
import { definePlugin, type PluginDefinition } from "../chain/plugin.ts";
import { attemptsStarted } from "../resilience/attributes.ts";
import type { MeshMetrics } from "./mesh-metrics.ts";
import { rejectUnknownOptions } from "./options.ts";
import {
  codeIndex,
  codeOfError,
  codeOfOutcome,
  isFailure,
  statusClassIndex,
  statusOfError,
} from "./outcome.ts";

// biome-ignore lint/complexity/noBannedTypes: the metrics plugin has no options yet; config may pass `{}`.
export type MetricsPluginOptions = {};

/**
 * The `metrics` step, recording into `metrics`. It times a call from entering the step to
 * `response.settled` (streams are timed to their end) on the context's clock, so put it
 * outermost to measure what the caller sees, retries included.
 */
export function metricsPlugin(metrics: MeshMetrics): PluginDefinition<MetricsPluginOptions> {
  return definePlugin<MetricsPluginOptions>({
    name: "metrics",
    parseOptions(raw) {
      rejectUnknownOptions("metrics", raw, []);
      return {};
    },
    create(_options, ctx) {
      const series = metrics.forPlace(ctx.place);
      const clock = ctx.clock;
      const windowClock = metrics.clock;
      const sameClock = clock === windowClock;
      const outbound = ctx.place === "client" || ctx.place === "sidecar-outbound";
      const localService = ctx.service || "unknown";
      // No async function: a step that only observes need not add a promise of its own.
      return rejectsWithMeshErrors((next) => (call) => {
        const start = call.startedAt ?? clock.now();
        // The caller: this service when sending; on receipt, the service account of the
        // certificate the caller presented (never a header, never an address).
        const peer = outbound ? localService : (call.source?.serviceAccount ?? "unknown");
        const svc = series.service(call.service, call.namespace);
        const flight = svc.inFlight(peer);
        flight.value++;
        const finish = (code: Code | undefined, status: number): void => {
          const end = clock.now();
          flight.value--;
          const retries = attemptsStarted(call.attributes) - 1;
          if (retries > 0) metrics.recordRetries(call, retries);
          const ms = end - start;
          const c = codeIndex(code);
          svc.edge(call.route ?? "", peer).complete(c, statusClassIndex(status), ms / 1000);
          svc.window.record(sameClock ? end : windowClock.now(), ms, isFailure(code, status));
        };
        const failed = (err: unknown): never => {
          finish(codeOfError(err), statusOfError(err));
          throw err;
        };
        let sent: Promise<MeshResponse>;
        try {
          sent = next(call);
        } catch (err) {
          finish(codeOfError(err), statusOfError(err));
          return Promise.reject(err);
        }
        return sent.then((response) => {
          const outcome = response.outcome;
          if (outcome !== undefined) finish(codeOfOutcome(outcome), outcome.status);
          else {
            response.settled.then(
              (o) => finish(codeOfOutcome(o), o.status),
              (err: unknown) => finish(codeOfError(err), statusOfError(err)),
            );
          }
          return response;
        }, failed);
      });
    },
  });
}
