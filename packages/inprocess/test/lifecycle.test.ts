import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseMeshConfig } from "@weft/core";
import { ServiceEndpointsSchema } from "@weft/core/model";
import { afterEach, describe, expect, it } from "vitest";
import { createMesh, createMeshClient, type Mesh } from "../src/index.ts";
import { EchoService } from "./gen/echo/v1/echo_pb.js";
import { echoConfig, echoReplica } from "./support/echo.ts";
import { testCa, workload } from "./support/pki.ts";

const ID = (sa: string) => `spiffe://weft.local/ns/test/sa/${sa}`;
let started: Mesh[] = [];
afterEach(async () => {
  for (const m of started) await m.close({ graceMs: 0 });
  started = [];
});

describe("in-process lifecycle", () => {
  it("drains an endpoint that discovery removes: the call in flight finishes, new calls go elsewhere", async () => {
    const ca = await testCa();
    const [a, b] = await Promise.all(
      ["a", "b"].map(async (r) => echoReplica(r, { credentials: await workload(ca, ID("echo")) })),
    );
    if (!a || !b) throw new Error("replicas");
    started.push(a.mesh, b.mesh);
    const client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "echo.yaml", text: echoConfig([a.port]) }),
    });
    started.push(client);
    const echo = createMeshClient(EchoService, client);
    const slow = echo.say({ text: "long", delayMs: 400 });
    // Remove the endpoint only once the call is in the handler (the machine may be slow).
    for (let i = 0; i < 200 && a.mesh.health().inFlight === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(a.mesh.health().inFlight).toBe(1);
    client.dataPlane.applyEndpoints([
      create(ServiceEndpointsSchema, {
        service: "echo",
        namespace: "test",
        endpoints: [{ address: "127.0.0.1", port: b.port }],
      }),
    ]);
    const during = await echo.say({ text: "new" });
    expect(during.replica).toBe("b");
    expect((await slow).replica).toBe("a");
  });

  it("shuts down gracefully: calls in flight finish, then the port is closed", async () => {
    const ca = await testCa();
    const server = await echoReplica("a", { credentials: await workload(ca, ID("echo")) });
    started.push(server.mesh);
    const client = await createMesh({
      service: "web",
      namespace: "test",
      credentials: await workload(ca, ID("web")),
      config: parseMeshConfig({ file: "echo.yaml", text: echoConfig([server.port]) }),
    });
    started.push(client);
    const echo = createMeshClient(EchoService, client);
    const inFlight = Array.from({ length: 3 }, (_, i) => echo.say({ text: `f${i}`, delayMs: 300 }));
    await new Promise((r) => setTimeout(r, 100));
    expect(server.mesh.health().inFlight).toBe(3);
    const closing = server.mesh.close({ graceMs: 5_000 });
    expect((await Promise.all(inFlight)).map((r) => r.text)).toEqual(["f0", "f1", "f2"]);
    await closing;
    expect(server.mesh.health().live).toBe(false);
    const after = await echo.say({ text: "late" }).catch((e) => e);
    expect(ConnectError.from(after).code).toBe(Code.Unavailable);
  });
});
