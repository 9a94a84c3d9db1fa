import { HealthStatus } from "@weft/core/model";
import { describe, expect, it } from "vitest";
import { CustomResourceReader } from "../../src/kubernetes/custom-resources.ts";
import { endpointsFromSlices } from "../../src/kubernetes/endpoint-slices.ts";
import { WEFT_RESOURCES, type WeftResource } from "../../src/kubernetes/resources.ts";

const kind = (k: string) => WEFT_RESOURCES.find((r) => r.kind === k) as WeftResource;

describe("endpointsFromSlices", () => {
  const slice = (name: string, ports: { name?: string; port?: number }[], addresses: string[][]) => ({
    metadata: { name, namespace: "shop", labels: { "kubernetes.io/service-name": "api" } },
    ports,
    endpoints: addresses.map((a, i) => ({
      addresses: a,
      conditions: i === 0 ? {} : { ready: false },
      zone: "z",
    })),
  });

  it("uses the port named by meshPortName, counts unset ready as ready, and keeps one endpoint per address across slices", () => {
    const sets = endpointsFromSlices(
      [
        slice(
          "api-1",
          [
            { name: "http", port: 80 },
            { name: "mesh", port: 15009 },
          ],
          [["10.0.0.1", "10.0.0.9"], ["10.0.0.2"]],
        ),
        // Mid-split, 10.0.0.2 is in both slices; the ready view wins.
        slice("api-2", [{ name: "mesh", port: 15009 }], [["10.0.0.2"]]),
        { metadata: { name: "orphan", namespace: "shop" }, endpoints: [{ addresses: ["10.9.9.9"] }] },
      ],
      { meshPortName: "mesh" },
    );
    expect(sets).toHaveLength(1);
    expect(sets[0]?.endpoints.map((e) => [e.address, e.port, HealthStatus[e.health]])).toEqual([
      ["10.0.0.1", 15009, "HEALTHY"],
      ["10.0.0.2", 15009, "HEALTHY"],
    ]);
  });
});

describe("CustomResourceReader", () => {
  it("uses the Mesh named default, reports invalid resources by field, and re-reads a resource only when its resourceVersion changes", () => {
    const reader = new CustomResourceReader();
    const svc = (rv: string, spec: unknown) => ({
      metadata: { name: "api", namespace: "shop", resourceVersion: rv },
      spec,
    });
    const meshes = [
      { metadata: { name: "a-first", resourceVersion: "1" }, spec: { trustDomain: "first.example" } },
      { metadata: { name: "default", resourceVersion: "2" }, spec: { trustDomain: "default.example" } },
    ];
    const read = (service: unknown) =>
      reader.read(
        new Map([
          [kind("Mesh"), meshes],
          [kind("Service"), [service as never]],
        ]),
      );
    const first = read(svc("10", { mode: "SIDECAR", ports: [{ port: 70000, protocol: "GRPC" }] }));
    expect(first.config.mesh?.trustDomain).toBe("default.example");
    expect(first.problems).toEqual([
      "Mesh a-first: ignored; only one Mesh applies and Mesh default is used",
      expect.stringMatching(/^Service shop\/api: spec\.ports\[0\]\.port: .*65535/),
    ]);
    expect(first.config.services).toEqual([]);
    const fixed = read(svc("11", { mode: "SIDECAR", ports: [{ port: 7000, protocol: "GRPC" }] }));
    expect(fixed.config.services.map((s) => `${s.namespace}/${s.name}:${s.ports[0]?.port}`)).toEqual([
      "shop/api:7000",
    ]);
    // Same resourceVersion: the cached reading stands, whatever the object says.
    const same = read(svc("11", { mode: "SIDECAR", ports: [{ port: 1, protocol: "GRPC" }] }));
    expect(same.config.services[0]?.ports[0]?.port).toBe(7000);
  });
});
