import { connect as netConnect } from "node:net";
import type { Readable } from "node:stream";
import type { TransportClient } from "./client.ts";
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  HEALTH_CHECK_PATH,
  ServingStatus,
} from "./grpc-health.ts";
import type { PoolEndpoint } from "./pool.ts";

/** An active health check of one endpoint: true when healthy. Never rejects. */
export type Probe = (endpoint: PoolEndpoint, signal: AbortSignal) => Promise<boolean>;

export interface MeshProbeOptions {
  /** `:authority` of the probe request; defaults to the endpoint key. */
  readonly authority?: string;
  /** Largest body a probe reads, bytes. */
  readonly maxBodyBytes?: number;
}

/** GET `path` over the mesh transport; healthy on a 2xx status. */
export function httpProbe(client: TransportClient, path: string, options: MeshProbeOptions = {}): Probe {
  return async (endpoint, signal) => {
    try {
      const res = await client.request(endpoint, {
        method: "GET",
        path,
        authority: options.authority ?? endpoint.key,
        signal,
      });
      // Drain the body so the stream closes and its slot is freed.
      await readAll(res.body, options.maxBodyBytes ?? 64 * 1024);
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  };
}

/**
 * grpc.health.v1.Health/Check for `serviceName` ("" = the whole server) over the mesh
 * transport; healthy only on grpc-status 0 with status SERVING.
 */
export function grpcHealthProbe(
  client: TransportClient,
  serviceName: string,
  options: MeshProbeOptions = {},
): Probe {
  const request = encodeHealthCheckRequest(serviceName);
  return async (endpoint, signal) => {
    try {
      const res = await client.request(endpoint, {
        method: "POST",
        path: HEALTH_CHECK_PATH,
        authority: options.authority ?? endpoint.key,
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: request,
        signal,
      });
      if (res.status !== 200) {
        res.body.destroy();
        return false;
      }
      // Trailers-only responses carry grpc-status in the head.
      const headStatus = res.headers.get("grpc-status");
      const body = await readAll(res.body, options.maxBodyBytes ?? 4096);
      if (headStatus !== null) return false;
      const trailers = await res.trailers;
      if (trailers.get("grpc-status") !== "0") return false;
      return body !== undefined && decodeHealthCheckResponse(body) === ServingStatus.SERVING;
    } catch {
      return false;
    }
  };
}

/** A plain TCP connect to the endpoint's address and port; healthy when it is accepted. */
export function tcpProbe(options: { timeoutMs?: number } = {}): Probe {
  const timeoutMs = options.timeoutMs ?? 1_000;
  return (endpoint, signal) =>
    new Promise((resolve) => {
      if (signal.aborted) {
        resolve(false);
        return;
      }
      const socket = netConnect({ host: endpoint.address, port: endpoint.port });
      const finish = (healthy: boolean) => {
        signal.removeEventListener("abort", onAbort);
        socket.destroy();
        resolve(healthy);
      };
      const onAbort = () => finish(false);
      signal.addEventListener("abort", onAbort, { once: true });
      socket.setTimeout(timeoutMs, () => finish(false));
      socket.once("connect", () => finish(true));
      socket.once("error", () => finish(false));
    });
}

/** The whole body, or undefined (and the stream destroyed) once it exceeds `max` bytes. */
function readAll(body: Readable, max: number): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        body.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    body.once("end", () => resolve(Buffer.concat(chunks)));
    body.once("error", reject);
    body.once("close", () => resolve(size > max ? undefined : Buffer.concat(chunks)));
  });
}
