import type { JsonObject } from "@bufbuild/protobuf";
import type { PluginDefinition } from "../chain/plugin.ts";
import type { PluginRef } from "../gen/weft/v1/plugin_pb.js";

// biome-ignore lint/suspicious/noExplicitAny: definitions of any option type live side by side.
export type AnyPluginDefinition = PluginDefinition<any>;

/** Loads the module a PluginRef names (a package or a path); Node's dynamic import on Node. */
export type PluginModuleLoader = (module: string) => Promise<Record<string, unknown>>;

/** A plugin definition resolved for a PluginRef, with the raw options it is created with. */
export interface ResolvedPlugin {
  readonly definition: AnyPluginDefinition;
  readonly options: Record<string, unknown>;
}

export class PluginLoadError extends Error {
  override readonly name = "PluginLoadError";
}

/**
 * Resolves PluginRefs of a configuration version: by name among the plugins registered in
 * code, else by loading the module. Every failure names the plugin and why, so the data
 * plane can NACK the version with a reason a person can act on.
 */
export async function resolvePluginRefs(
  refs: readonly PluginRef[],
  registered: ReadonlyMap<string, AnyPluginDefinition>,
  load: PluginModuleLoader | undefined,
  cache: Map<string, AnyPluginDefinition>,
): Promise<ResolvedPlugin[]> {
  const out: ResolvedPlugin[] = [];
  for (const ref of refs) {
    const options = (ref.options ? (structuredClone(ref.options) as unknown as JsonObject) : {}) as Record<
      string,
      unknown
    >;
    const known = registered.get(ref.module);
    if (known) {
      out.push({ definition: known, options });
      continue;
    }
    const id = `${ref.module}#${ref.export || "default"}`;
    let def = cache.get(id);
    if (!def) {
      if (!load)
        throw new PluginLoadError(
          `plugin "${ref.module}" is not registered, and this data plane cannot load modules`,
        );
      let mod: Record<string, unknown>;
      try {
        mod = await load(ref.module);
      } catch (e) {
        throw new PluginLoadError(`plugin "${ref.module}" failed to load: ${(e as Error).message}`);
      }
      const exported = mod[ref.export || "default"];
      if (!isDefinition(exported)) {
        throw new PluginLoadError(
          `plugin "${ref.module}" has no plugin definition as export "${ref.export || "default"}" (expected definePlugin({ name, create }))`,
        );
      }
      def = exported;
      cache.set(id, def);
    }
    out.push({ definition: def, options });
  }
  return out;
}

function isDefinition(x: unknown): x is AnyPluginDefinition {
  const d = x as AnyPluginDefinition | undefined;
  return typeof d === "object" && d !== null && typeof d.name === "string" && typeof d.create === "function";
}
