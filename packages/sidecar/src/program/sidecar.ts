import type { Socket } from "node:net";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { DataPlane } from "@weft/core";
import { MtlsMode } from "@weft/core/model";
import {
  Admission,
  defaultServerLimits,
  H2cTransport,
  type MeshCredentials,
  type MeshServer,
  MtlsH2Transport,
  OverloadMonitor,
  type Transport,
  TransportClient,
} from "@weft/core/transport";
import { AdminServer } from "../admin/admin-server.ts";
import { Stats } from "../admin/stats.ts";
import { BridgeRoutes } from "../bridge/bridge-routes.ts";
import { ConnectTunnels } from "../bridge/connect-tunnel.ts";
import { HttpBridge } from "../bridge/http-bridge.ts";
import type { ConversionOptions } from "../convert/conversion-options.ts";
import { HttpFront } from "../http/front.ts";
import { resolveSidecarLimits } from "../http/limits.ts";
import type { FrontRequest } from "../http/proxy.ts";
import { createProxyHandler, InFlight } from "../http/proxy.ts";
import type { UnderscoreAction } from "../http/request-checks.ts";
import type { DirectUpstream, MeshUpstream, Upstream } from "../http/upstream.ts";
import { openStream, UpstreamPool } from "../http/upstream.ts";
import { listenInbound } from "../listeners/inbound-mesh.ts";
import type { LimitSettings } from "../listeners/limit-flags.ts";
import { Listener } from "../listeners/listener.ts";
import { MeshWire, wireSend } from "../mesh/mesh-wire.ts";
import type { Snapshot } from "../snapshot/snapshot-cache.ts";
import { type OriginalDestination, originalDestination } from "../transparent/original-dst.ts";
import { UdpListener } from "../udp/udp-listener.ts";
import { noDelayOnAcceptedSockets } from "./no-delay.ts";
import { OutboundResolver, type ServiceKey } from "./outbound-resolver.ts";

export interface SidecarOptions {
  /** The local service this sidecar stands beside. */
  readonly service: string;
  readonly namespace: string;
  readonly snapshot: Snapshot;
  /** Where the snapshot came from, for /config_dump: "file", "cache", "control-plane". */
  readonly snapshotSource: string;
  /** The local app: where inbound requests go. */
  readonly app: { readonly address: string; readonly port: number; readonly protocol: "http1" | "h2c" };
  /** Port 0 picks a free one (tests). */
  readonly outbound: { readonly host: string; readonly port: number };
  readonly inbound: { readonly host: string; readonly port: number };
  readonly admin: { readonly host: string; readonly port: number };
  /** Per-service local ports of explicit mode: the app sends to 127.0.0.1:<port> for that service. */
  readonly localPorts: readonly (ServiceKey & { readonly port: number })[];
  /** Recover original destinations (iptables REDIRECT); needs the native addon. */
  readonly transparent: boolean;
  readonly sniffMs: number;
  readonly drainMs: number;
  /**
   * Explicit-mode UDP: a socket on `host` at each UDP port of each other mesh service; flows idle
   * for `idleMs` are closed. Default 127.0.0.1, 60 s.
   */
  readonly udp?: { readonly host?: string; readonly idleMs?: number };
  /**
   * The workload's key, certificate chain and trust anchors: the mesh wire is then mTLS HTTP/2
   * (inbound strict or permissive as the service's mtls_mode says). Without them it is h2c,
   * for local set-ups and plaintext migration only.
   */
  readonly credentials?: MeshCredentials;
  /** REST/JSON, gRPC-Web and Connect to gRPC for a gRPC app (inbound, and on `conversion.listen`). */
  readonly conversion?: ConversionOptions;
  /** Connection caps, timeouts and overload shedding; the defaults of http/limits.ts otherwise. */
  readonly limits?: LimitSettings;
  /** Header names with "_" from the app: forwarded (default), refused (400) or dropped. */
  readonly headersWithUnderscores?: UnderscoreAction;
}

const ORIGINAL = Symbol("weft.originalDestination");
type Marked = Socket & { [ORIGINAL]?: OriginalDestination };

