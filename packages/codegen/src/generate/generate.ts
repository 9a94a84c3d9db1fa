import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { bufDiagnostics, ProtoCompileError, userModuleName } from "./diagnostics.ts";
import { shippedProtoDir, type Toolchain, toolchain } from "./package-files.ts";

export interface GenerateOptions {
  /** Root of the .proto tree: imports are relative to it (`import "shop/v1/money.proto"`). */
  readonly protoDir: string;
  /** Where `<name>_pb.js`, `<name>_pb.d.ts` and `<name>_weft.ts` are written, mirroring protoDir. */
  readonly outDir: string;
}

/** Names of the buf workspace's modules; they appear in buf's diagnostics and are mapped back. */
const userModule = userModuleName;
const shippedModule = "weft-shipped";

/**
 * Compiles every .proto file under `protoDir` with buf and writes protoc-gen-es output
 * (`target=js+dts`, `import_extension=js`) and protoc-gen-weft output (`_weft.ts`) to
 * `outDir`. Needs no buf set-up and no network: the buf workspace is written to a
 * temporary directory, with this package's protos (weft/v1/options.proto,
 * google/api/annotations.proto and http.proto) as a second module, unless protoDir has
 * its own copy. Imported files that are not well-known types are generated too, so the
 * output is complete. Throws ProtoCompileError with `file:line:column: message` lines.
 */
export async function generate(options: GenerateOptions): Promise<void> {
  const protoDir = resolve(options.protoDir);
  const outDir = resolve(options.outDir);
  const info = await stat(protoDir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new ProtoCompileError([`${options.protoDir}: not a directory of .proto files`]);
  const tools = toolchain();
  const workspace = await mkdtemp(join(tmpdir(), "weft-gen-"));
  try {
    await symlink(protoDir, join(workspace, userModule), "dir");
    const shipped = await copyShippedProtos(protoDir, join(workspace, shippedModule));
    const modules = [userModule, ...(shipped ? [shippedModule] : [])];
    await writeFile(join(workspace, "buf.yaml"), bufYaml(modules));
    await writeFile(join(workspace, "buf.gen.yaml"), bufGenYaml(tools, outDir));
    await mkdir(outDir, { recursive: true });
    const { code, output } = await run(
      tools.node,
      [tools.buf, "generate", userModule, "--template", "buf.gen.yaml", "--error-format", "json"],
      workspace,
    );
    if (code !== 0) {
      const names = new Map([
        [userModule, options.protoDir],
        [shippedModule, shippedProtoDir],
      ]);
      throw new ProtoCompileError(bufDiagnostics(output, names));
    }
  } finally {
    await rm(workspace, { recursive: true, force: true });
  }
}

/** Copies the shipped protos that protoDir does not have itself; false when none is left. */
async function copyShippedProtos(protoDir: string, into: string): Promise<boolean> {
  let copied = false;
  for (const file of await protoFiles(shippedProtoDir)) {
    const rel = relative(shippedProtoDir, file);
    if (existsSync(join(protoDir, rel))) continue;
    await mkdir(dirname(join(into, rel)), { recursive: true });
    await copyFile(file, join(into, rel));
    copied = true;
  }
  return copied;
}

async function protoFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".proto"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

function bufYaml(modules: readonly string[]): string {
  return ["version: v2", "modules:", ...modules.map((m) => `  - path: ${m}`), ""].join("\n");
}

function bufGenYaml(tools: Toolchain, outDir: string): string {
  // JSON is YAML, and quotes every path whatever it holds. One plugin run for all files
  // (strategy all): buf's default starts a Node process per directory.
  const plugin = (script: string, opt: string[], includeImports: boolean) =>
    `  - local: ${JSON.stringify([tools.node, script])}\n` +
    "    strategy: all\n" +
    `    out: ${JSON.stringify(outDir)}\n` +
    `    include_imports: ${includeImports}\n` +
    `    opt: ${JSON.stringify(opt)}\n`;
  return (
    "version: v2\nclean: false\nplugins:\n" +
    plugin(tools.protocGenEs, ["target=js+dts", "import_extension=js"], true) +
    plugin(tools.protocGenWeft, ["target=ts", "import_extension=js"], false)
  );
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stderr.on("data", (c: Buffer) => chunks.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolvePromise({ code: code ?? 1, output: Buffer.concat(chunks).toString("utf8") }),
    );
  });
}
