import type { DescService } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { createConnectRouter, type ServiceImpl, type Transport } from "@connectrpc/connect";
import { createTransport as createConnectTransport } from "@connectrpc/connect/protocol-connect";
import { createTransport as createGrpcTransport } from "@connectrpc/connect/protocol-grpc";
import { createTransport as createGrpcWebTransport } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";
import { DataPlane, systemClock, type TrafficSnapshot, trafficReporter } from "@weft/core";
import { MeshConfigSchema, Mode } from "@weft/core/model";
import { loadMeshConfigFiles } from "@weft/core/node";
import {
  CertificateRotator,
  connectDataPlane,
  type DataPlaneClient,
  H2cTransport,
  type MeshCredentials,
  type MeshServer,
  MtlsH2Transport,
  TransportClient,
  type Transport as WireTransport,
} from "@weft/core/transport";
import { meshHttpClient } from "../client/mesh-http-client.ts";
import { methodTable } from "../client/method-table.ts";
import { meshSend } from "../client/send.ts";
import type { MeshHost, MeshServiceOptions } from "../client/target.ts";
import { GrpcServices } from "../grpc/grpc-services.ts";
import { InFlight, inboundHandler, type Route } from "../server/inbound-handler.ts";
import { RestTranscoding } from "../server/transcode.ts";
import { certificateExpiry } from "./certificate-expiry.ts";
import type { CreateMeshOptions } from "./options.ts";

/** The health of an in-process mesh, for readiness probes and dashboards. */
export interface MeshHealth {
  readonly live: boolean;
  /** Configuration loaded, credentials present, inbound port listening (if asked for). */
  readonly ready: boolean;
  readonly configVersion: string;
  readonly identity: string | undefined;
  readonly certificateExpiry: Date | undefined;
  readonly inFlight: number;
}

/** The mesh inside a service: typed clients through the outbound chain, handlers behind the inbound one. */
export interface Mesh extends MeshHost {
  readonly dataPlane: DataPlane;
  /** The inbound port, when the mesh listens. */
  readonly port: number | undefined;
  /** Prometheus exposition text of this mesh's golden signals. */
  metrics(): Promise<string>;
  /** Request rate, success rate and latency per service over the last window. */
  traffic(): TrafficSnapshot;
  health(): MeshHealth;
  /** Rotates key, chain and anchors: new connections use them, open ones go on. */
  setCredentials(credentials: MeshCredentials): void;
  /** Stops accepting, lets calls in flight finish (up to graceMs), sends GOAWAY, then closes. */
  close(options?: { graceMs?: number }): Promise<void>;
}

/**
 * Joins the mesh in-process. With `configFile` (or `config`) it runs from static
 * configuration with no control plane; `listen` serves the mesh inbound port.
 */
