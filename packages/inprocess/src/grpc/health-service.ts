import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { grpcHealthV1 } from "@weft/core";
import type { ServingState } from "./serving-state.ts";

const { HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } = grpcHealthV1;

/** grpc.health.v1.Health over the mesh's serving state. */
export function healthService(state: ServingState): ServiceImpl<typeof grpcHealthV1.Health> {
  return {
    check(req) {
      const status = state.statusOf(req.service);
      if (status === undefined) {
        throw new ConnectError(`grpc.health.v1: this mesh serves no service "${req.service}"`, Code.NotFound);
      }
      return create(HealthCheckResponseSchema, { status });
    },
    async *watch(req, ctx) {
      let last: number | undefined;
      for (;;) {
        const status = state.statusOf(req.service) ?? HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN;
        if (status !== last) {
          yield create(HealthCheckResponseSchema, { status });
          last = status;
        }
        // The watcher has its NOT_SERVING: ending the stream lets a graceful close finish
        // instead of waiting out its grace period on watchers that never hang up.
        if (state.closing) return;
        await state.changed(ctx.signal);
        if (ctx.signal.aborted) return;
      }
    },
  };
}
