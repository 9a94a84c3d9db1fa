import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corpusDir, type GeneratedTree, generateTree } from "./support/generated.ts";
import {
  clientFactory,
  type GeneratedModule,
  policiesOf,
  registration,
  serviceOf,
} from "./support/modules.ts";
import { RecordingHost } from "./support/recording-host.ts";

describe("names that are JavaScript keywords, globals or clash", () => {
  let tree: GeneratedTree;
  let v1: GeneratedModule;
  let v2: GeneratedModule;
  beforeAll(async () => {
    tree = await generateTree(corpusDir);
    v1 = await import(join(tree.dir, "reserved/v1/reserved_weft.ts"));
    v2 = await import(join(tree.dir, "reserved/v2/reserved_weft.ts"));
  });
  afterAll(() => tree.dispose());

  it("export one helper set per service, clashes resolved by a $n suffix on the later service", () => {
    const services = ["Promise", "delete", "__proto__Service", "Queue", "QueuePolicies", "registerQueue"];
    services.push("MeshHost", "Client", "createMeshClient");
    const expected = services.flatMap((s) => [`${s}Policies`, `create${s}Client`, `register${s}`]);
    // QueuePolicies's registerQueuePolicies comes first in the file; registerQueue's table moves.
    expected.splice(expected.lastIndexOf("registerQueuePolicies"), 1, "registerQueuePolicies$1");
    expect(Object.keys(v1).sort()).toEqual(expected.sort());
  });

  it("wire each helper to its own service and table", () => {
    const host = new RecordingHost();
    const cases: [string, string, string][] = [
      ["createQueueClient", "reserved.v1.Queue", "QueuePolicies"],
      ["createQueuePoliciesClient", "reserved.v1.QueuePolicies", "QueuePoliciesPolicies"],
      ["createregisterQueueClient", "reserved.v1.registerQueue", "registerQueuePolicies$1"],
      ["createMeshHostClient", "reserved.v1.MeshHost", "MeshHostPolicies"],
      ["createClientClient", "reserved.v1.Client", "ClientPolicies"],
      ["createcreateMeshClientClient", "reserved.v1.createMeshClient", "createMeshClientPolicies"],
    ];
    for (const [factory, service, table] of cases) {
      clientFactory(v1, factory)(host);
      expect(host.clients.at(-1)).toEqual({ service, policies: v1[table] });
    }
    expect(policiesOf(v1, "QueuePolicies").push?.timeoutMs).toBe(1000);
    expect(policiesOf(v1, "QueuePoliciesPolicies").push?.timeoutMs).toBe(2000);
    expect(policiesOf(v1, "registerQueuePolicies$1").push?.timeoutMs).toBe(3000);
  });

  it("key tables by connect-es local names, `__proto__` as an own key", async () => {
    expect(Object.keys(policiesOf(v1, "deletePolicies"))).toEqual(["constructor$", "toString$", "valueOf$"]);
    const table = policiesOf(v2, "constructorPolicies");
    expect(Object.hasOwn(table, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    const descriptors: GeneratedModule = await import(join(tree.dir, "reserved/v2/reserved_pb.js"));
    expect(serviceOf(descriptors, "__proto__").typeName).toBe("reserved.v2.__proto__");
    expect(typeof v2.create__proto__Client).toBe("function");
  });

  it("serve and call a service named Promise with a method named then", async () => {
    const host = new RecordingHost();
    registration<{ then(req: { value: string }): { value: string } }>(v1, "registerPromise")(host, {
      // biome-ignore lint/suspicious/noThenProperty: the service under test has a method named then
      then: (req) => ({ value: `${req.value}!` }),
    });
    const client = clientFactory<{ then(req: { value: string }): Promise<{ value: string }> }>(
      v1,
      "createPromiseClient",
    )(host);
    // The client has a `then` method, so it must not be awaited itself; its method works.
    expect((await client.then({ value: "resolved" })).value).toBe("resolved!");
    expect(policiesOf(v1, "PromisePolicies").then).toEqual({
      idempotency: "NO_SIDE_EFFECTS",
      timeoutMs: 3000,
    });
    expect(policiesOf(v2, "PromisePolicies").then).toEqual({ idempotency: "IDEMPOTENT" });
  });

  it("call a service named delete through its escaped method names", async () => {
    const host = new RecordingHost();
    registration<{ constructor$(req: { value: string }): { value: string } }>(v1, "registerdelete")(host, {
      constructor$: (req) => ({ value: req.value.toUpperCase() }),
    });
    const client = clientFactory<{ constructor$(req: { value: string }): Promise<{ value: string }> }>(
      v1,
      "createdeleteClient",
    )(host);
    expect((await client.constructor$({ value: "x" })).value).toBe("X");
  });
});
