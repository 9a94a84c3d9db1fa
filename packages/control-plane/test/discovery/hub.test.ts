import { create } from "@bufbuild/protobuf";
import { FakeClock, parseMeshConfig } from "@weft/core";
import {
  DiscoverRequestSchema,
  type DiscoverResponse,
  type MeshConfig,
  RegistrationSchema,
} from "@weft/core/model";
import { describe, expect, it } from "vitest";
import { DiscoveryHub } from "../../src/discovery/hub.ts";

const mesh = parseMeshConfig({
  file: "mesh.yaml",
  text: `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec: { mode: INPROCESS }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: inventory, namespace: shop }
spec: { mode: SIDECAR }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: inventory-v2, namespace: shop }
spec: { mode: SIDECAR }
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: billing, namespace: shop }
spec: { mode: SIDECAR }
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: canary, namespace: shop }
spec:
  service: inventory
  destinations: [{ service: inventory, weight: 90 }, { service: inventory-v2, weight: 10 }]
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: billing-route, namespace: shop }
spec: { service: billing }
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: inventory-callers, namespace: shop }
spec:
  services: [inventory]
  action: ALLOW
  rules: [{ principals: ["spiffe://weft.local/ns/shop/sa/orders"] }]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: all-of-shop, namespace: shop }
spec:
  action: DENY
  rules: [{ namespaces: ["evil"] }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: billing, namespace: shop }
spec:
  endpoints: [{ address: 192.0.2.10, port: 443 }]
`,
});

function setup(config: MeshConfig = mesh, warmupMs = 0) {
  const clock = new FakeClock();
  const hub = new DiscoveryHub({
    clock,
    graceMs: 1000,
    debounceMs: 5,
    maxDelayMs: 50,
    endpointDebounceMs: 5,
    endpointMaxDelayMs: 50,
    wallClock: () => 0,
    warmupMs,
  });
  hub.setConfig(1, config);
  hub.flush();
  return { clock, hub };
}

function open(hub: DiscoveryHub, reg: Parameters<typeof create<typeof RegistrationSchema>>[1]) {
  const sent: DiscoverResponse[] = [];
  const session = hub.open(create(RegistrationSchema, reg), (r) => sent.push(r));
  const answer = (kind: "ack" | "nack", reason = "") => {
    const last = sent.at(-1);
    if (!last) throw new Error("nothing was sent");
    session.receive(
      create(DiscoverRequestSchema, {
        kind:
          kind === "ack"
            ? { case: "ack", value: { version: last.version, nonce: last.nonce } }
            : { case: "nack", value: { version: last.version, nonce: last.nonce, reason } },
      }),
    );
  };
  return { session, sent, answer };
}

const names = (xs: { name: string }[]) => xs.map((x) => x.name).sort();

