import { create } from "@bufbuild/protobuf";
import { API_VERSION, ConfigError, parseMeshConfig } from "@weft/core";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";
import type { WeftResource } from "./resources.ts";

/** The fields of a Weft custom resource this reads. */
export interface CustomResourceLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly resourceVersion?: string;
  };
  readonly spec?: unknown;
}

interface Parsed {
  readonly resourceVersion: string | undefined;
  /** The one-document config the resource stands for; undefined when it is invalid. */
  readonly config: MeshConfig | undefined;
  readonly problem: string | undefined;
}

/**
 * Turns Weft custom resources into one MeshConfig with core's loader, the same rules as
 * `weft apply`. Each resource is checked alone and remembered by resourceVersion, so one
 * invalid resource is left out (and reported) instead of refusing the whole mesh, and a
 * change re-reads only what changed.
 */
export class CustomResourceReader {
  readonly #parsed = new Map<string, Parsed>();

  /**
   * The configuration of every valid resource (in kind, then namespace/name order, so the
   * same resources always give the same config) and a problem line per invalid one.
   */
  read(resources: ReadonlyMap<WeftResource, readonly CustomResourceLike[]>): {
    config: MeshConfig;
    problems: string[];
  } {
    const config = create(MeshConfigSchema);
    const problems: string[] = [];
    const live = new Set<string>();
    let meshFrom: string | undefined;
    for (const [resource, objects] of resources) {
      const sorted = [...objects].sort((a, b) =>
        nameOf(a) < nameOf(b) ? -1 : nameOf(a) > nameOf(b) ? 1 : 0,
      );
      // The Mesh named "default" wins when there are several (it is cluster-scoped, one is used).
      if (resource.kind === "Mesh")
        sorted.sort((a, b) => Number(nameOf(b) === "default") - Number(nameOf(a) === "default"));
      for (const object of sorted) {
        const id = `${resource.kind} ${nameOf(object)}`;
        live.add(id);
        const parsed = this.#parse(id, resource, object);
        if (parsed.problem) problems.push(parsed.problem);
        const one = parsed.config;
        if (!one) continue;
        if (one.mesh) {
          if (meshFrom) problems.push(`${id}: ignored; only one Mesh applies and ${meshFrom} is used`);
          else {
            config.mesh = one.mesh;
            meshFrom = id;
          }
        }
        config.services.push(...one.services);
        config.routes.push(...one.routes);
        config.authorizationPolicies.push(...one.authorizationPolicies);
      }
    }
    for (const id of this.#parsed.keys()) if (!live.has(id)) this.#parsed.delete(id);
    return { config, problems };
  }

  #parse(id: string, resource: WeftResource, object: CustomResourceLike): Parsed {
    const rv = object.metadata?.resourceVersion;
    const cached = this.#parsed.get(id);
    if (cached && rv !== undefined && cached.resourceVersion === rv) return cached;
    const metadata: Record<string, string> = {};
    if (object.metadata?.name) metadata.name = object.metadata.name;
    if (resource.namespaced && object.metadata?.namespace) metadata.namespace = object.metadata.namespace;
    const text = JSON.stringify({
      apiVersion: API_VERSION,
      kind: resource.kind,
      metadata,
      spec: object.spec ?? {},
    });
    let parsed: Parsed;
    try {
      parsed = { resourceVersion: rv, config: parseMeshConfig({ file: id, text }), problem: undefined };
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      // Lines and columns of a JSON text made here mean nothing to the person who wrote the
      // resource; the field path does.
      const what = e.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join("; ");
      parsed = { resourceVersion: rv, config: undefined, problem: `${id}: ${what}` };
    }
    this.#parsed.set(id, parsed);
    return parsed;
  }
}

function nameOf(o: CustomResourceLike): string {
  const m = o.metadata;
  return m?.namespace ? `${m.namespace}/${m.name ?? ""}` : (m?.name ?? "");
}
