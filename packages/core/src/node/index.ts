// The parts of @weft/core that need Node.js: reading files. The rest of core is plain
// TypeScript with no Node built-in, so it runs and tests anywhere.
export { loadMeshConfigFiles, readConfigSources } from "./config-files.ts";
export { loadDescriptorSetFile } from "./descriptor-set-file.ts";
