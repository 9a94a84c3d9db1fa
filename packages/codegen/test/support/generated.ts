import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../../src/index.ts";

export const fixtures = fileURLToPath(new URL("../fixtures/", import.meta.url));
export const corpusDir = join(fixtures, "corpus");
/** The workspace's node_modules: generated code imports @weft/inprocess, @connectrpc/connect, @bufbuild/protobuf. */
const nodeModules = fileURLToPath(new URL("../../../../node_modules", import.meta.url));

export interface GeneratedTree {
  readonly dir: string;
  /** Generated files, relative to dir, sorted. */
  files(): Promise<string[]>;
  read(file: string): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * Runs `generate` for a proto tree into a fresh temporary directory that resolves the
 * workspace's packages (a node_modules link), so the output can be type-checked and imported.
 */
export async function generateTree(protoDir: string): Promise<GeneratedTree> {
  const dir = await mkdtemp(join(tmpdir(), "weft-codegen-test-"));
  await symlink(nodeModules, join(dir, "node_modules"), "dir");
  // Applications using the output are ES modules.
  await writeFile(join(dir, "package.json"), `{ "type": "module" }\n`);
  const out = join(dir, "out");
  await generate({ protoDir, outDir: out });
  return {
    dir: out,
    files: async () => {
      const entries = await readdir(out, { recursive: true, withFileTypes: true });
      return entries
        .filter((e) => e.isFile())
        .map((e) => relative(out, join(e.parentPath, e.name)))
        .sort();
    },
    read: (file) => readFile(join(out, file), "utf8"),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
