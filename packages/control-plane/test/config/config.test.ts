import { create } from "@bufbuild/protobuf";
import { ConfigError, parseMeshConfig } from "@weft/core";
import { MeshConfigSchema, ServiceSchema } from "@weft/core/model";
import { describe, expect, it } from "vitest";
import { diffMeshConfig } from "../../src/config/diff.ts";
import { validateMeshConfig } from "../../src/config/validate.ts";

const yaml = (text: string) => parseMeshConfig({ file: "m.yaml", text });
const orders = `apiVersion: weft.dev/v1
kind: Service
metadata: { name: orders, namespace: shop }
spec: { mode: SIDECAR }
`;

describe("validateMeshConfig (what arrives over the admin API)", () => {
  it("accepts what the YAML loader produced, unchanged", () => {
    const config = yaml(orders);
    expect(validateMeshConfig(config).services[0]?.name).toBe("orders");
  });

  it("applies the model's rules and names the field path", () => {
    const bad = create(MeshConfigSchema, { services: [create(ServiceSchema, { name: "Not_A_Name" })] });
    try {
      validateMeshConfig(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const [p] = (e as ConfigError).problems;
      expect(p?.path).toBe("spec.services[0].name");
      expect(p?.file).toBe("apply request");
    }
  });

  it("refuses two documents of one kind with the same name", () => {
    const twice = create(MeshConfigSchema, {
      services: [
        create(ServiceSchema, { name: "a", namespace: "x" }),
        create(ServiceSchema, { name: "a", namespace: "x" }),
      ],
    });
    expect(() => validateMeshConfig(twice)).toThrow(
      'apply request: spec.services[1]: Service "x/a" is defined twice (first at spec.services[0])',
    );
  });
});

describe("diffMeshConfig", () => {
  it("lists created, updated and deleted documents", () => {
    const before = yaml(`${orders}---
apiVersion: weft.dev/v1
kind: Service
metadata: { name: billing, namespace: shop }
spec: { mode: SIDECAR }
`);
    const after = yaml(`${orders.replace("SIDECAR", "INPROCESS")}---
apiVersion: weft.dev/v1
kind: Mesh
spec: { trustDomain: example.org }
`);
    expect(diffMeshConfig(before, after)).toEqual([
      "Mesh: created",
      "Service shop/orders: updated",
      "Service shop/billing: deleted",
    ]);
    expect(diffMeshConfig(after, after)).toEqual([]);
  });
});
