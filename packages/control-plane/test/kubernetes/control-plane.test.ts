import { readdirSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseMeshConfig } from "@weft/core";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { WEFT_GROUP, WEFT_RESOURCES, WEFT_VERSION } from "../../src/kubernetes/resources.ts";
import { endpointAddresses, Resources } from "../helpers.ts";
import { weftInProcess } from "../weft-cli.ts";
import { kubeconfigFor, loadRecording, RecordedApiServer } from "./recorded-api-server.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

describe("startControlPlane({ kubernetes })", () => {
  it("serves the cluster's configuration and endpoints to data planes and the CLI, and refuses weft apply", async () => {
    const api = new RecordedApiServer(
      ["endpointslices", "meshes", "services", "routes", "authorizationpolicies"].map(loadRecording),
    );
    const server = await api.listen();
    resources.add(() => api.close(), undefined);
    const dir = await resources.tempDir();
    const kubeconfig = join(dir, "kubeconfig");
    await writeFile(kubeconfig, kubeconfigFor(server));
    const cp = await resources.controlPlane({
      dataDir: dir,
      kubernetes: { kubeconfig, maxRetryDelayMs: 10, coalesceMs: 5, log: () => {} },
    });

    const dp = resources.dataPlane(cp.url, {
      service: "frontend",
      namespace: "shop",
      instanceId: "fe-1",
      dependencies: ["orders"],
    });
    await dp.holds((s) => endpointAddresses(s, "shop/orders").length === 3, "the orders slice's endpoints");
    expect(dp.client.snapshot?.config?.mesh?.trustDomain).toBe("cluster.local");

    // A watch event reaches the data plane.
    api.release("slices-expired");
    api.release("slices-modified");
    await dp.holds(
      (s) => endpointAddresses(s, "shop/orders").includes("10.1.2.14:15008"),
      "the relisted slice",
    );

    const explained = await weftInProcess([
      "explain",
      "--server",
      cp.url,
      "--from",
      "shop/frontend",
      "shop.v1.OrderService/Get",
    ]);
    expect(explained.err).toBe("");
    expect(explained.code).toBe(0);
    expect(explained.out).toContain(
      "route     shop/orders-reads (priority 0) matching [method shop.v1.OrderService/Get]",
    );
    expect(explained.out).toContain("endpoints  4 (3 healthy) in zones zone-a, zone-b, zone-c");
    expect(explained.out).toContain("ALLOWED: allowed by shop/frontend-may-order rule 0");

    const applied = await resources
      .admin(cp)
      .apply({ config: parseMeshConfig({ file: "x.yaml", text: "" }) })
      .catch((e: Error) => e);
    expect(String(applied)).toContain("takes its configuration from Kubernetes");
  });
});

describe("deploy/crds", () => {
  const dir = new URL("../../deploy/crds/", import.meta.url);
  const crds = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => parse(readFileSync(new URL(f, dir), "utf8")));

  it("declares exactly the kinds the control plane watches, with a spec kept whole", () => {
    expect(
      crds.map((c) => [c.spec.names.kind, c.spec.names.plural, c.spec.scope === "Namespaced"]).sort(),
    ).toEqual(WEFT_RESOURCES.map((r) => [r.kind, r.plural, r.namespaced]).sort());
    for (const c of crds) {
      expect(c.apiVersion).toBe("apiextensions.k8s.io/v1");
      expect(c.metadata.name).toBe(`${c.spec.names.plural}.${WEFT_GROUP}`);
      expect(c.spec.group).toBe(WEFT_GROUP);
      expect(c.spec.versions.map((v: { name: string }) => v.name)).toEqual([WEFT_VERSION]);
      const spec = c.spec.versions[0].schema.openAPIV3Schema.properties.spec;
      expect(spec).toEqual({ type: "object", "x-kubernetes-preserve-unknown-fields": true });
    }
  });
});
