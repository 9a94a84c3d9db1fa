import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { parseMeshConfig } from "@weft/core";
import {
  EndpointSchema,
  HealthStatus,
  MeshConfigSchema,
  ProxyStatusSchema,
  ServiceEndpointsSchema,
} from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { type CheckResult, diagnoseMesh, type MeshState } from "../../src/cli/commands/check.ts";
import { Resources, waitFor } from "../helpers.ts";
import { weftInProcess } from "../weft-cli.ts";

const NOW = Date.UTC(2025, 0, 2, 12);
const HOUR = 3_600_000;

const healthyYaml = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec:
  ports: [{ name: grpc, port: 15008, protocol: GRPC }]
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: frontend, namespace: shop }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP1 }]
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: orders-route, namespace: shop }
spec:
  service: orders
  destinations: [{ service: orders }]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: allow-frontend, namespace: shop }
spec:
  services: [orders]
  action: ALLOW
  rules: [{ principals: ["spiffe://weft.local/ns/shop/sa/frontend"] }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 10.0.0.1, port: 15008 }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: frontend, namespace: shop }
spec:
  endpoints: [{ address: 10.0.0.2, port: 15008 }]
`;

/** The same mesh with one thing wrong for each check. */
const brokenYaml = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec: {}
---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: frontend, namespace: shop }
spec:
  ports: [{ name: http, port: 8080, protocol: HTTP1 }]
---
apiVersion: weft.dev/v1
kind: Route
metadata: { name: orders-route, namespace: shop }
spec:
  service: orders
  destinations: [{ service: orders-v3 }]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: allow-frontend, namespace: shop }
spec:
  services: [ordres]
  action: ALLOW
  rules: [{ principals: ["spiffe://weft.local/ns/shop/sa/frontend"] }]
---
apiVersion: weft.dev/v1
kind: AuthorizationPolicy
metadata: { name: lock-billing, namespace: billing }
spec:
  action: DENY
  rules: [{ paths: ["/admin/*"] }]
---
apiVersion: weft.dev/v1
kind: Endpoints
metadata: { name: orders, namespace: shop }
spec:
  endpoints: [{ address: 10.0.0.1, port: 15008, health: UNHEALTHY }]
`;

function state(yaml: string, overrides: Partial<MeshState> = {}): MeshState {
  const config = parseMeshConfig({ file: "mesh.yaml", text: yaml });
  return {
    config,
    version: "4",
    endpoints: config.endpoints,
    proxies: [],
    nowMs: NOW,
    certWithinMs: 24 * HOUR,
    ...overrides,
  };
}

const failed = (results: CheckResult[]) =>
  Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.title, r.problems]));

const proxy = (instanceId: string, init: Record<string, unknown>) =>
  create(ProxyStatusSchema, { service: "orders", namespace: "shop", instanceId, ...init });

