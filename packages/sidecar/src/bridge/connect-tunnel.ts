import { type IncomingMessage, STATUS_CODES } from "node:http";
import type { Http2ServerResponse } from "node:http2";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { Code } from "@connectrpc/connect";
import { ERROR_HEADER, MeshError } from "@weft/core";
import type { Stats } from "../admin/stats.ts";
import type { FrontRequest, FrontResponse } from "../http/proxy.ts";
import type { MeshUpstream } from "../http/upstream.ts";
import type { OutboundResolver } from "../program/outbound-resolver.ts";
import type { OpenTunnel } from "./http-bridge.ts";
import { failureReason, tunnelFailureStatus } from "./tunnel-status.ts";

const provenance = { place: "sidecar-outbound" as const, plugin: "connect-tunnel", policy: "" };

/**
 * HTTP CONNECT from the app to a TCP port of a mesh service (`CONNECT orders.shop:7000`, as
 * HTTP/1.1 or as an HTTP/2 CONNECT stream): the target is resolved like any outbound request,
 * the port must be one the service declares, and the bytes then ride an HBONE tunnel (HTTP/2
 * CONNECT over the mesh wire, mTLS) to the far member, which relays them to its app. Only mesh
 * services are reachable: the outbound port is not an open proxy.
 */
export class ConnectTunnels {
  readonly #open: OpenTunnel;
  readonly #resolver: () => OutboundResolver;
  readonly #stats: Stats;
  readonly #live = new Set<Duplex>();

  constructor(open: OpenTunnel, resolver: () => OutboundResolver, stats: Stats) {
    this.#open = open;
    this.#resolver = resolver;
    this.#stats = stats;
  }

  /** The HTTP/1.1 server's "connect" event: the socket is ours from here on. */
  readonly http1 = (req: IncomingMessage, socket: Socket, head: Buffer): void => {
    socket.on("error", () => socket.destroy());
    this.#track(socket);
    this.#tunnel(req.url ?? "", "http1", socket, {
      accept: () => socket.write("HTTP/1.1 200 Connection Established\r\n\r\n"),
      refuse: (status, reason) =>
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${ERROR_HEADER}: ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`,
        ),
      head,
    });
  };

  /** The HTTP/2 server's "connect" event: a CONNECT stream. */
  readonly http2 = (req: FrontRequest, res: FrontResponse): void => {
    const stream = (res as Http2ServerResponse).stream;
    stream.on("error", () => stream.destroy());
    this.#track(stream);
    this.#tunnel(String(req.headers[":authority"] ?? ""), "h2", stream, {
      accept: () => stream.respond({ ":status": 200 }),
      refuse: (status, reason) => {
        if (!stream.destroyed)
          stream.respond({ ":status": status, [ERROR_HEADER]: reason }, { endStream: true });
      },
    });
  };

  /** Ends every open tunnel (the sidecar is stopping). */
  close(): void {
    for (const d of this.#live) d.destroy();
  }

  #track(d: Duplex): void {
    this.#live.add(d);
    d.once("close", () => this.#live.delete(d));
  }

  #tunnel(
    authority: string,
    protocol: "http1" | "h2",
    client: Duplex,
    io: { accept(): void; refuse(status: number, reason: string): void; head?: Buffer },
  ): void {
    const count = (result: string) =>
      this.#stats.inc("weft_sidecar_connect_tunnels_total", { place: "sidecar-outbound", protocol, result });
    // A target that cannot be resolved keeps its 4xx; a failed tunnel is at least a 502.
    const refuse = (e: unknown, resolving: boolean) => {
      const status = resolving && e instanceof MeshError ? e.httpStatus : tunnelFailureStatus(e);
      count(String(status));
      io.refuse(status, failureReason(e));
    };
    let upstream: MeshUpstream;
    try {
      upstream = this.#target(authority);
    } catch (e) {
      refuse(e, true);
      return;
    }
    const abort = new AbortController();
    client.once("close", () => abort.abort());
    this.#open(upstream, upstream.tunnelAuthority, abort.signal).then(
      (out) => {
        if (client.destroyed) {
          out.destroy();
          return;
        }
        count("200");
        io.accept();
        if (io.head && io.head.length > 0) out.write(io.head);
        const end = () => {
          client.destroy();
          out.destroy();
        };
        out.once("error", end);
        client.once("error", end);
        out.once("close", end);
        client.once("close", end);
        client.pipe(out);
        out.pipe(client);
      },
      (e: unknown) => {
        if (!client.destroyed) refuse(e, false);
      },
    );
  }

  /** The mesh service and declared port a CONNECT authority names; MeshError otherwise. */
  #target(authority: string): MeshUpstream {
    const colon = authority.lastIndexOf(":");
    const port = Number(authority.slice(colon + 1));
    if (colon <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new MeshError(
        Code.InvalidArgument,
        `CONNECT target "${authority}" is not host:port`,
        provenance,
        {
          neverSent: true,
        },
      );
    }
    const resolver = this.#resolver();
    // Resolved as a request to that Host would be (name, name.namespace, .svc suffixes).
    const key = resolver.serviceOf({ url: "", headers: { host: authority } } as unknown as FrontRequest);
    const ports = resolver.portsOf(key);
    if (!ports.includes(port)) {
      throw new MeshError(
        Code.PermissionDenied,
        `${key.name}.${key.namespace} has no port ${port} (its ports: ${ports.join(", ") || "none"})`,
        provenance,
        { neverSent: true },
      );
    }
    return { ...resolver.upstreamFor(key), tunnelAuthority: `${key.name}.${key.namespace}:${port}` };
  }
}
