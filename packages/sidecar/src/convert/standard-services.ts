import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { createConnectRouter, createContextValues } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import {
  type Clock,
  DescriptorIndex,
  grpcHealthV1,
  grpcReflectionV1,
  grpcReflectionV1alpha,
  reflectionService,
  reflectionServiceV1alpha,
} from "@weft/core";
import type { DirectUpstream, UpstreamPool, UpstreamResponse } from "../http/upstream.ts";
import { AppHealth, DRAINING, sidecarHealth } from "./health.ts";

export interface StandardServicesOptions {
  /** The app's described services: what reflection describes and health vouches for. */
  readonly services: readonly DescService[];
  /** Answer grpc.reflection (v1, v1alpha) from the descriptors; off when the app answers it. */
  readonly reflection: boolean;
  /** Answer grpc.health.v1, from the app's own health when it has one (see AppHealth). */
  readonly health: boolean;
  readonly app: DirectUpstream;
  readonly pool: UpstreamPool;
  readonly clock: Clock;
}

/**
 * The standard gRPC services the sidecar answers for an unmodified app, from the descriptors
 * it was given: server reflection and health. They are served behind the inbound chain like
 * any converted call, so authorization and telemetry see them, and in every caller protocol
 * the converter speaks (gRPC, gRPC-Web, Connect).
 */
export class StandardServices {
  readonly #handlers = new Map<string, UniversalHandler>();

  constructor(o: StandardServicesOptions) {
    const router = createConnectRouter({ grpc: true, grpcWeb: false, connect: false });
    const index = new DescriptorIndex();
    for (const s of o.services) index.add(s);
    if (o.health) {
      const described = new Set(o.services.map((s) => s.typeName));
      const health = new AppHealth({ app: o.app, pool: o.pool, clock: o.clock, described });
      router.service(grpcHealthV1.Health, sidecarHealth(health, o.clock));
      index.add(grpcHealthV1.Health);
    }
    if (o.reflection) {
      router.service(grpcReflectionV1.ServerReflection, reflectionService(index));
      router.service(grpcReflectionV1alpha.ServerReflection, reflectionServiceV1alpha(index));
      index.add(grpcReflectionV1.ServerReflection);
      index.add(grpcReflectionV1alpha.ServerReflection);
    }
    for (const h of router.handlers) this.#handlers.set(h.requestPath, h);
  }

  /** The methods answered here, by `/package.Service/Method`: the converter plans calls to them. */
  methods(): Map<string, DescMethod> {
    return new Map([...this.#handlers.values()].map((h) => [h.requestPath, h.method]));
  }

  handles(path: string): boolean {
    return this.#handlers.has(path);
  }

  /** The chain's terminal for a call to one of these services: its gRPC response. */
  async send(
    path: string,
    headers: OutgoingHttpHeaders,
    body: Readable,
    signal: AbortSignal,
    draining: () => boolean,
  ): Promise<UpstreamResponse> {
    const handler = this.#handlers.get(path) as UniversalHandler;
    const res = await handler({
      httpVersion: "2.0",
      url: `http://localhost${path}`,
      method: "POST",
      header: toHeaders(headers),
      body,
      signal,
      contextValues: createContextValues().set(DRAINING, draining),
    });
    return upstreamOf(res);
  }
}

function toHeaders(h: OutgoingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || name.startsWith(":")) continue;
    if (Array.isArray(value)) for (const v of value) out.append(name, v);
    else out.set(name, String(value));
  }
  return out;
}

/** A connect handler's response as the converter reads an app's: trailers once the body has ended. */
function upstreamOf(res: UniversalServerResponse): UpstreamResponse {
  let done!: (t: NodeJS.Dict<string>) => void;
  const trailers = new Promise<NodeJS.Dict<string>>((r) => {
    done = r;
  });
  const headers: IncomingHttpHeaders = Object.fromEntries(res.header ?? []);
  async function* body() {
    try {
      if (res.body) yield* res.body;
    } finally {
      done(Object.fromEntries(res.trailer ?? []));
    }
  }
  return { status: res.status, headers, body: Readable.from(body()), trailers, endStream: false };
}