describe("discovery hub", () => {
  it("scopes a snapshot to dependencies, their route destinations, and the policies selecting the data plane", () => {
    const { hub } = setup();
    const { sent } = open(hub, {
      service: "inventory",
      namespace: "shop",
      instanceId: "i-1",
      dependencies: ["inventory"],
      addresses: ["10.0.0.5"],
    });
    expect(sent).toHaveLength(1);
    const config = sent[0]?.kind.case === "snapshot" ? sent[0].kind.value.config : undefined;
    expect(names(config?.services ?? [])).toEqual(["inventory", "inventory-v2"]);
    expect(names(config?.routes ?? [])).toEqual(["canary"]);
    expect(names(config?.authorizationPolicies ?? [])).toEqual(["all-of-shop", "inventory-callers"]);
    expect(config?.endpoints.map((e) => `${e.service}:${e.endpoints.map((x) => x.address)}`)).toEqual([
      "inventory:10.0.0.5",
    ]);

    const all = open(hub, { service: "orders", namespace: "shop", instanceId: "o-1" }).sent[0];
    const everything = all?.kind.case === "snapshot" ? all.kind.value.config : undefined;
    expect(names(everything?.services ?? [])).toEqual(["billing", "inventory", "inventory-v2", "orders"]);
    expect(everything?.authorizationPolicies).toHaveLength(2);
    // Static endpoints (billing) merged with registered ones (inventory).
    expect(everything?.endpoints.map((e) => e.service)).toEqual(["billing", "inventory"]);
  });

  it("sends endpoint-only changes as deltas, coalesced, and only to data planes that need them", async () => {
    const { clock, hub } = setup();
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["inventory"],
    });
    const billing = open(hub, {
      service: "billing",
      namespace: "shop",
      instanceId: "b-1",
      dependencies: ["billing"],
    });
    orders.answer("ack");
    billing.answer("ack");
    for (let i = 0; i < 5; i++)
      open(hub, {
        service: "inventory",
        namespace: "shop",
        instanceId: `i-${i}`,
        addresses: [`10.0.1.${i}`],
      });
    await clock.advance(5);
    expect(orders.sent).toHaveLength(2);
    const delta = orders.sent[1]?.kind;
    expect(delta?.case).toBe("endpointDelta");
    if (delta?.case !== "endpointDelta") return;
    expect(delta.value.updated.map((u) => `${u.service}:${u.endpoints.length}`)).toEqual(["inventory:5"]);
    expect(billing.sent).toHaveLength(1);
  });

  it("holds further pushes until the data plane answers, then sends only the latest state", async () => {
    const { clock, hub } = setup();
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["inventory"],
    });
    open(hub, { service: "inventory", namespace: "shop", instanceId: "i-1", addresses: ["10.0.1.1"] });
    await clock.advance(5);
    open(hub, { service: "inventory", namespace: "shop", instanceId: "i-2", addresses: ["10.0.1.2"] });
    await clock.advance(5);
    expect(orders.sent).toHaveLength(1);
    orders.answer("ack");
    // The first snapshot was never superseded in flight: the next push is a delta with both.
    expect(orders.sent).toHaveLength(2);
    const kind = orders.sent[1]?.kind;
    expect(kind?.case === "endpointDelta" && kind.value.updated[0]?.endpoints.length).toBe(2);
  });

  it("records a NACK with its reason, does not resend the rejected state, and diffs the next push against the ACKed one", async () => {
    const { clock, hub } = setup();
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["inventory"],
    });
    orders.answer("ack");
    const first = orders.sent[0]?.version;
    open(hub, { service: "inventory", namespace: "shop", instanceId: "i-1", addresses: ["10.0.1.1"] });
    await clock.advance(5);
    orders.answer("nack", "inventory endpoints unusable");
    const status = hub.proxies()[0];
    expect(status?.ackedVersion).toBe(first);
    expect(status?.nackedVersion).toBe(orders.sent[1]?.version);
    expect(status?.nackReason).toBe("inventory endpoints unusable");
    hub.flush();
    expect(orders.sent).toHaveLength(2);
    open(hub, { service: "inventory", namespace: "shop", instanceId: "i-2", addresses: ["10.0.1.2"] });
    await clock.advance(5);
    // The data plane still holds the ACKed state (no inventory endpoints): the delta carries both.
    const kind = orders.sent[2]?.kind;
    expect(kind?.case === "endpointDelta" && kind.value.updated[0]?.endpoints.map((e) => e.address)).toEqual([
      "10.0.1.1",
      "10.0.1.2",
    ]);
    orders.answer("ack");
    expect(hub.proxies()[0]?.nackedVersion).toBe("");
  });

  it("ignores answers with a stale nonce", () => {
    const { hub } = setup();
    const orders = open(hub, { service: "orders", namespace: "shop", instanceId: "o-1" });
    orders.session.receive(
      create(DiscoverRequestSchema, {
        kind: { case: "ack", value: { version: orders.sent[0]?.version, nonce: "zz" } },
      }),
    );
    expect(hub.proxies()[0]?.ackedVersion).toBe("");
  });

  it("confirms instead of resending when a data plane registers with the version it already holds", () => {
    const { hub } = setup();
    const first = open(hub, { service: "orders", namespace: "shop", instanceId: "o-1" });
    first.answer("ack");
    const version = first.sent[0]?.version ?? "";
    hub.close(first.session);
    const again = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      lastVersion: version,
    });
    expect(again.sent).toHaveLength(1);
    const kind = again.sent[0]?.kind;
    expect(
      kind?.case === "endpointDelta" && kind.value.updated.length + kind.value.removedServices.length,
    ).toBe(0);
    expect(again.sent[0]?.version).toBe(version);
    const stale = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-2",
      lastVersion: "0-feedfeed",
    });
    expect(stale.sent[0]?.kind.case).toBe("snapshot");
  });

  it("pushes a config change as a full snapshot to the data planes it concerns", async () => {
    const { clock, hub } = setup();
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["billing"],
    });
    orders.answer("ack");
    const next = { ...mesh, services: mesh.services.filter((s) => s.name !== "billing") } as MeshConfig;
    hub.setConfig(2, next);
    await clock.advance(5);
    expect(orders.sent).toHaveLength(2);
    expect(orders.sent[1]?.kind.case).toBe("snapshot");
    expect(orders.sent[1]?.version.startsWith("2-")).toBe(true);
  });

  it("after a start, holds data planes that come back with a version until the others had time to return", async () => {
    const { clock, hub } = setup(mesh, 2000);
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["inventory"],
      lastVersion: "1-0123456789ab",
    });
    expect(orders.sent).toHaveLength(0);
    expect(hub.proxies()[0]?.ackedVersion).toBe("1-0123456789ab");
    // A brand-new data plane is served at once.
    const inventory = open(hub, {
      service: "inventory",
      namespace: "shop",
      instanceId: "i-1",
      addresses: ["10.0.1.1"],
    });
    expect(inventory.sent).toHaveLength(1);
    await clock.advance(1999);
    expect(orders.sent).toHaveLength(0);
    await clock.advance(1);
    const kind = orders.sent[0]?.kind;
    expect(kind?.case).toBe("snapshot");
    expect(kind?.case === "snapshot" && kind.value.config?.endpoints.map((e) => e.service)).toEqual([
      "inventory",
    ]);
  });

  it("serves the data planes held by the warm-up as soon as it is ended early (the view is whole)", async () => {
    const { clock, hub } = setup(mesh, 32_000);
    const orders = open(hub, {
      service: "orders",
      namespace: "shop",
      instanceId: "o-1",
      dependencies: ["inventory"],
      lastVersion: "1-0123456789ab",
    });
    await clock.advance(1000);
    expect(orders.sent).toHaveLength(0);
    hub.endWarmup();
    expect(orders.sent[0]?.kind.case).toBeDefined();
    // Once over, it stays over: a data plane returning later is served at once.
    const later = open(hub, { service: "orders", namespace: "shop", instanceId: "o-2", lastVersion: "1-x" });
    expect(later.sent.length).toBeGreaterThan(0);
  });
});
