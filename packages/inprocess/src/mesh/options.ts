import type { AnyPluginDefinition, Clock, Logger } from "@weft/core";
import type { MeshConfig } from "@weft/core/model";
import type { MeshCredentials, ServerLimits } from "@weft/core/transport";
import type { GrpcServicesOptions } from "../grpc/grpc-services.ts";

export interface CreateMeshOptions {
  /** This service's mesh name, and its namespace ("default"). */
  readonly service: string;
  readonly namespace?: string;
  readonly zone?: string;
  /** Static configuration (YAML or JSON files or directories), for a mesh with no control plane. */
  readonly configFile?: string | readonly string[];
  /** Static configuration given as a message. */
  readonly config?: MeshConfig;
  /**
   * Join through a control plane: certificates from its CA (by CSR, with the bootstrap
   * token; renewed at half-life), configuration and endpoints from its discovery stream,
   * and this mesh's inbound port registered as an endpoint of `service`.
   */
  readonly controlPlane?: {
    readonly url: string;
    readonly token: string;
    /** The address other data planes reach this one at (default: the listen host). */
    readonly advertiseAddress?: string;
    /** How long createMesh waits for the first configuration (default 10 s); it then goes on, not ready. */
    readonly initialTimeoutMs?: number;
    /** Trust domain asked for in the CSR (the CA decides in the end). Default weft.local. */
    readonly trustDomain?: string;
    /** How often this mesh's outgoing traffic is reported for the dashboard (default 10 s). */
    readonly trafficIntervalMs?: number;
  };
  /** Workload key, certificate chain and trust anchors (PEM). Required unless `insecure` or `controlPlane`. */
  readonly credentials?: MeshCredentials;
  /** Plaintext HTTP/2 (h2c) everywhere: local development only; never in a real mesh. */
  readonly insecure?: boolean;
  /** Serve the mesh inbound port here (port 0 picks a free one; default 15008). */
  readonly listen?: {
    readonly host?: string;
    readonly port?: number;
    /**
     * Connection caps, idle timeouts, HTTP/2 limits and overload shedding of the inbound port;
     * core's defaults (4,096 connections, 90% heap shedding, ...) for what is left out.
     */
    readonly limits?: Partial<ServerLimits>;
  };
  /** strict (default): mTLS only; permissive: plaintext too, while callers migrate. */
  readonly mode?: "strict" | "permissive";
  /** Plugins by name, for configuration to refer to, and composed into every chain by code. */
  readonly plugins?: readonly AnyPluginDefinition[];
  readonly log?: Logger;
  readonly accessLog?: Logger;
  readonly clock?: Clock;
  /** The standard gRPC health and reflection services, for the services served (both on by default). */
  readonly grpcServices?: GrpcServicesOptions;
}
