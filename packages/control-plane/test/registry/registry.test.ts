import { create } from "@bufbuild/protobuf";
import { FakeClock } from "@weft/core";
import { RegistrationSchema } from "@weft/core/model";
import { describe, expect, it } from "vitest";
import { Registry } from "../../src/registry/registry.ts";

const reg = (instanceId: string, address = "10.0.0.1", extra: Record<string, unknown> = {}) =>
  create(RegistrationSchema, {
    service: "orders",
    namespace: "shop",
    instanceId,
    addresses: [address],
    port: 15008,
    ...extra,
  });

function setup(graceMs = 10_000) {
  const clock = new FakeClock();
  const changes: string[][] = [];
  const registry = new Registry({ clock, graceMs, onChange: (s) => changes.push([...s]) });
  return { clock, registry, changes };
}

describe("registry leases", () => {
  it("keeps an endpoint for the grace period after its stream ends, then removes it", async () => {
    const { clock, registry, changes } = setup();
    const stream = {};
    const key = registry.register(reg("o-1"), stream);
    expect(registry.endpoints("shop/orders").map((e) => e.address)).toEqual(["10.0.0.1"]);
    registry.release(key, stream);
    await clock.advance(9_999);
    expect(registry.endpoints("shop/orders")).toHaveLength(1);
    await clock.advance(1);
    expect(registry.endpoints("shop/orders")).toEqual([]);
    expect(registry.services()).toEqual([]);
    expect(changes).toEqual([["shop/orders"], ["shop/orders"]]);
  });

  it("keeps the endpoint when the instance registers again within the grace period", async () => {
    const { clock, registry, changes } = setup();
    const first = {};
    const key = registry.register(reg("o-1"), first);
    registry.release(key, first);
    await clock.advance(5_000);
    registry.register(reg("o-1"), {});
    await clock.advance(60_000);
    expect(registry.endpoints("shop/orders")).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
    // Same endpoint as before: nothing changed for anyone.
    expect(changes).toEqual([["shop/orders"]]);
  });

  it("ignores the end of an old stream once a newer stream holds the lease", async () => {
    const { clock, registry } = setup();
    const old = {};
    const key = registry.register(reg("o-1"), old);
    registry.register(reg("o-1"), {});
    registry.release(key, old);
    await clock.advance(20_000);
    expect(registry.endpoints("shop/orders")).toHaveLength(1);
  });

  it("reports a changed address, and gives a caller-only data plane no endpoint", () => {
    const { registry, changes } = setup();
    registry.register(reg("o-1"), {});
    registry.register(reg("o-1", "10.0.0.9"), {});
    expect(registry.endpoints("shop/orders").map((e) => e.address)).toEqual(["10.0.0.9"]);
    registry.register(create(RegistrationSchema, { service: "cli", instanceId: "c" }), {});
    expect(registry.endpoints("default/cli")).toEqual([]);
    expect(changes).toEqual([["shop/orders"], ["shop/orders"]]);
  });

  it("fills in the mesh port 15008, one endpoint per address, sorted", () => {
    const { registry } = setup();
    registry.register(reg("b", "10.0.0.2", { port: 0, addresses: ["10.0.0.2", "fd00::2"], zone: "z1" }), {});
    registry.register(reg("a", "10.0.0.1"), {});
    const eps = registry.endpoints("shop/orders");
    expect(eps.map((e) => `${e.address}:${e.port}:${e.instance}`)).toEqual([
      "10.0.0.1:15008:a",
      "10.0.0.2:15008:b",
      "fd00::2:15008:b",
    ]);
    expect(eps[1]?.zone).toBe("z1");
  });
});
