import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, parseMeshConfig } from "../../src/config/index.ts";
import { Mode, Protocol } from "../../src/gen/weft/v1/service_pb.js";
import { loadMeshConfigFiles } from "../../src/node/index.ts";

const exampleMesh = fileURLToPath(new URL("../../../../examples/mesh.yaml", import.meta.url));

function problemsOf(text: string, file = "mesh.yaml") {
  try {
    parseMeshConfig({ file, text });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected the configuration to be rejected");
}

const service = (spec: string) => `apiVersion: weft.dev/v1
kind: Service
metadata:
  name: orders
  namespace: shop
spec:
${spec}`;

describe("parseMeshConfig", () => {
  it("loads the example mesh into typed messages", async () => {
    const config = await loadMeshConfigFiles([exampleMesh]);
    expect(config.mesh?.trustDomain).toBe("weft.local");
    expect(config.services.map((s) => s.name)).toEqual(["catalog", "inventory", "orders"]);
    const orders = config.services.find((s) => s.name === "orders");
    expect(orders?.mode).toBe(Mode.INPROCESS);
    expect(orders?.namespace).toBe("shop");
    expect(orders?.ports[0]?.protocol).toBe(Protocol.CONNECT);
    const budget = config.mesh?.defaults?.retry?.budget;
    expect(budget?.ratio).toBe(0.2);
    // "10ms" is accepted and becomes a protobuf Duration.
    expect(config.mesh?.defaults?.retry?.backoff?.base?.nanos).toBe(10_000_000);
    expect(config.routes[0]?.service).toBe("inventory");
    expect(config.authorizationPolicies[0]?.rules[0]?.principals).toEqual([
      "spiffe://weft.local/ns/shop/sa/orders",
    ]);
  });

  it("rejects a misspelled field with file:line:col, the field path and a suggestion", () => {
    const problems = problemsOf(
      service("  mode: SIDECAR\n  polices:\n    timeout: { request: 1s }\n"),
      "shop.yaml",
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: "shop.yaml", line: 8, column: 3, path: "spec.polices" });
    expect(problems[0]?.message).toContain('did you mean "policies"?');
  });

  it("names the path of a nested mistake and what was expected", () => {
    const problems = problemsOf(service("  policies:\n    retry:\n      attempts: three\n"));
    expect(problems[0]).toMatchObject({ line: 9, column: 17, path: "spec.policies.retry.attempts" });
    expect(problems[0]?.message).toMatch(/expected a whole number/);
  });

  it("suggests the enum value meant", () => {
    const problems = problemsOf(service("  mode: SIDCAR\n"));
    expect(problems[0]?.path).toBe("spec.mode");
    expect(problems[0]?.message).toContain('did you mean "SIDECAR"?');
  });

  it("reports protovalidate rule violations at the offending line", () => {
    const problems = problemsOf(service("  ports:\n    - { port: 70000, protocol: GRPC }\n"));
    expect(problems[0]).toMatchObject({ line: 8, path: "spec.ports[0].port" });
    expect(problems[0]?.message).toMatch(/65535/);
  });

  it("checks metadata.name against the model's rules", () => {
    const problems = problemsOf(service("  mode: SIDECAR\n").replace("name: orders", "name: Orders_Svc"));
    expect(problems[0]).toMatchObject({ line: 4, path: "metadata.name" });
  });

  it("rejects a bad duration, an unknown kind and a wrong apiVersion, all at once", () => {
    const text = [
      service("  policies:\n    timeout: { request: 2 minutes }\n"),
      "apiVersion: weft.dev/v1\nkind: Servce\nspec: {}\n",
      "apiVersion: v1\nkind: Service\nspec: {}\n",
    ].join("---\n");
    const problems = problemsOf(text);
    expect(problems.map((p) => p.path)).toEqual(["spec.policies.timeout.request", "kind", "apiVersion"]);
    expect(problems[0]?.message).toMatch(/expected a duration/);
    expect(problems[1]?.message).toContain('did you mean "Service"?');
  });

  it("rejects two services with the same name and says where the first is", () => {
    const one = service("  mode: SIDECAR\n");
    const problems = problemsOf(`${one}---\n${one}`);
    expect(problems[0]?.message).toMatch(/defined twice \(first at mesh.yaml:4:/);
  });

  it("reports YAML syntax errors with their position", () => {
    const problems = problemsOf("apiVersion: weft.dev/v1\nkind: Service\nspec: { mode: [\n");
    expect(problems[0]?.line).toBeGreaterThan(0);
    expect(problems[0]?.file).toBe("mesh.yaml");
  });

  it("loads JSON files too", () => {
    const config = parseMeshConfig({
      file: "mesh.json",
      text: JSON.stringify({
        apiVersion: "weft.dev/v1",
        kind: "Mesh",
        spec: { trustDomain: "corp.example" },
      }),
    });
    expect(config.mesh?.trustDomain).toBe("corp.example");
  });

  it("never throws anything but ConfigError for a user's file", () => {
    for (const text of [
      "[]",
      "42",
      "kind: [",
      "apiVersion: weft.dev/v1\nkind: Route\nmetadata: 3\n",
      "---\n---\n",
    ]) {
      try {
        parseMeshConfig({ file: "x.yaml", text });
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
      }
    }
  });
});
