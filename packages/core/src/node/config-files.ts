import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { ConfigError } from "../config/errors.ts";
import { type ConfigSource, parseMeshConfig } from "../config/load.ts";
import type { MeshConfig } from "../gen/weft/v1/config_pb.js";

const extensions = new Set([".yaml", ".yml", ".json"]);

/** Reads files, and the .yaml/.yml/.json files of directories, in name order. */
export async function readConfigSources(paths: readonly string[]): Promise<ConfigSource[]> {
  const sources: ConfigSource[] = [];
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw new ConfigError([
        { file: path, line: 0, column: 0, path: "", message: "no such file or directory" },
      ]);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => extensions.has(extname(n))).sort();
      for (const n of names)
        sources.push({ file: join(path, n), text: await readFile(join(path, n), "utf8") });
    } else {
      sources.push({ file: path, text: await readFile(path, "utf8") });
    }
  }
  return sources;
}

/** Loads and checks configuration files into one MeshConfig; throws ConfigError. */
export async function loadMeshConfigFiles(paths: readonly string[]): Promise<MeshConfig> {
  return parseMeshConfig(await readConfigSources(paths));
}
