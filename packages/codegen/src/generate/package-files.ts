import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
/** True when this module runs from src/ (TypeScript sources), false from the dist/ bundle. */
const fromSource = import.meta.url.endsWith(".ts");

/** The nearest directory above this module with a package.json: this package's root. */
function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir)
      throw new Error(`weft gen: no package.json above ${from}; reinstall @weft/codegen`);
  }
}

const packageRoot = findPackageRoot(here);

/** The .proto files this package ships (weft/v1/options.proto, google/api/{annotations,http}.proto). */
export const shippedProtoDir = join(packageRoot, "proto");

/** The files `weft gen` runs, each as `node <script>` so the plugins use this Node. */
export interface Toolchain {
  readonly node: string;
  readonly buf: string;
  readonly protocGenEs: string;
  readonly protocGenWeft: string;
}

export function toolchain(): Toolchain {
  const protocGenWeft = fromSource
    ? join(packageRoot, "src", "bin", "protoc-gen-weft.ts")
    : join(packageRoot, "dist", "bin", "protoc-gen-weft.js");
  const tools = {
    node: process.execPath,
    buf: join(dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf"),
    protocGenEs: join(
      dirname(require.resolve("@bufbuild/protoc-gen-es/package.json")),
      "bin",
      "protoc-gen-es",
    ),
    protocGenWeft,
  };
  for (const [name, path] of Object.entries(tools)) {
    if (!existsSync(path)) throw new Error(`weft gen: ${name} not found at ${path}; reinstall @weft/codegen`);
  }
  return tools;
}