/** A running sidecar: its listeners, the ports they got, and how to stop it. */
export class Sidecar {
  readonly stats = new Stats();
  readonly admin: AdminServer;
  readonly #options: SidecarOptions;
  readonly #transport: Transport;
  /** Outbound: HTTP/1.1 and h2c to destinations outside the mesh, and the mesh wire. */
  readonly #pool: UpstreamPool;
  /** HTTP to framed TCP ports of mesh services (Port.http_bridge), on the outbound fronts. */
  readonly #bridge: HttpBridge;
  /** HTTP/1.1 and HTTP/2 CONNECT from the app to TCP ports of mesh services, over HBONE. */
  readonly #connect: ConnectTunnels;
  /** Inbound: to the local app. */
  readonly #appPool = new UpstreamPool();
  readonly #inboundInFlight = new InFlight();
  #inbound: MeshServer | undefined;
  #resolver: OutboundResolver;
  /** The mesh core: configuration in force, endpoints, and the outbound and inbound chains. */
  readonly plane: DataPlane;
  readonly #fronts: HttpFront[] = [];
  readonly #listeners: Listener[] = [];
  readonly #udp: UdpListener[] = [];
  readonly #tunnels = new Set<Socket>();
  /** One connection count and overload state for every listener but admin (kept reachable). */
  readonly #admission: Admission;
  #stopping: Promise<void> | undefined;

