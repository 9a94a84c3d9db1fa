import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { HealthStatus, type MeshConfig } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { type KubernetesSource, startKubernetesSource } from "../../src/kubernetes/kubernetes-source.ts";
import { Resources, waitFor } from "../helpers.ts";
import { kubeconfigFor, loadRecording, RecordedApiServer } from "./recorded-api-server.ts";

const resources = new Resources();
afterEach(() => resources.closeAll());

const SLICES = "/apis/discovery.k8s.io/v1/endpointslices";
const SERVICES = "/apis/weft.dev/v1/services";

async function recordedCluster(names: string[]) {
  const api = new RecordedApiServer(names.map(loadRecording));
  const url = await api.listen();
  resources.add(() => api.close(), undefined);
  const kubeconfig = join(await resources.tempDir(), "kubeconfig");
  await writeFile(kubeconfig, kubeconfigFor(url));
  return { api, kubeconfig };
}

const ALL = ["endpointslices", "meshes", "services", "routes", "authorizationpolicies"];

function endpointsOf(config: MeshConfig, service: string) {
  const set = config.endpoints.find((e) => `${e.namespace}/${e.service}` === service);
  return (set?.endpoints ?? []).map(
    (e) => `${e.address}:${e.port} ${e.zone} ${HealthStatus[e.health]} ${e.instance}`,
  );
}

describe("Kubernetes source (recorded API responses)", () => {
  it("lists, follows watch events and BOOKMARKs, and relists after 410 Gone (as an event and as a status)", async () => {
    const { api, kubeconfig } = await recordedCluster(ALL);
    const logged: string[] = [];
    const source: KubernetesSource = await startKubernetesSource({
      kubeconfig,
      maxRetryDelayMs: 10,
      coalesceMs: 5,
      log: (m) => logged.push(m),
    });
    resources.add(() => source.close(), undefined);
    const revisions: number[] = [];
    source.subscribe((s) => revisions.push(s.revision));

    // The first read: everything listed, endpoints only for Services the mesh defines.
    let s = source.current();
    expect(s.revision).toBe(1);
    expect(s.config.mesh?.trustDomain).toBe("cluster.local");
    expect(s.config.services.map((x) => `${x.namespace}/${x.name}`)).toEqual([
      "shop/frontend",
      "shop/orders",
    ]);
    expect(s.config.routes.map((r) => r.name)).toEqual(["orders-reads"]);
    expect(s.config.authorizationPolicies.map((p) => p.name)).toEqual(["frontend-may-order"]);
    expect(s.config.endpoints.map((e) => `${e.namespace}/${e.service}`)).toEqual([
      "shop/frontend",
      "shop/orders",
    ]);
    expect(endpointsOf(s.config, "shop/orders")).toEqual([
      "10.1.0.11:15008 zone-a HEALTHY orders-7d9c-x1",
      "10.1.1.12:15008 zone-b HEALTHY orders-7d9c-x2",
      "10.1.1.13:15008 zone-b UNHEALTHY orders-7d9c-x3",
    ]);
    // No port named "weft" on the frontend's slice: the mesh port, not the app's 8080.
    expect(endpointsOf(s.config, "shop/frontend")).toEqual([
      "10.1.0.21:15008 zone-a HEALTHY frontend-5f6b-a1",
    ]);

    // ADDED (invalid: left out and reported) and MODIFIED custom resources.
    api.release("services-changed");
    await waitFor(
      () =>
        (source.current().config.services.find((x) => x.name === "orders")?.policies?.retry?.attempts ??
          0) === 3,
      "the MODIFIED Service",
    );
    s = source.current();
    expect(s.config.services.map((x) => x.name)).toEqual(["frontend", "orders"]);
    expect(s.problems).toHaveLength(1);
    expect(s.problems[0]).toMatch(/^Service shop\/catalog: spec\.ports\[0\]\.protocol: .*SMTP/);
    expect(logged.some((l) => l.startsWith("left out: Service shop/catalog"))).toBe(true);

    // A MODIFIED slice: terminating -> DRAINING, now ready -> HEALTHY; then a BOOKMARK.
    api.release("slices-modified");
    await waitFor(
      () => endpointsOf(source.current().config, "shop/orders")[0]?.includes("DRAINING") === true,
      "the MODIFIED slice",
    );
    expect(endpointsOf(source.current().config, "shop/orders")).toEqual([
      "10.1.0.11:15008 zone-a DRAINING orders-7d9c-x1",
      "10.1.1.12:15008 zone-b HEALTHY orders-7d9c-x2",
      "10.1.1.13:15008 zone-b HEALTHY orders-7d9c-x3",
    ]);

    // ERROR 410 in the watch stream: list again, which brings a second slice of orders.
    api.release("slices-expired");
    await waitFor(
      () => endpointsOf(source.current().config, "shop/orders").length === 4,
      "the relisted slices",
    );
    expect(endpointsOf(source.current().config, "shop/orders")[3]).toBe(
      "10.1.2.14:15008 zone-c HEALTHY orders-7d9c-x4",
    );

    // HTTP 410 on the watch request: list again; frontend was deleted meanwhile, and its
    // endpoints leave with it.
    api.release("services-gone");
    await waitFor(
      () => !source.current().config.services.some((x) => x.name === "frontend"),
      "the relisted Services",
    );
    s = source.current();
    expect(s.config.endpoints.map((e) => e.service)).toEqual(["orders"]);

    // ADDED then DELETED in one stream.
    api.release("policies-changed");
    await waitFor(
      () => source.current().config.authorizationPolicies[0]?.name === "deny-admin",
      "the policy events",
    );
    expect(source.current().config.authorizationPolicies.map((p) => p.name)).toEqual(["deny-admin"]);
    expect(revisions).toEqual([2, 3, 4, 5, 6]);

    // Exactly the requests the recordings expect: the BOOKMARK's resourceVersion is used.
    // (The watch after a relist starts after client-node's backoff, here at most 10 ms.)
    await waitFor(
      () => api.requestsTo(SLICES).length === 5 && api.requestsTo(SERVICES).length === 5,
      "the last watches",
    );
    expect(api.mismatches).toEqual([]);
    expect(api.requestsTo(SLICES)).toEqual([
      "list ?labelSelector=kubernetes.io/service-name",
      "watch ?labelSelector=kubernetes.io/service-name&resourceVersion=1000&watch=true",
      "watch ?labelSelector=kubernetes.io/service-name&resourceVersion=1105&watch=true",
      "list ?labelSelector=kubernetes.io/service-name",
      "watch ?labelSelector=kubernetes.io/service-name&resourceVersion=1200&watch=true",
    ]);
    expect(api.requestsTo(SERVICES)).toEqual([
      "list ?",
      "watch ?resourceVersion=530&watch=true",
      "watch ?resourceVersion=552&watch=true",
      "list ?",
      "watch ?resourceVersion=700&watch=true",
    ]);
  });

  it("refuses to start when the CRDs are not installed, saying how to install them", async () => {
    const { api, kubeconfig } = await recordedCluster(["endpointslices", "meshes"]);
    const started = startKubernetesSource({ kubeconfig, maxRetryDelayMs: 10, log: () => {} });
    await expect(started).rejects.toThrow(
      /cannot list weft\.dev\/v1 services from http:\/\/127\.0\.0\.1:\d+: HTTP 404.*; are Weft's CRDs installed\? kubectl apply -f packages\/control-plane\/deploy\/crds\//,
    );
    expect(api.requestsTo(SERVICES)).toEqual(["list ?"]);
  });
});
