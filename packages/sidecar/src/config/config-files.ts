import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ConfigError, type ConfigProblem } from "@weft/core";
import { type MeshConfig, MeshConfigSchema } from "@weft/core/model";

/** The hidden command a sidecar runs itself with to read configuration files (see below). */
export const LOAD_CONFIG_COMMAND = "load-config";

/**
 * Reads and validates configuration files. With `self` (how to run this program again:
 * executable and leading arguments), it is done in a short-lived child process that hands
 * back the validated config as protobuf binary: the YAML parser, protovalidate and CEL are then
 * never resident in the long-running sidecar (about 20 MB of its idle memory). A ConfigError
 * of the child is rebuilt here with the same problems, so messages are identical either way.
 */
export async function loadConfigFiles(
  files: readonly string[],
  self?: readonly string[],
): Promise<MeshConfig> {
  if (!self) {
    const { loadMeshConfigFiles } = await import("@weft/core/node");
    return loadMeshConfigFiles([...files]);
  }
  const [cmd, ...args] = self as [string, ...string[]];
  // The answer comes on fd 3: stdout may carry whatever node flags print (--trace-gc...).
  const child = spawn(cmd, [...args, LOAD_CONFIG_COMMAND, ...files], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let err = "";
  (child.stdio[3] as Readable).on("data", (c: Buffer) => out.push(c));
  child.stderr?.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c) => resolve(c));
  });
  const bytes = Buffer.concat(out);
  if (code === 0) return fromBinary(MeshConfigSchema, bytes);
  if (code === 3) throw new ConfigError(JSON.parse(bytes.toString("utf8")) as ConfigProblem[]);
  throw new Error(`reading configuration ${files.join(", ")} failed (exit ${code}): ${err.trim()}`);
}

/**
 * `load-config <file>...`: the child side. Writes the config (binary) or the problems (JSON,
 * exit 3) to fd 3, which the parent opened as a pipe.
 */
export async function loadConfigCommand(files: readonly string[]): Promise<number> {
  try {
    const config = await loadConfigFiles(files);
    await write(toBinary(MeshConfigSchema, config));
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    await write(new TextEncoder().encode(JSON.stringify(e.problems)));
    return 3;
  }
}

function write(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const answer = createWriteStream("", { fd: 3 });
    answer.once("error", reject);
    answer.end(bytes, () => resolve());
  });
}