describe("diagnoseMesh", () => {
  it("passes a healthy mesh", () => {
    const results = diagnoseMesh(
      state(healthyYaml, {
        proxies: [
          proxy("orders-1", { ackedVersion: "4-abc", certificateExpiry: timestampFromMs(NOW + 30 * HOUR) }),
        ],
      }),
    );
    expect(failed(results)).toEqual({});
    expect(results.map((r) => r.title)).toEqual([
      "configuration is valid",
      "every Service declares ports or rpcServices",
      "routes point at known services",
      "authorization policies select existing services",
      "every Service has healthy endpoints",
      "no data plane rejected its configuration",
      "data planes run the current configuration (version 4)",
      "no certificate expires within 24h",
    ]);
  });

  it("names each problem: portless service, unknown destination, policies selecting nothing, no healthy endpoints", () => {
    expect(failed(diagnoseMesh(state(brokenYaml)))).toEqual({
      "every Service declares ports or rpcServices": ["shop/orders has neither ports nor rpcServices"],
      "routes point at known services": [
        "shop/orders-route sends calls to orders-v3, which is not a Service in shop",
      ],
      "authorization policies select existing services": [
        "shop/allow-frontend selects ordres: no such Service in shop",
        "billing/lock-billing selects every service of namespace billing, and there is none",
      ],
      "every Service has healthy endpoints": [
        "shop/orders has 1 endpoints, none healthy",
        "shop/frontend has no endpoints",
      ],
    });
  });

  it("finds NACKs, data planes behind the current version or without an ACK, and certificates near expiry", () => {
    const results = diagnoseMesh(
      state(healthyYaml, {
        proxies: [
          proxy("ok", { ackedVersion: "4-aaa", certificateExpiry: timestampFromMs(NOW + 25 * HOUR) }),
          proxy("nack", {
            ackedVersion: "3-aaa",
            nackedVersion: "4-bbb",
            nackReason: "no endpoints for inventory",
          }),
          proxy("old", { ackedVersion: "3-aaa", certificateExpiry: timestampFromMs(NOW + 2 * HOUR) }),
          proxy("new", { certificateExpiry: timestampFromMs(NOW - 90_000) }),
        ],
      }),
    );
    expect(failed(results)).toEqual({
      "no data plane rejected its configuration": [
        "shop/orders nack rejected version 4-bbb: no endpoints for inventory",
      ],
      "data planes run the current configuration (version 4)": [
        "shop/orders old runs version 3-aaa, older than configuration version 4",
        "shop/orders new has not acknowledged any configuration yet",
      ],
      "no certificate expires within 24h": [
        "shop/orders old's certificate expires in 2h",
        "shop/orders new's certificate expired 1m30s ago",
      ],
    });
    expect(results.find((r) => !r.ok)?.hint).not.toBe("");
  });

  it("reports a configuration the loader would refuse", () => {
    const config = create(MeshConfigSchema, {
      services: [{ name: "Bad_Name", namespace: "shop", ports: [{ port: 80, protocol: 1 }] }],
      endpoints: [
        create(ServiceEndpointsSchema, {
          service: "Bad_Name",
          namespace: "shop",
          endpoints: [
            create(EndpointSchema, { address: "10.0.0.1", port: 80, health: HealthStatus.HEALTHY }),
          ],
        }),
      ],
    });
    const results = diagnoseMesh({ ...state(healthyYaml), config, endpoints: config.endpoints });
    expect(failed(results)["configuration is valid"]?.[0]).toContain(
      "spec.services[0].name: does not match regex",
    );
  });
});

describe("weft check against a running control plane", () => {
  const resources = new Resources();
  afterEach(() => resources.closeAll());

  it("prints ✔ for a healthy mesh (exit 0) and ✖ with hints for a NACKing data plane (exit 1)", async () => {
    const cp = await resources.controlPlane({ dataDir: await resources.tempDir() });
    const admin = resources.admin(cp);
    await admin.apply({ config: parseMeshConfig({ file: "mesh.yaml", text: healthyYaml }) });
    const good = resources.dataPlane(cp.url, { service: "frontend", namespace: "shop", instanceId: "fe-1" });
    await waitFor(() => good.client.version?.startsWith("1-") === true, "the first ACK");

    const ok = await weftInProcess(["check", "--server", cp.url]);
    expect(ok.err).toBe("");
    expect(ok.out).toContain(
      `✔ control plane is reachable at ${cp.url} (configuration version 1, 1 data planes)`,
    );
    expect(ok.out).toContain("✔ no data plane rejected its configuration");
    expect(ok.out).toContain("Status check results are ✔");
    expect(ok.code).toBe(0);

    const picky = resources.dataPlane(
      cp.url,
      { service: "orders", namespace: "shop", instanceId: "o-1" },
      () => {
        throw new Error("cannot load plugin @acme/audit");
      },
    );
    await waitFor(() => picky.events.some((e) => e.type === "rejected"), "the NACK");
    const bad = await weftInProcess(["check", "--server", cp.url, "-o", "json"]);
    expect(bad.code).toBe(1);
    const json = JSON.parse(bad.out);
    expect(json.ok).toBe(false);
    const nack = json.checks.find((c: CheckResult) => c.title === "no data plane rejected its configuration");
    expect(nack.problems[0]).toMatch(
      /^shop\/orders o-1 rejected version 1-\w+: cannot load plugin @acme\/audit$/,
    );

    const table = await weftInProcess(["check", "--server", cp.url]);
    expect(table.out).toContain("✖ no data plane rejected its configuration");
    expect(table.out).toContain("    hint: the data plane keeps its previous version");
    expect(table.out).toContain("Status check results are ✖ (1 failed)");
  });

  it("fails the reachability check with exit 2 when nothing listens", async () => {
    const cp = await resources.controlPlane({ dataDir: await resources.tempDir() });
    const url = cp.url;
    await cp.close();
    const res = await weftInProcess(["check", "--server", url]);
    expect(res.code).toBe(2);
    expect(res.out).toContain(`✖ control plane is reachable at ${url}`);
    expect(res.out).toContain("hint: start it with `weft control-plane`");
  });
});
