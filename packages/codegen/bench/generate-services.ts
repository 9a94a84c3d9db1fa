// Times `weft gen` on a large generated corpus: node --conditions=@weft/source bench/generate-services.ts [services] [methods]
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../src/index.ts";
import { writeBenchProtos } from "./bench-protos.ts";

const services = Number(process.argv[2] ?? 200);
const methods = Number(process.argv[3] ?? 10);
const targetMs = 10_000;

const dir = await mkdtemp(join(tmpdir(), "weft-codegen-bench-"));
try {
  await writeBenchProtos(join(dir, "proto"), services, methods);
  const start = performance.now();
  await generate({ protoDir: join(dir, "proto"), outDir: join(dir, "out") });
  const ms = performance.now() - start;
  const written = (await readdir(join(dir, "out"), { recursive: true })).filter((f) =>
    f.endsWith("_weft.ts"),
  );
  console.log(
    `weft gen: ${services} services x ${methods} methods -> ${written.length} _weft.ts files in ${ms.toFixed(0)} ms ` +
      `(target < ${targetMs} ms)`,
  );
  if (ms >= targetMs) process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
