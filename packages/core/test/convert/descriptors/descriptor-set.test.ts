import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescriptorError } from "../../../src/convert/descriptors/descriptor-error.ts";
import { registryFromFiles } from "../../../src/convert/descriptors/file-registry.ts";
import { loadDescriptorSetFile } from "../../../src/node/descriptor-set-file.ts";

const FIXTURES = new URL("./fixtures", import.meta.url).pathname;
const BUF = new URL("../../../../../node_modules/.bin/buf", import.meta.url).pathname;

describe("descriptor set files built by buf", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-descriptors-"));
  const path = (name: string) => join(dir, name);
  const buf = (out: string, ...flags: string[]) =>
    execFileSync(BUF, ["build", FIXTURES, "-o", path(out), ...flags], { stdio: "pipe" });

  beforeAll(() => {
    buf("full.binpb");
    buf("no-imports.json", "--exclude-imports");
    buf("orders-only.binpb", "--exclude-imports", "--path", join(FIXTURES, "shop/v1/orders.proto"));
    writeFileSync(path("empty.binpb"), "");
    writeFileSync(path("text.binpb"), "syntax = 'proto3';\n");
    writeFileSync(path("json-garbage.json"), '{"file": 3}');
  }, 30_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("loads a binary set: services, methods, messages, and a message round-trips", async () => {
    const registry = await loadDescriptorSetFile(path("full.binpb"));
    const orders = registry.getService("shop.v1.Orders");
    expect(orders?.methods.map((m) => [m.name, m.methodKind])).toEqual([
      ["PlaceOrder", "unary"],
      ["WatchOrders", "server_streaming"],
    ]);
    const order = registry.getMessage("shop.v1.Order");
    expect(order?.field.placedAt?.message?.typeName).toBe("google.protobuf.Timestamp");
    expect(order?.field.price?.message?.typeName).toBe("shop.v1.Money");
    if (!order) throw new Error("no shop.v1.Order");
    const msg = create(order, {
      id: "o-1",
      item: "tea",
      price: { currency: "EUR", units: 3n },
      placedAt: timestampFromMs(1_700_000_000_000),
    });
    const back = fromBinary(order, toBinary(order, msg)) as unknown as Record<string, unknown>;
    expect(back.item).toBe("tea");
    expect((back.price as { units: bigint }).units).toBe(3n);
    expect((back.placedAt as { seconds: bigint }).seconds).toBe(1_700_000_000n);
  });

  it("loads a JSON set built without imports: google/protobuf files are filled in", async () => {
    const registry = await loadDescriptorSetFile(path("no-imports.json"));
    expect(registry.getMessage("shop.v1.Order")?.field.placedAt?.message?.typeName).toBe(
      "google.protobuf.Timestamp",
    );
  });

  it("names the file and the missing import when a set lacks one", async () => {
    const err = await loadDescriptorSetFile(path("orders-only.binpb")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DescriptorError);
    expect((err as Error).message).toBe(
      `${path("orders-only.binpb")}: missing imported file shop/v1/money.proto (imported by shop/v1/orders.proto); a descriptor set must hold every import (build it without --exclude-imports)`,
    );
  });

  it.each([
    ["missing.binpb", "cannot read the descriptor set: no such file"],
    ["empty.binpb", "the file is empty, not a FileDescriptorSet"],
    ["text.binpb", "not a binary FileDescriptorSet ("],
    ["json-garbage.json", "not a JSON FileDescriptorSet: "],
  ])("%s: the error names the file and what is wrong", async (name, expected) => {
    const err = await loadDescriptorSetFile(path(name)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DescriptorError);
    expect((err as Error).message.startsWith(`${path(name)}: ${expected}`)).toBe(true);
  });

  it("a directory is refused saying so", async () => {
    await expect(loadDescriptorSetFile(dir)).rejects.toThrow(
      `${dir}: cannot read the descriptor set: is a directory`,
    );
  });
});

describe("registryFromFiles", () => {
  const file = (name: string, dependency: string[], message: string) =>
    create(FileDescriptorProtoSchema, {
      name,
      package: "t",
      dependency,
      syntax: "proto3",
      messageType: [{ name: message }],
    });

  it("takes files in any order: each is added after its imports (property)", () => {
    // A random import graph without cycles: file i may import only files before it.
    const graph = fc.integer({ min: 1, max: 12 }).chain((n) =>
      fc.tuple(
        fc.tuple(...Array.from({ length: n }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => j)))),
        fc.shuffledSubarray(
          Array.from({ length: n }, (_, i) => i),
          { minLength: n, maxLength: n },
        ),
      ),
    );
    fc.assert(
      fc.property(graph, ([imports, order]) => {
        const files = imports.map((deps, i) =>
          file(
            `f${i}.proto`,
            deps.map((d) => `f${d}.proto`),
            `M${i}`,
          ),
        );
        const registry = registryFromFiles(
          order.map((i) => files[i] as (typeof files)[number]),
          "test",
        );
        expect([...registry.files].length).toBe(files.length);
        for (let i = 0; i < files.length; i++) {
          expect(registry.getFile(`f${i}.proto`)?.dependencies.map((d) => d.name)).toEqual(
            (imports[i] ?? []).map((d) => `f${d}`),
          );
          expect(registry.getMessage(`t.M${i}`)).toBeDefined();
        }
      }),
      { numRuns: 200 },
    );
  });

  it("refuses an import cycle, naming it", () => {
    const a = file("a.proto", ["b.proto"], "A");
    const b = file("b.proto", ["a.proto"], "B");
    expect(() => registryFromFiles([a, b], "srv")).toThrow("srv: import cycle a.proto -> b.proto -> a.proto");
  });

  it("names every missing import at once", () => {
    const a = file("a.proto", ["x.proto", "y.proto"], "A");
    expect(() => registryFromFiles([a], "srv")).toThrow(
      "srv: missing imported files x.proto (imported by a.proto), y.proto (imported by a.proto)",
    );
  });

  it("wraps an invalid descriptor with the origin", () => {
    const bad = create(FileDescriptorProtoSchema, {
      name: "bad.proto",
      package: "t",
      syntax: "proto3",
      messageType: [{ name: "M", field: [{ name: "f", number: 1, type: 11, typeName: ".t.Nope" }] }],
    });
    expect(() => registryFromFiles([bad], "srv")).toThrow(/^srv: invalid descriptors: /);
  });
});
