import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { MeshConfigSchema, ServiceSchema } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { StoreConflictError, type StoredConfig } from "../../src/store/config-store.ts";
import { openFileStore } from "../../src/store/file-store.ts";
import { Resources } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const config = (...names: string[]) =>
  create(MeshConfigSchema, {
    services: names.map((name) => create(ServiceSchema, { name, namespace: "shop" })),
  });

describe("file store", () => {
  it("starts empty at revision 0, and keeps config and revision across a restart", async () => {
    const dir = await res.tempDir();
    const store = await openFileStore(dir);
    expect((await store.get()).revision).toBe(0);
    expect((await store.get()).config.services).toEqual([]);
    await store.put(config("a"));
    const second = await store.put(config("a", "b"));
    expect(second.revision).toBe(2);
    await store.close();

    const reopened = await openFileStore(dir);
    res.add(() => reopened.close(), reopened);
    const stored = await reopened.get();
    expect(stored.revision).toBe(2);
    expect(stored.config.services.map((s) => s.name)).toEqual(["a", "b"]);
    expect((await reopened.put(config("c"))).revision).toBe(3);
  });

  it("tells watchers about every write in order, until they stop watching", async () => {
    const store = await openFileStore(await res.tempDir());
    res.add(() => store.close(), store);
    const seen: StoredConfig[] = [];
    const stop = store.watch((s) => seen.push(s));
    await Promise.all([store.put(config("a")), store.put(config("b"))]);
    stop();
    await store.put(config("c"));
    expect(seen.map((s) => [s.revision, s.config.services[0]?.name])).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
  });

  it("refuses a compare-and-swap write against an outdated revision", async () => {
    const store = await openFileStore(await res.tempDir());
    res.add(() => store.close(), store);
    await store.put(config("a"));
    await expect(store.put(config("b"), { expectedRevision: 0 })).rejects.toBeInstanceOf(StoreConflictError);
    expect((await store.put(config("b"), { expectedRevision: 1 })).revision).toBe(2);
  });

  it("hands out copies: changing a returned config does not change the store", async () => {
    const store = await openFileStore(await res.tempDir());
    res.add(() => store.close(), store);
    await store.put(config("a"));
    (await store.get()).config.services.push(create(ServiceSchema, { name: "x" }));
    expect((await store.get()).config.services.map((s) => s.name)).toEqual(["a"]);
  });

  it("refuses a second live owner of the data directory, and takes over a stale lock", async () => {
    const dir = await res.tempDir();
    const store = await openFileStore(dir);
    await expect(openFileStore(dir)).rejects.toThrow(/in use by process \d+/);
    await store.close();
    // A crashed owner leaves its LOCK (with a pid that no longer runs) and a temp file.
    await writeFile(join(dir, "LOCK"), "999999999");
    await writeFile(join(dir, ".config.json.1.2.tmp"), "half a write");
    const next = await openFileStore(dir);
    res.add(() => next.close(), next);
    expect(await readdir(dir)).not.toContain(".config.json.1.2.tmp");
    expect(await readFile(join(dir, "LOCK"), "utf8")).toBe(String(process.pid));
  });

  it("names the file and the problem when the stored config is damaged", async () => {
    const dir = await res.tempDir();
    await writeFile(join(dir, "config.json"), '{"revision": 3, "config": {"services": [{"nmae": "x"}]}}');
    await expect(openFileStore(dir)).rejects.toThrow(
      `${join(dir, "config.json")}: "config" is not a weft.v1.MeshConfig`,
    );
    await writeFile(join(dir, "config.json"), "{");
    await expect(openFileStore(dir)).rejects.toThrow(/config\.json is not valid JSON/);
  });

  it("keeps token records (hashes only) across a restart and drops expired ones on write", async () => {
    const dir = await res.tempDir();
    const store = await openFileStore(dir);
    const now = Date.now();
    await store.putToken({
      hash: "old",
      namespace: "a",
      serviceAccount: "b",
      createdAtMs: 0,
      expiresAtMs: now - 1,
    });
    await store.putToken({
      hash: "new",
      namespace: "a",
      serviceAccount: "b",
      createdAtMs: now,
      expiresAtMs: now + 60_000,
    });
    await store.close();
    const reopened = await openFileStore(dir);
    res.add(() => reopened.close(), reopened);
    expect(await reopened.getToken("new")).toMatchObject({ namespace: "a", serviceAccount: "b" });
    expect(await reopened.getToken("old")).toBeUndefined();
  });
});
