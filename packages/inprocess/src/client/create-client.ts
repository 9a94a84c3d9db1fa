import type { DescService } from "@bufbuild/protobuf";
import { type Client, createClient, type ServiceImpl, type Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import type { SidecarTarget } from "../policy/method-policy.ts";
import {
  isSidecarTarget,
  type MeshClientTarget,
  type MeshHost,
  type MeshServiceOptions,
  type RpcProtocol,
} from "./target.ts";

export interface MeshClientOptions<S extends DescService> extends MeshServiceOptions<S> {}

const sidecarTransports = new Map<string, Transport>();

/**
 * A transport to the local sidecar's outbound listener: plain h2c on loopback. The sidecar
 * finds the mesh service from the RPC path (Service.rpc_services), applies the policies and
 * carries the call over mTLS; one transport per sidecar address and protocol is shared.
 */
export function sidecarTransport(target: SidecarTarget, protocol: RpcProtocol = "grpc"): Transport {
  const key = `${protocol} ${target.sidecar}`;
  let t = sidecarTransports.get(key);
  if (!t) {
    const options = { baseUrl: target.sidecar, httpVersion: "2" as const };
    t =
      protocol === "grpc"
        ? createGrpcTransport(options)
        : protocol === "connect"
          ? createConnectTransport(options)
          : createGrpcWebTransport(options);
    sidecarTransports.set(key, t);
  }
  return t;
}

/**
 * A typed client for a connect-es service that calls through the mesh: in-process (the
 * chain runs in this process) or through the local sidecar. The methods and types are the
 * same either way, so moving a service between shapes changes only `target`.
 */
export function createMeshClient<S extends DescService>(
  service: S,
  target: MeshClientTarget,
  options: MeshClientOptions<S> = {},
): Client<S> {
  const transport = isSidecarTarget(target)
    ? sidecarTransport(target, options.protocol)
    : target.transportFor(service, { policies: options.policies, protocol: options.protocol });
  return createClient(service, transport);
}

/** Serves an implementation of a connect-es service on the in-process mesh's inbound port. */
export function registerMeshService<S extends DescService>(
  host: MeshHost,
  service: S,
  impl: Partial<ServiceImpl<S>>,
  options: MeshServiceOptions<S> = {},
): void {
  host.serve(service, impl, options);
}
