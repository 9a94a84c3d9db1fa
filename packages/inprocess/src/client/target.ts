import type { DescService } from "@bufbuild/protobuf";
import type { ServiceImpl, Transport } from "@connectrpc/connect";
import type { MethodPolicyTable, SidecarTarget } from "../policy/method-policy.ts";

/** Options a generated client or server helper passes along with its policy table. */
export interface MeshServiceOptions<S extends DescService> {
  readonly policies?: MethodPolicyTable<S>;
  /** Protocol of a client's calls on the wire; gRPC by default. Servers answer all three. */
  readonly protocol?: RpcProtocol;
}

/** The RPC protocols a client may speak; each travels as HTTP/2 requests on the mesh wire. */
export type RpcProtocol = "grpc" | "connect" | "grpc-web";

/**
 * What generated code needs of an in-process mesh: a Transport that runs the outbound chain
 * for a service, and a way to serve an implementation on the mesh inbound port.
 */
export interface MeshHost {
  transportFor<S extends DescService>(service: S, options?: MeshServiceOptions<S>): Transport;
  serve<S extends DescService>(
    service: S,
    impl: Partial<ServiceImpl<S>>,
    options?: MeshServiceOptions<S>,
  ): void;
}

/** Either an in-process mesh, or the address of the local sidecar. */
export type MeshClientTarget = MeshHost | SidecarTarget;

export function isSidecarTarget(target: MeshClientTarget): target is SidecarTarget {
  return typeof (target as SidecarTarget).sidecar === "string";
}
