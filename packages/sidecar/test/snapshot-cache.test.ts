import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { MeshConfigSchema } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { SnapshotCache } from "../src/snapshot/snapshot-cache.ts";
import { tempDir } from "./process-helpers.ts";

describe("SnapshotCache", () => {
  const dirs: { remove(): void }[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d.remove();
  });
  const config = (name: string) =>
    create(MeshConfigSchema, { services: [{ name, namespace: "shop", rpcServices: [`shop.v1.${name}`] }] });

  it("round-trips the last saved snapshot and leaves no temporary file behind", async () => {
    const t = tempDir();
    dirs.push(t);
    const cache = new SnapshotCache(join(t.dir, "data"));
    expect(await cache.load()).toBeUndefined();
    await cache.save({ version: "v1", config: config("orders") });
    await cache.save({ version: "v2", config: config("payments") });
    const got = await cache.load();
    expect(got?.version).toBe("v2");
    expect(got?.config.services[0]?.name).toBe("payments");
    expect(got?.config.services[0]?.rpcServices).toEqual(["shop.v1.payments"]);
    expect(readdirSync(join(t.dir, "data"))).toEqual(["snapshot.json"]);
  });

  it("a temporary file left by a crash mid-write does not replace the snapshot", async () => {
    const t = tempDir();
    dirs.push(t);
    const cache = new SnapshotCache(t.dir);
    await cache.save({ version: "v1", config: config("orders") });
    // What a crash between write and rename leaves: a torn temp file next to the good one.
    writeFileSync(join(t.dir, ".snapshot.json.999.tmp"), '{"version":"v2","config":{"serv');
    expect((await cache.load())?.version).toBe("v1");
    await cache.save({ version: "v3", config: config("orders") });
    expect((await cache.load())?.version).toBe("v3");
  });

  it("an unreadable cache file is an error naming the file", async () => {
    const t = tempDir();
    dirs.push(t);
    const cache = new SnapshotCache(t.dir);
    writeFileSync(cache.path, "{not json");
    await expect(cache.load()).rejects.toThrow(`cached snapshot ${cache.path} is unreadable`);
    expect(existsSync(cache.path)).toBe(true);
    expect(readFileSync(cache.path, "utf8")).toBe("{not json");
  });
});
