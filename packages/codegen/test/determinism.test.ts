import { afterAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";

describe("generation is deterministic", () => {
  const trees: GeneratedTree[] = [];
  afterAll(() => Promise.all(trees.map((t) => t.dispose())));

  it("gives identical bytes for every file when run twice", async () => {
    const first = await generateTree(corpusDir);
    trees.push(first);
    const second = await generateTree(corpusDir);
    trees.push(second);
    const files = await first.files();
    expect(files.length).toBe(23);
    expect(await second.files()).toEqual(files);
    for (const file of files) {
      expect(await second.read(file), file).toBe(await first.read(file));
    }
  });
});
