import { Code } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import {
  AuthorizationCache,
  AuthorizationPolicyError,
  authorization,
  compileAuthorization,
} from "../../src/authz/index.ts";
import { type NewCall, newCall, type Place, settledResponse } from "../../src/call/call.ts";
import { compose, terminalStep } from "../../src/chain/chain.ts";
import { instantiatePlugin, runsIn, silentLogger } from "../../src/chain/plugin.ts";
import { FakeClock } from "../../src/clock/fake-clock.ts";
import { MeshError } from "../../src/errors/mesh-error.ts";
import { peerIdentity } from "../../src/identity/index.ts";

const web = peerIdentity("weft.local", "shop", "web");

const policiesJson = [
  {
    name: "allow-web",
    namespace: "shop",
    services: ["inventory"],
    action: "ACTION_ALLOW",
    rules: [{ principals: ["spiffe://weft.local/ns/shop/*"] }],
  },
  {
    name: "deny-writes",
    namespace: "shop",
    action: "ACTION_DENY",
    rules: [
      { methods: ["shop.v1.Inventory/Update"], not_principals: ["spiffe://weft.local/ns/shop/sa/admin"] },
    ],
  },
];

function chainWith(raw: Record<string, unknown>, place: Place = "sidecar-inbound") {
  const ctx = { place, clock: new FakeClock(), service: "inventory", namespace: "shop", log: silentLogger };
  const plugin = instantiatePlugin(authorization, raw, ctx);
  let reached = 0;
  const app = terminalStep("app", async () => {
    reached++;
    return settledResponse({ status: 200 });
  });
  return { plugin, handler: compose(place, [plugin], app), reached: () => reached };
}

function call(init: Partial<NewCall> = {}) {
  return newCall({
    kind: "unary",
    place: "sidecar-inbound",
    service: "inventory",
    namespace: "shop",
    method: "shop.v1.Inventory/Get",
    source: web,
    ...init,
  });
}

describe("authorization plugin", () => {
  it("runs inbound only: in the sidecar's inbound chain and the in-process server", () => {
    const { plugin } = chainWith({ policies: policiesJson });
    expect(
      (["client", "sidecar-outbound", "sidecar-inbound", "server"] as const).filter((p) => runsIn(plugin, p)),
    ).toEqual(["sidecar-inbound", "server"]);
  });

  it("lets an allowed call through to the application", async () => {
    const { handler, reached } = chainWith({ policies: policiesJson });
    expect((await handler(call())).status).toBe(200);
    expect(reached()).toBe(1);
  });

  it("fails a denied call with PermissionDenied naming caller, call, policy and rule", async () => {
    const { handler, reached } = chainWith({ policies: policiesJson }, "server");
    const err = await handler(call({ method: "shop.v1.Inventory/Update" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
    const e = err as MeshError;
    expect(e.code).toBe(Code.PermissionDenied);
    expect(e.reason).toBe(
      "spiffe://weft.local/ns/shop/sa/web may not call shop.v1.Inventory/Update: denied by shop/deny-writes rule 0",
    );
    expect(e.provenance).toEqual({ place: "server", plugin: "authorization", policy: "shop/deny-writes" });
    expect(e.httpStatus).toBe(403);
    expect(reached()).toBe(0);
  });

  it("names an unauthenticated caller and an HTTP call by method and path", async () => {
    const { handler } = chainWith({ policies: policiesJson });
    const e = (await handler(
      call({ source: undefined, kind: "http", method: "", path: "/stock", httpMethod: "GET" }),
    ).catch((x: unknown) => x)) as MeshError;
    expect(e.reason).toBe(
      "an unauthenticated caller may not call GET /stock: no rule of shop/allow-web allows it (default deny: an ALLOW policy selects the service)",
    );
    expect(e.provenance.policy).toBe("shop/allow-web");
  });

  it("takes a compiled engine from code", async () => {
    const engine = compileAuthorization([
      { name: "nobody", namespace: "shop", action: "deny", rules: [{ principals: ["*"] }] },
    ]);
    const { handler } = chainWith({ engine });
    await expect(handler(call())).rejects.toMatchObject({
      reason: expect.stringContaining("denied by shop/nobody rule 0"),
    });
  });

  it("refuses bad policies when created, naming them", () => {
    expect(() => chainWith({ policies: [{ name: "x", action: "ACTION_NOPE", rules: [{}] }] })).toThrow(
      "policies[0]:",
    );
    expect(() => chainWith({ policies: "all" })).toThrow("policies must be a list");
    expect(() => chainWith({ engine: {} })).toThrow("engine must be an AuthorizationEngine");
    const bad = [
      { name: "bad", namespace: "shop", action: "ACTION_ALLOW", rules: [{}, { when: "source.nope" }] },
    ];
    expect(() => chainWith({ policies: bad })).toThrow(AuthorizationPolicyError);
    expect(() => chainWith({ policies: bad })).toThrow(
      `shop/bad rule 1 when: "source.nope": source has no field "nope"`,
    );
  });
});

describe("AuthorizationCache", () => {
  it("compiles once per config version", () => {
    const cache = new AuthorizationCache();
    const v1 = [{ name: "a", namespace: "shop", action: "allow" as const, rules: [{}] }];
    const first = cache.engineFor("v1", v1);
    expect(cache.engineFor("v1", v1)).toBe(first);
    const second = cache.engineFor("v2", [
      { name: "b", namespace: "shop", action: "deny" as const, rules: [{}] },
    ]);
    expect(second).not.toBe(first);
    expect(second.policies).toEqual(["shop/b"]);
    expect(() =>
      cache.engineFor("v3", [{ name: "c", action: "deny" as const, rules: [{ when: ")" }] }]),
    ).toThrow("c rule 0 when");
    expect(cache.engineFor("v2", [])).toBe(second);
  });
});
