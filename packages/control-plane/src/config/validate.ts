import { toJson } from "@bufbuild/protobuf";
import { API_VERSION, ConfigError, type ConfigProblem, parseMeshConfig } from "@weft/core";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";
import { serviceKey } from "./keys.ts";

const SOURCE = "apply request";

/**
 * Checks a MeshConfig that arrived over the admin API with the same rules the YAML loader
 * applies (so the API cannot store what a file could not say), plus what only the whole
 * set can show: two documents of one kind with the same name. Throws ConfigError.
 */
export function validateMeshConfig(config: MeshConfig): MeshConfig {
  const text = JSON.stringify({
    apiVersion: API_VERSION,
    kind: "MeshConfig",
    spec: toJson(MeshConfigSchema, config),
  });
  const checked = parseMeshConfig({ file: SOURCE, text });
  const problems: ConfigProblem[] = [];
  const twice = (kind: string, field: string, keys: string[]) => {
    const seen = new Map<string, number>();
    keys.forEach((key, i) => {
      const first = seen.get(key);
      if (first === undefined) seen.set(key, i);
      else
        problems.push({
          file: SOURCE,
          line: 0,
          column: 0,
          path: `spec.${field}[${i}]`,
          message: `${kind} "${key}" is defined twice (first at spec.${field}[${first}])`,
        });
    });
  };
  twice(
    "Service",
    "services",
    checked.services.map((s) => serviceKey(s.namespace, s.name)),
  );
  twice(
    "Route",
    "routes",
    checked.routes.map((r) => serviceKey(r.namespace, r.name)),
  );
  twice(
    "AuthorizationPolicy",
    "authorizationPolicies",
    checked.authorizationPolicies.map((p) => serviceKey(p.namespace, p.name)),
  );
  twice(
    "Endpoints",
    "endpoints",
    checked.endpoints.map((e) => serviceKey(e.namespace, e.service)),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return checked;
}