export async function createMesh(options: CreateMeshOptions): Promise<Mesh> {
  const namespace = options.namespace ?? "default";
  const clock = options.clock ?? systemClock;
  const cp = options.controlPlane;
  if (!options.insecure && !options.credentials && !cp) {
    throw new Error(
      `createMesh(${options.service}): credentials (key, chain, trust anchors) or a controlPlane are required for mutual TLS; pass insecure: true for plaintext local development`,
    );
  }
  let wire: WireTransport;
  let mtls: MtlsH2Transport | undefined;
  let rotator: CertificateRotator | undefined;
  if (cp && !options.insecure) {
    rotator = await CertificateRotator.start({
      url: cp.url,
      credential: cp.token,
      spiffeId: `spiffe://${cp.trustDomain ?? "weft.local"}/ns/${namespace}/sa/${options.service}`,
      clock,
      onCredentials: (c) => {
        if (mtls) mtls.setCredentials(c);
        else mtls = new MtlsH2Transport(c);
      },
      onError: (e, retryInMs) =>
        options.log?.warn({ err: String(e), retryInMs }, "certificate renewal failed"),
      onBootstrapFallback: (expiredAt) =>
        options.log?.warn(
          { expiredAt: expiredAt.toISOString() },
          "certificate expired before renewal; asking again with the bootstrap token",
        ),
    });
  } else if (options.credentials) {
    mtls = new MtlsH2Transport(options.credentials);
  }
  if (mtls) wire = mtls;
  else wire = new H2cTransport();
  const client = new TransportClient({ transport: wire, place: "client", clock });
  const dataPlane = new DataPlane({
    shape: "inprocess",
    service: options.service,
    namespace,
    zone: options.zone,
    clock,
    log: options.log,
    accessLog: options.accessLog,
    send: meshSend(client, "client"),
    onEndpointRemoved: (endpoint) => void client.drain(endpoint.key),
    plugins: options.plugins,
    loadPlugin: (module) => import(module) as Promise<Record<string, unknown>>,
  });
  const files =
    options.configFile === undefined
      ? []
      : typeof options.configFile === "string"
        ? [options.configFile]
        : options.configFile;
  const config =
    options.config ?? (files.length > 0 ? await loadMeshConfigFiles(files) : create(MeshConfigSchema));
  if (!cp || files.length > 0 || options.config) await dataPlane.applyConfig(config, "static");

  const routes = new Map<string, Route>();
  const inFlight = new InFlight();
  const rest = new RestTranscoding(dataPlane, routes, inFlight);
  let server: MeshServer | undefined;
  if (options.listen) {
    server = await wire.listen(
      {
        host: options.listen.host,
        port: options.listen.port ?? 15008,
        mode: options.mode ?? "strict",
        limits: options.listen.limits,
      },
      { request: inboundHandler(dataPlane, routes, inFlight, rest) },
    );
  }

  // gRPC health and reflection (src/grpc/), answered for the services this mesh serves.
  const grpc = new GrpcServices(options.grpcServices, () => mesh.health().ready);

  let discovery: DataPlaneClient | undefined;
  if (cp) {
    let first!: () => void;
    const firstVersion = new Promise<void>((resolve) => {
      first = resolve;
    });
    discovery = connectDataPlane({
      url: cp.url,
      clock,
      registration: {
        service: options.service,
        namespace,
        instanceId: `${options.service}-${process.pid}-${server?.port ?? "client"}-${Math.random().toString(36).slice(2, 8)}`,
        addresses: server ? [cp.advertiseAddress ?? options.listen?.host ?? "127.0.0.1"] : [],
        port: server?.port ?? 0,
        mode: Mode.INPROCESS,
        zone: options.zone ?? "",
        certificateExpiry: rotator?.current ? timestamp(rotator.current.notAfter) : undefined,
      },
      onSnapshot: async (snapshot, info) => {
        await dataPlane.applyConfig(snapshot.config ?? create(MeshConfigSchema), info.version);
        grpc.readinessChanged();
        first();
      },
      onEvent: (e) => options.log?.debug({ event: e.type }, "control plane"),
      traffic: trafficReporter(dataPlane.metrics),
      trafficIntervalMs: cp.trafficIntervalMs,
    });
    const timeout = cp.initialTimeoutMs ?? 10_000;
    await Promise.race([firstVersion, new Promise((r) => setTimeout(r, timeout).unref())]);
  }

  const transports = new Map<DescService, Map<unknown, Map<string, Transport>>>();
  let closed = false;

  const mesh: Mesh = {
    dataPlane,
    port: server?.port,
    transportFor<S extends DescService>(service: S, serviceOptions: MeshServiceOptions<S> = {}): Transport {
      let byPolicies = transports.get(service);
      if (!byPolicies) {
        byPolicies = new Map();
        transports.set(service, byPolicies);
      }
      const protocol = serviceOptions.protocol ?? "grpc";
      const cacheKey = `${protocol}`;
      let byProtocol = byPolicies.get(serviceOptions.policies);
      if (!byProtocol) {
        byProtocol = new Map();
        byPolicies.set(serviceOptions.policies, byProtocol);
      }
      let t = byProtocol.get(cacheKey);
      if (!t) {
        const methods = methodTable(service, serviceOptions.policies);
        const target = () => {
          const s = dataPlane.routes.serviceForRpc(service.typeName);
          return s ? { service: s.name, namespace: s.namespace } : { service: service.typeName, namespace };
        };
        const createTransport =
          protocol === "grpc"
            ? createGrpcTransport
            : protocol === "connect"
              ? createConnectTransport
              : createGrpcWebTransport;
        t = createTransport({
          httpClient: meshHttpClient(dataPlane, methods, target),
          baseUrl: "https://mesh",
          useBinaryFormat: true,
          interceptors: [],
          acceptCompression: [],
          sendCompression: null,
          compressMinBytes: 1024,
          readMaxBytes: 0xffffffff,
          writeMaxBytes: 0xffffffff,
        });
        byProtocol.set(cacheKey, t);
      }
      return t;
    },
    serve<S extends DescService>(
      service: S,
      impl: Partial<ServiceImpl<S>>,
      serviceOptions: MeshServiceOptions<S> = {},
    ) {
      // First, so a malformed google.api.http annotation fails serve() before anything is routed.
      rest.served(service);
      // Callers may compress requests (grpc-js with a default algorithm, Connect's gzip):
      // a server without the algorithm could only answer UNIMPLEMENTED.
      const router = createConnectRouter({ acceptCompression: [compressionGzip, compressionBrotli] });
      router.service(service, impl);
      const methods = methodTable(service, serviceOptions.policies);
      for (const handler of router.handlers) {
        const method = methods.get(handler.requestPath);
        if (method) routes.set(handler.requestPath, { handler, method });
      }
      grpc.served(service);
    },
    metrics: () => dataPlane.metrics.text(),
    traffic: () => dataPlane.metrics.snapshot(),
    health(): MeshHealth {
      const creds = mtls?.credentials;
      const expiry = creds ? certificateExpiry(creds.chain) : undefined;
      return {
        live: !closed,
        ready:
          !closed &&
          dataPlane.version !== "" &&
          (options.insecure === true || creds !== undefined) &&
          (!options.listen || server !== undefined),
        configVersion: dataPlane.version,
        identity: creds
          ? `spiffe://${dataPlane.trustDomain}/ns/${namespace}/sa/${options.service}`
          : undefined,
        certificateExpiry: expiry,
        inFlight: inFlight.count,
      };
    },
    setCredentials(credentials: MeshCredentials) {
      if (!mtls) throw new Error("this mesh runs without TLS (insecure); it has no credentials to rotate");
      mtls.setCredentials(credentials);
    },
    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      grpc.close();
      const graceMs = closeOptions.graceMs ?? 5_000;
      await discovery?.close();
      rotator?.stop();
      await server?.close({ graceMs });
      client.close();
      dataPlane.close();
    },
  };
  grpc.register((service, impl) => mesh.serve(service, impl));
  return mesh;
}

function timestamp(d: Date) {
  return { seconds: BigInt(Math.floor(d.getTime() / 1000)), nanos: (d.getTime() % 1000) * 1e6 };
}
