import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AuthorizationEngine,
  AuthorizationPolicyError,
  type AuthorizationPolicyInput,
  compileAuthorization,
  formatIssue,
} from "../../src/authz/index.ts";
import { compilePatterns } from "../../src/authz/patterns.ts";
import { type NewCall, newCall } from "../../src/call/call.ts";
import { peerIdentity } from "../../src/identity/index.ts";

const web = peerIdentity("weft.local", "shop", "web");
const ops = peerIdentity("weft.local", "ops", "admin");

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

const allowWeb: AuthorizationPolicyInput = {
  name: "allow-web",
  namespace: "shop",
  services: ["inventory"],
  action: "allow",
  rules: [{ principals: [web.spiffeId] }],
};
const denyWrites: AuthorizationPolicyInput = {
  name: "deny-writes",
  namespace: "shop",
  action: "deny",
  rules: [{ methods: ["shop.v1.Inventory/Update"] }],
};

function issuesOf(policies: AuthorizationPolicyInput[]) {
  try {
    compileAuthorization(policies);
  } catch (err) {
    expect(err).toBeInstanceOf(AuthorizationPolicyError);
    return (err as AuthorizationPolicyError).issues;
  }
  throw new Error("expected the policies to be refused");
}

describe("authorization engine", () => {
  it("a matching DENY rule beats a matching ALLOW rule", () => {
    const engine = compileAuthorization([allowWeb, denyWrites]);
    expect(engine.evaluate(call({ method: "shop.v1.Inventory/Update" }))).toEqual({
      allowed: false,
      policy: "shop/deny-writes",
      ruleIndex: 0,
      reason: "denied by shop/deny-writes rule 0",
    });
    expect(engine.evaluate(call())).toEqual({
      allowed: true,
      policy: "shop/allow-web",
      ruleIndex: 0,
      reason: "allowed by shop/allow-web rule 0",
    });
  });

  it("denies by default once an ALLOW policy selects a service, and only that service", () => {
    const engine = compileAuthorization([allowWeb]);
    const denied = engine.evaluate(call({ source: ops }));
    expect(denied).toMatchObject({ allowed: false, policy: "shop/allow-web", ruleIndex: -1 });
    expect(denied.reason).toBe(
      "no rule of shop/allow-web allows it (default deny: an ALLOW policy selects the service)",
    );
    expect(engine.evaluate(call({ source: ops, service: "orders" }))).toMatchObject({
      allowed: true,
      policy: "",
    });
    expect(engine.evaluate(call({ source: ops, namespace: "billing" }))).toMatchObject({ allowed: true });
  });

  it("with DENY policies only, calls no rule matches are allowed", () => {
    const engine = compileAuthorization([denyWrites]);
    const d = engine.evaluate(call({ method: "shop.v1.Inventory/Get" }));
    expect(d.allowed).toBe(true);
    expect(d.reason).toContain("no DENY rule of shop/deny-writes matches");
  });

  it("a DENY rule wins whatever ALLOW rules say (property)", () => {
    const segment = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
    fc.assert(
      fc.property(segment, segment, segment, fc.boolean(), (ns, sa, method, allowAll) => {
        const engine = compileAuthorization([
          {
            name: "allow",
            namespace: "shop",
            action: "allow",
            rules: [allowAll ? {} : { principals: ["*"] }],
          },
          {
            name: "deny",
            namespace: "shop",
            action: "deny",
            rules: [{ principals: [`spiffe://weft.local/ns/${ns}/*`] }],
          },
        ]);
        const source = peerIdentity("weft.local", ns, sa);
        const d = engine.evaluate(call({ source, method: `shop.v1.Svc/${method}` }));
        expect(d).toMatchObject({ allowed: false, policy: "shop/deny", ruleIndex: 0 });
      }),
      { numRuns: 200 },
    );
  });

  it("evaluates a CEL condition, true and false", () => {
    const engine = compileAuthorization([
      {
        name: "tenant",
        namespace: "shop",
        action: "allow",
        rules: [
          {
            when: "request.headers['x-tenant'] == 'acme' && source.namespace == destination.namespace && request.http_method == 'POST'",
          },
        ],
      },
    ]);
    expect(engine.evaluate(call({ headers: { "X-Tenant": "acme" } }))).toMatchObject({
      allowed: true,
      ruleIndex: 0,
    });
    expect(engine.evaluate(call({ headers: { "x-tenant": "other" } })).allowed).toBe(false);
    expect(engine.evaluate(call({ headers: { "x-tenant": "acme" }, source: ops })).allowed).toBe(false);
  });

  it("a condition that cannot be evaluated fails closed: no ALLOW, and the DENY applies", () => {
    const when = "int(request.headers['x-n']) > 3";
    const allow = compileAuthorization([
      { name: "a", namespace: "shop", action: "allow", rules: [{ when }] },
    ]);
    expect(allow.evaluate(call({ headers: { "x-n": "7" } })).allowed).toBe(true);
    expect(allow.evaluate(call({ headers: { "x-n": "seven" } })).allowed).toBe(false);
    const deny = compileAuthorization([{ name: "d", namespace: "shop", action: "deny", rules: [{ when }] }]);
    expect(deny.evaluate(call({ headers: { "x-n": "1" } })).allowed).toBe(true);
    const failed = deny.evaluate(call({ headers: { "x-n": "seven" } }));
    expect(failed).toMatchObject({ allowed: false, policy: "shop/d", ruleIndex: 0 });
    expect(failed.reason).toContain("denied by shop/d rule 0: its condition could not be evaluated");
  });

  it("reports a bad CEL expression at load, naming policy and rule", () => {
    const issues = issuesOf([
      {
        name: "bad",
        namespace: "shop",
        action: "allow",
        rules: [
          { when: "source.namespace == 'shop'" },
          { when: "source.namespace ==" },
          { when: "src.namespace == 'shop'" },
          { when: "source.service == 'web'" },
          { when: "request.headers.exists(h, h == 'x-debug') && [1].all(x, x > 0)" },
        ],
      },
    ]);
    expect(issues.map((i) => [i.policy, i.ruleIndex, i.field])).toEqual([
      ["shop/bad", 1, "when"],
      ["shop/bad", 2, "when"],
      ["shop/bad", 3, "when"],
    ]);
    expect(issues[1]?.message).toContain(`unknown variable "src"`);
    expect(issues[2]?.message).toContain(`source has no field "service"`);
    expect(() =>
      compileAuthorization([{ name: "bad", namespace: "shop", action: "deny", rules: [{ when: "1 +" }] }]),
    ).toThrow("shop/bad rule 0 when:");
  });

  it("matches method and path wildcards", () => {
    const engine = compileAuthorization([
      {
        name: "api",
        namespace: "shop",
        action: "allow",
        rules: [
          { methods: ["shop.v1.Inventory/*"] },
          { methods: ["/admin/*"], httpMethods: ["get"] },
          { paths: ["/api/*", "/healthz"] },
        ],
      },
    ]);
    const rule = (init: Partial<NewCall>) => engine.evaluate(call(init)).ruleIndex;
    expect(rule({ method: "shop.v1.Inventory/Update" })).toBe(0);
    expect(rule({ method: "shop.v1.Inventory/Get" })).toBe(0);
    expect(rule({ method: "shop.v1.Orders/Get" })).toBe(-1);
    expect(rule({ method: "shop.v1.InventoryX/Get" })).toBe(-1);
    expect(rule({ kind: "http", method: "", path: "/admin/users", httpMethod: "GET" })).toBe(1);
    expect(rule({ kind: "http", method: "", path: "/admin/users", httpMethod: "POST" })).toBe(-1);
    expect(rule({ kind: "http", method: "", path: "/api/v1/items?limit=3", httpMethod: "GET" })).toBe(2);
    expect(rule({ kind: "http", method: "", path: "/healthz", httpMethod: "GET" })).toBe(2);
    expect(rule({ kind: "http", method: "", path: "/healthz/deep", httpMethod: "GET" })).toBe(-1);
    expect(rule({ kind: "http", method: "", path: "/ap", httpMethod: "GET" })).toBe(-1);
  });

  it("matches principals by prefix, not_principals, namespaces and headers", () => {
    const engine = compileAuthorization([
      {
        name: "who",
        namespace: "shop",
        action: "allow",
        rules: [
          {
            principals: ["spiffe://weft.local/ns/shop/*"],
            notPrincipals: ["spiffe://weft.local/ns/shop/sa/batch"],
          },
          { namespaces: ["ops"], headers: { "X-Break-Glass": "yes" } },
        ],
      },
    ]);
    const rule = (init: Partial<NewCall>) => engine.evaluate(call(init)).ruleIndex;
    expect(rule({ source: web })).toBe(0);
    expect(rule({ source: peerIdentity("weft.local", "shop", "batch") })).toBe(-1);
    expect(rule({ source: peerIdentity("weft.local", "shopping", "x") })).toBe(-1);
    expect(rule({ source: ops })).toBe(-1);
    expect(rule({ source: ops, headers: { "x-break-glass": "yes" } })).toBe(1);
    expect(rule({ source: ops, headers: { "x-break-glass": "no" } })).toBe(-1);
  });

  it("an unauthenticated caller matches no principal, and not_principals ['*'] denies it", () => {
    const engine = compileAuthorization([
      { name: "anyone-known", namespace: "shop", action: "allow", rules: [{ principals: ["*"] }] },
      { name: "require-mtls", namespace: "shop", action: "deny", rules: [{ notPrincipals: ["*"] }] },
    ]);
    expect(engine.evaluate(call({ source: undefined }))).toMatchObject({
      allowed: false,
      policy: "shop/require-mtls",
    });
    expect(engine.evaluate(call())).toMatchObject({ allowed: true, policy: "shop/anyone-known" });
  });

  it("applies a mesh-wide policy (empty namespace) in every namespace", () => {
    const engine = compileAuthorization([
      { name: "no-debug", action: "deny", rules: [{ paths: ["/debug/*"] }] },
      allowWeb,
    ]);
    for (const namespace of ["shop", "billing"]) {
      const d = engine.evaluate(call({ namespace, kind: "http", method: "", path: "/debug/pprof" }));
      expect(d).toMatchObject({ allowed: false, policy: "no-debug" });
    }
    expect(engine.evaluate(call())).toMatchObject({ allowed: true, policy: "shop/allow-web" });
  });

  it("refuses malformed policies, naming policy, rule and field", () => {
    const issues = issuesOf([
      {
        name: "p",
        namespace: "shop",
        action: "allow",
        rules: [
          {
            principals: ["spiffe://weft.local/ns//sa/x", "web", "spiffe://weft.local/*"],
            methods: ["Inventory", "shop.v1.*/Get", "/ok/*"],
            paths: ["api", "/a*b"],
            httpMethods: ["GET", "BAD METHOD"],
          },
        ],
      },
      { name: "p", namespace: "shop", action: "deny", rules: [] },
      { name: "", namespace: "shop", action: 0, rules: [{}] },
    ]);
    expect(issues.map((i) => `${i.policy}|${i.ruleIndex}|${i.field}`)).toEqual([
      "shop/p|0|principals[0]",
      "shop/p|0|principals[1]",
      "shop/p|0|methods[0]",
      "shop/p|0|methods[1]",
      "shop/p|0|paths[0]",
      "shop/p|0|paths[1]",
      "shop/p|0|http_methods[1]",
      "shop/p|undefined|name",
      "shop/p|undefined|rules",
      "shop/(unnamed)|undefined|name",
      "shop/(unnamed)|undefined|action",
    ]);
    expect(issues[0]?.message).toContain("is not a SPIFFE ID: path has an empty segment");
    expect(
      AuthorizationEngine.check([{ name: "p", namespace: "shop", action: "deny", rules: [] }]).map(
        formatIssue,
      ),
    ).toEqual(["shop/p rules: is empty; a policy needs at least one rule"]);
    expect(AuthorizationEngine.check([allowWeb, denyWrites])).toEqual([]);
  });
});

describe("pattern matching", () => {
  it("matches exactly what a reference implementation matches (property)", () => {
    const word = fc.stringMatching(/^[ab/]{0,4}$/);
    const pattern = fc.oneof(
      word,
      word.map((w) => `${w}*`),
    );
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 4 }), word, (patterns, value) => {
        const expected = patterns.some((p) =>
          p.endsWith("*") ? value.startsWith(p.slice(0, -1)) : value === p,
        );
        expect(compilePatterns(patterns)(value)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });
});
