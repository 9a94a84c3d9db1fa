/**
 * `npm start`. Until the demo mesh lands (its own issue), this loads and checks
 * examples/mesh.yaml and prints the services, routes and policies it defines: the same
 * loader every data plane and the control plane use.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@weft/core";
import { loadMeshConfigFiles } from "@weft/core/node";
import { describeMeshConfig } from "./describe-config.ts";

const here = dirname(fileURLToPath(import.meta.url));
const files = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const paths = files.length > 0 ? files : [join(here, "..", "..", "examples", "mesh.yaml")];

try {
  const config = await loadMeshConfigFiles(paths);
  console.log(describeMeshConfig(config));
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
