import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ModuleKind, ModuleResolutionKind, Project, ScriptTarget } from "ts-morph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";

// Uses the generated API the way an application would; the @ts-expect-error lines fail the
// check if the generated types are looser than they must be.
const consumer = `
import type { MeshHost } from "@weft/inprocess";
import { createOrderServiceClient as createBillingClient, OrderServiceMode as billingMode } from "./shop/billing/v1/billing_weft.ts";
import { createOrderServiceClient, OrderServiceMode, OrderServicePolicies, registerOrderService } from "./shop/orders/v1/orders_weft.ts";
import type { Order } from "./shop/orders/v1/orders_pb.js";
import { createPromiseClient, PromisePolicies, registerQueuePolicies$1 } from "./reserved/v1/reserved_weft.ts";
import { createEdgeServiceClient } from "./edge/v1/edge_weft.ts";

export async function use(host: MeshHost): Promise<number> {
  const orders = createOrderServiceClient({ sidecar: "http://127.0.0.1:15001" });
  const order: Order = await orders.getOrder({ id: "o-1" });
  for await (const o of orders.watchOrders({})) order.id = o.id;
  registerOrderService(host, {
    async getOrder(req) {
      return { id: req.id };
    },
  });
  const billed: Order = await createBillingClient(host).chargeOrder({ orderId: order.id });
  const pong = await createEdgeServiceClient(host).ping({ text: "hi", count: 1 });
  const thenResult = await createPromiseClient(host).catch({});
  const modes: string[] = [OrderServiceMode, billingMode];
  const timeout: number | undefined = OrderServicePolicies.getOrder?.timeoutMs;
  // @ts-expect-error the table is keyed by the service's methods
  OrderServicePolicies.noSuchMethod;
  // @ts-expect-error the request is typed
  await orders.getOrder({ id: 1 });
  // @ts-expect-error the table is read-only
  OrderServicePolicies.getOrder = undefined;
  return (timeout ?? 0) + billed.id.length + pong.text.length + thenResult.value.length + modes.length +
    (PromisePolicies.then?.timeoutMs ?? 0) + (registerQueuePolicies$1.push?.timeoutMs ?? 0);
}
`;

describe("generated code type-checks", () => {
  let tree: GeneratedTree;
  beforeAll(async () => {
    tree = await generateTree(corpusDir);
  }, 60_000);
  afterAll(() => tree.dispose());

  it("emits protoc-gen-es and protoc-gen-weft output for every file of the corpus", async () => {
    const files = await tree.files();
    for (const name of [
      "shop/orders/v1/orders",
      "shop/billing/v1/billing",
      "edge/v1/edge",
      "reserved/v1/reserved",
    ]) {
      expect(files).toContain(`${name}_pb.js`);
      expect(files).toContain(`${name}_pb.d.ts`);
      expect(files).toContain(`${name}_weft.ts`);
    }
    // No services, so no _weft.ts; imported option protos are generated so the output is complete.
    expect(files).toContain("shop/common/v1/money_pb.js");
    expect(files).not.toContain("shop/common/v1/money_weft.ts");
    expect(files).toContain("weft/v1/options_pb.js");
    expect(files).toContain("google/api/annotations_pb.js");
  });

  // skipLibCheck is off so the generated .d.ts files are checked too; third-party packages'
  // own .d.ts (connect's assume the DOM lib) are left out, as skipLibCheck would.
  it("has zero diagnostics under strict + noUncheckedIndexedAccess, .d.ts files included", async () => {
    await writeFile(join(tree.dir, "consumer.ts"), consumer);
    const project = new Project({
      skipAddingFilesFromTsConfig: true,
      compilerOptions: {
        target: ScriptTarget.ES2023,
        lib: ["lib.es2023.d.ts"],
        module: ModuleKind.NodeNext,
        moduleResolution: ModuleResolutionKind.NodeNext,
        customConditions: ["@weft/source"],
        types: ["node"],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: false,
        verbatimModuleSyntax: true,
        erasableSyntaxOnly: true,
        allowImportingTsExtensions: true,
        isolatedModules: true,
        skipLibCheck: false,
        noEmit: true,
      },
    });
    project.addSourceFilesAtPaths([join(tree.dir, "**/*.ts"), join(tree.dir, "**/*.d.ts")]);
    const sources = project.getSourceFiles().map((s) => s.getFilePath());
    expect(sources.filter((s) => s.endsWith("_weft.ts")).length).toBe(5);
    const diagnostics = project
      .getPreEmitDiagnostics()
      .filter((d) => !d.getSourceFile()?.getFilePath().includes("/node_modules/"));
    expect(project.formatDiagnosticsWithColorAndContext(diagnostics)).toBe("");
    expect(diagnostics).toHaveLength(0);
  }, 60_000);
});
