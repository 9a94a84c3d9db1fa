import { Code } from "@connectrpc/connect";
import { MeshError } from "@weft/core";
import { type Endpoint, type MeshConfig, Protocol } from "@weft/core/model";
import type { FrontRequest } from "../http/proxy.ts";
import type { MeshUpstream } from "../http/upstream.ts";

/** A mesh service the outbound side can send to. */
export interface ServiceKey {
  readonly name: string;
  readonly namespace: string;
}

interface Target {
  readonly key: ServiceKey;
  readonly endpoints: readonly Endpoint[];
  ports: number[];
}

const provenance = { place: "sidecar-outbound" as const, plugin: "outbound-resolver", policy: "" };
const CLUSTER_SUFFIXES = [".svc.cluster.local", ".svc"];
const CLIENT_FIRST = new Set([Protocol.HTTP1, Protocol.HTTP2, Protocol.GRPC, Protocol.CONNECT]);

/**
 * Finds the mesh service an outbound request is for, from (in order) the listener's fixed
 * service (per-service local ports), the RPC path (`/pkg.Service/Method` against
 * Service.rpc_services) or the Host / :authority (`name`, `name.namespace`, with an optional
 * `.svc[.cluster.local]` and port); in transparent mode also from the address the app
 * dialled. Picking an endpoint is the outbound chain's (the balance step), not this.
 */
export class OutboundResolver {
  readonly #byName = new Map<string, Target>();
  readonly #byRpc = new Map<string, Target>();
  /** `address:port` of an endpoint and a port of its service: what a transparent client dials. */
  readonly #byAddress = new Map<string, Target>();
  readonly #namespace: string;
  readonly #udp: (ServiceKey & { readonly port: number })[] = [];
  /** Ports every service that declares them serves with a protocol whose client speaks first. */
  readonly #clientFirst = new Set<number>();

  constructor(config: MeshConfig, localNamespace: string) {
    this.#namespace = localNamespace;
    const endpoints = new Map<string, Endpoint[]>();
    for (const e of config.endpoints) endpoints.set(`${e.service}.${e.namespace || "default"}`, e.endpoints);
    const targets = new Map<string, Target>();
    const target = (name: string, namespace: string) => {
      const k = `${name}.${namespace}`;
      let t = targets.get(k);
      if (!t) {
        t = { key: { name, namespace }, endpoints: endpoints.get(k) ?? [], ports: [] };
        targets.set(k, t);
      }
      return t;
    };
    for (const s of config.services) {
      const t = target(s.name, s.namespace || "default");
      t.ports = s.ports.map((p) => p.port);
      for (const p of s.ports) if (p.protocol === Protocol.UDP) this.#udp.push({ ...t.key, port: p.port });
      for (const rpc of s.rpcServices) this.#byRpc.set(rpc, t);
      for (const e of t.endpoints) for (const p of s.ports) this.#byAddress.set(`${e.address}:${p.port}`, t);
    }
    for (const e of config.endpoints) target(e.service, e.namespace || "default");
    for (const [k, t] of targets) this.#byName.set(k, t);
    const serverFirstMaybe = new Set<number>();
    for (const s of config.services) {
      for (const p of s.ports) {
        if (CLIENT_FIRST.has(p.protocol)) this.#clientFirst.add(p.port);
        else serverFirstMaybe.add(p.port);
      }
    }
    for (const port of serverFirstMaybe) this.#clientFirst.delete(port);
  }

  /**
   * Whether a connection dialled to `port` is one whose client speaks first: every mesh service
   * declaring the port serves HTTP, HTTP/2, gRPC or Connect on it (none TCP or UDP). Such a
   * connection need not be sniffed against a clock (Istio selects by port the same way).
   */
  clientFirstPort(port: number): boolean {
    return this.#clientFirst.has(port);
  }

  /** The service a request names; throws MeshError NotFound saying what was looked up. */
  serviceOf(req: FrontRequest, fixed?: ServiceKey): ServiceKey {
    if (fixed) return fixed;
    const path = req.url ?? "";
    const slash = path.indexOf("/", 1);
    if (slash > 1) {
      const t = this.#byRpc.get(path.slice(1, slash));
      if (t) return t.key;
    }
    const host = (req.headers[":authority"] as string | undefined) ?? req.headers.host ?? "";
    const t = this.#lookupHost(host);
    if (t) return t.key;
    throw new MeshError(
      Code.NotFound,
      `no mesh service for host "${host}" or path "${path}" (known: ${[...this.#byName.keys()].join(", ") || "none"})`,
      provenance,
      { neverSent: true },
    );
  }

  /** The mesh upstream of a service: the outbound chain picks its endpoint. */
  upstreamFor(key: ServiceKey): MeshUpstream {
    const t = this.#byName.get(`${key.name}.${key.namespace}`);
    return {
      protocol: "mesh",
      service: key.name,
      namespace: key.namespace,
      tunnelAuthority: `${key.name}.${key.namespace}:${t?.ports[0] ?? 80}`,
    };
  }

  /** The mesh service at a dialled address (an endpoint's address and a port of its service). */
  serviceAt(address: string, port: number): ServiceKey | undefined {
    return this.#byAddress.get(`${address}:${port}`)?.key;
  }

  /** The ports a service declares (what its callers dial, and what tunnels to it may ask for). */
  portsOf(key: ServiceKey): readonly number[] {
    return this.#byName.get(`${key.name}.${key.namespace}`)?.ports ?? [];
  }

  /** Every UDP port of every service: where explicit-mode apps send datagrams for it. */
  udpPorts(): readonly (ServiceKey & { readonly port: number })[] {
    return this.#udp;
  }

  /** True when the Host names a mesh service (transparent mode sends the rest straight on). */
  knowsHost(host: string): boolean {
    return this.#lookupHost(host) !== undefined;
  }

  #lookupHost(hostHeader: string): Target | undefined {
    let host = hostHeader.toLowerCase();
    const colon = host.lastIndexOf(":");
    if (colon > 0 && !host.endsWith("]")) host = host.slice(0, colon);
    for (const s of CLUSTER_SUFFIXES) if (host.endsWith(s)) host = host.slice(0, -s.length);
    const dot = host.indexOf(".");
    const k = dot < 0 ? `${host}.${this.#namespace}` : host;
    return this.#byName.get(k);
  }
}
