import { create } from "@bufbuild/protobuf";
import { DEFAULT_NAMESPACE } from "../../config/documents.ts";
import { type EndpointDelta, MeshConfigSchema, type Snapshot, SnapshotSchema } from "../../model.ts";

/**
 * The snapshot that results from applying an endpoint delta to `base`: each updated
 * service's endpoint set is replaced, each removed service (`namespace/name`) dropped.
 * `base` is left untouched so that a rejected result leaves the previous version in force.
 */
export function applyEndpointDelta(base: Snapshot, delta: EndpointDelta): Snapshot {
  const key = (namespace: string, service: string) => `${namespace || DEFAULT_NAMESPACE}/${service}`;
  const sets = new Map((base.config?.endpoints ?? []).map((s) => [key(s.namespace, s.service), s]));
  for (const removed of delta.removedServices)
    sets.delete(removed.includes("/") ? removed : key("", removed));
  for (const s of delta.updated) sets.set(key(s.namespace, s.service), s);
  const config = create(MeshConfigSchema, {
    ...(base.config ?? create(MeshConfigSchema)),
    endpoints: [...sets.values()],
  });
  return create(SnapshotSchema, { config });
}
