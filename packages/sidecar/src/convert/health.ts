import { Readable } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, type ServiceImpl } from "@connectrpc/connect";
import { type Clock, grpcHealthV1, sleep } from "@weft/core";
import { decodeHealthCheckResponse, encodeHealthCheckRequest, HEALTH_CHECK_PATH } from "@weft/core/transport";
import type { DirectUpstream, UpstreamPool } from "../http/upstream.ts";

const { HealthCheckResponse_ServingStatus: Status, HealthCheckResponseSchema } = grpcHealthV1;
type Status = grpcHealthV1.HealthCheckResponse_ServingStatus;

/**
 * Whether the connection a health request came on is draining (its HTTP/2 session has sent
 * GOAWAY): the sidecar is stopping, so whatever the app says, this member is NOT_SERVING.
 */
export const DRAINING = createContextKey<() => boolean>(() => false, { description: "sidecar draining" });

/** How long an answer stands, and how often a Watch looks again. */
const TTL_MS = 1_000;
/** A HealthCheckResponse is a few bytes; an app answering more is not answering health. */
const MAX_ANSWER_BYTES = 4096;
/** Statuses remembered for at most this many services (callers name them). */
const MAX_CACHED = 256;

export interface AppHealthOptions {
  readonly app: DirectUpstream;
  readonly pool: UpstreamPool;
  readonly clock: Clock;
  /** The described services: the only ones the sidecar vouches for when the app has no health. */
  readonly described: ReadonlySet<string>;
}

/**
 * The app's health, as the sidecar reports it. The app is asked first (grpc.health.v1 Check):
 * an app with its own health service knows its readiness better than any probe, so its answer
 * stands, NOT_FOUND included. An app that answers UNIMPLEMENTED has no health service but has
 * just shown it is up: "" and each described service are SERVING. An app that cannot be
 * reached (refused, or no answer within a second) is NOT_SERVING. Answers are kept for a
 * second, so checkers polling hard and every Watch cost the app one Check a second per service.
 */
export class AppHealth {
  readonly #o: AppHealthOptions;
  readonly #cache = new Map<string, { until: number; status: Promise<Status | undefined> }>();

  constructor(options: AppHealthOptions) {
    this.#o = options;
  }

  /** The service's status; undefined when neither the app nor the descriptors know it. */
  status(service: string): Promise<Status | undefined> {
    const now = this.#o.clock.now();
    const hit = this.#cache.get(service);
    if (hit && now < hit.until) return hit.status;
    if (this.#cache.size >= MAX_CACHED) this.#cache.clear();
    const status = this.#ask(service);
    this.#cache.set(service, { until: now + TTL_MS, status });
    return status;
  }

  async #ask(service: string): Promise<Status | undefined> {
    const answer = await this.#askApp(service);
    if (typeof answer === "number") return answer;
    if (answer === "unknown" || (service !== "" && !this.#o.described.has(service))) return undefined;
    return answer === "no-health" ? Status.SERVING : Status.NOT_SERVING;
  }

  async #askApp(service: string): Promise<Status | "unknown" | "no-health" | "unreachable"> {
    const { app, pool } = this.#o;
    try {
      const up = await pool.send(app, {
        method: "POST",
        path: HEALTH_CHECK_PATH,
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: Readable.from([encodeHealthCheckRequest(service)]),
        signal: AbortSignal.timeout(TTL_MS),
      });
      const body: Uint8Array[] = [];
      let size = 0;
      for await (const chunk of up.body as AsyncIterable<Uint8Array>) {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) return Status.NOT_SERVING;
        body.push(chunk);
      }
      // A trailers-only answer (how grpc-js says UNIMPLEMENTED) carries the status in the head.
      const code = String(up.headers["grpc-status"] ?? (await up.trailers)["grpc-status"]);
      if (up.status === 404 || code === String(Code.Unimplemented)) return "no-health";
      if (code === String(Code.NotFound)) return "unknown";
      if (up.status !== 200 || code !== "0") return Status.NOT_SERVING;
      return (decodeHealthCheckResponse(Buffer.concat(body)) as Status | undefined) ?? Status.NOT_SERVING;
    } catch {
      return "unreachable";
    }
  }
}

/**
 * grpc.health.v1.Health at the sidecar, over the app's health: NOT_SERVING while the sidecar
 * drains, NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch) for a service nobody knows. Watch
 * looks again every second and sends each change.
 */
export function sidecarHealth(health: AppHealth, clock: Clock): ServiceImpl<typeof grpcHealthV1.Health> {
  const statusOf = (service: string, draining: () => boolean): Promise<Status | undefined> =>
    draining() ? Promise.resolve(Status.NOT_SERVING) : health.status(service);
  return {
    async check(req, ctx) {
      const status = await statusOf(req.service, ctx.values.get(DRAINING));
      if (status === undefined) {
        throw new ConnectError(
          `grpc.health.v1: neither the app nor the sidecar's descriptors know service "${req.service}"`,
          Code.NotFound,
        );
      }
      return create(HealthCheckResponseSchema, { status });
    },
    async *watch(req, ctx) {
      const draining = ctx.values.get(DRAINING);
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const status = (await statusOf(req.service, draining)) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) yield create(HealthCheckResponseSchema, { status });
        last = status;
        // The watcher has its NOT_SERVING: ending lets the drain finish instead of waiting on it.
        if (draining()) return;
        await sleep(clock, TTL_MS, ctx.signal).catch(() => undefined);
      }
    },
  };
}