  constructor(options: SidecarOptions) {
    this.#options = options;
    const l = options.limits?.admission;
    this.#admission = l
      ? new Admission({
          maxConnections: l.maxConnections,
          overload: new OverloadMonitor({ shedAt: l.shedAt, recoverBelow: l.shedAt - 0.05 }),
        })
      : defaultServerLimits.admission;
    this.#resolver = new OutboundResolver(options.snapshot.config, options.namespace);
    this.#transport = options.credentials ? new MtlsH2Transport(options.credentials) : new H2cTransport();
    const client = new TransportClient({ transport: this.#transport, place: "sidecar-outbound" });
    this.plane = new DataPlane({
      shape: "sidecar",
      service: options.service,
      namespace: options.namespace,
      send: wireSend(client),
      loadPlugin: loadModule,
    });
    this.#pool = new UpstreamPool(new MeshWire(this.plane, client));
    const tunnel = (u: MeshUpstream, authority: string, signal: AbortSignal) =>
      (this.#pool.wire as MeshWire).tunnel(u, authority, signal);
    this.#bridge = new HttpBridge(tunnel, this.stats);
    this.#connect = new ConnectTunnels(tunnel, () => this.#resolver, this.stats);
    this.admin = new AdminServer({
      snapshot: options.snapshot,
      source: options.snapshotSource,
      // Certificates are given at start (files) in this version, so they are loaded by now;
      // a control-plane CA client will flip this when the first one is issued.
      certificateReady: true,
      draining: false,
      stats: this.stats,
      meshMetrics: () => this.plane.metrics.text(),
    });
    this.stats.gauge("weft_sidecar_requests_in_flight", () =>
      this.#fronts.reduce((n, f) => n + f.inFlight.count, this.#inboundInFlight.count),
    );
  }

  /** Puts renewed workload credentials in use: new connections take them, open ones go on. */
  setCredentials(credentials: MeshCredentials): void {
    if (!(this.#transport instanceof MtlsH2Transport)) {
      throw new Error("this sidecar runs without mTLS; it has no credentials to renew");
    }
    this.#transport.setCredentials(credentials);
  }

  /** Ports actually bound, by listener name. */
  readonly ports: Record<string, number> = {};

  /**
   * Takes a new snapshot (a control-plane push). The data plane compiles it whole first and
   * throws, keeping the version in force, when it cannot be applied: that is the NACK reason.
   */
  async applySnapshot(snapshot: Snapshot, source: string): Promise<void> {
    const bridges = await BridgeRoutes.fromConfig(snapshot.config, this.#options.namespace, loadModule);
    await this.plane.applyConfig(snapshot.config, snapshot.version);
    this.#bridge.routes = bridges;
    this.#resolver = new OutboundResolver(snapshot.config, this.#options.namespace);
    this.admin.state.snapshot = snapshot;
    this.admin.state.source = source;
  }

  async start(): Promise<void> {
    const o = this.#options;
    noDelayOnAcceptedSockets();
    this.#bridge.routes = await BridgeRoutes.fromConfig(o.snapshot.config, o.namespace, loadModule);
    await this.plane.applyConfig(o.snapshot.config, o.snapshot.version);
    const app: DirectUpstream = { address: o.app.address, port: o.app.port, protocol: o.app.protocol };
    const self = { name: o.service, namespace: o.namespace };
    const own = (k: ServiceKey) => k.name === self.name && k.namespace === self.namespace;
    const service = o.snapshot.config.services.find(
      (x) => x.name === o.service && (x.namespace || "default") === o.namespace,
    );
    const mtls = service?.mtlsMode || o.snapshot.config.mesh?.defaults?.mtlsMode;
    const c = o.conversion;
    // Imported only when configured: a sidecar without conversion never evaluates the converters.
    const conv = c && (await import("../convert/index.ts"));
    const convert =
      c &&
      conv &&
      new conv.ProtocolConverter({ ...c, plane: this.plane, app, pool: this.#appPool, stats: this.stats });
    this.#inbound = await listenInbound({
      transport: this.#transport,
      host: o.inbound.host,
      port: o.inbound.port,
      mode: mtls === MtlsMode.PERMISSIVE ? "permissive" : "strict",
      plane: this.plane,
      app,
      tunnelPorts: new Set([...this.#resolver.portsOf(self), o.app.port]),
      udpPorts: new Set(this.#resolver.udpPorts().flatMap((u) => (own(u) ? [u.port] : []))),
      pool: this.#appPool,
      stats: this.stats,
      inFlight: this.#inboundInFlight,
      convert,
      limits: { ...o.limits?.inbound, admission: this.#admission },
    });
    this.ports.inbound = this.#inbound.port;
    if (convert && conv && c.listen) {
      const front = conv.conversionFront(convert, this.#appPool, this.stats);
      this.#fronts.push(front);
      await this.#listen("convert", "sidecar-inbound", c.listen, front);
    }
    const outboundFront = this.#front("sidecar-outbound", (req) => this.#resolveOutbound(req, undefined));
    await this.#listen("outbound", "sidecar-outbound", o.outbound, outboundFront, (s, p) =>
      this.#stream(s, p),
    );
    for (const lp of o.localPorts) {
      const fixed: ServiceKey = { name: lp.name, namespace: lp.namespace };
      const front = this.#front("sidecar-outbound", (req) => this.#resolveOutbound(req, fixed));
      await this.#listen(
        `local:${lp.name}.${lp.namespace}`,
        "sidecar-outbound",
        { host: "127.0.0.1", port: lp.port },
        front,
      );
    }
    await this.#listenUdp(own);
    this.ports.admin = await this.admin.listen(o.admin.port, o.admin.host);
  }

  /** A UDP socket per UDP port of every other mesh service (the local one is served inbound). */
  async #listenUdp(own: (k: ServiceKey) => boolean): Promise<void> {
    const wire = this.#pool.wire as MeshWire;
    for (const u of this.#resolver.udpPorts()) {
      if (own(u)) continue;
      const listener = new UdpListener({
        host: this.#options.udp?.host ?? "127.0.0.1",
        port: u.port,
        upstream: this.#resolver.upstreamFor(u),
        servicePort: u.port,
        open: (upstream, authority, signal) => wire.tunnel(upstream, authority, signal, "udp"),
        stats: this.stats,
        idleMs: this.#options.udp?.idleMs ?? 60_000,
      });
      this.ports[`udp:${u.name}.${u.namespace}:${u.port}`] = await listener.listen();
      this.#udp.push(listener);
    }
  }

  /**
   * Stops accepting, lets requests and streams in flight finish for up to the grace period
   * (readiness turns false at once so load balancers stop sending), then closes everything.
   */
  stop(graceMs = this.#options.drainMs): Promise<void> {
    this.#stopping ??= (async () => {
      this.admin.state.draining = true;
      await Promise.all(this.#listeners.map((l) => l.close()));
      for (const u of this.#udp) u.close();
      await Promise.all([
        ...this.#fronts.map((f) => f.drain(graceMs)),
        this.#inbound?.close({ graceMs }),
        this.#inboundInFlight.idle(),
      ]);
      for (const t of this.#tunnels) t.destroy();
      this.#connect.close();
      this.#pool.close();
      this.#appPool.close();
      this.plane.close();
      await this.admin.close();
    })();
    return this.#stopping;
  }

  #front(place: "sidecar-inbound" | "sidecar-outbound", resolve: (req: FrontRequest) => Upstream): HttpFront {
    const proxy = { place, pool: this.#pool, resolve, stats: this.stats };
    const handler = (inFlight: InFlight) =>
      this.#bridge.handler(createProxyHandler(proxy, inFlight), inFlight);
    const outbound = place === "sidecar-outbound";
    const front = new HttpFront({
      ...proxy,
      handler: outbound ? handler : undefined,
      connect: outbound ? this.#connect : undefined,
      limits: this.#options.limits?.listeners,
      admission: this.#admission,
      headersWithUnderscores: this.#options.headersWithUnderscores,
    });
    this.#fronts.push(front);
    return front;
  }

  async #listen(
    name: string,
    place: "sidecar-inbound" | "sidecar-outbound",
    at: { host: string; port: number },
    front: HttpFront,
    streams?: (s: Socket, p: "tls" | "tcp") => void,
  ): Promise<void> {
    const listener = new Listener({
      name,
      place,
      host: at.host,
      port: at.port,
      front,
      sniffMs: (socket: Socket) => this.#sniffWait(socket),
      stats: this.stats,
      streams,
      limits: this.#options.limits?.listeners,
      admission: this.#admission,
    });
    this.ports[name] = await listener.listen();
    this.#listeners.push(listener);
  }

  #resolveOutbound(req: FrontRequest, fixed: ServiceKey | undefined): Upstream {
    if (!fixed && this.#options.transparent) {
      const original = (req.socket as Marked)[ORIGINAL] ?? this.#recordOriginal(req.socket as Marked);
      const host = (req.headers[":authority"] as string | undefined) ?? req.headers.host ?? "";
      if (original && !this.#resolver.knowsHost(host)) {
        const dialled = this.#resolver.serviceAt(original.address, original.port);
        if (dialled) return this.#resolver.upstreamFor(dialled);
        // A destination outside the mesh goes where the app meant it to (Istio's passthrough).
        this.stats.inc("weft_sidecar_passthrough_total", {
          protocol: req.httpVersionMajor === 2 ? "http2" : "http1",
        });
        const protocol = req.httpVersionMajor === 2 ? "h2c" : "http1";
        return { address: original.address, port: original.port, protocol, authority: host };
      }
    }
    return this.#resolver.upstreamFor(this.#resolver.serviceOf(req, fixed));
  }

  #recordOriginal(socket: Marked): OriginalDestination | undefined {
    try {
      const d = originalDestination(socket);
      // Dialled the outbound port itself: explicit mode, not a redirect.
      if (d.port === this.ports.outbound) return undefined;
      socket[ORIGINAL] = d;
      return d;
    } catch {
      return undefined;
    }
  }

  /**
   * How long to wait for a connection's first bytes before taking it for a server-first
   * protocol. Where no server-first protocol can be served, as long as for a request head, so
   * a client slowed by a busy machine is not mistaken for opaque TCP (and cut when that has
   * nowhere to go): the outbound port dialled by name (explicit mode, where TLS and opaque TCP
   * have no original destination to go to and are refused anyway), and a transparent
   * connection to a port that only client-first protocols use in the mesh.
   */
  #sniffWait(socket: Socket): number {
    const o = this.#options;
    const headWait = Math.max(o.sniffMs, resolveSidecarLimits(o.limits?.listeners).headersTimeoutMs);
    if (socket.localPort === this.ports.outbound) {
      if (!o.transparent) return headWait;
      const original = (socket as Marked)[ORIGINAL] ?? this.#recordOriginal(socket as Marked);
      // Dialled the outbound port itself: explicit use, as above.
      if (!original) return headWait;
      return this.#resolver.clientFirstPort(original.port) ? headWait : o.sniffMs;
    }
    return o.sniffMs;
  }

  /** TLS and opaque TCP on the outbound port: passed through to the original destination. */
  #stream(socket: Socket, protocol: "tls" | "tcp"): void {
    const original = this.#options.transparent ? this.#recordOriginal(socket as Marked) : undefined;
    if (!original) {
      this.stats.inc("weft_sidecar_refused_total", {
        place: "sidecar-outbound",
        reason: `${protocol}_without_destination`,
      });
      socket.destroy();
      return;
    }
    const service = this.#resolver.serviceAt(original.address, original.port);
    let upstream: Upstream = { address: original.address, port: original.port, protocol: "http1" };
    if (service) {
      // Opaque TCP to a mesh service rides an HTTP/2 CONNECT stream of the mesh wire (HBONE).
      upstream = {
        ...this.#resolver.upstreamFor(service),
        tunnelAuthority: `${original.address}:${original.port}`,
      };
      this.stats.inc("weft_sidecar_mesh_tunnels_total", { protocol });
    } else this.stats.inc("weft_sidecar_passthrough_total", { protocol });
    this.#tunnels.add(socket);
    socket.once("close", () => this.#tunnels.delete(socket));
    openStream(this.#pool, upstream).then(
      (out) => {
        const end = () => {
          socket.destroy();
          out.destroy();
        };
        out.once("error", end);
        socket.once("error", end);
        out.once("close", end);
        socket.once("close", end);
        socket.pipe(out);
        out.pipe(socket);
        socket.resume();
      },
      () => {
        this.stats.inc("weft_sidecar_failed_total", {
          place: "sidecar-outbound",
          code: `${protocol}_connect`,
        });
        socket.destroy();
      },
    );
  }
}

/** PluginRef modules (plugins, bridge codecs): package names, or paths (relative ones from the working directory). */
function loadModule(module: string): Promise<Record<string, unknown>> {
  return import(
    module.startsWith(".") || module.startsWith("/") ? pathToFileURL(resolve(module)).href : module
  );
}
