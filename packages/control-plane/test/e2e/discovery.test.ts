import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { FakeClock, parseMeshConfig } from "@weft/core";
import { DiscoverRequestSchema, type MeshConfig } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { endpointAddresses, Resources, waitFor } from "../helpers.ts";

const res = new Resources();
afterEach(() => res.closeAll());

const services = (...names: string[]): MeshConfig =>
  parseMeshConfig({
    file: "test.yaml",
    text: names
      .map(
        (n) =>
          `apiVersion: weft.dev/v1\nkind: Service\nmetadata: { name: ${n}, namespace: shop }\nspec: { mode: SIDECAR }\n`,
      )
      .join("---\n"),
  });

const serviceNames = (s: { config?: MeshConfig }) => (s.config?.services ?? []).map((x) => x.name);

describe("discovery over HTTP/2", () => {
  it("refuses a stream whose first message is not `register`", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const stream = res.discovery(cp.url).discover(
      (async function* () {
        yield create(DiscoverRequestSchema, { kind: { case: "ack", value: { version: "1", nonce: "x" } } });
      })(),
    );
    const err = await (async () => {
      try {
        for await (const _ of stream) return undefined;
      } catch (e) {
        return ConnectError.from(e);
      }
    })();
    expect(err?.code).toBe(Code.InvalidArgument);
    expect(err?.rawMessage).toBe("the first message on a discovery stream must be `register`, got `ack`");
  });

  it("pushes applied config to a data plane, which ACKs; the ACK shows in ListProxies", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    const dp = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    await dp.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "the first snapshot");
    const applied = await admin.apply({ config: services("orders", "inventory") });
    expect(applied.version).toBe("1");
    expect(applied.changed).toEqual(["Service shop/orders: created", "Service shop/inventory: created"]);
    await dp.holds((s) => serviceNames(s).length === 2, "the applied services");
    expect(dp.client.version?.startsWith("1-")).toBe(true);
    await waitFor(() => cp.hub.proxies()[0]?.ackedVersion === dp.client.version, "the ACK to be recorded");
    const proxies = (await admin.listProxies({})).proxies;
    expect(
      proxies.map((p) => [p.service, p.namespace, p.instanceId, p.ackedVersion, p.nackedVersion]),
    ).toEqual([["orders", "shop", "o-1", dp.client.version, ""]]);
    expect(proxies[0]?.connectedAt).toBeDefined();
  });

  it("sends another instance's arrival as an endpoint delta", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const a = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    await a.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "its own endpoint");
    res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-2",
      addresses: ["127.0.0.3"],
    });
    await a.holds((s) => endpointAddresses(s, "shop/orders").length === 2, "the second endpoint");
    expect(a.applied.map((x) => x.kind)).toEqual(["snapshot", "delta"]);
    expect(a.client.snapshot && endpointAddresses(a.client.snapshot, "shop/orders")).toEqual([
      "127.0.0.2:15008",
      "127.0.0.3:15008",
    ]);
  });

  it("keeps the previous version in force when a data plane NACKs, and shows the NACK and its reason", async () => {
    const cp = await res.controlPlane({ dataDir: await res.tempDir() });
    const admin = res.admin(cp);
    await admin.apply({ config: services("orders") });
    const dp = res.dataPlane(cp.url, { service: "orders", namespace: "shop", instanceId: "o-1" }, (s) => {
      if (serviceNames(s).includes("legacy")) throw new Error("plugin ./legacy.js not found");
    });
    await dp.holds((s) => serviceNames(s).length === 1, "the first version");
    const good = dp.client.version;
    await admin.apply({ config: services("orders", "legacy") });
    await waitFor(() => cp.hub.proxies()[0]?.nackedVersion !== "", "the NACK");
    expect(dp.client.version).toBe(good);
    expect(serviceNames(dp.client.snapshot ?? {})).toEqual(["orders"]);
    const [proxy] = (await admin.listProxies({})).proxies;
    expect(proxy?.ackedVersion).toBe(good);
    expect(proxy?.nackedVersion.startsWith("2-")).toBe(true);
    expect(proxy?.nackReason).toBe("plugin ./legacy.js not found");
    // Fixing the config clears the NACK.
    await admin.apply({ config: services("orders", "billing") });
    await dp.holds((s) => serviceNames(s).includes("billing"), "the fixed version");
    await waitFor(() => cp.hub.proxies()[0]?.nackedVersion === "", "the NACK to clear");
  });

  it("lease: an endpoint leaves a grace period after its stream ends, and stays when it reconnects in time", async () => {
    const clock = new FakeClock();
    const cp = await res.controlPlane({ dataDir: await res.tempDir(), clock, graceMs: 1000 });
    const admin = res.admin(cp);
    const listed = async () =>
      (await admin.listEndpoints({ service: "shop/orders" })).services.flatMap((s) =>
        s.endpoints.map((e) => e.instance),
      );

    const first = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    const other = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-2",
      addresses: ["127.0.0.3"],
    });
    await waitFor(() => cp.hub.sessionCount === 2, "two sessions");
    await first.client.close();
    await waitFor(() => cp.hub.sessionCount === 1, "the server to see the stream end");
    await clock.advance(999);
    expect(await listed()).toEqual(["o-1", "o-2"]);
    await clock.advance(1);
    expect(await listed()).toEqual(["o-2"]);
    // The remaining data plane hears about it once the endpoint debounce (100 ms) runs.
    await clock.advance(100);
    await other.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "o-1 to leave");

    await other.client.close();
    await waitFor(() => cp.hub.sessionCount === 0, "o-2's stream to end");
    await clock.advance(900);
    const back = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-2",
      addresses: ["127.0.0.3"],
    });
    await waitFor(() => cp.hub.sessionCount === 1, "o-2 to reconnect");
    await clock.advance(5000);
    expect(await listed()).toEqual(["o-2"]);
    await back.holds((s) => endpointAddresses(s, "shop/orders").length === 1, "its own endpoint");
  });

  it("survives a restart on the same data dir: config stays, data planes reconnect and converge", async () => {
    const dataDir = await res.tempDir();
    let cp = await startOn(dataDir, 0);
    const port = cp.port;
    await res.admin(cp).apply({ config: services("orders", "inventory") });
    const a = res.dataPlane(cp.url, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      addresses: ["127.0.0.2"],
    });
    const b = res.dataPlane(cp.url, {
      service: "inventory",
      namespace: "shop",
      instanceId: "i-1",
      addresses: ["127.0.0.3"],
    });
    await a.holds((s) => endpointAddresses(s, "shop/inventory").length === 1, "both endpoints");
    const before = a.client.version;
    const appliedBefore = a.applied.length;
    await cp.close();
    await waitFor(() => !a.client.connected && !b.client.connected, "the clients to notice");

    cp = await startOn(dataDir, port);
    const admin = res.admin(cp);
    const config = await admin.getConfig({});
    expect(config.version).toBe("1");
    expect(serviceNames(config)).toEqual(["orders", "inventory"]);
    await waitFor(() => cp.hub.sessionCount === 2, "both data planes to reconnect");
    const connects = (dp: typeof a) => dp.events.filter((e) => e.type === "connected").length;
    // Each hears from the new control plane once the warm-up has passed.
    await waitFor(
      () => connects(a) === 2 && connects(b) === 2,
      "both to hear from the restarted control plane",
    );
    await waitFor(
      () => cp.hub.proxies().every((p) => p.ackedVersion === a.client.version),
      "both to ACK the same version",
    );
    // Same config, same endpoints once both are back: the same version as before the restart,
    // confirmed without resending the snapshot.
    expect(a.client.version).toBe(before);
    expect(a.applied).toHaveLength(appliedBefore);
    expect(a.client.snapshot && endpointAddresses(a.client.snapshot, "shop/inventory")).toEqual([
      "127.0.0.3:15008",
    ]);
    expect(a.events.map((e) => e.type)).toContain("disconnected");
  });
});

async function startOn(dataDir: string, port: number) {
  return res.controlPlane({ dataDir, port, warmupMs: 1000 });
}
