import { create } from "@bufbuild/protobuf";
import { EndpointDeltaSchema, ServiceEndpointsSchema, SnapshotSchema } from "@weft/core/model";
import { applyEndpointDelta } from "@weft/core/transport";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { endpointAddresses, Resources, waitFor } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const set = (ns: string, service: string, ...addresses: string[]) =>
  create(ServiceEndpointsSchema, {
    namespace: ns,
    service,
    endpoints: addresses.map((address) => ({ address, port: 1 })),
  });

describe("applyEndpointDelta", () => {
  it("replaces updated sets, drops removed ones, and leaves the base untouched", () => {
    const base = create(SnapshotSchema, {
      config: { services: [{ name: "a" }], endpoints: [set("shop", "a", "1"), set("shop", "b", "2")] },
    });
    const next = applyEndpointDelta(
      base,
      create(EndpointDeltaSchema, {
        updated: [set("shop", "a", "1", "3"), set("shop", "c", "4")],
        removedServices: ["shop/b"],
      }),
    );
    expect(next.config?.endpoints.map((e) => `${e.service}:${e.endpoints.map((x) => x.address)}`)).toEqual([
      "a:1,3",
      "c:4",
    ]);
    expect(next.config?.services.map((s) => s.name)).toEqual(["a"]);
    expect(base.config?.endpoints.map((e) => e.service)).toEqual(["a", "b"]);
  });
});

describe("connectDataPlane", () => {
  it("starting from a cached version that is still current, is confirmed without reapplying it", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const reg = { service: "orders", namespace: "shop", instanceId: "o-1", addresses: ["127.0.0.2"] };
    const first = res.dataPlane(cp.url, reg);
    await first.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "the first snapshot");
    const cached = {
      version: first.client.version ?? "",
      snapshot: first.client.snapshot ?? create(SnapshotSchema),
    };
    await first.client.close();
    await waitFor(() => cp.hub.sessionCount === 0, "the first stream to end");

    const { connectDataPlane } = await import("@weft/core/transport");
    let applied = 0;
    const again = connectDataPlane({
      url: cp.url,
      registration: reg,
      cached,
      onSnapshot: () => void applied++,
    });
    res.add(() => again.close(), again);
    await waitFor(
      () => cp.hub.proxies()[0]?.ackedVersion === cached.version,
      "the cached version to be confirmed",
    );
    expect(again.connected).toBe(true);
    expect(applied).toBe(0);
  });

  it("NACKs a delta that arrives before any snapshot instead of applying it to nothing", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const first = res.dataPlane(cp.url, { service: "orders", namespace: "shop", instanceId: "o-1" });
    await waitFor(() => first.client.version !== undefined, "a version");
    // Claiming a version without the snapshot that goes with it.
    const liar = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-2",
      lastVersion: first.client.version ?? "",
    });
    await waitFor(() => liar.events.some((e) => e.type === "rejected"), "the NACK");
    expect(liar.events.find((e) => e.type === "rejected")).toMatchObject({
      reason: "received an endpoint delta before any snapshot",
    });
  });
});
