import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBenchProtos } from "../bench/bench-protos.ts";
import { type GeneratedTree, generateTree } from "./support/generated.ts";

describe("generating a large corpus", () => {
  let protoDir: string;
  let tree: GeneratedTree | undefined;
  beforeAll(async () => {
    protoDir = await mkdtemp(join(tmpdir(), "weft-codegen-bench-test-"));
  });
  afterAll(async () => {
    await tree?.dispose();
    await rm(protoDir, { recursive: true, force: true });
  });

  it("50 services x 10 methods complete well within the time budget", async () => {
    await writeBenchProtos(protoDir, 50, 10);
    const start = performance.now();
    tree = await generateTree(protoDir);
    const ms = performance.now() - start;
    const weft = (await tree.files()).filter((f) => f.endsWith("_weft.ts"));
    expect(weft).toHaveLength(50);
    const svc7 = await tree.read("bench/svc7/v1/svc7_weft.ts");
    expect(svc7.match(/^ {2}method\d+: \{$/gm)).toHaveLength(10);
    // The 200-service bench targets 10 s; a quarter of the corpus gets twice that here, so a
    // loaded two-core CI machine running other test files beside it does not fail it.
    expect(ms).toBeLessThan(20_000);
  }, 60_000);
});
