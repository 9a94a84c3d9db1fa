import type { DescMessage } from "@bufbuild/protobuf";
import { AuthorizationPolicySchema } from "../gen/weft/v1/authorization_pb.js";
import { MeshConfigSchema } from "../gen/weft/v1/config_pb.js";
import { ServiceEndpointsSchema } from "../gen/weft/v1/endpoint_pb.js";
import { MeshSchema } from "../gen/weft/v1/mesh_pb.js";
import { RouteSchema } from "../gen/weft/v1/route_pb.js";
import { ServiceSchema } from "../gen/weft/v1/service_pb.js";

export const API_VERSION = "weft.dev/v1";
export const DEFAULT_NAMESPACE = "default";

/**
 * The kinds of document a configuration file may hold, Kubernetes style
 * (`apiVersion`, `kind`, `metadata`, `spec`), so the same files serve as CRDs.
 * `nameField` is the field of the spec message that `metadata.name` fills.
 */
export interface DocumentKind {
  schema: DescMessage;
  nameField: "name" | "service" | undefined;
  namespaced: boolean;
}

export const documentKinds: Record<string, DocumentKind> = {
  Mesh: { schema: MeshSchema, nameField: undefined, namespaced: false },
  Service: { schema: ServiceSchema, nameField: "name", namespaced: true },
  Route: { schema: RouteSchema, nameField: "name", namespaced: true },
  AuthorizationPolicy: { schema: AuthorizationPolicySchema, nameField: "name", namespaced: true },
  Endpoints: { schema: ServiceEndpointsSchema, nameField: "service", namespaced: true },
  MeshConfig: { schema: MeshConfigSchema, nameField: undefined, namespaced: false },
};
