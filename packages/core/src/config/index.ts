export { API_VERSION, DEFAULT_NAMESPACE } from "./documents.ts";
export { ConfigError, type ConfigProblem, formatProblem } from "./errors.ts";
export { type ConfigSource, parseMeshConfig } from "./load.ts";
export { parseDuration } from "./schema-walk.ts";
