import { type DescMessage, equals, type Message } from "@bufbuild/protobuf";
import {
  AuthorizationPolicySchema,
  type MeshConfig,
  MeshSchema,
  RouteSchema,
  ServiceEndpointsSchema,
  ServiceSchema,
} from "@weft/core/model";
import { serviceKey } from "./keys.ts";

/**
 * What replacing `before` with `after` changes, one line per document, e.g.
 * `Service shop/orders: updated`. Empty when the two are the same configuration.
 */
export function diffMeshConfig(before: MeshConfig, after: MeshConfig): string[] {
  const out: string[] = [];
  if (before.mesh || after.mesh) {
    if (!before.mesh) out.push("Mesh: created");
    else if (!after.mesh) out.push("Mesh: deleted");
    else if (!equals(MeshSchema, before.mesh, after.mesh)) out.push("Mesh: updated");
  }
  diffKind(out, "Service", ServiceSchema, before.services, after.services, (s) =>
    serviceKey(s.namespace, s.name),
  );
  diffKind(out, "Route", RouteSchema, before.routes, after.routes, (r) => serviceKey(r.namespace, r.name));
  diffKind(
    out,
    "AuthorizationPolicy",
    AuthorizationPolicySchema,
    before.authorizationPolicies,
    after.authorizationPolicies,
    (p) => serviceKey(p.namespace, p.name),
  );
  diffKind(out, "Endpoints", ServiceEndpointsSchema, before.endpoints, after.endpoints, (e) =>
    serviceKey(e.namespace, e.service),
  );
  return out;
}

function diffKind<T extends Message>(
  out: string[],
  kind: string,
  schema: DescMessage,
  before: readonly T[],
  after: readonly T[],
  key: (m: T) => string,
) {
  const old = new Map(before.map((m) => [key(m), m]));
  const now = new Map(after.map((m) => [key(m), m]));
  for (const [k, m] of now) {
    const was = old.get(k);
    if (!was) out.push(`${kind} ${k}: created`);
    else if (!equals(schema as never, was as never, m as never)) out.push(`${kind} ${k}: updated`);
  }
  for (const k of old.keys()) if (!now.has(k)) out.push(`${kind} ${k}: deleted`);
}
